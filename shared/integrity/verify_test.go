package integrity_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/inmor/inmor-serverless/shared/audit"
	"github.com/inmor/inmor-serverless/shared/integrity"
)

// storedLog appends n entries as the journal does and signs checkpoints of
// the sizes given.
func storedLog(t *testing.T, signer note.Signer, n int64, checkpointSizes ...int64) integrity.StoredLog {
	t.Helper()
	tree := integrity.MemoryTree{}
	log := integrity.StoredLog{Sequence: n}
	for id := int64(1); id <= n; id++ {
		user := fmt.Sprintf("user-%d", id)
		e := audit.Entry{ID: id, Timestamp: time.Date(2026, 11, 28, 12, 0, int(id), 0, time.UTC), Username: &user, AuthMethod: "api_key",
			Action: audit.ActionCreate, ResourceType: "TrustMarkType", ResourceRepr: fmt.Sprintf("https://tm/%d", id), Success: true,
			SnapshotAfter: map[string]any{"tmtype": fmt.Sprintf("https://tm/%d", id)}}
		encoded, err := e.Encode()
		if err != nil {
			t.Fatal(err)
		}
		hashes, err := tree.Append(id, encoded.LeafHash)
		if err != nil {
			t.Fatal(err)
		}
		log.Entries = append(log.Entries, integrity.StoredEntry{ID: id, Detail: encoded.Detail(), Hashes: hashes})
	}
	for _, size := range checkpointSizes {
		root, err := tlog.TreeHash(size, tree)
		if err != nil {
			t.Fatal(err)
		}
		signed, err := integrity.Sign(integrity.Checkpoint{Origin: signer.Name(), Size: size, Root: root}, signer)
		if err != nil {
			t.Fatal(err)
		}
		log.Checkpoints = append(log.Checkpoints, integrity.StoredCheckpoint{Size: size, Note: signed})
		log.Latest = signed
	}
	return log
}

func findingLines(findings []integrity.Finding) string {
	lines := make([]string, len(findings))
	for i, f := range findings {
		lines[i] = f.String()
	}
	return strings.Join(lines, "\n")
}

// TestCheckNamesEachTampering: an intact log has no finding; each way of
// rewriting the table is named on the entry or checkpoint it touched.
func TestCheckNamesEachTampering(t *testing.T) {
	signer, verifier := keys(t, integrity.DefaultOrigin)
	otherSigner, _ := keys(t, integrity.DefaultOrigin)
	intact := func() integrity.StoredLog { return storedLog(t, signer, 8, 4, 8) }

	sum, findings := integrity.Check(intact(), verifier)
	if len(findings) != 0 || sum.Verified != 8 || sum.Entries != 8 || sum.Checkpoints != 2 {
		t.Fatalf("intact log: %+v\n%s", sum, findingLines(findings))
	}
	if sum, findings := integrity.Check(storedLog(t, signer, 10, 4, 8), verifier); len(findings) != 0 || sum.Verified != 8 {
		t.Errorf("entries after the last checkpoint are not problems: %+v\n%s", sum, findingLines(findings))
	}

	for _, c := range []struct {
		name   string
		tamper func(*integrity.StoredLog)
		want   []string
	}{
		{"a field changed", func(l *integrity.StoredLog) {
			l.Entries[2].Detail = []byte(strings.Replace(string(l.Entries[2].Detail), `"user-3"`, `"mallory"`, 1))
		}, []string{"entry 3: altered: ", "checkpoint 4: root-mismatch", "checkpoint 8: root-mismatch"}},
		{"an entry deleted", func(l *integrity.StoredLog) {
			l.Entries = append(l.Entries[:4], l.Entries[5:]...)
		}, []string{"entry 5: removed: ", "checkpoint 8: uncovered"}},
		{"the last entry deleted", func(l *integrity.StoredLog) {
			l.Entries = l.Entries[:7]
		}, []string{"entry 8: removed: ", "checkpoint 8: uncovered"}},
		{"an entry inserted", func(l *integrity.StoredLog) {
			l.Entries = append(l.Entries, integrity.StoredEntry{ID: 9, Detail: l.Entries[0].Detail, Hashes: l.Entries[0].Hashes})
		}, []string{"entry 9: inserted: past the id sequence (8)"}},
		{"two entries swapped", func(l *integrity.StoredLog) {
			l.Entries[1].Detail, l.Entries[5].Detail = l.Entries[5].Detail, l.Entries[1].Detail
		}, []string{"entry 2: reordered: it holds the content of entry 6's leaf", "entry 6: reordered: it holds the content of entry 2's leaf",
			"checkpoint 4: root-mismatch", "checkpoint 8: root-mismatch"}},
		{"an entry and its leaf rewritten", func(l *integrity.StoredLog) {
			l.Entries[6].Detail = []byte(strings.Replace(string(l.Entries[6].Detail), `"user-7"`, `"mallory"`, 1))
			leaf, _ := integrity.LeafHash(l.Entries[6].Detail)
			l.Entries[6].Hashes[0] = leaf
		}, []string{"entries 7-8: tree-hashes: the hash over them that entry 8 stored", "checkpoint 8: root-mismatch"}},
		{"a checkpoint replaced", func(l *integrity.StoredLog) {
			signed, _ := integrity.Sign(integrity.Checkpoint{Origin: integrity.DefaultOrigin, Size: 8, Root: tlog.RecordHash([]byte("forged"))}, otherSigner)
			l.Checkpoints[1].Note, l.Latest = signed, signed
		}, []string{"checkpoint 8: bad-signature: ", "log: latest: "}},
		{"a checkpoint moved to another size", func(l *integrity.StoredLog) {
			l.Checkpoints[1].Size = 9
		}, []string{"checkpoint 9: altered: its note is of the tree of 8 entries", "log: latest: "}},
	} {
		t.Run(c.name, func(t *testing.T) {
			log := intact()
			c.tamper(&log)
			_, findings := integrity.Check(log, verifier)
			got := findingLines(findings)
			for _, want := range c.want {
				if !strings.Contains(got, want) {
					t.Errorf("no finding %q in:\n%s", want, got)
				}
			}
			if len(findings) != len(c.want) {
				t.Errorf("%d findings, want %d:\n%s", len(findings), len(c.want), got)
			}
		})
	}

	// Without the log key the signatures are not checked, but a forged
	// root still shows.
	log := intact()
	signed, _ := integrity.Sign(integrity.Checkpoint{Origin: integrity.DefaultOrigin, Size: 8, Root: tlog.RecordHash([]byte("forged"))}, otherSigner)
	log.Checkpoints[1].Note, log.Latest = signed, signed
	if _, findings := integrity.Check(log, nil); !strings.Contains(findingLines(findings), "checkpoint 8: root-mismatch") {
		t.Errorf("a forged checkpoint without the key:\n%s", findingLines(findings))
	}
}
