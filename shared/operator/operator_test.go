package operator_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/inmor/inmor-serverless/shared/apperr"
	"github.com/inmor/inmor-serverless/shared/auth"
	"github.com/inmor/inmor-serverless/shared/dynamo"
	"github.com/inmor/inmor-serverless/shared/dynamotest"
	"github.com/inmor/inmor-serverless/shared/mfa"
	"github.com/inmor/inmor-serverless/shared/operator"
	"github.com/inmor/inmor-serverless/shared/tables"
)

func TestMain(m *testing.M) { dynamotest.Main(m) }

// harness runs inmorctl against an auth table of the test's own on moto.
type harness struct {
	t      *testing.T
	getenv func(string) string
	store  *dynamo.Auth
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	t.Parallel()
	// A local endpoint: the operator is "local", no AWS identity to ask.
	getenv := dynamotest.Getenv(t, map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": dynamotest.Endpoint()})
	client := dynamo.NewClient(dynamo.LocalConfig(dynamotest.Endpoint()))
	name := tables.Auth.Name(getenv)
	dynamotest.CreateTable(t, client, dynamo.CreateTableInput(tables.Auth, name))
	return &harness{t: t, getenv: getenv, store: &dynamo.Auth{Client: client, Table: name}}
}

type result struct {
	code           int
	stdout, stderr string
}

// run runs inmorctl with args, stdin, and vars on top of the test's environment.
func (h *harness) run(stdin string, vars map[string]string, args ...string) result {
	h.t.Helper()
	var stdout, stderr strings.Builder
	code := operator.Run(context.Background(), args, operator.Env{
		Getenv: func(name string) string {
			if v, ok := vars[name]; ok {
				return v
			}
			return h.getenv(name)
		},
		Stdin:  strings.NewReader(stdin),
		Stdout: &stdout,
		Stderr: &stderr,
		Store:  func(context.Context) (operator.Store, error) { return h.store, nil },
	})
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// ok runs args and fails the test unless they succeed with nothing on stderr.
func (h *harness) ok(args ...string) string {
	h.t.Helper()
	r := h.run("", nil, args...)
	if r.code != 0 || r.stderr != "" {
		h.t.Fatalf("inmorctl %s: exit %d, stderr %q", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout
}

func (h *harness) createUser(username string, flags ...string) {
	h.t.Helper()
	args := append([]string{"user", "create", "--username", username}, flags...)
	r := h.run("", map[string]string{"INMOR_PASSWORD": "pw-" + username}, args...)
	if r.code != 0 {
		h.t.Fatalf("create user %s: exit %d: %s", username, r.code, r.stderr)
	}
}

// createKey runs `apikey create` and returns the printed key.
func (h *harness) createKey(username string, flags ...string) string {
	h.t.Helper()
	out := h.ok(append([]string{"apikey", "create", "--username", username}, flags...)...)
	return strings.TrimSuffix(out, "\n")
}

func (h *harness) user(username string) auth.User {
	h.t.Helper()
	u, err := h.store.UserByUsername(context.Background(), username)
	if err != nil {
		h.t.Fatalf("user %s: %v", username, err)
	}
	return u
}

func (h *harness) key(plaintext string) auth.APIKey {
	h.t.Helper()
	k, err := h.store.APIKeyByHash(context.Background(), auth.HashAPIKey(plaintext))
	if err != nil {
		h.t.Fatalf("no stored key for the printed key: %v", err)
	}
	return k
}

func (h *harness) keys(username string) []auth.APIKey {
	h.t.Helper()
	keys, err := h.store.APIKeys(context.Background(), username)
	if err != nil {
		h.t.Fatalf("list keys: %v", err)
	}
	return keys
}

// authenticate presents plaintext as the API server would receive it.
func (h *harness) authenticate(plaintext string) (auth.Principal, error) {
	r := httptest.NewRequest("GET", "/api/v1/trustmarktypes", nil)
	r.Header.Set(auth.APIKeyHeader, plaintext)
	a := &auth.Authenticator{Store: h.store}
	return a.Authenticate(r)
}

func wantFailure(t *testing.T, r result, code int, message string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit code %d, want %d (stderr %q)", r.code, code, r.stderr)
	}
	if !strings.Contains(r.stderr, message) {
		t.Errorf("stderr %q does not say %q", r.stderr, message)
	}
	if r.stdout != "" {
		t.Errorf("stdout %q, want nothing", r.stdout)
	}
}

func TestUserCreate(t *testing.T) {
	tests := []struct {
		name       string
		stdin      string
		vars       map[string]string
		flags      []string
		password   string
		wantStaff  bool
		wantSuper  bool
		wantEmail  string
		forbidNote string
	}{
		{name: "password from INMOR_PASSWORD", vars: map[string]string{"INMOR_PASSWORD": "env secret"},
			stdin: "not this one\n", password: "env secret"},
		{name: "password from the first line of stdin", stdin: "stdin secret\nsecond line\n", password: "stdin secret"},
		{name: "stdin without a final newline", stdin: "no newline", password: "no newline"},
		{name: "stdin with CRLF", stdin: "crlf secret\r\n", password: "crlf secret"},
		{name: "staff", stdin: "pw\n", flags: []string{"--staff"}, password: "pw", wantStaff: true},
		{name: "superuser implies staff", stdin: "pw\n", flags: []string{"--superuser"}, password: "pw", wantStaff: true, wantSuper: true},
		{name: "email with its domain lowercased", stdin: "pw\n", flags: []string{"--email", "Alice@Example.ORG"}, password: "pw", wantEmail: "Alice@example.org"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			before := time.Now().UTC()
			r := h.run(tt.stdin, tt.vars, append([]string{"user", "create", "--username", "alice"}, tt.flags...)...)
			if r.code != 0 || r.stdout != "User 'alice' created.\n" || r.stderr != "" {
				t.Fatalf("got exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
			}
			u := h.user("alice")
			if ok, err := auth.VerifyPassword(tt.password, u.PasswordHash); !ok || err != nil {
				t.Errorf("stored hash does not verify %q: %v %v", tt.password, ok, err)
			}
			if ok, _ := auth.VerifyPassword(tt.password+"x", u.PasswordHash); ok {
				t.Error("stored hash verifies a wrong password")
			}
			if !u.IsActive || u.IsStaff != tt.wantStaff || u.IsSuperuser != tt.wantSuper || u.Email != tt.wantEmail {
				t.Errorf("user %+v: want active, staff %v, superuser %v, email %q", u, tt.wantStaff, tt.wantSuper, tt.wantEmail)
			}
			if u.ID <= 0 || u.DateJoined.Before(before.Add(-time.Second)) {
				t.Errorf("id %d, joined %v", u.ID, u.DateJoined)
			}
			if strings.Contains(r.stdout+r.stderr, tt.password) {
				t.Error("the password was printed")
			}
		})
	}
}

func TestUserCreateFailures(t *testing.T) {
	h := newHarness(t)
	h.createUser("alice")
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devNull.Close()

	tests := []struct {
		name    string
		stdin   string
		args    []string
		code    int
		message string
	}{
		{"existing username", "pw\n", []string{"--username", "alice"}, 1, "User 'alice' already exists"},
		{"empty stdin", "", []string{"--username", "bob"}, 2, "no password"},
		{"empty first line", "\nsecond\n", []string{"--username", "bob"}, 2, "no password"},
		{"no username", "pw\n", nil, 2, "--username is required"},
		{"username with the store's separator", "pw\n", []string{"--username", "a#b"}, 2, "invalid username"},
		{"bad email", "pw\n", []string{"--username", "bob", "--email", "not an address"}, 2, "invalid email"},
		{"unknown flag", "pw\n", []string{"--username", "bob", "--admin"}, 2, "flag provided but not defined"},
		{"positional argument", "pw\n", []string{"--username", "bob", "extra"}, 2, `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.run(tt.stdin, nil, append([]string{"user", "create"}, tt.args...)...)
			wantFailure(t, r, tt.code, tt.message)
		})
	}
	t.Run("stdin is a device, not a pipe", func(t *testing.T) {
		var stdout, stderr strings.Builder
		code := operator.Run(context.Background(), []string{"user", "create", "--username", "bob"}, operator.Env{
			Getenv: h.getenv, Stdin: devNull, Stdout: &stdout, Stderr: &stderr,
			Store: func(context.Context) (operator.Store, error) { return h.store, nil },
		})
		wantFailure(t, result{code, stdout.String(), stderr.String()}, 2, "set INMOR_PASSWORD or pipe the password")
	})

	users, err := h.store.Users(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 1 || users[0].Username != "alice" {
		t.Errorf("users after failures: %+v, want only alice", users)
	}
	if ok, _ := auth.VerifyPassword("pw-alice", users[0].PasswordHash); !ok {
		t.Error("a failed create changed alice's password")
	}
}

func TestUserList(t *testing.T) {
	h := newHarness(t)
	if out := h.ok("user", "list"); out != "No users found.\n" {
		t.Errorf("empty list: %q", out)
	}
	h.createUser("zoe", "--superuser", "--email", "zoe@example.org")
	h.createUser("adam")

	lines := strings.Split(strings.TrimSuffix(h.ok("user", "list"), "\n"), "\n")
	want := [][]string{
		{"ID", "Username", "Email", "Staff", "Superuser", "Active"},
		{"1", "zoe", "zoe@example.org", "yes", "yes", "yes"},
		{"2", "adam", "-", "no", "no", "yes"},
	}
	if len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(want), strings.Join(lines, "\n"))
	}
	for i, line := range lines {
		if got := strings.Fields(line); strings.Join(got, "|") != strings.Join(want[i], "|") {
			t.Errorf("line %d: %q, want fields %q", i, line, want[i])
		}
	}
	if strings.Contains(strings.Join(lines, "\n"), "argon2") {
		t.Error("the list shows a password hash")
	}
}

func TestAPIKeyCreate(t *testing.T) {
	h := newHarness(t)
	h.createUser("alice", "--staff")
	before := time.Now().UTC()
	r := h.run("", nil, "apikey", "create", "--username", "alice")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	plaintext, found := strings.CutSuffix(r.stdout, "\n")
	if !found || strings.ContainsAny(plaintext, " \t\n") || len(plaintext) < 40 {
		t.Fatalf("stdout %q is not one key and a newline", r.stdout)
	}

	k := h.key(plaintext)
	alice := h.user("alice")
	if k.Prefix != plaintext[:8] || k.Name != "default" || k.Tenant != "default" || k.Scope != auth.ScopeAdmin ||
		k.Username != "alice" || k.UserID != alice.ID || !k.IsActive || k.ExpiresAt != nil || k.LastUsedAt != nil {
		t.Errorf("stored key %+v", k)
	}
	if k.CreatedAt.Before(before.Add(-time.Second)) || k.CreatedAt.After(time.Now().Add(time.Second)) || k.CreatedAt.Location() != time.UTC {
		t.Errorf("created at %v, want now in UTC", k.CreatedAt)
	}
	if strings.Contains(r.stdout, k.Hash) {
		t.Error("the hash was printed")
	}

	p, err := h.authenticate(plaintext)
	if err != nil {
		t.Fatalf("the printed key does not authenticate: %v", err)
	}
	if p.Username != "alice" || p.UserID != alice.ID || !p.IsStaff || p.APIKeyName != "default" || p.Tenant != "default" || p.Scope != auth.ScopeAdmin {
		t.Errorf("principal %+v", p)
	}
}

func TestAPIKeyCreateOptions(t *testing.T) {
	h := newHarness(t)
	h.createUser("alice", "--staff")
	expires := time.Now().Add(30 * 24 * time.Hour).Truncate(time.Second)

	t.Run("tenant", func(t *testing.T) {
		k := h.key(h.createKey("alice", "--name", "tenant key", "--tenant", "acme-corp"))
		if k.Name != "tenant key" || k.Tenant != "acme-corp" || k.Scope != auth.ScopeAdmin {
			t.Errorf("stored key %+v", k)
		}
	})
	t.Run("expiry and audit:read scope", func(t *testing.T) {
		// A local offset: stored and compared as the same instant.
		plaintext := h.createKey("alice", "--name", "auditor", "--expires", expires.In(time.FixedZone("", 2*3600)).Format(time.RFC3339), "--scope", "audit:read")
		k := h.key(plaintext)
		if k.Scope != auth.ScopeAuditRead || k.ExpiresAt == nil || !k.ExpiresAt.Equal(expires) {
			t.Errorf("stored key %+v, want scope audit:read expiring %v", k, expires)
		}
		p, err := h.authenticate(plaintext)
		if err != nil || p.Scope != auth.ScopeAuditRead {
			t.Errorf("principal %+v, %v", p, err)
		}
	})
	t.Run("Inmor's --key-name", func(t *testing.T) {
		if k := h.key(h.createKey("alice", "--key-name", "CI deploy")); k.Name != "CI deploy" {
			t.Errorf("name %q", k.Name)
		}
	})
}

func TestAPIKeyCreateFailures(t *testing.T) {
	h := newHarness(t)
	h.createUser("alice")
	if _, err := h.store.CreateUser(context.Background(), auth.User{Username: "dormant", IsActive: false, PasswordHash: "x"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		code    int
		message string
	}{
		{"unknown user", []string{"--username", "nobody"}, 1, "User 'nobody' does not exist"},
		{"inactive user", []string{"--username", "dormant"}, 1, "Cannot create an API key for inactive user 'dormant'"},
		{"no username", nil, 2, "--username is required"},
		{"bad scope", []string{"--username", "alice", "--scope", "superuser"}, 2, `invalid --scope "superuser": want admin or audit:read`},
		{"expiry without a time", []string{"--username", "alice", "--expires", "2030-01-01"}, 2, "want an RFC 3339 time"},
		{"expiry not a time", []string{"--username", "alice", "--expires", "tomorrow"}, 2, "want an RFC 3339 time"},
		{"expiry in the past", []string{"--username", "alice", "--expires", "2001-02-03T04:05:06Z"}, 2, "in the past"},
		{"empty name", []string{"--username", "alice", "--name", ""}, 2, "--name must not be empty"},
		{"empty tenant", []string{"--username", "alice", "--tenant", ""}, 2, "--tenant must not be empty"},
		{"name with a tab", []string{"--username", "alice", "--name", "a\tb"}, 2, "control character"},
		{"name too long", []string{"--username", "alice", "--name", strings.Repeat("n", 256)}, 2, "longer than 255"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantFailure(t, h.run("", nil, append([]string{"apikey", "create"}, tt.args...)...), tt.code, tt.message)
		})
	}
	if keys := h.keys(""); len(keys) != 0 {
		t.Errorf("failed creates stored %d keys", len(keys))
	}
}

// rows returns the fields of a table's data rows, keyed by the first column.
func rows(t *testing.T, out string, header string) map[string][]string {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if got := strings.Join(strings.Fields(lines[0]), " "); got != header {
		t.Fatalf("header %q, want %q", got, header)
	}
	byName := map[string][]string{}
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		byName[f[0]+"/"+f[2]] = f
	}
	return byName
}

const keyHeader = "Name Prefix User Tenant Scope Active Created Expires Last Used"

func TestAPIKeyList(t *testing.T) {
	h := newHarness(t)
	h.createUser("alice", "--staff")
	h.createUser("bob")
	expires := time.Date(2099, 1, 2, 3, 4, 5, 0, time.UTC)
	one := h.createKey("alice", "--name", "key-one")
	two := h.createKey("alice", "--name", "key-two", "--tenant", "acme", "--scope", "audit:read", "--expires", "2099-01-02T03:04:05Z")
	h.createKey("bob", "--name", "bobs-key")
	used := time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC)
	if err := h.store.TouchAPIKey(context.Background(), auth.HashAPIKey(one), used, used); err != nil {
		t.Fatal(err)
	}
	h.ok("apikey", "revoke", "--username", "alice", "--name", "key-two")

	got := rows(t, h.ok("apikey", "list", "--username", "alice"), keyHeader)
	if len(got) != 2 {
		t.Fatalf("rows %q, want alice's two keys", got)
	}
	created := h.key(one).CreatedAt.Format(time.RFC3339)
	want := map[string][]string{
		"key-one/alice": {"key-one", one[:8], "alice", "default", "admin", "yes", created, "-", used.Format(time.RFC3339)},
		"key-two/alice": {"key-two", two[:8], "alice", "acme", "audit:read", "no", h.key(two).CreatedAt.Format(time.RFC3339), expires.Format(time.RFC3339), "-"},
	}
	for id, fields := range want {
		if strings.Join(got[id], " ") != strings.Join(fields, " ") {
			t.Errorf("row %s: %q, want %q", id, got[id], fields)
		}
	}
	if strings.Contains(h.ok("apikey", "list", "--username", "alice"), one) {
		t.Error("the list shows a key")
	}
}

func TestAPIKeyListAll(t *testing.T) {
	h := newHarness(t)
	h.createUser("testuser")
	h.createUser("otheruser")
	h.createKey("testuser", "--name", "key-for-test")
	h.createKey("otheruser", "--name", "key-for-other")

	got := rows(t, h.ok("apikey", "list", "--all"), keyHeader)
	if len(got) != 2 || got["key-for-test/testuser"] == nil || got["key-for-other/otheruser"] == nil {
		t.Errorf("rows %q, want both users' keys", got)
	}
}

func TestAPIKeyListEmpty(t *testing.T) {
	h := newHarness(t)
	if out := h.ok("apikey", "list", "--all"); out != "No API keys found.\n" {
		t.Errorf("--all with no keys: %q", out)
	}
	h.createUser("testuser")
	h.createUser("other")
	h.createKey("other")
	if out := h.ok("apikey", "list", "--username", "testuser"); out != "No API keys found.\n" {
		t.Errorf("user with no keys: %q", out)
	}
}

func TestAPIKeyListFailures(t *testing.T) {
	h := newHarness(t)
	h.createUser("alice")
	tests := []struct {
		name    string
		args    []string
		code    int
		message string
	}{
		{"unknown user", []string{"--username", "nobody"}, 1, "User 'nobody' does not exist"},
		{"neither --username nor --all", nil, 2, "give either --username or --all"},
		{"both --username and --all", []string{"--username", "alice", "--all"}, 2, "give either --username or --all"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantFailure(t, h.run("", nil, append([]string{"apikey", "list"}, tt.args...)...), tt.code, tt.message)
		})
	}
}

func TestAPIKeyRevoke(t *testing.T) {
	h := newHarness(t)
	h.createUser("alice")
	h.createUser("bob")
	first := h.createKey("alice", "--name", "ci")
	second := h.createKey("alice", "--name", "ci", "--tenant", "acme")
	other := h.createKey("alice", "--name", "laptop")
	bobs := h.createKey("bob", "--name", "ci")

	r := h.run("", nil, "apikey", "revoke", "--username", "alice", "--name", "ci")
	if r.code != 0 || r.stdout != "Revoked 2 key(s) named 'ci' for user 'alice'.\n" || r.stderr != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	for _, revoked := range []string{first, second} {
		if h.key(revoked).IsActive {
			t.Errorf("key %s… is still active", revoked[:8])
		}
		if _, err := h.authenticate(revoked); !apperr.Is(apperr.Unauthorized, err) {
			t.Errorf("revoked key %s… authenticates: %v", revoked[:8], err)
		}
	}
	for _, kept := range []string{other, bobs} {
		if !h.key(kept).IsActive {
			t.Errorf("key %s… of another name or user was revoked", kept[:8])
		}
	}

	again := h.run("", nil, "apikey", "revoke", "--username", "alice", "--name", "ci")
	wantFailure(t, again, 1, "No active API key named 'ci' found for user 'alice'")

	// Inmor's spelling of the flag works too.
	if out := h.ok("apikey", "revoke", "--username", "bob", "--key-name", "ci"); out != "Revoked 1 key(s) named 'ci' for user 'bob'.\n" {
		t.Errorf("revoke with --key-name: %q", out)
	}
}

func TestAPIKeyRevokeFailures(t *testing.T) {
	h := newHarness(t)
	h.createUser("testuser")
	h.createKey("testuser", "--name", "exists")
	tests := []struct {
		name    string
		args    []string
		code    int
		message string
	}{
		{"no key of that name", []string{"--username", "testuser", "--name", "nope"}, 1, "No active API key named 'nope' found for user 'testuser'"},
		{"unknown user", []string{"--username", "nobody", "--name", "exists"}, 1, "User 'nobody' does not exist"},
		{"no name", []string{"--username", "testuser"}, 2, "--name is required"},
		{"no username", []string{"--name", "exists"}, 2, "--username is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantFailure(t, h.run("", nil, append([]string{"apikey", "revoke"}, tt.args...)...), tt.code, tt.message)
		})
	}
	if keys := h.keys("testuser"); len(keys) != 1 || !keys[0].IsActive {
		t.Errorf("keys after failed revokes: %+v", keys)
	}
}

func TestUsage(t *testing.T) {
	h := newHarness(t)
	synopses := []string{
		"user create --username U [--email E] [--superuser] [--staff]",
		"user list",
		"apikey create --username U [--name N] [--tenant T] [--expires RFC3339] [--scope admin|audit:read]",
		"apikey list (--username U | --all)",
		"apikey revoke --username U --name N",
	}
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}} {
		r := h.run("", nil, args...)
		if r.code != 0 || r.stdout != "" {
			t.Errorf("%v: exit %d, stdout %q", args, r.code, r.stdout)
		}
		for _, s := range synopses {
			if !strings.Contains(r.stderr, s) {
				t.Errorf("%v: usage lacks %q", args, s)
			}
		}
	}
	if r := h.run("", nil); r.code != 2 || !strings.Contains(r.stderr, synopses[0]) {
		t.Errorf("no arguments: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := h.run("", nil, "apikey", "create", "-h"); r.code != 0 || !strings.Contains(r.stderr, "-scope") {
		t.Errorf("apikey create -h: exit %d, stderr %q", r.code, r.stderr)
	}
	for _, args := range [][]string{{"frobnicate"}, {"user"}, {"user", "delete"}, {"apikey", "rotate"}} {
		wantFailure(t, h.run("", nil, args...), 2, "run 'inmorctl help'")
	}
}

func TestStoreFailures(t *testing.T) {
	h := newHarness(t)
	missing := &dynamo.Auth{Client: h.store.Client, Table: "no-such-table"}
	var stdout, stderr strings.Builder
	code := operator.Run(context.Background(), []string{"user", "list"}, operator.Env{
		Getenv: h.getenv, Stdout: &stdout, Stderr: &stderr,
		Store: func(context.Context) (operator.Store, error) { return missing, nil },
	})
	wantFailure(t, result{code, stdout.String(), stderr.String()}, 1, "list users: ")

	stdout.Reset()
	stderr.Reset()
	code = operator.Run(context.Background(), []string{"apikey", "list", "--all"}, operator.Env{
		Stdout: &stdout, Stderr: &stderr,
		Store: func(context.Context) (operator.Store, error) { return nil, errors.New("no credentials") },
	})
	wantFailure(t, result{code, stdout.String(), stderr.String()}, 1, "open the auth table: no credentials")
}

// TestBinary runs the real command, configured only by the environment, as
// an operator would against the local stack.
func TestBinary(t *testing.T) {
	h := newHarness(t)
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build inmorctl: %v", err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "inmorctl")
	build := exec.Command(goTool, "build", "-o", bin, "github.com/inmor/inmor-serverless/cmd/inmorctl")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	env := []string{
		"AWS_ENDPOINT_URL=" + dynamotest.Endpoint(),
		"AWS_ACCESS_KEY_ID=local", "AWS_SECRET_ACCESS_KEY=local", "AWS_REGION=us-east-1",
		// Keep the developer's own AWS files and the instance metadata out of it.
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
		"AUTH_TABLE=" + h.store.Table,
	}
	inmorctl := func(stdin string, args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		cmd.Stdin = strings.NewReader(stdin)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("inmorctl %v: %v: %s", args, err, stderr.String())
		}
		return string(out)
	}

	if out := inmorctl("binary secret\n", "user", "create", "--username", "operator", "--superuser"); out != "User 'operator' created.\n" {
		t.Errorf("user create: %q", out)
	}
	plaintext := strings.TrimSuffix(inmorctl("", "apikey", "create", "--username", "operator", "--name", "ci"), "\n")
	k := h.key(plaintext)
	if k.Username != "operator" || k.Name != "ci" || !k.IsActive {
		t.Errorf("stored key %+v", k)
	}
	if ok, _ := auth.VerifyPassword("binary secret", h.user("operator").PasswordHash); !ok {
		t.Error("the password read from the binary's stdin does not verify")
	}
}

// The store finds a user's keys by the prefix "<username>#", which the keys
// of a user named "alice#x" share; such a name cannot be made with inmorctl,
// but the commands must not mix up owners if one is ever stored.
func TestAPIKeysOfAPrefixUser(t *testing.T) {
	h := newHarness(t)
	h.createUser("alice")
	ctx := context.Background()
	odd, err := h.store.CreateUser(ctx, auth.User{Username: "alice#x", IsActive: true, PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	_, prefix, hash, err := auth.GenerateAPIKey()
	if err != nil {
		t.Fatal(err)
	}
	err = h.store.CreateAPIKey(ctx, auth.APIKey{Hash: hash, Prefix: prefix, Name: "ci", Username: odd.Username, UserID: odd.ID,
		Tenant: "default", Scope: auth.ScopeAdmin, IsActive: true, CreatedAt: time.Now().UTC()})
	if err != nil {
		t.Fatal(err)
	}

	if out := h.ok("apikey", "list", "--username", "alice"); out != "No API keys found.\n" {
		t.Errorf("alice's keys: %q", out)
	}
	wantFailure(t, h.run("", nil, "apikey", "revoke", "--username", "alice", "--name", "ci"), 1, "No active API key named 'ci'")
	if k, err := h.store.APIKeyByHash(ctx, hash); err != nil || !k.IsActive {
		t.Errorf("the other user's key: %+v, %v", k, err)
	}
}

// TestAPIKeyScopeOfUsersWhoAreNotStaff: only staff manage the federation, so
// a user who is not staff gets an audit:read key by default, and asking for
// an admin key is refused with a clear message.
func TestAPIKeyScopeOfUsersWhoAreNotStaff(t *testing.T) {
	h := newHarness(t)
	h.createUser("carol")
	if k := h.key(h.createKey("carol")); k.Scope != auth.ScopeAuditRead {
		t.Errorf("the default key of a user who is not staff has scope %q, want %s", k.Scope, auth.ScopeAuditRead)
	}
	r := h.run("", nil, "apikey", "create", "--username", "carol", "--name", "admin", "--scope", "admin")
	if r.code != operator.ExitFailure || r.stdout != "" || !strings.Contains(r.stderr, "User 'carol' is not staff: an admin key needs a staff user") {
		t.Errorf("admin key for a user who is not staff: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// TestUserSetPasswordAndDeactivate: set-password changes the hash (the
// old password stops working), set-flags changes the flags, deactivate
// turns the user off once; they refuse an unknown user.
func TestUserSetPasswordAndDeactivate(t *testing.T) {
	h := newHarness(t)
	h.createUser("alice", "--staff")
	before := h.user("alice")
	r := h.run("", map[string]string{"INMOR_PASSWORD": "a new passphrase"}, "user", "set-password", "--username", "alice")
	if r.code != 0 || r.stdout != "Password of user 'alice' changed.\n" {
		t.Fatalf("set-password: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	after := h.user("alice")
	if after.PasswordHash == before.PasswordHash || !after.IsActive || !after.IsStaff {
		t.Errorf("after set-password: %+v", after)
	}
	if ok, err := auth.VerifyPassword("a new passphrase", after.PasswordHash); err != nil || !ok {
		t.Errorf("the new password does not verify: %v %v", ok, err)
	}
	if out := h.ok("user", "set-flags", "--username", "alice", "--superuser=true"); out != "User 'alice' updated.\n" {
		t.Errorf("set-flags: %q", out)
	}
	if u := h.user("alice"); !u.IsSuperuser || !u.IsStaff {
		t.Errorf("after --superuser=true: %+v", u)
	}
	if r := h.run("", nil, "user", "set-flags", "--username", "alice", "--staff=false"); r.code != 1 || !strings.Contains(r.stderr, "is a superuser") {
		t.Errorf("--staff=false of a superuser: exit %d, %q", r.code, r.stderr)
	}
	if r := h.run("", nil, "user", "set-flags", "--username", "alice"); r.code != 2 {
		t.Errorf("set-flags without a flag: exit %d", r.code)
	}
	h.ok("user", "set-flags", "--username", "alice", "--superuser=false", "--staff=false")
	if u := h.user("alice"); u.IsSuperuser || u.IsStaff {
		t.Errorf("after --superuser=false --staff=false: %+v", u)
	}
	if out := h.ok("user", "deactivate", "--username", "alice"); out != "User 'alice' deactivated.\n" {
		t.Errorf("deactivate: %q", out)
	}
	if h.user("alice").IsActive {
		t.Error("alice is still active")
	}
	if r := h.run("", nil, "user", "deactivate", "--username", "alice"); r.code != 1 || r.stderr != "inmorctl: User 'alice' is not active\n" {
		t.Errorf("deactivate twice: exit %d, %q", r.code, r.stderr)
	}
	for _, args := range [][]string{{"user", "deactivate", "--username", "nobody"}, {"user", "set-password", "--username", "nobody"}} {
		if r := h.run("", map[string]string{"INMOR_PASSWORD": "x"}, args...); r.code != 1 || r.stderr != "inmorctl: User 'nobody' does not exist\n" {
			t.Errorf("%v: exit %d, %q", args, r.code, r.stderr)
		}
	}
}

// `user mfa reset` removes a user's second factors, once.
func TestUserMFAReset(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	if r := h.run("", nil, "user", "mfa", "reset", "--username", "nobody"); r.code != operator.ExitFailure || !strings.Contains(r.stderr, "User 'nobody' does not exist") {
		t.Errorf("unknown user: %+v", r)
	}
	alice, err := h.store.CreateUser(ctx, auth.User{Username: "alice", IsActive: true, IsStaff: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.store.EnrolTOTP(ctx, alice, "JBSWY3DPEHPK3PXP", 1, []string{"h1"}, mfa.Event{Type: mfa.EventEnrolled, Factor: mfa.FactorTOTP, Method: auth.MethodSession, At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if r := h.run("", nil, "user", "mfa", "reset", "--username", "alice"); r.code != operator.ExitOK || r.stdout != "The second factors of 'alice' were removed.\n" {
		t.Errorf("reset: %+v", r)
	}
	if st, err := h.store.MFAState(ctx, "alice"); err != nil || st.Enabled() || len(st.RecoveryHashes) != 0 {
		t.Errorf("after reset: %+v %v", st, err)
	}
	if r := h.run("", nil, "user", "mfa", "reset", "--username", "alice"); r.code != operator.ExitOK || r.stdout != "User 'alice' has no second factor.\n" {
		t.Errorf("reset again: %+v", r)
	}
	for _, args := range [][]string{{"user", "mfa"}, {"user", "mfa", "wipe"}, {"user", "mfa", "reset"}} {
		if r := h.run("", nil, args...); r.code != operator.ExitUsage {
			t.Errorf("%v: %+v, want a usage error", args, r)
		}
	}
}
