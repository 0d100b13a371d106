package localstack_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/inmor/inmor-serverless/shared/audit"
	"github.com/inmor/inmor-serverless/shared/auth"
	"github.com/inmor/inmor-serverless/shared/dynamo"
	"github.com/inmor/inmor-serverless/shared/localstack"
	"github.com/inmor/inmor-serverless/shared/operator"
)

// auditVerify runs `inmorctl audit verify` against the stack's tables.
func auditVerify(t *testing.T, s *localstack.Stack) (code int, stdout, stderr string) {
	t.Helper()
	env := map[string]string{"RESOURCES_TABLE": s.Config.ResourcesTable, "AUDIT_TABLE": s.Config.AuditTable, "AUTH_TABLE": s.Config.AuthTable}
	var out, errOut strings.Builder
	code = operator.Run(context.Background(), []string{"audit", "verify", "--log-key", s.LogKey.VerifierKey}, operator.Env{
		Getenv: func(name string) string { return env[name] },
		Stdout: &out, Stderr: &errOut,
		DynamoDB: func(context.Context) (*dynamodb.Client, error) {
			return dynamo.NewClient(dynamo.LocalConfig(s.Endpoint)), nil
		},
	})
	return code, out.String(), errOut.String()
}

// TestEveryKindOfChangeVerifiesClean: a log made of every kind of change
// (creates, updates, renewals and revocations through API keys and
// sessions; refused and conflicting writes; out-of-band edits, deletes,
// copies and restores) passes `inmorctl audit verify`.
func TestEveryKindOfChangeVerifiesClean(t *testing.T) {
	s := startStack(t)
	post, put := http.MethodPost, http.MethodPut
	tmt := createType(t, s, `{"tmtype":"`+memberType+`"}`)
	mustStatus(t, call(t, s, put, fmt.Sprintf("/api/v1/trustmarktypes/%d", tmt), `{"valid_for":48}`), http.StatusOK)
	mustStatus(t, call(t, s, post, "/api/v1/trustmarktypes", `{"tmtype":"`+memberType+`"}`), http.StatusForbidden)
	mustStatus(t, call(t, s, put, "/api/v1/trustmarktypes/404", `{"active":false}`), http.StatusNotFound)
	mustStatus(t, call(t, s, put, fmt.Sprintf("/api/v1/trustmarktypes/%d", tmt), `{"valid_for":"x"}`), http.StatusUnprocessableEntity)
	created(t, s, "/api/v1/trustmarks", mustJSON(t, map[string]any{"tmt": tmt, "domain": rpDomain}))
	mustStatus(t, call(t, s, post, "/api/v1/trustmarks/1/renew", ""), http.StatusOK)
	mustStatus(t, call(t, s, put, "/api/v1/trustmarks/1", `{"active":false}`), http.StatusOK)
	created(t, s, "/api/v1/subordinates", mustJSON(t, subordinateBody(t, nil)))
	mustStatus(t, call(t, s, post, "/api/v1/subordinates/1/renew", ""), http.StatusOK)

	// A session writes too (with CSRF).
	b := newBrowser(t, s)
	mustStatus(t, b.do(post, "/api/v1/auth/login", `{"username":"admin","password":"test-password"}`), http.StatusOK)
	r := b.do(post, "/api/v1/trustmarktypes", `{"tmtype":"https://example.org/tm/session"}`, auth.CSRFHeader, b.cookie(auth.CSRFCookie))
	mustStatus(t, r, http.StatusCreated)
	sessionType := int(r.JSON(t)["id"].(float64))

	// Concurrent updates: some answer 409 (failed entries), none is lost.
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			call(t, s, post, "/api/v1/subordinates/1", subordinateUpdate(t, map[string]any{"metadata": map[string]any{"writer": i}}))
		}()
	}
	wg.Wait()

	// Out of band: a console edit, a copy under a new id, a delete and a
	// restore of the deleted item; then the API again.
	ctx := context.Background()
	table := aws.String(s.Config.ResourcesTable)
	_, err := s.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: table, Key: resourceKey("TrustMark", 1), UpdateExpression: aws.String("SET additional_claims = :c"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":c": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
			"note": &types.AttributeValueMemberS{Value: "console"}, "n": &types.AttributeValueMemberN{Value: "1.50"},
		}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	item := storedItem(t, s, "Subordinate", 1)
	copied := map[string]types.AttributeValue{}
	for k, v := range item {
		copied[k] = v
	}
	copied["sk"] = &types.AttributeValueMemberS{Value: fmt.Sprintf("%020d", 9)}
	copied["id"] = &types.AttributeValueMemberN{Value: "9"}
	for _, write := range []func() error{
		func() error {
			_, err := s.Client.PutItem(ctx, &dynamodb.PutItemInput{TableName: table, Item: copied})
			return err
		},
		func() error {
			_, err := s.Client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: table, Key: resourceKey("Subordinate", 1)})
			return err
		},
		func() error {
			_, err := s.Client.PutItem(ctx, &dynamodb.PutItemInput{TableName: table, Item: item})
			return err
		},
		func() error {
			_, err := s.Client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: table, Key: resourceKey("TrustMarkType", sessionType)})
			return err
		},
	} {
		if err := write(); err != nil {
			t.Fatal(err)
		}
	}
	mustStatus(t, call(t, s, post, "/api/v1/subordinates/1", subordinateUpdate(t, map[string]any{"metadata": map[string]any{"after": "restore"}})), http.StatusOK)
	mustStatus(t, call(t, s, put, "/api/v1/trustmarks/1", `{"active":true}`), http.StatusOK)

	p := settle(t, s)
	successful := listAudit(t, s, "?success=true&limit=1").Count
	failed := listAudit(t, s, "?success=false&limit=1").Count
	if failed < 3 || successful+failed != p.Count {
		t.Fatalf("%d successful and %d failed entries of %d, want at least 3 failed", successful, failed, p.Count)
	}
	for _, rt := range audit.AuthResourceTypes { // verify reconciles resources only
		successful -= listAudit(t, s, "?success=true&limit=1&resource_type="+rt).Count
	}
	code, stdout, stderr := auditVerify(t, s)
	// Items: the first type, the mark, subordinates 1 and 9; and the
	// history of the session's type, deleted.
	want := fmt.Sprintf("Verified 5 resources and %d entries: 0 problem(s).\n", successful)
	if code != operator.ExitOK || !strings.HasPrefix(stdout, want) || !strings.HasSuffix(stdout, " checkpoints read): 0 integrity problem(s).\n") || stderr != "" {
		t.Errorf("inmorctl audit verify: exit %d\nstdout:\n%s\nstderr: %s\nwant exit 0 and %q", code, stdout, stderr, want)
	}
}

// verifyRecorder stands in for a test to collect what the verification at the
// end of a test would report.
type verifyRecorder struct {
	testing.TB
	errors []string
}

func (r *verifyRecorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}
func (r *verifyRecorder) Helper() {}

// TestTheFinalVerificationCatchesAnInconsistentLog: the check every
// startStack runs at the end of its test reports each problem, as
// `inmorctl audit verify` does (which exits 1).
func TestTheFinalVerificationCatchesAnInconsistentLog(t *testing.T) {
	s := startStack(t)
	createType(t, s, `{"tmtype":"`+memberType+`"}`)
	mustStatus(t, call(t, s, http.MethodPut, "/api/v1/trustmarktypes/1", `{"active":false}`), http.StatusOK)
	settle(t, s)
	ctx := context.Background()
	key := map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: fmt.Sprintf("entry#%020d", 2)}}
	entry, err := s.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.Config.AuditTable), Key: key})
	if err != nil || entry.Item == nil {
		t.Fatalf("entry 2: %v", err)
	}
	if _, err := s.Client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.Config.AuditTable), Key: key}); err != nil {
		t.Fatal(err)
	}

	r := &verifyRecorder{TB: t}
	verifyLog(r, s)
	wantLine := "TrustMarkType#1 version 2: missing: no successful API entry: the item is at version 2, its last entry, 1, records version 1"
	if len(r.errors) != 5 || r.errors[0] != "audit log: "+wantLine || r.errors[1] != "audit log: Verified 1 resources and 1 entries: 1 problem(s)." ||
		r.errors[2] != "audit log: entry 2: removed: the id sequence gave it, the table does not have it" {
		t.Errorf("the final verification reported %q", r.errors)
	}
	code, stdout, stderr := auditVerify(t, s)
	wantStdout := wantLine + "\n" +
		"entry 2: removed: the id sequence gave it, the table does not have it\n" +
		"checkpoint 2: uncovered: the entries it covers are not all there (complete up to 1)\n" +
		"Verified 1 resources and 1 entries: 1 problem(s).\n" +
		"Verified the tree of 0 entries (1 entries, 1 checkpoints read): 2 integrity problem(s).\n"
	if code != operator.ExitFailure || stdout != wantStdout || stderr != "inmorctl: The audit log is inconsistent: 3 problem(s)\n" {
		t.Errorf("inmorctl audit verify: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}

	// Put back, the log verifies clean again (as it must at the end of the test).
	if _, err := s.Client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.Config.AuditTable), Item: entry.Item}); err != nil {
		t.Fatal(err)
	}
	r = &verifyRecorder{TB: t}
	if verifyLog(r, s); len(r.errors) != 0 {
		t.Errorf("restored log: %q", r.errors)
	}
}

// TestAnOptedOutTestMayLeaveAnInconsistentLog: allowInconsistentLog covers
// the test and its subtests.
func TestAnOptedOutTestMayLeaveAnInconsistentLog(t *testing.T) {
	allowInconsistentLog(t, "this test removes an entry on purpose")
	t.Run("subtest", func(t *testing.T) {
		s := startStack(t)
		createType(t, s, `{"tmtype":"`+memberType+`"}`)
		settle(t, s)
		key := map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: fmt.Sprintf("entry#%020d", 1)}}
		if _, err := s.Client.DeleteItem(context.Background(), &dynamodb.DeleteItemInput{TableName: aws.String(s.Config.AuditTable), Key: key}); err != nil {
			t.Fatal(err)
		}
		if why := inconsistentLogAllowed(t); why != "this test removes an entry on purpose" {
			t.Errorf("subtest allowed %q", why)
		}
	})
}
