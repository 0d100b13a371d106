package integrity

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// StoredEntry is an entry as the log stores it: its id, its detail form
// and the tree hashes its append stored.
type StoredEntry struct {
	ID     int64
	Detail []byte
	Hashes []tlog.Hash
}

// StoredCheckpoint is a signed checkpoint as the log stores it, under the
// tree size its key names.
type StoredCheckpoint struct {
	Size int64
	Note string
}

// StoredLog is everything the check reads: the entries in any order, the
// checkpoints, the latest checkpoint and the id sequence.
type StoredLog struct {
	Entries     []StoredEntry
	Checkpoints []StoredCheckpoint
	// Latest is the latest checkpoint's note; "" when none is stored.
	Latest string
	// Sequence is the last id the journal gave.
	Sequence int64
}

// Finding is one way the stored log differs from what its checkpoints and
// entries prove.
type Finding struct {
	// Subject is "entry <id>", "entries <first>-<last>", "checkpoint
	// <size>" or "log".
	Subject string
	// Kind is removed, altered, reordered, inserted, tree-hashes,
	// bad-signature, root-mismatch, uncovered (a checkpoint of entries
	// that are not all there) or latest.
	Kind   string
	Detail string
}

// String formats a finding as one line: <subject>: <kind>: <detail>.
func (f Finding) String() string { return f.Subject + ": " + f.Kind + ": " + f.Detail }

// Summary counts what Check read and found.
type Summary struct {
	Entries, Checkpoints, Findings int
	// Verified is the size of the largest checkpoint whose root the
	// entries reproduce (0 when none).
	Verified int64
}

// String is the check's last line.
func (s Summary) String() string {
	return fmt.Sprintf("Verified the tree of %d entries (%d entries, %d checkpoints read): %d integrity problem(s).",
		s.Verified, s.Entries, s.Checkpoints, s.Findings)
}

// Check recomputes the log's Merkle tree from its entries and checks it
// against its checkpoints: every id from 1 to the sequence is there once;
// every entry hashes to the leaf its append stored (an entry that hashes
// to another entry's leaf was moved there); the stored tree hashes are the
// ones the entries give; every checkpoint is signed by verifier (when not
// nil), names its own size and has the root the entries give; the latest
// checkpoint is the largest. Entries after the latest checkpoint are not
// problems (the next batch's checkpoint covers them): Summary.Verified
// says how far the signed tree goes.
func Check(log StoredLog, verifier note.Verifier) (Summary, []Finding) {
	var findings []Finding
	add := func(subject, kind, format string, args ...any) {
		findings = append(findings, Finding{Subject: subject, Kind: kind, Detail: fmt.Sprintf(format, args...)})
	}
	entry := func(id int64) string { return "entry " + strconv.FormatInt(id, 10) }
	sum := Summary{Entries: len(log.Entries), Checkpoints: len(log.Checkpoints)}

	entries := slices.Clone(log.Entries)
	slices.SortFunc(entries, func(a, b StoredEntry) int { return int(a.ID - b.ID) })
	byID := map[int64]StoredEntry{}
	for _, e := range entries {
		byID[e.ID] = e
	}
	last := log.Sequence
	if len(entries) > 0 && entries[len(entries)-1].ID > last {
		for _, e := range entries {
			if e.ID > log.Sequence {
				add(entry(e.ID), "inserted", "past the id sequence (%d): no append wrote it", log.Sequence)
			}
		}
	}
	// The tree is recomputed over the ids the sequence gave, up to the
	// first one missing.
	complete := last
	for id := int64(1); id <= last; id++ {
		if _, ok := byID[id]; !ok {
			add(entry(id), "removed", "the id sequence gave it, the table does not have it")
			complete = min(complete, id-1)
		}
	}

	// Leaves: recomputed from the content, and as stored.
	leaves := map[int64]tlog.Hash{}
	storedLeafOf := map[tlog.Hash]int64{}
	for _, e := range entries {
		if len(e.Hashes) > 0 {
			storedLeafOf[e.Hashes[0]] = e.ID
		}
	}
	for _, e := range entries {
		if e.ID > last {
			continue
		}
		leaf, err := LeafHash(e.Detail)
		if err != nil {
			add(entry(e.ID), "altered", "unreadable: %v", err)
			continue
		}
		leaves[e.ID] = leaf
		switch other, ok := storedLeafOf[leaf]; {
		case len(e.Hashes) == 0:
			add(entry(e.ID), "tree-hashes", "no stored tree hashes")
		case e.Hashes[0] == leaf:
		case ok && other != e.ID:
			add(entry(e.ID), "reordered", "it holds the content of entry %d's leaf", other)
		default:
			add(entry(e.ID), "altered", "its content does not hash to the leaf its append stored")
		}
	}

	// Two trees of the complete prefix: from the leaves the content gives
	// (what the checkpoints must sign), and from the stored leaves (whose
	// interior hashes the appends stored, and proofs are served from).
	content, stored := MemoryTree{}, MemoryTree{}
	var rewritten [][2]int64 // leaf ranges under a rewritten stored hash
	for id := int64(1); id <= complete; id++ {
		leaf, ok := leaves[id]
		e := byID[id]
		if !ok || len(e.Hashes) == 0 {
			complete = id - 1
			break
		}
		_, err1 := content.Append(id, leaf)
		fromStored, err2 := stored.Append(id, e.Hashes[0])
		if err1 != nil || err2 != nil {
			add(entry(id), "tree-hashes", "the tree cannot be rebuilt: %v", cmp.Or(err1, err2))
			complete = id - 1
			break
		}
		if len(e.Hashes) != len(fromStored) {
			add(entry(id), "tree-hashes", "%d stored tree hashes, want %d", len(e.Hashes), len(fromStored))
			continue
		}
		for level := 1; level < len(fromStored); level++ {
			if e.Hashes[level] == fromStored[level] {
				continue
			}
			n := LeafIndex(id) >> level
			lo, hi := n<<level+1, (n+1)<<level // entry ids under the node
			if !slices.ContainsFunc(rewritten, func(r [2]int64) bool { return lo <= r[0] && r[1] <= hi }) {
				rewritten = append(rewritten, [2]int64{lo, hi})
				add(fmt.Sprintf("entries %d-%d", lo, hi), "tree-hashes",
					"the hash over them that entry %d stored is not that of their stored leaves: a leaf was rewritten", id)
			}
		}
	}
	tree := content

	// Checkpoints.
	checkpoints := slices.Clone(log.Checkpoints)
	slices.SortFunc(checkpoints, func(a, b StoredCheckpoint) int { return int(a.Size - b.Size) })
	largest := ""
	for _, sc := range checkpoints {
		subject := "checkpoint " + strconv.FormatInt(sc.Size, 10)
		c, err := readCheckpoint(sc.Note, verifier)
		if err != nil {
			add(subject, "bad-signature", "%v", err)
			continue
		}
		if c.Size != sc.Size {
			add(subject, "altered", "its note is of the tree of %d entries", c.Size)
			continue
		}
		largest = sc.Note
		if c.Size > complete {
			add(subject, "uncovered", "the entries it covers are not all there (complete up to %d)", complete)
			continue
		}
		root, err := tlog.TreeHash(c.Size, tree)
		if err != nil || root != c.Root {
			add(subject, "root-mismatch", "the entries give another root: the log was rewritten")
			continue
		}
		sum.Verified = max(sum.Verified, c.Size)
	}
	if log.Latest != largest {
		add("log", "latest", "the latest checkpoint is not the largest stored one")
	}
	sum.Findings = len(findings)
	return sum, findings
}

// readCheckpoint opens a signed checkpoint with verifier, or only reads it
// when verifier is nil.
func readCheckpoint(signed string, verifier note.Verifier) (Checkpoint, error) {
	if verifier != nil {
		return Open([]byte(signed), verifier)
	}
	body, _, ok := strings.Cut(signed, "\n\n")
	if !ok {
		return Checkpoint{}, fmt.Errorf("not a signed note")
	}
	return ParseCheckpoint(body + "\n")
}

// MemoryTree is a tree's stored hashes in memory, by stored-hash index
// (tlog.HashReader): what an auditor rebuilds from the entries.
type MemoryTree map[int64]tlog.Hash

// Append adds the leaf of entry id (appended in id order) and returns the
// hashes its append stores (tlog.StoredHashes).
func (m MemoryTree) Append(id int64, leaf tlog.Hash) ([]tlog.Hash, error) {
	hashes, err := tlog.StoredHashesForRecordHash(LeafIndex(id), leaf, m)
	if err != nil {
		return nil, err
	}
	first := tlog.StoredHashIndex(0, LeafIndex(id))
	for i, h := range hashes {
		m[first+int64(i)] = h
	}
	return hashes, nil
}

// ReadHashes implements tlog.HashReader.
func (m MemoryTree) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, index := range indexes {
		h, ok := m[index]
		if !ok {
			return nil, fmt.Errorf("hash %d is not in the tree", index)
		}
		out[i] = h
	}
	return out, nil
}
