// Package integrity makes the audit log prove itself: a Merkle tree over
// the entries (RFC 6962 hashing, golang.org/x/mod/sumdb/tlog, the library
// of Go's checksum database) and signed checkpoints of it (C2SP
// tlog-checkpoint signed notes, golang.org/x/mod/sumdb/note). Entry id n is
// leaf n-1; a leaf hashes the entry's canonical JSON. Nothing here knows
// DynamoDB: a store gives the stored hashes through tlog.HashReader.
package integrity

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/inmor/inmor-serverless/shared/audit"
)

// DefaultOrigin is the checkpoints' origin line (and the log key's name)
// when none is configured.
const DefaultOrigin = "inmor-audit-log"

// LeafIndex is the tree index of the entry with the given id.
func LeafIndex(entryID int64) int64 { return entryID - 1 }

// LeafHash is the tree's record hash of an entry, from its detail form:
// that of its canonical form (audit.CanonicalJSON).
func LeafHash(detail []byte) (tlog.Hash, error) {
	canonical, err := audit.CanonicalJSON(detail)
	if err != nil {
		return tlog.Hash{}, err
	}
	return tlog.RecordHash(canonical), nil
}

// Checkpoint is a tree head: the tree's size and root hash, under the
// log's origin line.
type Checkpoint struct {
	Origin string
	Size   int64
	Root   tlog.Hash
}

// Text is the checkpoint's body as C2SP tlog-checkpoint writes it.
func (c Checkpoint) Text() string {
	return c.Origin + "\n" + strconv.FormatInt(c.Size, 10) + "\n" + base64.StdEncoding.EncodeToString(c.Root[:]) + "\n"
}

// ParseCheckpoint reads a checkpoint body (extension lines are refused:
// this log writes none).
func ParseCheckpoint(text string) (Checkpoint, error) {
	lines := strings.SplitAfter(text, "\n")
	if len(lines) != 4 || lines[3] != "" {
		return Checkpoint{}, fmt.Errorf("checkpoint: want 3 lines, origin, size and root hash")
	}
	origin, sizeText, rootText := strings.TrimSuffix(lines[0], "\n"), strings.TrimSuffix(lines[1], "\n"), strings.TrimSuffix(lines[2], "\n")
	size, err := strconv.ParseInt(sizeText, 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != sizeText {
		return Checkpoint{}, fmt.Errorf("checkpoint: bad size %q", sizeText)
	}
	root, err := base64.StdEncoding.DecodeString(rootText)
	if err != nil || len(root) != tlog.HashSize {
		return Checkpoint{}, fmt.Errorf("checkpoint: bad root hash %q", rootText)
	}
	if origin == "" {
		return Checkpoint{}, fmt.Errorf("checkpoint: empty origin")
	}
	c := Checkpoint{Origin: origin, Size: size}
	copy(c.Root[:], root)
	return c, nil
}

// Sign signs a checkpoint as a note.
func Sign(c Checkpoint, signer note.Signer) (string, error) {
	signed, err := note.Sign(&note.Note{Text: c.Text()}, signer)
	if err != nil {
		return "", fmt.Errorf("sign checkpoint: %w", err)
	}
	return string(signed), nil
}

// Open checks a signed checkpoint with the log's verifier and reads it;
// its origin must be the verifier's name.
func Open(signed []byte, verifier note.Verifier) (Checkpoint, error) {
	n, err := note.Open(signed, note.VerifierList(verifier))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("checkpoint signature: %w", err)
	}
	c, err := ParseCheckpoint(n.Text)
	if err != nil {
		return Checkpoint{}, err
	}
	if c.Origin != verifier.Name() {
		return Checkpoint{}, fmt.Errorf("checkpoint origin %q is not the log key's name %q", c.Origin, verifier.Name())
	}
	return c, nil
}

// Log reads a stored log's checkpoints and proofs. Sizes and ids count
// entries; an unknown entry or checkpoint is a NotFound error (apperr).
type Log interface {
	// LatestCheckpoint returns the latest signed checkpoint.
	LatestCheckpoint(ctx context.Context) (string, error)
	// CheckpointAt returns the signed checkpoint of the tree of a size.
	CheckpointAt(ctx context.Context, size int64) (string, error)
	// LeafHash returns the stored leaf hash of an entry.
	LeafHash(ctx context.Context, id int64) (tlog.Hash, error)
	// ProveEntry proves that entry id is in the tree of the given size.
	ProveEntry(ctx context.Context, id, size int64) (tlog.RecordProof, error)
	// ProveConsistency proves that the tree of size to extends that of
	// size from.
	ProveConsistency(ctx context.Context, from, to int64) (tlog.TreeProof, error)
}

// Archive keeps a copy of every checkpoint outside the log's table, where
// no one can shorten its retention (in AWS an S3 bucket with Object Lock in
// compliance mode).
type Archive interface {
	// PutCheckpoint stores the signed checkpoint of the tree of size entries.
	PutCheckpoint(ctx context.Context, size int64, signed string) error
}
