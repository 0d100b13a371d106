package dynamo_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/inmor/inmor-serverless/shared/audit"
	"github.com/inmor/inmor-serverless/shared/dynamo"
	"github.com/inmor/inmor-serverless/shared/dynamotest"
	"github.com/inmor/inmor-serverless/shared/integrity"
	"github.com/inmor/inmor-serverless/shared/tables"
)

// recordingArchive keeps the checkpoints put into it, or fails.
type recordingArchive struct {
	sizes []int64
	fail  error
}

func (a *recordingArchive) PutCheckpoint(_ context.Context, size int64, _ string) error {
	if a.fail != nil {
		return a.fail
	}
	a.sizes = append(a.sizes, size)
	return nil
}

// TestCheckpointRules: a checkpoint is signed only when the log grew, at
// most once per interval; its copy is archived first, and when the archive
// fails the table gets no checkpoint and the next call makes it.
func TestCheckpointRules(t *testing.T) {
	ctx := context.Background()
	getenv := dynamotest.Getenv(t, nil)
	client := dynamo.NewClient(dynamo.LocalConfig(dynamotest.Endpoint()))
	if err := dynamo.CreateTables(ctx, client, getenv); err != nil {
		t.Fatal(err)
	}
	skey, vkey, err := note.GenerateKey(rand.Reader, integrity.DefaultOrigin)
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := note.NewSigner(skey)
	verifier, _ := note.NewVerifier(vkey)
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	archive := &recordingArchive{}
	table := tables.Audit.Name(getenv)
	j := &dynamo.Journal{Client: client, Table: table, Signer: signer, Archive: archive, Now: func() time.Time { return now }}
	log := &dynamo.AuditLog{Client: client, Table: table}
	appendOne := func(n int) {
		t.Helper()
		e := &audit.Entry{Timestamp: now, AuthMethod: audit.AuthOutOfBand, Action: audit.ActionCreate, ResourceType: "TrustMarkType",
			ResourceRepr: fmt.Sprintf("https://tm/%d", n), Success: true, SourceEventID: fmt.Sprintf("ev-%d", n)}
		if ok, err := j.Append(ctx, e); err != nil || !ok {
			t.Fatalf("append %d: %v %v", n, ok, err)
		}
	}
	latest := func() int64 {
		t.Helper()
		signed, err := log.LatestCheckpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		c, err := integrity.Open([]byte(signed), verifier)
		if err != nil {
			t.Fatal(err)
		}
		return c.Size
	}

	appendOne(1)
	if err := j.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	if latest() != 1 || len(archive.sizes) != 1 {
		t.Fatalf("latest %d, archived %v; want 1 and [1]", latest(), archive.sizes)
	}
	appendOne(2)
	if err := j.Checkpoint(ctx); err != nil || latest() != 1 {
		t.Errorf("within the interval: latest %d, %v; want still 1", latest(), err)
	}
	now = now.Add(dynamo.DefaultCheckpointInterval)
	archive.fail = errors.New("bucket unreachable")
	if err := j.Checkpoint(ctx); err == nil || latest() != 1 {
		t.Errorf("archive failing: %v, latest %d; want an error and no new checkpoint", err, latest())
	}
	archive.fail = nil
	if err := j.Checkpoint(ctx); err != nil || latest() != 2 || len(archive.sizes) != 2 || archive.sizes[1] != 2 {
		t.Errorf("after the interval: latest %d, archived %v, %v; want 2 and [1 2]", latest(), archive.sizes, err)
	}
	now = now.Add(time.Hour)
	if err := j.Checkpoint(ctx); err != nil || len(archive.sizes) != 2 {
		t.Errorf("nothing appended: archived %v, %v; want no new checkpoint", archive.sizes, err)
	}
	if _, err := log.CheckpointAt(ctx, 1); err != nil {
		t.Errorf("the checkpoint of size 1 is gone: %v", err)
	}
}
