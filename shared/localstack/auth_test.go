package localstack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/inmor/inmor-serverless/shared/auth"
	"github.com/inmor/inmor-serverless/shared/dynamo"
	"github.com/inmor/inmor-serverless/shared/localstack"
	"github.com/inmor/inmor-serverless/shared/storage"
)

// browser is a client with a cookie jar, as a browser session.
type browser struct {
	t      *testing.T
	s      *localstack.Stack
	client *http.Client
	// host, when set, is the Host the requests name (the stack's address
	// by another name: WebAuthn refuses IP addresses); the client keeps
	// its cookies apart from the address's.
	host string
}

func newBrowser(t *testing.T, s *localstack.Stack) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, s: s, client: &http.Client{Jar: jar}}
}

func (b *browser) cookie(name string) string {
	u, _ := url.Parse(b.s.URL)
	if b.host != "" {
		u.Host = b.host // the client keeps cookies by the Host it sent
	}
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// do sends a request; headers are name, value pairs.
func (b *browser) do(method, path, body string, headers ...string) response {
	b.t.Helper()
	req, err := http.NewRequest(method, b.s.URL+path, strings.NewReader(body))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if b.host != "" {
		req.Host = b.host
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return response{Status: resp.StatusCode, Body: data, Header: resp.Header}
}

func authStore(s *localstack.Stack) *dynamo.Auth {
	return &dynamo.Auth{Client: s.Client, Table: s.Config.AuthTable}
}

// addUser creates an active user with a password and returns it: a
// superuser, or a user who is not staff.
func addUser(t *testing.T, s *localstack.Stack, username string, superuser bool) auth.User {
	t.Helper()
	return createUser(t, s, auth.User{Username: username, IsActive: true, IsStaff: superuser, IsSuperuser: superuser})
}

// addStaff creates an active staff user (not a superuser) and returns it.
func addStaff(t *testing.T, s *localstack.Stack, username string) auth.User {
	t.Helper()
	return createUser(t, s, auth.User{Username: username, IsActive: true, IsStaff: true})
}

func createUser(t *testing.T, s *localstack.Stack, u auth.User) auth.User {
	t.Helper()
	hash, err := auth.HashPassword("pw-" + u.Username)
	if err != nil {
		t.Fatal(err)
	}
	u.PasswordHash = hash
	u, err = authStore(s).CreateUser(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// addKey creates an API key for u and returns its plaintext.
func addKey(t *testing.T, s *localstack.Stack, u auth.User, name, tenant, scope string) string {
	t.Helper()
	plain, prefix, hash, err := auth.GenerateAPIKey()
	if err != nil {
		t.Fatal(err)
	}
	err = authStore(s).CreateAPIKey(context.Background(), auth.APIKey{
		Hash: hash, Prefix: prefix, Name: name, Username: u.Username, UserID: u.ID, Tenant: tenant, Scope: scope,
		IsActive: true, CreatedAt: time.Now().UTC(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return plain
}

func TestSessionLoginCSRFAndLogout(t *testing.T) {
	s := startStack(t)
	b := newBrowser(t, s)

	if r := b.do("GET", "/api/v1/auth/me", ""); r.Status != 401 || compactJSON(t, r.JSON(t)) != `{"message":"Not authenticated"}` {
		t.Fatalf("me without a session: %d %s", r.Status, r.Body)
	}
	if r := b.do("POST", "/api/v1/auth/login", `{"username":"admin","password":"wrong"}`); r.Status != 401 || compactJSON(t, r.JSON(t)) != `{"message":"Invalid credentials"}` {
		t.Fatalf("bad login: %d %s", r.Status, r.Body)
	}
	r := b.do("POST", "/api/v1/auth/login", `{"username":"admin","password":"test-password"}`)
	mustStatus(t, r, 200)
	if got := compactJSON(t, r.JSON(t)); got != `{"email":"admin@localhost","id":1,"is_staff":true,"is_superuser":true,"username":"admin"}` {
		t.Errorf("login body %s", got)
	}
	var session *http.Cookie
	for _, c := range r.Header.Values("Set-Cookie") {
		if parsed, err := http.ParseSetCookie(c); err == nil && parsed.Name == auth.SessionCookie {
			session = parsed
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.MaxAge != 1209600 {
		t.Errorf("session cookie %+v: want HttpOnly, SameSite=Lax, two weeks", session)
	}
	if session != nil && session.Secure {
		t.Error("the local stack (plain HTTP) must not set Secure cookies")
	}
	token := b.cookie(auth.CSRFCookie)
	if token == "" {
		t.Fatal("login set no csrftoken cookie")
	}
	if r := b.do("GET", "/api/v1/auth/me", ""); r.Status != 200 || r.JSON(t)["username"] != "admin" {
		t.Errorf("me: %d %s", r.Status, r.Body)
	}
	if r := b.do("GET", "/api/v1/auth/csrf", ""); r.JSON(t)["csrf_token"] != token {
		t.Errorf("csrf: %s, want the cookie's token", r.Body)
	}

	// Reads need no CSRF; writes do.
	mustStatus(t, b.do("GET", "/api/v1/trustmarktypes", ""), 200)
	if r := b.do("POST", "/api/v1/trustmarktypes", `{"tmtype":"https://x"}`); r.Status != 403 || compactJSON(t, r.JSON(t)) != `{"detail":"CSRF check Failed: CSRF token missing."}` {
		t.Errorf("POST without the header: %d %s", r.Status, r.Body)
	}
	if r := b.do("POST", "/api/v1/trustmarktypes", `{"tmtype":"https://x"}`, auth.CSRFHeader, "forged"); r.Status != 403 || !strings.Contains(string(r.Body), "CSRF token incorrect.") {
		t.Errorf("POST with a wrong token: %d %s", r.Status, r.Body)
	}
	if r := b.do("POST", "/api/v1/trustmarktypes", `{"tmtype":"https://x"}`, auth.CSRFHeader, token, "Origin", "https://evil.example"); r.Status != 403 || !strings.Contains(string(r.Body), "Origin checking failed") {
		t.Errorf("POST from a foreign origin: %d %s", r.Status, r.Body)
	}
	mustStatus(t, b.do("POST", "/api/v1/trustmarktypes", `{"tmtype":"https://x"}`, auth.CSRFHeader, token), 201)
	page := waitForEntries(t, s, 1)
	if e := page.Items[0]; e["auth_method"] != "session" || e["tenant"] != "default" || e["username"] != "admin" || e["api_key_name"] != nil {
		t.Errorf("entry of a session write: %v", e)
	}

	// An invalid key is 401 even with a valid session.
	if r := b.do("GET", "/api/v1/trustmarktypes", "", "X-API-Key", "not-a-key"); r.Status != 401 {
		t.Errorf("invalid key with a session: %d", r.Status)
	}

	// Logout ends the session server-side: the old cookie no longer works.
	old := b.cookie(auth.SessionCookie)
	if r := b.do("POST", "/api/v1/auth/logout", ""); r.Status != 200 || compactJSON(t, r.JSON(t)) != `{"message":"Logged out successfully"}` {
		t.Fatalf("logout: %d %s", r.Status, r.Body)
	}
	replay := newBrowser(t, s)
	u, _ := url.Parse(s.URL)
	replay.client.Jar.SetCookies(u, []*http.Cookie{{Name: auth.SessionCookie, Value: old}})
	if r := replay.do("GET", "/api/v1/auth/me", ""); r.Status != 401 {
		t.Errorf("the logged-out session still works: %d", r.Status)
	}
	if r := replay.do("GET", "/api/v1/trustmarktypes", ""); r.Status != 401 {
		t.Errorf("the logged-out session still reads: %d", r.Status)
	}
}

func TestRepeatedFailedLoginsAreThrottled(t *testing.T) {
	s := startStack(t)
	b := newBrowser(t, s)
	for i := 0; i < auth.MaxLoginFailures; i++ {
		mustStatus(t, b.do("POST", "/api/v1/auth/login", `{"username":"admin","password":"guess"}`), 401)
	}
	r := b.do("POST", "/api/v1/auth/login", `{"username":"admin","password":"test-password"}`)
	mustStatus(t, r, http.StatusTooManyRequests)
	if ra := r.Header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Errorf("Retry-After %q", ra)
	}
	// Other usernames are not affected.
	addUser(t, s, "carol", false)
	mustStatus(t, b.do("POST", "/api/v1/auth/login", `{"username":"carol","password":"pw-carol"}`), 200)
}

func TestAuditReadKeysOnlyReadTheAuditLog(t *testing.T) {
	s := startStack(t)
	auditor := addUser(t, s, "auditor", false)
	key := addKey(t, s, auditor, "read-only", "default", auth.ScopeAuditRead)
	mustStatus(t, call(t, s, "GET", "/api/v1/auditlog", "", "X-API-Key", key), 200)
	mustStatus(t, call(t, s, "GET", "/api/v1/auditlog/1", "", "X-API-Key", key), 404)
	for _, route := range [][3]string{
		{"POST", "/api/v1/trustmarktypes", `{"tmtype":"https://x"}`},
		{"GET", "/api/v1/trustmarktypes", ""},
		{"GET", "/api/v1/subordinates", ""},
		{"POST", "/api/v1/trustmarks", `{"tmt":1,"domain":"https://d"}`},
	} {
		r := call(t, s, route[0], route[1], route[2], "X-API-Key", key)
		if r.Status != 403 || compactJSON(t, r.JSON(t)) != `{"detail":"Forbidden"}` {
			t.Errorf("%s %s with an audit:read key: %d %s", route[0], route[1], r.Status, r.Body)
		}
	}
	// Its refused writes are recorded, and nothing else changed (the
	// test's user and key, written without attribution, are out-of-band).
	settle(t, s)
	page := listAudit(t, s, "?success=false")
	if page.Count != 2 {
		t.Fatalf("%d entries, want the two refused writes", page.Count)
	}
	for _, e := range page.Items {
		if e["success"] != false || e["response_code"] != 403.0 || e["username"] != "auditor" {
			t.Errorf("entry %v", e)
		}
	}
}

func TestTenantsSeeOnlyTheirOwnEntries(t *testing.T) {
	s := startStack(t)
	bob := addStaff(t, s, "bob")
	bobKey := addKey(t, s, bob, "acme-key", "acme", auth.ScopeAdmin)
	mustStatus(t, call(t, s, "POST", "/api/v1/trustmarktypes", `{"tmtype":"https://default.example"}`), 201) // admin, tenant default
	mustStatus(t, call(t, s, "POST", "/api/v1/trustmarktypes", `{"tmtype":"https://acme.example"}`, "X-API-Key", bobKey), 201)
	settle(t, s)
	all := listAudit(t, s, "?resource_type=TrustMarkType")
	if all.Count != 2 {
		t.Fatalf("the superuser sees %d entries, want 2", all.Count)
	}
	ids := map[string]float64{}
	for _, e := range all.Items {
		ids[e["tenant"].(string)] = e["id"].(float64)
	}

	r := call(t, s, "GET", "/api/v1/auditlog", "", "X-API-Key", bobKey)
	var page auditPage
	if err := json.Unmarshal(r.Body, &page); err != nil {
		t.Fatal(err)
	}
	if page.Count != 1 || len(page.Items) != 1 || page.Items[0]["tenant"] != "acme" {
		t.Errorf("bob sees %+v, want only acme's entry", page)
	}
	mustStatus(t, call(t, s, "GET", fmt.Sprintf("/api/v1/auditlog/%.0f", ids["acme"]), "", "X-API-Key", bobKey), 200)
	r = call(t, s, "GET", fmt.Sprintf("/api/v1/auditlog/%.0f", ids["default"]), "", "X-API-Key", bobKey)
	if r.Status != 404 || r.JSON(t)["message"] != "Audit log entry not found." {
		t.Errorf("another tenant's entry: %d %s, want 404", r.Status, r.Body)
	}
	if p := listAuditWith(t, s, "?tenant=default", bobKey); p.Count != 0 {
		t.Errorf("bob filtering another tenant sees %d entries", p.Count)
	}
	if p := listAuditWith(t, s, "?tenant=acme", testKey); p.Count != 1 || p.Items[0]["tenant"] != "acme" {
		t.Errorf("the superuser filtering acme sees %+v", p)
	}
}

func listAuditWith(t *testing.T, s *localstack.Stack, query, key string) auditPage {
	t.Helper()
	r := call(t, s, "GET", "/api/v1/auditlog"+query, "", "X-API-Key", key)
	mustStatus(t, r, 200)
	var p auditPage
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestKeysOfDeactivatedOwnersExpiredOrRevokedAreRefused(t *testing.T) {
	s := startStack(t)
	ctx := context.Background()
	dave := addUser(t, s, "dave", false)
	daveKey := addKey(t, s, dave, "k", "default", auth.ScopeAdmin)
	_, err := s.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.Config.AuthTable), Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "user#dave"}},
		UpdateExpression:          aws.String("SET is_active = :f"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":f": &types.AttributeValueMemberBOOL{Value: false}},
	})
	if err != nil {
		t.Fatal(err)
	}
	mustStatus(t, call(t, s, "GET", "/api/v1/trustmarktypes", "", "X-API-Key", daveKey), 401)

	erin := addUser(t, s, "erin", false)
	plain, prefix, hash, _ := auth.GenerateAPIKey()
	past := time.Now().Add(-time.Minute)
	if err := authStore(s).CreateAPIKey(ctx, auth.APIKey{Hash: hash, Prefix: prefix, Name: "old", Username: "erin", UserID: erin.ID, Tenant: "default", Scope: auth.ScopeAdmin, IsActive: true, CreatedAt: time.Now(), ExpiresAt: &past}); err != nil {
		t.Fatal(err)
	}
	mustStatus(t, call(t, s, "GET", "/api/v1/trustmarktypes", "", "X-API-Key", plain), 401)

	revoked := addKey(t, s, erin, "soon-revoked", "default", auth.ScopeAdmin)
	if ok, err := authStore(s).DeactivateAPIKey(ctx, auth.HashAPIKey(revoked)); err != nil || !ok {
		t.Fatal(err)
	}
	mustStatus(t, call(t, s, "GET", "/api/v1/trustmarktypes", "", "X-API-Key", revoked), 401)
}

func TestKeyUseIsRecorded(t *testing.T) {
	s := startStack(t)
	frank := addStaff(t, s, "frank")
	key := addKey(t, s, frank, "ci", "default", auth.ScopeAdmin)
	before := time.Now().Add(-time.Second)
	mustStatus(t, call(t, s, "GET", "/api/v1/trustmarktypes", "", "X-API-Key", key), 200)
	stored, err := authStore(s).APIKeyByHash(context.Background(), auth.HashAPIKey(key))
	if err != nil || stored.LastUsedAt == nil || stored.LastUsedAt.Before(before) {
		t.Errorf("last_used_at %v (%v) after a request", stored.LastUsedAt, err)
	}
}

// TestTenantAuditorsSeeOutOfBandChangesOfTheirResources: an item written by
// a key of tenant acme and then edited behind the API's back is an
// out-of-band entry in tenant acme, which acme's auditor (audit:read, not
// staff) sees; an auditor of another tenant does not.
func TestTenantAuditorsSeeOutOfBandChangesOfTheirResources(t *testing.T) {
	s := startStack(t)
	writer := addKey(t, s, addStaff(t, s, "writer"), "w", "acme", auth.ScopeAdmin)
	auditor := addKey(t, s, addUser(t, s, "auditor", false), "a", "acme", auth.ScopeAuditRead)
	other := addKey(t, s, addUser(t, s, "other", false), "o", "globex", auth.ScopeAuditRead)
	r := call(t, s, http.MethodPost, "/api/v1/trustmarktypes", `{"tmtype":"https://tm.example/acme"}`, "X-API-Key", writer)
	mustStatus(t, r, http.StatusCreated)
	_, err := s.Client.UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.Config.ResourcesTable),
		Key:                       map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "TrustMarkType"}, "sk": &types.AttributeValueMemberS{Value: storage.SortKey(1)}},
		UpdateExpression:          aws.String("SET valid_for = :v"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": &types.AttributeValueMemberN{Value: "1"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	settle(t, s)
	p := listAuditWith(t, s, "?resource_type=TrustMarkType", auditor)
	if p.Count != 2 || len(p.Items) != 2 || p.Items[0]["auth_method"] != "out_of_band" || p.Items[0]["tenant"] != "acme" {
		t.Errorf("acme's auditor sees %d entries %v, want the create and the out-of-band edit in acme", p.Count, p.Items)
	}
	if p := listAuditWith(t, s, "?resource_type=TrustMarkType", other); p.Count != 0 {
		t.Errorf("another tenant's auditor sees %v", p.Items)
	}
}
