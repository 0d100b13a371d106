package integrity_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/inmor/inmor-serverless/shared/audit"
	"github.com/inmor/inmor-serverless/shared/integrity"
)

// detailOf is the detail form of an entry with snapshots of about n bytes each.
func detailOf(b *testing.B, n int) []byte {
	b.Helper()
	snapshot := func(salt string) map[string]any {
		s := map[string]any{"id": int64(7), "entityid": "https://rp.example.org"}
		for i := 0; i < n/64; i++ {
			s[fmt.Sprintf("claim_%02d", i)] = strings.Repeat(salt, 40)
		}
		return s
	}
	user := "alice"
	e := audit.Entry{ID: 42, Timestamp: time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC), Username: &user, AuthMethod: "api_key",
		Action: audit.ActionUpdate, ResourceType: "Subordinate", ResourceRepr: "https://rp.example.org", Success: true,
		SnapshotBefore: snapshot("a"), SnapshotAfter: snapshot("b")}
	encoded, err := e.Encode()
	if err != nil {
		b.Fatal(err)
	}
	return encoded.Detail()
}

// BenchmarkLeafHashFromDetail4KB: what an auditor (and audit verify) does
// per entry: the canonical form of a detail answer of about 4 KB, hashed.
// The audit function hashes the canonical form Entry.Encode writes.
func BenchmarkLeafHashFromDetail4KB(b *testing.B) {
	detail := detailOf(b, 2048)
	b.SetBytes(int64(len(detail)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := integrity.LeafHash(detail); err != nil {
			b.Fatal(err)
		}
	}
}

// memoryLog is a tree of n leaves in memory.
func memoryLog(b *testing.B, n int64) integrity.MemoryTree {
	b.Helper()
	tree := integrity.MemoryTree{}
	for i := range n {
		if _, err := tree.Append(i+1, tlog.RecordHash([]byte(fmt.Sprint(i)))); err != nil {
			b.Fatal(err)
		}
	}
	return tree
}

// BenchmarkAppendHashes: the hashes an append stores, at its worst in a
// tree of 131,071: the 18 that complete a subtree of 131,072.
func BenchmarkAppendHashes(b *testing.B) {
	const size = 1<<17 - 1
	tree := memoryLog(b, size)
	leaf := tlog.RecordHash([]byte("entry"))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tlog.StoredHashesForRecordHash(size, leaf, tree); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkProveEntry: an inclusion proof and its check, in a tree of 100,000.
func BenchmarkProveEntry(b *testing.B) {
	const size = 100_000
	tree := memoryLog(b, size)
	root, err := tlog.TreeHash(size, tree)
	if err != nil {
		b.Fatal(err)
	}
	leaf := tlog.RecordHash([]byte("4242"))
	b.ReportAllocs()
	for b.Loop() {
		proof, err := tlog.ProveRecord(size, 4242, tree)
		if err != nil {
			b.Fatal(err)
		}
		if err := tlog.CheckRecord(proof, size, root, 4242, leaf); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkProveConsistency: a consistency proof and its check, from a
// tree of 60,000 to one of 100,000.
func BenchmarkProveConsistency(b *testing.B) {
	const size, old = 100_000, 60_000
	tree := memoryLog(b, size)
	newRoot, _ := tlog.TreeHash(size, tree)
	oldRoot, _ := tlog.TreeHash(old, tree)
	b.ReportAllocs()
	for b.Loop() {
		proof, err := tlog.ProveTree(size, old, tree)
		if err != nil {
			b.Fatal(err)
		}
		if err := tlog.CheckTree(proof, size, newRoot, old, oldRoot); err != nil {
			b.Fatal(err)
		}
	}
}
