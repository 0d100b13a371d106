package localstack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/inmor/inmor-serverless/shared/archive"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/inmor/inmor-serverless/shared/adminapi"
	"github.com/inmor/inmor-serverless/shared/integrity"
	"github.com/inmor/inmor-serverless/shared/localstack"
)

// recomputedRoot rebuilds the tree of the first size entries from their
// detail forms, as the API shows them, and returns its root.
func recomputedRoot(t *testing.T, s *localstack.Stack, size int64) tlog.Hash {
	t.Helper()
	tree := integrity.MemoryTree{}
	for id := int64(1); id <= size; id++ {
		r := call(t, s, http.MethodGet, fmt.Sprintf("/api/v1/auditlog/%d", id), "")
		mustStatus(t, r, http.StatusOK)
		leaf, err := integrity.LeafHash(r.Body)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tree.Append(id, leaf); err != nil {
			t.Fatal(err)
		}
	}
	root, err := tlog.TreeHash(size, tree)
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func hashOf(t *testing.T, s string) tlog.Hash {
	t.Helper()
	h, err := tlog.ParseHash(s)
	if err != nil {
		t.Fatalf("hash %q: %v", s, err)
	}
	return h
}

func hashesOf(t *testing.T, list []string) []tlog.Hash {
	out := make([]tlog.Hash, len(list))
	for i, s := range list {
		out[i] = hashOf(t, s)
	}
	return out
}

// TestTheLogProvesItself: after each batch the audit function signs a
// checkpoint with the log's key; an auditor who recomputes the tree from
// the entries the API shows finds its root; every entry's inclusion proof
// and the consistency proof between two checkpoints check out with tlog.
func TestTheLogProvesItself(t *testing.T) {
	s := startStack(t, func(o *localstack.Options) { o.ManualPolling = true })
	verifier, err := note.NewVerifier(s.LogKey.VerifierKey)
	if err != nil {
		t.Fatal(err)
	}
	mustStatus(t, call(t, s, http.MethodGet, "/api/v1/auditlog/checkpoint", ""), http.StatusNotFound)

	makeChanges(t, s, 4) // 6 entries
	settle(t, s)
	r := call(t, s, http.MethodGet, "/api/v1/auditlog/checkpoint", "")
	mustStatus(t, r, http.StatusOK)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("checkpoint Content-Type %q", ct)
	}
	first, err := integrity.Open(r.Body, verifier)
	if err != nil {
		t.Fatalf("the checkpoint does not verify with the log key: %v\n%s", err, r.Body)
	}
	if first.Size != 6 {
		t.Fatalf("checkpoint of size %d, want 6", first.Size)
	}
	if root := recomputedRoot(t, s, first.Size); root != first.Root {
		t.Fatal("the root recomputed from the entries is not the checkpoint's")
	}
	// A copy lies in the Object Lock bucket, which refuses to delete it.
	bucket := s.Checkpoints.Client.(*s3.Client)
	obj, err := bucket.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(s.Checkpoints.Bucket), Key: aws.String(archive.Key(6))})
	if err != nil {
		t.Fatalf("the archived checkpoint: %v", err)
	}
	archived, _ := io.ReadAll(obj.Body)
	obj.Body.Close()
	if string(archived) != string(r.Body) {
		t.Errorf("archived checkpoint %q, want %q", archived, r.Body)
	}
	if obj.ObjectLockMode != s3types.ObjectLockModeCompliance || obj.ObjectLockRetainUntilDate == nil {
		t.Errorf("the archived checkpoint is not locked: mode %q until %v", obj.ObjectLockMode, obj.ObjectLockRetainUntilDate)
	}
	if _, err := bucket.DeleteObject(context.Background(), &s3.DeleteObjectInput{
		Bucket: aws.String(s.Checkpoints.Bucket), Key: aws.String(archive.Key(6)), VersionId: obj.VersionId,
	}); err == nil {
		t.Error("the locked checkpoint was deleted")
	}

	time.Sleep(1100 * time.Millisecond) // at most one checkpoint a second
	for i := range 3 {                  // 3 more entries
		mustStatus(t, call(t, s, http.MethodPost, "/api/v1/trustmarktypes", fmt.Sprintf(`{"tmtype":"https://example.org/more/%d"}`, i)), http.StatusCreated)
	}
	settle(t, s)
	second, err := integrity.Open(call(t, s, http.MethodGet, "/api/v1/auditlog/checkpoint", "").Body, verifier)
	if err != nil || second.Size != 9 {
		t.Fatalf("second checkpoint: %+v %v, want size 9", second, err)
	}

	for id := int64(1); id <= second.Size; id++ {
		r := call(t, s, http.MethodGet, fmt.Sprintf("/api/v1/auditlog/%d/proof", id), "")
		mustStatus(t, r, http.StatusOK)
		var p adminapi.InclusionProof
		if err := json.Unmarshal(r.Body, &p); err != nil {
			t.Fatal(err)
		}
		detail := call(t, s, http.MethodGet, fmt.Sprintf("/api/v1/auditlog/%d", id), "")
		leaf, err := integrity.LeafHash(detail.Body)
		if err != nil {
			t.Fatal(err)
		}
		if shown := detail.JSON(t)["leaf_hash"]; shown != p.LeafHash {
			t.Errorf("entry %d: the detail shows leaf hash %v, the proof %s", id, shown, p.LeafHash)
		}
		c, err := integrity.Open([]byte(p.Checkpoint), verifier)
		if err != nil || c != second || p.TreeSize != second.Size || hashOf(t, p.LeafHash) != leaf {
			t.Fatalf("entry %d: proof %+v against %+v", id, p, second)
		}
		if err := tlog.CheckRecord(hashesOf(t, p.Proof), c.Size, c.Root, integrity.LeafIndex(id), leaf); err != nil {
			t.Errorf("entry %d: inclusion proof does not check: %v", id, err)
		}
	}
	r = call(t, s, http.MethodGet, "/api/v1/auditlog/3/proof?size=6", "")
	mustStatus(t, r, http.StatusOK)
	var old adminapi.InclusionProof
	if err := json.Unmarshal(r.Body, &old); err != nil {
		t.Fatal(err)
	}
	if err := tlog.CheckRecord(hashesOf(t, old.Proof), first.Size, first.Root, 2, hashOf(t, old.LeafHash)); err != nil {
		t.Errorf("proof in the first checkpoint: %v", err)
	}

	r = call(t, s, http.MethodGet, "/api/v1/auditlog/consistency?from=6", "")
	mustStatus(t, r, http.StatusOK)
	var growth adminapi.ConsistencyProof
	if err := json.Unmarshal(r.Body, &growth); err != nil {
		t.Fatal(err)
	}
	if growth.From != 6 || growth.To != 9 || growth.FromCheckpoint == "" {
		t.Errorf("consistency answer %+v", growth)
	}
	if err := tlog.CheckTree(hashesOf(t, growth.Proof), second.Size, second.Root, first.Size, first.Root); err != nil {
		t.Errorf("consistency proof does not check: %v", err)
	}

	for _, c := range []struct {
		path   string
		status int
	}{
		{"/api/v1/auditlog/10/proof", http.StatusNotFound},       // no such entry
		{"/api/v1/auditlog/7/proof?size=6", http.StatusNotFound}, // not in that tree
		{"/api/v1/auditlog/1/proof?size=5", http.StatusNotFound}, // no checkpoint of that size
		{"/api/v1/auditlog/1/proof?size=0", http.StatusUnprocessableEntity},
		{"/api/v1/auditlog/1/proof?size=x", http.StatusUnprocessableEntity},
		{"/api/v1/auditlog/consistency", http.StatusUnprocessableEntity},
		{"/api/v1/auditlog/consistency?from=10", http.StatusUnprocessableEntity},
		{"/api/v1/auditlog/consistency?from=1&to=7", http.StatusNotFound},
	} {
		if r := call(t, s, http.MethodGet, c.path, ""); r.Status != c.status {
			t.Errorf("GET %s: %d %s, want %d", c.path, r.Status, r.Body, c.status)
		}
	}
}

// TestCheckpointsWithoutS3: an endpoint that serves no bucket (here, a
// bucket name S3 refuses) leaves the checkpoints in the audit table alone;
// the stack starts and signs them all the same. (A one-letter bucket name,
// which S3 refuses, stands in for an endpoint without S3.)
func TestCheckpointsWithoutS3(t *testing.T) {
	s := startStack(t, func(o *localstack.Options) {
		o.ManualPolling = true
		getenv := o.Getenv
		o.Getenv = func(name string) string {
			if name == archive.EnvBucket {
				return "x"
			}
			return getenv(name)
		}
	})
	if s.Checkpoints != nil {
		t.Fatal("a refused bucket was kept")
	}
	mustStatus(t, call(t, s, http.MethodPost, "/api/v1/trustmarktypes", `{"tmtype":"https://example.org/tm/1"}`), http.StatusCreated)
	settle(t, s)
	mustStatus(t, call(t, s, http.MethodGet, "/api/v1/auditlog/checkpoint", ""), http.StatusOK)
}
