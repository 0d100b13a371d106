package integrity_test

import (
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/inmor/inmor-serverless/shared/audit"
	"github.com/inmor/inmor-serverless/shared/integrity"
)

func keys(t *testing.T, name string) (note.Signer, note.Verifier) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return signer, verifier
}

// TestCheckpointRoundTrip: a signed checkpoint opens with the log's key to
// the same tree head; another key, a changed body or another origin fail.
func TestCheckpointRoundTrip(t *testing.T) {
	signer, verifier := keys(t, integrity.DefaultOrigin)
	c := integrity.Checkpoint{Origin: integrity.DefaultOrigin, Size: 42, Root: tlog.RecordHash([]byte("x"))}
	signed, err := integrity.Sign(c, signer)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(signed, integrity.DefaultOrigin+"\n42\n") || !strings.Contains(signed, "\n\n— "+integrity.DefaultOrigin+" ") {
		t.Errorf("not a C2SP checkpoint note:\n%s", signed)
	}
	got, err := integrity.Open([]byte(signed), verifier)
	if err != nil || got != c {
		t.Fatalf("Open = %+v, %v; want %+v", got, err, c)
	}

	_, otherVerifier := keys(t, integrity.DefaultOrigin)
	if _, err := integrity.Open([]byte(signed), otherVerifier); err == nil {
		t.Error("a checkpoint opened with another key of the same name")
	}
	if _, err := integrity.Open([]byte(strings.Replace(signed, "\n42\n", "\n43\n", 1)), verifier); err == nil {
		t.Error("a checkpoint with a changed size opened")
	}
	otherSigner, otherNameVerifier := keys(t, "another-log")
	foreign, err := integrity.Sign(integrity.Checkpoint{Origin: integrity.DefaultOrigin, Size: 1}, otherSigner)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := integrity.Open([]byte(foreign), otherNameVerifier); err == nil || !strings.Contains(err.Error(), "origin") {
		t.Errorf("a checkpoint whose origin is not the key's name: %v, want an origin error", err)
	}
}

// TestParseCheckpointRefusesMalformedBodies: only origin, size and a
// 32-byte base64 root, three lines.
func TestParseCheckpointRefusesMalformedBodies(t *testing.T) {
	root := "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
	for _, text := range []string{
		"", "log\n1\n" + root, "log\n1\n" + root + "\nextra\n", "\n1\n" + root + "\n",
		"log\n-1\n" + root + "\n", "log\n01\n" + root + "\n", "log\nx\n" + root + "\n", "log\n1\nAAAA\n",
	} {
		if _, err := integrity.ParseCheckpoint(text); err == nil {
			t.Errorf("ParseCheckpoint(%q) gave no error", text)
		}
	}
	if c, err := integrity.ParseCheckpoint("log\n7\n" + root + "\n"); err != nil || c.Size != 7 || c.Origin != "log" {
		t.Errorf("a valid body: %+v %v", c, err)
	}
}

// TestLeafHashIsTheCanonicalFormsRecordHash: the leaf of an entry is the
// RFC 6962 record hash of its canonical form, from the detail form as the
// API shows it.
func TestLeafHashIsTheCanonicalFormsRecordHash(t *testing.T) {
	user := "alice"
	e := audit.Entry{ID: 3, Timestamp: time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC), Username: &user, AuthMethod: "api_key",
		Action: audit.ActionCreate, ResourceType: "TrustMarkType", ResourceRepr: "https://tm", Success: true,
		SnapshotAfter: map[string]any{"tmtype": "https://tm", "valid_for": "8760"}}
	encoded, err := e.Encode()
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := integrity.LeafHash(encoded.Detail())
	if err != nil {
		t.Fatal(err)
	}
	canonical, err := audit.CanonicalJSON(encoded.Detail())
	if err != nil {
		t.Fatal(err)
	}
	if leaf != tlog.RecordHash(canonical) || leaf != encoded.LeafHash {
		t.Error("the leaf hash is not the record hash of the canonical form, as the journal computes it")
	}
	if !strings.HasPrefix(string(canonical), `{"action":"CREATE","api_key_name":null,`) {
		t.Errorf("canonical form does not start with its sorted keys: %.60s", canonical)
	}
	if again, _ := integrity.LeafHash(audit.WithLeafHash(encoded.Detail(), leaf.String())); again != leaf {
		t.Error("the detail answer's leaf_hash changed the leaf hash")
	}
	if _, err := integrity.LeafHash([]byte(`[1]`)); err == nil {
		t.Error("a leaf of a JSON array")
	}
}
