package localstack_test

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/inmor/inmor-serverless/shared/auth"
	"github.com/inmor/inmor-serverless/shared/localstack"
)

// xss is what a careless page would run; the admin view must show it as text.
const xss = `<script>alert(1)</script>`

// xssEntityID names a subordinate with markup in it.
const xssEntityID = "https://op.example.org/" + xss

// seedAdminUI makes changes of every kind through the API (and one behind
// its back), then waits until the audit log holds them all: types created
// and deactivated, a trust mark issued and renewed, a failed request, a
// subordinate whose name and metadata hold markup registered and its
// metadata updated (a key added, one removed, one changed), another
// subordinate revoked, and an out-of-band edit.
func seedAdminUI(t *testing.T, s *localstack.Stack) {
	t.Helper()
	// Ids come from the answers: a lost answer retried by the SDK may skip
	// an id (ids may have holes).
	member := createType(t, s, `{"tmtype": "https://ta.example.org/marks/member"}`)
	certified := createType(t, s, `{"tmtype": "https://ta.example.org/marks/certified"}`)
	mustStatus(t, call(t, s, http.MethodPut, fmt.Sprintf("/api/v1/trustmarktypes/%d", certified), `{"active": false}`), http.StatusOK)
	mark := created(t, s, "/api/v1/trustmarks", fmt.Sprintf(`{"tmt": %d, "domain": "https://rp.example.org"}`, member))
	mustStatus(t, call(t, s, http.MethodPost, fmt.Sprintf("/api/v1/trustmarks/%v/renew", mark["id"]), ""), http.StatusOK)
	mustStatus(t, call(t, s, http.MethodPost, "/api/v1/trustmarks", `{"tmt": 99, "domain": "https://rp.example.org"}`), http.StatusNotFound)

	metadata := map[string]any{
		"openid_provider":   map[string]any{"organization_name": xss, "contacts": []any{"ops@example.org"}},
		"federation_entity": map[string]any{"homepage_uri": "https://op.example.org"},
	}
	first := created(t, s, "/api/v1/subordinates", mustJSON(t, subordinateBody(t, map[string]any{"entityid": xssEntityID, "metadata": metadata})))
	update := subordinateBody(t, map[string]any{"entityid": nil, "metadata": map[string]any{
		"openid_provider":            map[string]any{"organization_name": "Example OP", "contacts": []any{"ops@example.org", "security@example.org"}},
		"oauth_authorization_server": map[string]any{"issuer": "https://op.example.org"},
	}})
	mustStatus(t, call(t, s, http.MethodPost, fmt.Sprintf("/api/v1/subordinates/%v", first["id"]), mustJSON(t, update)), http.StatusOK)

	second := created(t, s, "/api/v1/subordinates", mustJSON(t, subordinateBody(t, map[string]any{"entityid": "https://rp2.example.org"})))
	revoke := subordinateBody(t, map[string]any{"entityid": nil, "active": false})
	mustStatus(t, call(t, s, http.MethodPost, fmt.Sprintf("/api/v1/subordinates/%v", second["id"]), mustJSON(t, revoke)), http.StatusOK)

	// Someone edits a type in the console.
	_, err := s.Client.UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
		TableName: aws.String(s.Config.ResourcesTable), Key: resourceKey("TrustMarkType", member),
		UpdateExpression:          aws.String("SET autorenew = :f"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":f": &types.AttributeValueMemberBOOL{Value: false}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if p := settle(t, s); p.Count != 11 {
		t.Fatalf("the audit log holds %d entries, want 11", p.Count)
	}
}

// adminClient is a browser without script: a cookie jar, redirects not
// followed.
type adminClient struct {
	t      *testing.T
	s      *localstack.Stack
	client *http.Client
}

func newAdminClient(t *testing.T, s *localstack.Stack) *adminClient {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &adminClient{t: t, s: s, client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

func (c *adminClient) cookie(name string) string {
	u, _ := url.Parse(c.s.URL)
	for _, ck := range c.client.Jar.Cookies(u) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

// do sends a request; form, when not nil, is posted as a browser posts a
// form (with the page's own Origin); headers are name, value pairs.
func (c *adminClient) do(method, path string, form url.Values, headers ...string) response {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.s.URL+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", c.s.URL)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.client.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return response{Status: resp.StatusCode, Body: data, Header: resp.Header}
}

func (c *adminClient) get(path string) response {
	c.t.Helper()
	return c.do(http.MethodGet, path, nil)
}

// login posts the admin's login form, as a browser that has just shown it.
func (c *adminClient) login(username, password, next string) response {
	c.t.Helper()
	mustStatus(c.t, c.get("/admin/login/"), http.StatusOK)
	return c.do(http.MethodPost, "/admin/login/", url.Values{
		"username": {username}, "password": {password}, "next": {next}, "csrfmiddlewaretoken": {c.cookie(auth.CSRFCookie)},
	})
}

func mustRedirect(t *testing.T, r response, location string) {
	t.Helper()
	if r.Status != http.StatusFound || r.Header.Get("Location") != location {
		t.Fatalf("%d to %q, want 302 to %q: %s", r.Status, r.Header.Get("Location"), location, r.Body)
	}
}

func bodyContains(t *testing.T, r response, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(string(r.Body), w) {
			t.Errorf("the page lacks %q", w)
		}
	}
}

var entryLink = regexp.MustCompile(`href="(/admin/auditlog/auditlogentry/\d+/change/[^"]*)"`)

// TestAdminUI: an auditor logs in on the local stack, finds a change by
// filter and search, reads its diff and snapshots (markup shown as text),
// and can change nothing; all through the gateway, as API Gateway serves it.
func TestAdminUI(t *testing.T) {
	s := startStack(t)
	seedAdminUI(t, s)
	c := newAdminClient(t, s)

	wanted := "/admin/auditlog/auditlogentry/?event_type=metadata_update"
	mustRedirect(t, c.get(wanted), "/admin/login/?next="+url.QueryEscape(wanted))
	mustRedirect(t, c.get("/admin/"), "/admin/auditlog/auditlogentry/")

	r := c.login("admin", "wrong", wanted)
	mustStatus(t, r, http.StatusOK)
	bodyContains(t, r, "Please enter the correct username and password for a staff account.")
	if c.cookie(auth.SessionCookie) != "" {
		t.Fatal("a failed login set a session")
	}
	// The form carries its own Origin through the gateway: the host survives
	// the conversion to an API Gateway event.
	mustRedirect(t, c.login("admin", "test-password", wanted), wanted)
	if c.cookie(auth.SessionCookie) == "" {
		t.Fatal("the login set no session")
	}

	r = c.get(wanted)
	mustStatus(t, r, http.StatusOK)
	if got := r.Header.Get("Content-Security-Policy"); !strings.HasPrefix(got, "default-src 'none'; style-src 'self'") {
		t.Errorf("Content-Security-Policy through the gateway: %q", got)
	}
	bodyContains(t, r, "1 entry, showing 1", `<span class="event">metadata_<wbr>update</span>`, html.EscapeString(xssEntityID))
	if strings.Contains(string(r.Body), "<script") {
		t.Error("the list shows markup from a request")
	}
	// A search has no counter; its results end on this page, so the count
	// is exact all the same.
	r = c.get("/admin/auditlog/auditlogentry/?q=OP.EXAMPLE&action=CREATE")
	bodyContains(t, r, "1 entry, showing 1 matching “OP.EXAMPLE”", "registration")
	if strings.Contains(string(r.Body), "at most ") {
		t.Error("an exact count shown as an upper bound")
	}
	r = c.get("/admin/auditlog/auditlogentry/?auth_method=out_of_band")
	bodyContains(t, r, "1 entry, showing 1", `title="no user: out of band"`)
	r = c.get("/admin/auditlog/auditlogentry/?success=false&resource_type=TrustMark")
	bodyContains(t, r, "1 entry, showing 1", `<span class="status status-failed">404</span>`)
	settle(t, s)
	r = c.get("/admin/auditlog/auditlogentry/?limit=5")
	// The seeded changes, the failed login and the login.
	bodyContains(t, r, "13 entries, showing 5", `rel="next">Next page »</a>`)

	link := entryLink.FindStringSubmatch(string(c.get(wanted).Body))
	if link == nil {
		t.Fatal("the list links to no entry")
	}
	r = c.get(html.UnescapeString(link[1]))
	mustStatus(t, r, http.StatusOK)
	entryID := regexp.MustCompile(`/(\d+)/change/`).FindStringSubmatch(link[1])[1]
	leafHash, _ := call(t, s, http.MethodGet, "/api/v1/auditlog/"+entryID, "").JSON(t)["leaf_hash"].(string)
	// The page's escaper writes "+" as "&#43;"; compare the text a reader sees.
	if leafHash == "" || !strings.Contains(html.UnescapeString(string(r.Body)), leafHash) {
		t.Errorf("the entry page does not show the entry's leaf hash %q", leafHash)
	}
	bodyContains(t, r,
		`<tr class="change change-added">`+"\n          "+`<th scope="row"><code>metadata.oauth_authorization_server</code></th>`,
		`<tr class="change change-removed">`+"\n          "+`<th scope="row"><code>metadata.federation_entity</code></th>`,
		`<tr class="change change-changed">`+"\n          "+`<th scope="row"><code>metadata.openid_provider</code></th>`,
		`&#34;organization_name&#34;: &#34;&lt;script&gt;alert(1)&lt;/script&gt;&#34;`,
		`href="/admin/auditlog/auditlogentry/?event_type=metadata_update" class="button">← Back to the list</a>`,
		`href="/admin/auditlog/auditlogentry/?resource_id=1&amp;resource_type=Subordinate" class="button">History of Subordinate #1</a>`,
		"Leaf hash", "Claimed attribution")
	if strings.Contains(string(r.Body), "<script") {
		t.Error("the entry shows markup from a request")
	}
	history := c.get("/admin/auditlog/auditlogentry/?resource_id=1&resource_type=Subordinate")
	bodyContains(t, history, "2 entries, showing 2", "registration", "metadata_update")

	// Nothing can be changed: write methods are 405 at the gateway, whatever the credentials.
	token := c.cookie(auth.CSRFCookie)
	for _, path := range []string{"/admin/auditlog/auditlogentry/", "/admin/auditlog/auditlogentry/1/change/"} {
		for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			if r := c.do(method, path, url.Values{"csrfmiddlewaretoken": {token}}, auth.CSRFHeader, token); r.Status != http.StatusMethodNotAllowed {
				t.Errorf("%s %s: %d, want 405", method, path, r.Status)
			}
		}
	}
	if r := c.get("/admin/static/admin.css"); r.Status != 200 || r.Header.Get("Content-Type") != "text/css; charset=utf-8" {
		t.Errorf("stylesheet: %d %s", r.Status, r.Header.Get("Content-Type"))
	}

	// One session for the admin and the API.
	if r := c.get("/api/v1/auth/me"); r.Status != 200 || r.JSON(t)["username"] != "admin" {
		t.Errorf("the admin's session at the API: %d %s", r.Status, r.Body)
	}
	r = c.do(http.MethodPost, "/admin/logout/", url.Values{"csrfmiddlewaretoken": {token}})
	mustStatus(t, r, http.StatusOK)
	bodyContains(t, r, "Logged out")
	mustRedirect(t, c.get(wanted), "/admin/login/?next="+url.QueryEscape(wanted))
	if r := c.get("/api/v1/auth/me"); r.Status != http.StatusUnauthorized {
		t.Errorf("the API after the admin's logout: %d, want 401", r.Status)
	}

	// The form's failed login, login and logout are in the log.
	settle(t, s)
	sessions := listAudit(t, s, "?resource_type=Session")
	var got []string
	for _, e := range sessions.Items {
		got = append(got, fmt.Sprintf("%v %v %v %v %v", e["event_type"], e["action"], e["username"], e["response_code"], e["success"]))
	}
	want := []string{"logout DELETE admin 200 true", "login CREATE admin 302 true", "login_failed CREATE admin 200 false"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Session entries, newest first:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestAdminUIUsersTenantsAndThrottling: only staff may use the admin view; a
// staff user who is not a superuser sees only the session's tenant; failed
// logins are throttled per username, for the admin's form and the API
// alike.
func TestAdminUIUsersTenantsAndThrottling(t *testing.T) {
	s := startStack(t)
	admin, err := authStore(s).UserByUsername(context.Background(), "admin")
	if err != nil {
		t.Fatal(err)
	}
	acmeKey := addKey(t, s, admin, "acme-key", "acme", auth.ScopeAdmin)
	mustStatus(t, call(t, s, http.MethodPost, "/api/v1/trustmarktypes", `{"tmtype": "https://default.example"}`), 201)
	mustStatus(t, call(t, s, http.MethodPost, "/api/v1/trustmarktypes", `{"tmtype": "https://acme.example"}`, "X-API-Key", acmeKey), 201)
	page := settle(t, s)
	ids := map[string]int{}
	for _, e := range page.Items {
		if e["resource_type"] == "TrustMarkType" {
			ids[e["tenant"].(string)] = int(e["id"].(float64))
		}
	}
	addUser(t, s, "bob", false) // neither staff nor superuser
	hash, err := auth.HashPassword("pw-carol")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := authStore(s).CreateUser(context.Background(), auth.User{Username: "carol", IsActive: true, IsStaff: true, PasswordHash: hash}); err != nil {
		t.Fatal(err)
	}

	t.Run("a user who is not staff may not log in, and a session of theirs gets 403", func(t *testing.T) {
		c := newAdminClient(t, s)
		r := c.login("bob", "pw-bob", "/admin/")
		mustStatus(t, r, http.StatusOK)
		bodyContains(t, r, "Please enter the correct username and password for a staff account.")
		if c.cookie(auth.SessionCookie) != "" {
			t.Error("bob got a session from the admin's form")
		}
		api := newBrowser(t, s)
		r = api.do(http.MethodPost, "/api/v1/auth/login", `{"username":"bob","password":"pw-bob"}`)
		if r.Status == http.StatusInternalServerError { // see adminClient.login
			r = api.do(http.MethodPost, "/api/v1/auth/login", `{"username":"bob","password":"pw-bob"}`)
		}
		mustStatus(t, r, 200)
		r = api.do(http.MethodGet, "/admin/auditlog/auditlogentry/", "")
		mustStatus(t, r, http.StatusForbidden)
		if !strings.Contains(string(r.Body), "You are authenticated as bob, but are not authorized to access this page.") || strings.Contains(string(r.Body), "default.example") {
			t.Errorf("403 page: %s", r.Body)
		}
	})

	t.Run("a staff user sees the session's tenant, a superuser every tenant", func(t *testing.T) {
		carol := newAdminClient(t, s)
		mustRedirect(t, carol.login("carol", "pw-carol", "/admin/auditlog/auditlogentry/"), "/admin/auditlog/auditlogentry/")
		r := carol.get("/admin/auditlog/auditlogentry/?resource_type=TrustMarkType")
		bodyContains(t, r, "1 entry, showing 1", "https://default.example", "You see the entries of tenant <strong>default</strong> only.")
		if strings.Contains(string(r.Body), "https://acme.example") {
			t.Error("carol sees another tenant's entry")
		}
		bodyContains(t, carol.get("/admin/auditlog/auditlogentry/?tenant=acme"), "0 entries", "No audit log entries match.")
		mustStatus(t, carol.get(fmt.Sprintf("/admin/auditlog/auditlogentry/%d/change/", ids["acme"])), http.StatusNotFound)
		mustStatus(t, carol.get(fmt.Sprintf("/admin/auditlog/auditlogentry/%d/change/", ids["default"])), http.StatusOK)

		root := newAdminClient(t, s)
		mustRedirect(t, root.login("admin", "test-password", "/admin/auditlog/auditlogentry/"), "/admin/auditlog/auditlogentry/")
		bodyContains(t, root.get("/admin/auditlog/auditlogentry/?resource_type=TrustMarkType"), "2 entries, showing 2", "https://acme.example", "https://default.example")
		bodyContains(t, root.get("/admin/auditlog/auditlogentry/?tenant=acme"), "1 entry, showing 1", "https://acme.example")
		mustStatus(t, root.get(fmt.Sprintf("/admin/auditlog/auditlogentry/%d/change/", ids["acme"])), http.StatusOK)
	})

	t.Run("failed logins are throttled per username, on the form and at the API", func(t *testing.T) {
		c := newAdminClient(t, s)
		for i := 0; i < auth.MaxLoginFailures; i++ {
			mustStatus(t, c.login("carol", "wrong", "/admin/"), http.StatusOK)
		}
		r := c.login("carol", "pw-carol", "/admin/")
		mustStatus(t, r, http.StatusTooManyRequests)
		bodyContains(t, r, "Too many failed logins for this username.")
		if retry, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || retry < 1 || retry > 900 {
			t.Errorf("Retry-After %q", r.Header.Get("Retry-After"))
		}
		if r := newBrowser(t, s).do(http.MethodPost, "/api/v1/auth/login", `{"username":"carol","password":"pw-carol"}`); r.Status != http.StatusTooManyRequests {
			t.Errorf("the API's login for a throttled username: %d, want 429", r.Status)
		}
		mustRedirect(t, c.login("admin", "test-password", "/admin/"), "/admin/")
	})

	t.Run("the login form refuses another origin and a missing token", func(t *testing.T) {
		c := newAdminClient(t, s)
		mustStatus(t, c.get("/admin/login/"), http.StatusOK)
		form := url.Values{"username": {"admin"}, "password": {"test-password"}, "csrfmiddlewaretoken": {c.cookie(auth.CSRFCookie)}}
		r := c.do(http.MethodPost, "/admin/login/", form, "Origin", "https://evil.example")
		mustStatus(t, r, http.StatusForbidden)
		bodyContains(t, r, "CSRF verification failed. Request aborted.", "Origin checking failed")
		form.Del("csrfmiddlewaretoken")
		r = c.do(http.MethodPost, "/admin/login/", form)
		mustStatus(t, r, http.StatusForbidden)
		bodyContains(t, r, "CSRF token missing.")
		if c.cookie(auth.SessionCookie) != "" {
			t.Error("a refused login set a session")
		}
	})
}
