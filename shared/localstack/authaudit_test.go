package localstack_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/inmor/inmor-serverless/shared/auth"
	"github.com/inmor/inmor-serverless/shared/dynamo"
	"github.com/inmor/inmor-serverless/shared/localstack"
	"github.com/inmor/inmor-serverless/shared/operator"
	"github.com/inmor/inmor-serverless/shared/storage"
)

// operatorCLI runs inmorctl as an operator of the local stack: its
// endpoint, its auth table, and the attribution key the functions use
// (from a key file, as the CLI reads it).
func operatorCLI(t *testing.T, s *localstack.Stack, password string, args ...string) (stdout, stderr string) {
	t.Helper()
	keyFile := filepath.Join(t.TempDir(), "attribution-key")
	if err := os.WriteFile(keyFile, []byte(base64.StdEncoding.EncodeToString(s.Config.AttributionKey)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"AWS_ENDPOINT_URL_DYNAMODB": s.Endpoint, "AUTH_TABLE": s.Config.AuthTable, "RESOURCES_TABLE": s.Config.ResourcesTable,
		"ATTRIBUTION_KEY_FILE": keyFile, operator.PasswordVariable: password,
	}
	var out, errOut strings.Builder
	code := operator.Run(context.Background(), args, operator.Env{
		Getenv: func(name string) string { return env[name] }, Stdout: &out, Stderr: &errOut,
		DynamoDB: func(context.Context) (*dynamodb.Client, error) {
			return dynamo.NewClient(dynamo.LocalConfig(s.Endpoint)), nil
		},
	})
	if code != operator.ExitOK {
		t.Fatalf("inmorctl %s: exit %d: %s", strings.Join(args, " "), code, errOut.String())
	}
	return out.String(), errOut.String()
}

// entryDetail reads one entry with its snapshots.
func entryDetail(t *testing.T, s *localstack.Stack, id any) (map[string]any, string) {
	t.Helper()
	r := call(t, s, http.MethodGet, fmt.Sprintf("/api/v1/auditlog/%v", id), "")
	mustStatus(t, r, http.StatusOK)
	return r.JSON(t), string(r.Body)
}

// TestInmorctlChangesAreAudited: users and keys made and changed with
// inmorctl are User and APIKey entries attributed to the operator (cli,
// "local" on the local stack), with snapshots and diffs that hold no
// password hash, key or key hash; a key's use adds nothing.
func TestInmorctlChangesAreAudited(t *testing.T) {
	s := startStack(t)
	operatorCLI(t, s, "pw-carol-1", "user", "create", "--username", "carol", "--staff", "--email", "carol@example.org")
	key := strings.TrimSpace(must(operatorCLI(t, s, "", "apikey", "create", "--username", "carol", "--name", "deploy")))
	mustStatus(t, call(t, s, http.MethodGet, "/api/v1/trustmarktypes", "", "X-API-Key", key), http.StatusOK) // its last use
	operatorCLI(t, s, "pw-carol-2", "user", "set-password", "--username", "carol")
	operatorCLI(t, s, "", "user", "set-flags", "--username", "carol", "--superuser=true")
	operatorCLI(t, s, "", "apikey", "revoke", "--username", "carol", "--name", "deploy")
	operatorCLI(t, s, "", "user", "deactivate", "--username", "carol")
	settle(t, s)

	carol, err := authStore(s).UserByUsername(context.Background(), "carol")
	if err != nil {
		t.Fatal(err)
	}
	secrets := []string{key, auth.HashAPIKey(key), carol.PasswordHash, "pw-carol", storage.AttrPasswordHash, storage.AttrLastUsedAt}
	page := listAudit(t, s, "?auth_method=cli")
	var got []string
	for i := len(page.Items) - 1; i >= 0; i-- {
		e := page.Items[i]
		got = append(got, fmt.Sprintf("%v %v %v %v", e["resource_type"], e["action"], e["event_type"], e["username"]))
		detail, raw := entryDetail(t, s, e["id"])
		for _, secret := range secrets {
			if strings.Contains(raw, secret) {
				t.Errorf("entry %v holds %q: %s", e["id"], secret, raw)
			}
		}
		if e["user_id"] != nil || e["response_code"] != nil || e["success"] != true || e["endpoint"] == nil {
			t.Errorf("entry %v: %v", e["id"], e)
		}
		switch e["event_type"] {
		case "password_changed":
			if d := compactJSON(t, detail["diff"]); d != `{}` {
				t.Errorf("password change diff %s, want no values", d)
			}
		case "apikey_created":
			if e["resource_repr"] != "carol/deploy/"+key[:auth.KeyPrefixLength] || e["resource_id"] != nil {
				t.Errorf("key entry names %v %v", e["resource_repr"], e["resource_id"])
			}
		case "user_created":
			if e["resource_repr"] != "carol" || e["resource_id"] != float64(carol.ID) {
				t.Errorf("user entry names %v %v", e["resource_repr"], e["resource_id"])
			}
			after, _ := detail["snapshot_after"].(map[string]any)
			if after["email"] != "carol@example.org" || after["is_staff"] != true {
				t.Errorf("user snapshot %v", after)
			}
		case "user_updated":
			if d := compactJSON(t, detail["diff"]); d != `{"is_superuser":{"new":true,"old":false}}` {
				t.Errorf("flag change diff %s", d)
			}
		case "apikey_revoked":
			if d := compactJSON(t, detail["diff"]); d != `{"is_active":{"new":false,"old":true}}` {
				t.Errorf("revocation diff %s", d)
			}
		}
	}
	want := []string{
		"User CREATE user_created local", "APIKey CREATE apikey_created local", "User UPDATE password_changed local",
		"User UPDATE user_updated local", "APIKey UPDATE apikey_revoked local", "User UPDATE user_deactivated local",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("cli entries, oldest first:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if all := listAudit(t, s, "?resource_type=APIKey"); all.Count != 2 {
		t.Errorf("%d APIKey entries, want 2 (the key's use is none)", all.Count)
	}
	if byUser := listAudit(t, s, fmt.Sprintf("?resource_type=User&resource_id=%d", carol.ID)); byUser.Count != 4 {
		t.Errorf("carol's history: %d entries, want 4", byUser.Count)
	}
}

func must(stdout, _ string) string { return stdout }

// TestLoginsAndLogoutsAreAudited: logins through the API, failed,
// throttled and successful, and the logout are Session entries with the
// username tried, the caller's address and agent and the answer; never
// the password.
func TestLoginsAndLogoutsAreAudited(t *testing.T) {
	s := startStack(t)
	addUser(t, s, "dave", false)
	b := newBrowser(t, s)
	mustStatus(t, b.do(http.MethodPost, "/api/v1/auth/login", `{"username":"dave","password":"wrong-secret"}`), http.StatusUnauthorized)
	mustStatus(t, b.do(http.MethodPost, "/api/v1/auth/login", `{"username":"nobody","password":"wrong-secret"}`), http.StatusUnauthorized)
	login := b.do(http.MethodPost, "/api/v1/auth/login", `{"username":"dave","password":"pw-dave"}`)
	if login.Status == http.StatusInternalServerError { // see adminClient.login
		login = b.do(http.MethodPost, "/api/v1/auth/login", `{"username":"dave","password":"pw-dave"}`)
	}
	mustStatus(t, login, http.StatusOK)
	mustStatus(t, b.do(http.MethodPost, "/api/v1/auth/logout", ""), http.StatusOK)
	mustStatus(t, b.do(http.MethodPost, "/api/v1/auth/logout", ""), http.StatusOK) // no session: nothing ended
	for range auth.MaxLoginFailures {
		mustStatus(t, b.do(http.MethodPost, "/api/v1/auth/login", `{"username":"erin","password":"wrong-secret"}`), http.StatusUnauthorized)
	}
	mustStatus(t, b.do(http.MethodPost, "/api/v1/auth/login", `{"username":"erin","password":"wrong-secret"}`), http.StatusTooManyRequests)
	settle(t, s)

	page := listAudit(t, s, "?resource_type=Session")
	var got []string
	for i := len(page.Items) - 1; i >= 0; i-- {
		e := page.Items[i]
		got = append(got, fmt.Sprintf("%v %v %v %v %v", e["event_type"], e["action"], e["username"], e["response_code"], e["success"]))
		if e["auth_method"] != "session" || e["ip_address"] == nil || e["user_agent"] == nil || e["request_id"] == nil || e["resource_repr"] != e["username"] {
			t.Errorf("entry %v", e)
		}
		if _, raw := entryDetail(t, s, e["id"]); strings.Contains(raw, "wrong-secret") || strings.Contains(raw, "pw-dave") {
			t.Errorf("entry %v holds a password: %s", e["id"], raw)
		}
	}
	want := []string{
		"login_failed CREATE dave 401 false", "login_failed CREATE nobody 401 false", "login CREATE dave 200 true", "logout DELETE dave 200 true",
	}
	for range auth.MaxLoginFailures {
		want = append(want, "login_failed CREATE erin 401 false")
	}
	want = append(want, "login_failed CREATE erin 429 false")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Session entries, oldest first:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if p := listAudit(t, s, "?event_type=login_failed&username=erin"); p.Count != auth.MaxLoginFailures+1 {
		t.Errorf("erin's failed logins: %d", p.Count)
	}
}

// TestAdminFormLoginsAreAudited: the admin form's refusal of a user who
// is not staff is a failed login (the form answers 200), and no session
// entry of its own.
func TestAdminFormLoginsAreAudited(t *testing.T) {
	s := startStack(t)
	addUser(t, s, "bob", false)
	c := newAdminClient(t, s)
	mustStatus(t, c.login("bob", "pw-bob", "/admin/"), http.StatusOK)
	for range auth.MaxLoginFailures {
		mustStatus(t, c.login("admin", "wrong", "/admin/"), http.StatusOK)
	}
	mustStatus(t, c.login("admin", "test-password", "/admin/"), http.StatusTooManyRequests)
	settle(t, s)
	page := listAudit(t, s, "?resource_type=Session&limit=1000")
	var got []string
	for i := len(page.Items) - 1; i >= 0; i-- {
		e := page.Items[i]
		got = append(got, fmt.Sprintf("%v %v %v %v %v", e["event_type"], e["username"], e["endpoint"], e["response_code"], e["success"]))
	}
	want := []string{"login_failed bob /admin/login/ 200 false"}
	for range auth.MaxLoginFailures {
		want = append(want, "login_failed admin /admin/login/ 200 false")
	}
	want = append(want, "login_failed admin /admin/login/ 429 false")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Session entries, oldest first:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	first, _ := entryDetail(t, s, page.Items[len(page.Items)-1]["id"])
	if after, _ := first["snapshot_after"].(map[string]any); after[storage.AttrSessionResult] != storage.SessionResultNotStaff {
		t.Errorf("bob's refusal: %v", first["snapshot_after"])
	}
}

// TestForgedAuthAttributionIsOutOfBand: a user written straight into the
// table with an attribution it made up (no valid MAC), or a session event
// written so, is out-of-band, its claim kept; never the operator's or a
// login.
func TestForgedAuthAttributionIsOutOfBand(t *testing.T) {
	s := startStack(t)
	claim := &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
		"username": &types.AttributeValueMemberS{Value: "arn:aws:iam::123456789012:user/ops"}, "auth_method": &types.AttributeValueMemberS{Value: "cli"},
		"request_id": &types.AttributeValueMemberS{Value: "cli-forged"}, "operation": &types.AttributeValueMemberS{Value: "create"},
		"response_code": &types.AttributeValueMemberN{Value: "0"}, "committed_at": &types.AttributeValueMemberS{Value: "2026-01-01T00:00:00Z"},
		"user_id": &types.AttributeValueMemberN{Value: "0"}, "version": &types.AttributeValueMemberN{Value: "1"},
		"mac": &types.AttributeValueMemberS{Value: "bm90IGEgbWFj"},
	}}
	for _, item := range []map[string]types.AttributeValue{
		{
			"pk": &types.AttributeValueMemberS{Value: storage.UserPrefix + "mallory"}, "kind": &types.AttributeValueMemberS{Value: "user"},
			"sort": &types.AttributeValueMemberS{Value: "mallory"}, "id": &types.AttributeValueMemberN{Value: "99"},
			"username": &types.AttributeValueMemberS{Value: "mallory"}, "is_active": &types.AttributeValueMemberBOOL{Value: true},
			"is_superuser": &types.AttributeValueMemberBOOL{Value: true}, "password_hash": &types.AttributeValueMemberS{Value: "$argon2id$forged"},
			"version": &types.AttributeValueMemberN{Value: "1"}, "attribution": claim,
		},
		{
			"pk": &types.AttributeValueMemberS{Value: storage.SessionEventPrefix + "forged-login"}, "event": &types.AttributeValueMemberS{Value: "login"},
			"result": &types.AttributeValueMemberS{Value: "success"}, "username": &types.AttributeValueMemberS{Value: "admin"}, "attribution": claim,
		},
	} {
		if _, err := s.Client.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(s.Config.AuthTable), Item: item}); err != nil {
			t.Fatal(err)
		}
	}
	settle(t, s)
	page := listAudit(t, s, "")
	if page.Count != 2 {
		t.Fatalf("%d entries, want 2", page.Count)
	}
	for _, e := range page.Items {
		detail, raw := entryDetail(t, s, e["id"])
		if e["auth_method"] != "out_of_band" || e["username"] != nil || e["request_id"] != nil || detail["claimed_attribution"] == nil {
			t.Errorf("forged %v entry: %s", e["resource_type"], raw)
		}
		if strings.Contains(raw, "$argon2id$forged") {
			t.Errorf("the entry holds the password hash: %s", raw)
		}
	}
	if p := listAudit(t, s, "?auth_method=cli"); p.Count != 0 {
		t.Errorf("%d entries attributed to the operator", p.Count)
	}
}

// TestRestoredAuthItemIsOutOfBand: a user deleted in the table and put
// back as it was (a restore from a backup, attribution included) claims
// inmorctl's request a second time: its delete and its return are
// out-of-band, the return's claim kept.
func TestRestoredAuthItemIsOutOfBand(t *testing.T) {
	s := startStack(t)
	operatorCLI(t, s, "pw-frank", "user", "create", "--username", "frank")
	ctx := context.Background()
	key := map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: storage.UserPrefix + "frank"}}
	got, err := s.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.Config.AuthTable), Key: key, ConsistentRead: aws.Bool(true)})
	if err != nil || got.Item == nil {
		t.Fatalf("read frank: %v", err)
	}
	if _, err := s.Client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.Config.AuthTable), Key: key}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.Config.AuthTable), Item: got.Item}); err != nil {
		t.Fatal(err)
	}
	settle(t, s)
	page := listAudit(t, s, "?resource_type=User")
	var entries []string
	for i := len(page.Items) - 1; i >= 0; i-- {
		e := page.Items[i]
		entries = append(entries, fmt.Sprintf("%v %v %v", e["action"], e["event_type"], e["auth_method"]))
	}
	want := []string{"CREATE user_created cli", "DELETE user_deleted out_of_band", "CREATE user_created out_of_band"}
	if strings.Join(entries, "\n") != strings.Join(want, "\n") {
		t.Fatalf("User entries, oldest first:\n%s\nwant\n%s", strings.Join(entries, "\n"), strings.Join(want, "\n"))
	}
	if restored, raw := entryDetail(t, s, page.Items[0]["id"]); restored["claimed_attribution"] == nil || strings.Contains(raw, "password_hash") {
		t.Errorf("the restored user's entry: %s", raw)
	}
}
