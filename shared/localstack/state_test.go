package localstack_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/inmor/inmor-serverless/shared/dynamo"
	"github.com/inmor/inmor-serverless/shared/localstack"
	"github.com/inmor/inmor-serverless/shared/tables"
)

// copyDir copies the files of a directory (the saved tables).
func copyDir(t *testing.T, from, to string) {
	t.Helper()
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// dropTables deletes the stack's tables, as a restart of moto loses them.
func dropTables(t *testing.T, s *localstack.Stack, getenv func(string) string) {
	t.Helper()
	client := dynamo.NewClient(dynamo.LocalConfig(s.Endpoint))
	for _, table := range tables.All() {
		if _, err := client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(table.Name(getenv))}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestTablesSurviveARestart: with a state directory, a clean stop saves the
// tables and the next start restores them (resources, users and keys, the
// audit log with its tree and checkpoints, which verifies clean and goes
// on without re-recording the restored items); changes are also saved
// every interval, so a crash loses at most one interval.
func TestTablesSurviveARestart(t *testing.T) {
	dir, crashed := t.TempDir(), t.TempDir()
	var getenv func(string) string
	first := startStack(t, func(o *localstack.Options) {
		getenv, o.StateDir, o.StateInterval = o.Getenv, dir, 50*time.Millisecond
	})
	createType(t, first, `{"tmtype":"https://tm.example/kept"}`)
	settle(t, first)
	// Saved within an interval, without a stop: what a crash would keep.
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _ := os.ReadFile(filepath.Join(dir, tables.Resources.Name(getenv)+".jsonl"))
		a, _ := os.ReadFile(filepath.Join(dir, tables.Audit.Name(getenv)+".jsonl"))
		if strings.Contains(string(b), "https://tm.example/kept") && strings.Contains(string(a), "https://tm.example/kept") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the change was not saved within the interval")
		}
		time.Sleep(20 * time.Millisecond)
	}
	copyDir(t, dir, crashed)
	createType(t, first, `{"tmtype":"https://tm.example/at-stop"}`)
	first.Stop()
	dropTables(t, first, getenv)

	second := startStack(t, func(o *localstack.Options) { o.Getenv, o.StateDir = getenv, dir })
	if r := call(t, second, http.MethodGet, "/api/v1/trustmarktypes/2", ""); r.Status != http.StatusOK || !strings.Contains(string(r.Body), "at-stop") {
		t.Fatalf("the type created before the stop: %d %s", r.Status, r.Body)
	}
	before := settle(t, second)
	if before.Count != 2 {
		t.Errorf("the restored audit log holds %d entries, want 2 (restored items are not recorded again)", before.Count)
	}
	createType(t, second, `{"tmtype":"https://tm.example/after"}`)
	if after := settle(t, second); after.Count != 3 || after.Items[0]["id"] != float64(3) {
		t.Errorf("after a new write: %d entries, newest %v; want 3, id 3", after.Count, after.Items[0]["id"])
	}
	second.Stop()
	dropTables(t, second, getenv)

	// A crash after the periodic save keeps what it saved.
	third := startStack(t, func(o *localstack.Options) { o.Getenv, o.StateDir = getenv, crashed })
	if r := call(t, third, http.MethodGet, "/api/v1/trustmarktypes/1", ""); r.Status != http.StatusOK {
		t.Errorf("the type saved before the crash: %d %s", r.Status, r.Body)
	}
	if r := call(t, third, http.MethodGet, "/api/v1/trustmarktypes/2", ""); r.Status != http.StatusNotFound {
		t.Errorf("the type created after the last save: %d, want 404", r.Status)
	}
}
