package adminui_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/inmor/inmor-serverless/shared/adminui"
	"github.com/inmor/inmor-serverless/shared/audit"
	"github.com/inmor/inmor-serverless/shared/auth"
)

const (
	listPath  = "/admin/auditlog/auditlogentry/"
	loginPath = "/admin/login/"
)

func mustCode(t *testing.T, rec *httptest.ResponseRecorder, want int) string {
	t.Helper()
	if rec.Code != want {
		t.Fatalf("status %d, want %d: %s", rec.Code, want, rec.Body)
	}
	return rec.Body.String()
}

func mustContain(t *testing.T, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("the page lacks %q", w)
		}
	}
}

func mustNotContain(t *testing.T, body string, unwanted ...string) {
	t.Helper()
	for _, w := range unwanted {
		if strings.Contains(body, w) {
			t.Errorf("the page contains %q", w)
		}
	}
}

// TestSecurityHeaders: every page forbids scripts, inline styles, foreign
// forms and framing, and is never cached.
func TestSecurityHeaders(t *testing.T) {
	s := newSite(t, testEntry(1, nil))
	root, alice := s.session("root"), s.session("alice")
	pages := []struct {
		name, target, session string
		status                int
	}{
		{"login form", loginPath, "", 200},
		{"list", listPath, root, 200},
		{"list with a bad filter", listPath + "?action=nope", root, 400},
		{"entry", listPath + "1/change/", root, 200},
		{"missing entry", listPath + "99/change/", root, 404},
		{"logout form", "/admin/logout/", root, 200},
		{"non-staff user", listPath, alice, 403},
		{"redirect to login", listPath, "", 302},
	}
	for _, p := range pages {
		t.Run(p.name, func(t *testing.T) {
			rec := s.get(p.target, p.session)
			mustCode(t, rec, p.status)
			for name, value := range adminui.SecurityHeaders {
				if got := rec.Header().Get(name); got != value {
					t.Errorf("%s = %q, want %q", name, got, value)
				}
			}
			if got := rec.Header().Get("Content-Security-Policy"); got != "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'" {
				t.Errorf("Content-Security-Policy = %q", got)
			}
			if p.status != 302 {
				if rec.Header().Get("Cache-Control") != "no-store" || rec.Header().Get("Content-Type") != "text/html; charset=utf-8" {
					t.Errorf("Cache-Control %q, Content-Type %q", rec.Header().Get("Cache-Control"), rec.Header().Get("Content-Type"))
				}
				body := rec.Body.String()
				mustNotContain(t, body, "<script", "style=", "javascript:")
				if handler := regexp.MustCompile(`\son[a-z]+=`).FindString(body); handler != "" {
					t.Errorf("the page has an inline event handler %q", handler)
				}
				mustContain(t, body, `<html lang="en">`, `<meta name="viewport" content="width=device-width, initial-scale=1">`, `<link rel="stylesheet" href="/admin/static/admin.css?v=`)
			}
		})
	}
}

// TestStaticFiles: the embedded stylesheet and icon; their versioned
// addresses are cached for good, anything else is not found.
func TestStaticFiles(t *testing.T) {
	s := newSite(t)
	page := s.get(loginPath, "").Body.String()
	href := regexp.MustCompile(`href="(/admin/static/admin\.css\?v=[0-9a-f]+)"`).FindStringSubmatch(page)
	if href == nil {
		t.Fatalf("the login page links no versioned stylesheet: %s", page)
	}
	rec := s.get(href[1], "")
	if mustCode(t, rec, 200); rec.Header().Get("Content-Type") != "text/css; charset=utf-8" || !strings.Contains(rec.Body.String(), ".results") {
		t.Errorf("stylesheet: %s %.80s", rec.Header().Get("Content-Type"), rec.Body)
	}
	if got := rec.Header().Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
		t.Errorf("versioned stylesheet Cache-Control = %q", got)
	}
	if got := s.get("/admin/static/admin.css", "").Header().Get("Cache-Control"); got != "no-cache" {
		t.Errorf("unversioned stylesheet Cache-Control = %q", got)
	}
	if rec := s.get("/admin/static/favicon.svg", ""); rec.Code != 200 || rec.Header().Get("Content-Type") != "image/svg+xml" {
		t.Errorf("icon: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	for _, target := range []string{"/admin/static/other.css", "/admin/static/..%2Fadminui.go", "/admin/static/a/b.css"} {
		if rec := s.get(target, ""); rec.Code != 404 {
			t.Errorf("%s: %d, want 404", target, rec.Code)
		}
	}
}

// TestIndexRedirects: the admin's home is the audit log.
func TestIndexRedirects(t *testing.T) {
	s := newSite(t)
	for _, target := range []string{"/admin", "/admin/"} {
		rec := s.get(target, "")
		if rec.Code != 302 || rec.Header().Get("Location") != listPath {
			t.Errorf("%s: %d to %q, want 302 to the list", target, rec.Code, rec.Header().Get("Location"))
		}
	}
}

// TestPagesNeedAStaffSession: without a session, the login form (coming
// back afterwards); a user who is neither staff nor superuser gets 403.
func TestPagesNeedAStaffSession(t *testing.T) {
	s := newSite(t, testEntry(1, nil))
	for _, target := range []string{listPath + "?action=UPDATE&q=a+b", listPath + "1/change/"} {
		t.Run(target, func(t *testing.T) {
			for _, session := range []string{"", "forged-session-id"} {
				rec := s.get(target, session)
				want := loginPath + "?next=" + url.QueryEscape(target)
				if rec.Code != 302 || rec.Header().Get("Location") != want {
					t.Errorf("session %q: %d to %q, want 302 to %q", session, rec.Code, rec.Header().Get("Location"), want)
				}
			}
			body := mustCode(t, s.get(target, s.session("alice")), 403)
			mustContain(t, body, "You are authenticated as alice, but are not authorized to access this page.", `action="/admin/logout/"`)
			mustNotContain(t, body, "https://rp.example.org")
			for _, staff := range []string{"root", "auditor"} {
				mustCode(t, s.get(target, s.session(staff)), 200)
			}
		})
	}
}

func loginForm(username, password, token string) url.Values {
	return url.Values{"username": {username}, "password": {password}, "csrfmiddlewaretoken": {token}, "next": {listPath + "?action=CREATE"}}
}

// TestLoginForm: the form carries the CSRF token of its cookie; a post
// must echo it (and come from this origin), as the API's CSRF check
// demands; a staff user gets a session and goes where they were going.
func TestLoginForm(t *testing.T) {
	s := newSite(t)
	rec := s.get(loginPath+"?next="+url.QueryEscape(listPath+"?action=CREATE"), "")
	body := mustCode(t, rec, 200)
	csrf := setCookie(rec, auth.CSRFCookie)
	if csrf == nil || csrf.HttpOnly || csrf.SameSite != http.SameSiteLaxMode || len(csrf.Value) < 32 {
		t.Fatalf("the login form set no usable csrftoken cookie: %+v", csrf)
	}
	mustContain(t, body,
		`<input type="hidden" name="csrfmiddlewaretoken" value="`+csrf.Value+`">`,
		`<label for="id_username">Username</label>`, `id="id_username"`,
		`<label for="id_password">Password</label>`, `type="password" name="password" id="id_password"`,
		`<input type="hidden" name="next" value="/admin/auditlog/auditlogentry/?action=CREATE">`,
		`<form method="post" action="/admin/login/"`)
	// An existing token is kept, a malformed one replaced.
	kept := s.do(request{method: "GET", target: loginPath, cookies: []string{auth.CSRFCookie, testToken}})
	if setCookie(kept, auth.CSRFCookie) != nil || !strings.Contains(kept.Body.String(), `value="`+testToken+`"`) {
		t.Error("the login form replaced a well-formed csrftoken")
	}
	if setCookie(s.do(request{method: "GET", target: loginPath, cookies: []string{auth.CSRFCookie, "short"}}), auth.CSRFCookie) == nil {
		t.Error("the login form kept a malformed csrftoken")
	}

	refused := []struct {
		name    string
		cookies []string
		form    url.Values
		headers []string
		reason  string
	}{
		{"no csrftoken cookie", nil, loginForm("root", "pw-root", testToken), nil, "CSRF cookie not set."},
		{"no token in the form", []string{auth.CSRFCookie, testToken}, loginForm("root", "pw-root", ""), nil, "CSRF token missing."},
		{"a wrong token", []string{auth.CSRFCookie, testToken}, loginForm("root", "pw-root", testToken+"x"), nil, "CSRF token incorrect."},
		{"another origin", []string{auth.CSRFCookie, testToken}, loginForm("root", "pw-root", testToken), []string{"Origin", "https://evil.example"}, "Origin checking failed - https://evil.example does not match any trusted origins."},
	}
	for _, c := range refused {
		t.Run("refused: "+c.name, func(t *testing.T) {
			rec := s.do(request{method: "POST", target: loginPath, form: c.form, cookies: c.cookies, headers: c.headers})
			body := mustCode(t, rec, 403)
			mustContain(t, body, "CSRF verification failed. Request aborted.", c.reason)
			if setCookie(rec, auth.SessionCookie) != nil || s.store.SessionCount() != 0 {
				t.Error("a refused post opened a session")
			}
		})
	}

	failing := []struct {
		name, username, password, message string
	}{
		{"a wrong password", "root", "nope", "Please enter the correct username and password for a staff account."},
		{"an unknown user", "nobody", "pw-nobody", "Please enter the correct username and password for a staff account."},
		{"a user who is not staff", "alice", "pw-alice", "Please enter the correct username and password for a staff account."},
		{"no password", "root", "", "Please enter both a username and a password."},
		{"an overlong username", strings.Repeat("u", 151), "pw", "Please enter the correct username and password for a staff account."},
	}
	for _, c := range failing {
		t.Run("failed: "+c.name, func(t *testing.T) {
			rec := s.do(request{method: "POST", target: loginPath, form: loginForm(c.username, c.password, testToken),
				cookies: []string{auth.CSRFCookie, testToken}, headers: []string{"Origin", "http://example.com"}})
			body := mustCode(t, rec, 200)
			mustContain(t, body, c.message, `role="alert"`)
			if setCookie(rec, auth.SessionCookie) != nil || s.store.SessionCount() != 0 {
				t.Errorf("the failed login left a session (%d)", s.store.SessionCount())
			}
		})
	}

	for _, c := range []struct{ next, want string }{
		{listPath + "?action=CREATE", listPath + "?action=CREATE"},
		{"https://evil.example/admin/", listPath},
		{"//evil.example/admin/", listPath},
		{"/api/v1/trustmarktypes", listPath},
		{`/admin/\evil`, listPath},
		{"/admin/logout/", listPath},
	} {
		t.Run("success, next "+c.next, func(t *testing.T) {
			form := loginForm("auditor", "pw-auditor", testToken)
			form.Set("next", c.next)
			rec := s.do(request{method: "POST", target: loginPath, form: form, cookies: []string{auth.CSRFCookie, testToken}, headers: []string{"Origin", "http://example.com"}})
			mustCode(t, rec, 302)
			if got := rec.Header().Get("Location"); got != c.want {
				t.Errorf("redirect to %q, want %q", got, c.want)
			}
			session, token := setCookie(rec, auth.SessionCookie), setCookie(rec, auth.CSRFCookie)
			if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.MaxAge != int(auth.SessionLifetime.Seconds()) || session.Path != "/" {
				t.Fatalf("session cookie %+v", session)
			}
			if token == nil || token.Value == testToken || token.HttpOnly {
				t.Errorf("the CSRF token was not renewed: %+v", token)
			}
			// The session is the API's own.
			mustCode(t, s.get(listPath, session.Value), 200)
			// A staff session at the login form goes straight on.
			again := s.get(loginPath+"?next="+url.QueryEscape(listPath+"?q=x"), session.Value)
			if again.Code != 302 || again.Header().Get("Location") != listPath+"?q=x" {
				t.Errorf("login form with a session: %d to %q", again.Code, again.Header().Get("Location"))
			}
		})
	}

	// A session of a user who may not use the admin view may log in as another.
	body = mustCode(t, s.get(loginPath, s.session("alice")), 200)
	mustContain(t, body, "You are authenticated as alice, but are not authorized to access this page.")
}

// TestSecureCookies: outside the local stack the cookies are Secure.
func TestSecureCookies(t *testing.T) {
	store := newSite(t).store
	cursors, _ := audit.NewCursorCodec([]byte("k"))
	authn := &auth.Authenticator{Store: store, Sessions: store}
	pages := adminui.New(adminui.Config{Reader: &fakeReader{}, Cursors: cursors, Sessions: authn,
		Logins: auth.Logins{Users: store, Sessions: store, Throttle: store}, SecureCookies: true})
	rec := httptest.NewRecorder()
	r := httptest.NewRequest("POST", loginPath, strings.NewReader(loginForm("root", "pw-root", testToken).Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.AddCookie(&http.Cookie{Name: auth.CSRFCookie, Value: testToken})
	pages["adminLoginSubmit"](rec, r)
	for _, c := range rec.Result().Cookies() {
		if !c.Secure {
			t.Errorf("cookie %s is not Secure", c.Name)
		}
	}
	if len(rec.Result().Cookies()) != 2 {
		t.Errorf("login set %d cookies, want sessionid and csrftoken: %d %s", len(rec.Result().Cookies()), rec.Code, rec.Body)
	}
}

// TestLoginThrottling: after 5 failures for one username, its logins answer
// 429 with Retry-After, even with the right password; other usernames are
// not affected (the API's throttle).
func TestLoginThrottling(t *testing.T) {
	s := newSite(t)
	post := func(username, password string) *httptest.ResponseRecorder {
		return s.do(request{method: "POST", target: loginPath, form: loginForm(username, password, testToken), cookies: []string{auth.CSRFCookie, testToken}})
	}
	for i := 0; i < auth.MaxLoginFailures; i++ {
		mustCode(t, post("root", "wrong"), 200)
	}
	rec := post("root", "pw-root")
	body := mustCode(t, rec, 429)
	mustContain(t, body, "Too many failed logins for this username.", "Try again in 15 minutes.")
	if retry, err := strconv.Atoi(rec.Header().Get("Retry-After")); err != nil || retry < 1 || retry > 900 {
		t.Errorf("Retry-After = %q, want 1 to 900 seconds", rec.Header().Get("Retry-After"))
	}
	if setCookie(rec, auth.SessionCookie) != nil {
		t.Error("a throttled login opened a session")
	}
	if rec := post("auditor", "pw-auditor"); rec.Code != 302 {
		t.Errorf("another username: %d, want 302", rec.Code)
	}
}

// TestLogout: a form post with the CSRF token ends the session server-side;
// without the token nothing happens.
func TestLogout(t *testing.T) {
	s := newSite(t)
	if rec := s.get("/admin/logout/", ""); rec.Code != 302 || rec.Header().Get("Location") != loginPath {
		t.Errorf("logout form without a session: %d to %q", rec.Code, rec.Header().Get("Location"))
	}
	session := s.session("root")
	body := mustCode(t, s.get("/admin/logout/", session), 200)
	mustContain(t, body, `<form method="post" action="/admin/logout/" class="confirm-form">`, `name="csrfmiddlewaretoken" value="`+testToken+`"`)

	cookies := []string{auth.SessionCookie, session, auth.CSRFCookie, testToken}
	rec := s.do(request{method: "POST", target: "/admin/logout/", form: url.Values{}, cookies: cookies})
	mustContain(t, mustCode(t, rec, 403), "CSRF token missing.")
	mustCode(t, s.get(listPath, session), 200)

	rec = s.do(request{method: "POST", target: "/admin/logout/", form: url.Values{"csrfmiddlewaretoken": {testToken}}, cookies: cookies})
	mustContain(t, mustCode(t, rec, 200), "Logged out", `href="/admin/login/"`)
	if c := setCookie(rec, auth.SessionCookie); c == nil || c.MaxAge >= 0 {
		t.Errorf("the session cookie was not cleared: %+v", c)
	}
	if s.store.SessionCount() != 0 {
		t.Error("the session survived the logout")
	}
	if rec := s.get(listPath, session); rec.Code != 302 {
		t.Errorf("the list after logout: %d, want 302 to the login form", rec.Code)
	}
}

// TestWriteMethods: the list and the entries are read-only: every write
// method answers 405, even with a session and its CSRF token.
func TestWriteMethods(t *testing.T) {
	s := newSite(t, testEntry(1, nil))
	cookies := []string{auth.SessionCookie, s.session("root"), auth.CSRFCookie, testToken}
	for _, target := range []string{listPath, listPath + "1/change/", "/admin/", "/admin/static/admin.css"} {
		for _, method := range []string{"POST", "PUT", "PATCH", "DELETE"} {
			rec := s.do(request{method: method, target: target, form: url.Values{"csrfmiddlewaretoken": {testToken}}, cookies: cookies, headers: []string{"X-CSRFToken", testToken}})
			if rec.Code != 405 || rec.Header().Get("Allow") != "GET" {
				t.Errorf("%s %s: %d Allow %q, want 405 Allow GET", method, target, rec.Code, rec.Header().Get("Allow"))
			}
		}
	}
	for _, method := range []string{"PUT", "PATCH", "DELETE"} {
		if rec := s.do(request{method: method, target: loginPath, cookies: cookies}); rec.Code != 405 {
			t.Errorf("%s %s: %d, want 405", method, loginPath, rec.Code)
		}
	}
}

// TestNoEditControls: no page offers to add, change or delete: its only
// forms search and filter (GET) or log out.
func TestNoEditControls(t *testing.T) {
	s := newSite(t, testEntry(1, map[string]any{"diff": map[string]any{"active": map[string]any{"old": true, "new": false}}}))
	session := s.session("root")
	form := regexp.MustCompile(`<form [^>]*>`)
	for _, target := range []string{listPath, listPath + "1/change/"} {
		body := mustCode(t, s.get(target, session), 200)
		for _, f := range form.FindAllString(body, -1) {
			if !strings.Contains(f, `method="get"`) && !strings.Contains(f, `action="/admin/logout/"`) {
				t.Errorf("%s has a form that could change something: %s", target, f)
			}
		}
		mustNotContain(t, body, "<textarea", "<select", "Save", "Delete", "Add audit", "/add/", "/delete/", "/history/")
	}
	detail := s.get(listPath+"1/change/", session).Body.String()
	if n := len(form.FindAllString(detail, -1)); n != 1 {
		t.Errorf("the entry page has %d forms, want 1 (log out)", n)
	}
}
