package operator_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/inmor/inmor-serverless/shared/integrity"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/inmor/inmor-serverless/shared/dynamo"
	"github.com/inmor/inmor-serverless/shared/dynamotest"
	"github.com/inmor/inmor-serverless/shared/localstack"
	"github.com/inmor/inmor-serverless/shared/operator"
)

const verifyTestKey = "test-key-0123456789abcdefghijklmnopqrstuvwxyz"

// verifyStack is a local stack with a TrustMarkType at version 2 (entries
// 1 and 2), its stream drained.
type verifyStack struct {
	t      *testing.T
	s      *localstack.Stack
	client *dynamodb.Client
}

func newVerifyStack(t *testing.T) *verifyStack {
	t.Helper()
	t.Parallel()
	s, err := localstack.Start(context.Background(), localstack.Options{
		Endpoint: dynamotest.Endpoint(),
		Getenv: dynamotest.Getenv(t, map[string]string{
			"INMOR_DEV_API_KEY": verifyTestKey, "INMOR_DEV_ADMIN_PASSWORD": "test-password",
			"SIGNING_KEY_FILE":     filepath.Join(t.TempDir(), "signing-key.json"),
			"AUDIT_LOG_KEY_FILE":   filepath.Join(t.TempDir(), "audit-log-key"),
			"ATTRIBUTION_KEY_FILE": filepath.Join(t.TempDir(), "attribution-key"),
			"MFA_KEY_FILE":         filepath.Join(t.TempDir(), "mfa-key"),
		}),
		Out:           io.Discard,
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
		ManualPolling: true,
	})
	if err != nil {
		t.Fatalf("start stack: %v", err)
	}
	t.Cleanup(s.Stop)
	v := &verifyStack{t: t, s: s, client: dynamo.NewClient(dynamo.LocalConfig(s.Endpoint))}
	v.send(http.MethodPost, "/api/v1/trustmarktypes", `{"tmtype":"https://example.org/tm"}`, http.StatusCreated)
	v.send(http.MethodPut, "/api/v1/trustmarktypes/1", `{"active":false}`, http.StatusOK)
	for range 100 {
		if n, err := s.Poller.PollOnce(context.Background()); err == nil && n == 0 {
			return v
		}
	}
	t.Fatal("the stream did not settle")
	return nil
}

func (v *verifyStack) send(method, path, body string, want int) {
	v.t.Helper()
	req, _ := http.NewRequest(method, v.s.URL+path, strings.NewReader(body))
	req.Header.Set("X-API-Key", verifyTestKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		v.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != want {
		v.t.Fatalf("%s %s: %d, want %d", method, path, resp.StatusCode, want)
	}
}

// run runs inmorctl with the stack's table names (unless vars says otherwise).
func (v *verifyStack) run(vars map[string]string, args ...string) result {
	v.t.Helper()
	env := map[string]string{"RESOURCES_TABLE": v.s.Config.ResourcesTable, "AUDIT_TABLE": v.s.Config.AuditTable}
	for k, val := range vars {
		env[k] = val
	}
	return runVerify(v.t, env, func(context.Context) (*dynamodb.Client, error) { return v.client, nil }, args...)
}

func runVerify(t *testing.T, env map[string]string, open func(context.Context) (*dynamodb.Client, error), args ...string) result {
	t.Helper()
	var stdout, stderr strings.Builder
	code := operator.Run(context.Background(), args, operator.Env{
		Getenv:   func(name string) string { return env[name] },
		Stdout:   &stdout,
		Stderr:   &stderr,
		DynamoDB: open,
		Store: func(context.Context) (operator.Store, error) {
			t.Error("audit verify opened the auth table")
			return nil, fmt.Errorf("no auth table")
		},
	})
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

func TestAuditVerifyCleanLog(t *testing.T) {
	v := newVerifyStack(t)
	keyFile := filepath.Join(t.TempDir(), "log.pub")
	if err := os.WriteFile(keyFile, []byte(v.s.LogKey.VerifierKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const want = "Verified 1 resources and 2 entries: 0 problem(s).\n" +
		"Verified the tree of 2 entries (2 entries, 1 checkpoints read): 0 integrity problem(s).\n"
	for _, key := range []string{v.s.LogKey.VerifierKey, keyFile} {
		r := v.run(nil, "audit", "verify", "--log-key", key)
		if r.code != operator.ExitOK || r.stdout != want || r.stderr != "" {
			t.Errorf("--log-key %s: exit %d, stdout %q, stderr %q; want 0 and the summaries alone", key, r.code, r.stdout, r.stderr)
		}
	}
	if r := v.run(nil, "audit", "verify"); r.code != operator.ExitOK || !strings.HasSuffix(r.stdout, "Signatures not checked: no --log-key.\n") {
		t.Errorf("without --log-key: exit %d, stdout %q", r.code, r.stdout)
	}
	if r := v.run(map[string]string{"AUDIT_LOG_KEY_FILE": v.s.Config.AuditTable + "-missing"}, "audit", "log-key"); r.code != operator.ExitFailure {
		t.Errorf("log-key without a key file: exit %d", r.code)
	}
}

// TestAuditVerifyNamesEachTampering: each rewrite of the audit table makes
// verify exit 1 with the line that names it.
func TestAuditVerifyNamesEachTampering(t *testing.T) {
	ctx := context.Background()
	entryKey := func(id int) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: fmt.Sprintf("entry#%020d", id)}}
	}
	get := func(v *verifyStack, key map[string]types.AttributeValue) map[string]types.AttributeValue {
		out, err := v.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(v.s.Config.AuditTable), Key: key})
		if err != nil || out.Item == nil {
			t.Fatalf("read %v: %v", key, err)
		}
		return out.Item
	}
	put := func(v *verifyStack, item map[string]types.AttributeValue) {
		if _, err := v.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(v.s.Config.AuditTable), Item: item}); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name   string
		tamper func(v *verifyStack)
		want   string
	}{
		{"a field of an entry changed", func(v *verifyStack) {
			item := get(v, entryKey(1))
			summary := item["summary"].(*types.AttributeValueMemberS).Value
			item["summary"] = &types.AttributeValueMemberS{Value: strings.Replace(summary, `"username":"admin"`, `"username":"mallory"`, 1)}
			put(v, item)
		}, "entry 1: altered: its content does not hash to the leaf its append stored\n"},
		{"an entry deleted", func(v *verifyStack) {
			if _, err := v.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(v.s.Config.AuditTable), Key: entryKey(2)}); err != nil {
				t.Fatal(err)
			}
		}, "entry 2: removed: the id sequence gave it, the table does not have it\n"},
		{"an entry inserted", func(v *verifyStack) {
			item := get(v, entryKey(2))
			item["pk"] = entryKey(3)["pk"]
			put(v, item)
		}, "entry 3: inserted: past the id sequence (2): no append wrote it\n"},
		{"two entries swapped", func(v *verifyStack) {
			first, second := get(v, entryKey(1)), get(v, entryKey(2))
			for _, name := range []string{"summary", "snapshot_before", "snapshot_after"} {
				first[name], second[name] = second[name], first[name]
			}
			put(v, first)
			put(v, second)
		}, "entry 1: reordered: it holds the content of entry 2's leaf\nentry 2: reordered: it holds the content of entry 1's leaf\n"},
		{"a checkpoint replaced", func(v *verifyStack) {
			skey, _, err := note.GenerateKey(rand.Reader, integrity.DefaultOrigin)
			if err != nil {
				t.Fatal(err)
			}
			forger, _ := note.NewSigner(skey)
			signed, _ := integrity.Sign(integrity.Checkpoint{Origin: integrity.DefaultOrigin, Size: 2}, forger)
			for _, pk := range []string{fmt.Sprintf("checkpoint#%020d", 2), "checkpoint"} {
				item := get(v, map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk}})
				item["note"] = &types.AttributeValueMemberS{Value: signed}
				put(v, item)
			}
		}, "checkpoint 2: bad-signature: checkpoint signature: "},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := newVerifyStack(t)
			c.tamper(v)
			r := v.run(nil, "audit", "verify", "--log-key", v.s.LogKey.VerifierKey)
			if r.code != operator.ExitFailure || !strings.Contains(r.stdout, c.want) {
				t.Errorf("exit %d, stdout:\n%s\nwant exit 1 and a line %q", r.code, r.stdout, c.want)
			}
		})
	}
}

func TestAuditVerifyReportsEachProblemAndExits1(t *testing.T) {
	v := newVerifyStack(t)
	ctx := context.Background()
	// A console edit the stream has not carried yet, and a removed entry.
	_, err := v.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(v.s.Config.ResourcesTable),
		Key: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "TrustMarkType"}, "sk": &types.AttributeValueMemberS{Value: fmt.Sprintf("%020d", 1)},
		},
		UpdateExpression:          aws.String("SET valid_for = :v"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": &types.AttributeValueMemberN{Value: "1"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(v.s.Config.AuditTable),
		Key:       map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: fmt.Sprintf("entry#%020d", 1)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := v.run(nil, "audit", "verify")
	want := "TrustMarkType#1 version 1: missing: no successful API entry: the next one, entry 2, records version 2\n" +
		"TrustMarkType#1 item: stale: differs from the snapshot_after of its last entry, 2 (fields: valid_for)\n" +
		"entry 1: removed: the id sequence gave it, the table does not have it\n" +
		"checkpoint 2: uncovered: the entries it covers are not all there (complete up to 0)\n" +
		"Verified 1 resources and 1 entries: 2 problem(s).\n" +
		"Verified the tree of 0 entries (1 entries, 1 checkpoints read): 2 integrity problem(s). Signatures not checked: no --log-key.\n"
	if r.code != operator.ExitFailure || r.stdout != want || r.stderr != "inmorctl: The audit log is inconsistent: 4 problem(s)\n" {
		t.Errorf("exit %d\nstdout:\n%s\nstderr: %q\nwant exit 1 and stdout:\n%s", r.code, r.stdout, r.stderr, want)
	}
}

func TestAuditVerifyUsage(t *testing.T) {
	t.Parallel()
	noDynamoDB := func(context.Context) (*dynamodb.Client, error) {
		t.Error("a usage error opened DynamoDB")
		return nil, fmt.Errorf("no DynamoDB")
	}
	for _, c := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"audit", "verify", "extra"}, operator.ExitUsage, "inmorctl audit verify: unexpected argument \"extra\"\nusage: inmorctl audit verify [--log-key KEY]\n"},
		{[]string{"audit", "verify", "--type", "TrustMark"}, operator.ExitUsage, "flag provided but not defined: -type\nusage: inmorctl audit verify [--log-key KEY]\n  -log-key string\n    \tthe log's verifier key, or a file holding it (or an Ed25519 public key in PEM)\n"},
		{[]string{"audit", "verify", "--log-key", "not a key"}, operator.ExitUsage, "inmorctl audit verify: --log-key: malformed verifier id\nusage: inmorctl audit verify [--log-key KEY]\n"},
		{[]string{"audit", "verfy"}, operator.ExitUsage, "inmorctl: unknown command \"audit verfy\"; run 'inmorctl help'\n"},
		{[]string{"audit", "verify", "-h"}, operator.ExitOK, "usage: inmorctl audit verify [--log-key KEY]\n  -log-key string\n    \tthe log's verifier key, or a file holding it (or an Ed25519 public key in PEM)\n"},
	} {
		r := runVerify(t, nil, noDynamoDB, c.args...)
		if r.code != c.code || r.stderr != c.stderr || r.stdout != "" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit %d, stderr %q", c.args, r.code, r.stdout, r.stderr, c.code, c.stderr)
		}
	}
	r := runVerify(t, nil, noDynamoDB, "help")
	if r.code != operator.ExitOK || !strings.Contains(r.stderr, "  audit verify [--log-key KEY]\n") || !strings.Contains(r.stderr, "quiet log") {
		t.Errorf("help: exit %d, no audit verify in\n%s", r.code, r.stderr)
	}
}

func TestAuditVerifyFailsWhenItCannotRead(t *testing.T) {
	t.Parallel()
	client := dynamo.NewClient(dynamo.LocalConfig(dynamotest.Endpoint()))
	open := func(context.Context) (*dynamodb.Client, error) { return client, nil }
	// No variables: the default table names, which this test never created.
	r := runVerify(t, nil, open, "audit", "verify")
	if r.code != operator.ExitFailure || r.stdout != "" ||
		!strings.HasPrefix(r.stderr, "inmorctl: audit verify: read the TrustMarkType items of inmor-resources: ") {
		t.Errorf("missing tables: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	failing := func(context.Context) (*dynamodb.Client, error) { return nil, fmt.Errorf("no credentials") }
	r = runVerify(t, nil, failing, "audit", "verify")
	if r.code != operator.ExitFailure || r.stderr != "inmorctl: no credentials\n" {
		t.Errorf("no client: exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestAuditProveChecksAnEntryThroughTheAPI: prove needs only the API and
// the log key; an entry the table altered, another key or an unknown entry
// fail it.
func TestAuditProveChecksAnEntryThroughTheAPI(t *testing.T) {
	v := newVerifyStack(t)
	api := map[string]string{"INMOR_API_URL": v.s.URL, "INMOR_API_KEY": verifyTestKey}
	noTables := func(context.Context) (*dynamodb.Client, error) {
		t.Error("audit prove opened DynamoDB")
		return nil, fmt.Errorf("no DynamoDB")
	}
	prove := func(args ...string) result {
		return runVerify(t, api, noTables, append([]string{"audit", "prove"}, args...)...)
	}
	for _, id := range []string{"1", "2"} {
		r := prove("--id", id, "--log-key", v.s.LogKey.VerifierKey)
		want := fmt.Sprintf("entry %s is leaf %d of the tree of 2 entries signed by inmor-audit-log\n", id, map[string]int{"1": 0, "2": 1}[id])
		if r.code != operator.ExitOK || r.stdout != want {
			t.Errorf("prove %s: exit %d, stdout %q, stderr %q; want %q", id, r.code, r.stdout, r.stderr, want)
		}
	}
	_, vkey, err := note.GenerateKey(rand.Reader, integrity.DefaultOrigin)
	if err != nil {
		t.Fatal(err)
	}
	if r := prove("--id", "1", "--log-key", vkey); r.code != operator.ExitFailure || !strings.Contains(r.stderr, "the checkpoint is not the log's") {
		t.Errorf("another key: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := prove("--id", "9", "--log-key", v.s.LogKey.VerifierKey); r.code != operator.ExitFailure || !strings.Contains(r.stderr, "404") {
		t.Errorf("an unknown entry: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := prove("--log-key", v.s.LogKey.VerifierKey); r.code != operator.ExitUsage {
		t.Errorf("no --id: exit %d", r.code)
	}

	// The table rewrites entry 1: the API shows what the tree did not sign.
	ctx := context.Background()
	key := map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: fmt.Sprintf("entry#%020d", 1)}}
	out, err := v.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(v.s.Config.AuditTable), Key: key})
	if err != nil {
		t.Fatal(err)
	}
	summary := out.Item["summary"].(*types.AttributeValueMemberS).Value
	out.Item["summary"] = &types.AttributeValueMemberS{Value: strings.Replace(summary, `"username":"admin"`, `"username":"mallory"`, 1)}
	if _, err := v.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(v.s.Config.AuditTable), Item: out.Item}); err != nil {
		t.Fatal(err)
	}
	if r := prove("--id", "1", "--log-key", v.s.LogKey.VerifierKey); r.code != operator.ExitFailure || !strings.Contains(r.stderr, "does not hash to the leaf") {
		t.Errorf("an altered entry: exit %d, stderr %q", r.code, r.stderr)
	}
}
