package adminui_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/inmor/inmor-serverless/shared/adminapi"
	"github.com/inmor/inmor-serverless/shared/adminui"
	"github.com/inmor/inmor-serverless/shared/auth"
	"github.com/inmor/inmor-serverless/shared/memstore"
	"github.com/inmor/inmor-serverless/shared/mfa"
)

const (
	mfaPath      = "/admin/mfa/"
	loginMFAPath = "/admin/login/mfa/"
)

// newMFASite is newSite with second factors, and the staff policy when
// required.
func newMFASite(t *testing.T, required bool) *site {
	t.Helper()
	s := newSite(t, testEntry(1, nil))
	logins := auth.Logins{Users: s.store, Sessions: s.store, Throttle: s.store}
	second := &mfa.Service{Store: &memstore.MFA{}, Logins: logins}
	logins.SecondFactor = second
	second.Logins = logins
	authn := &auth.Authenticator{Store: s.store, Sessions: s.store, RequireSecondFactorForStaff: required}
	pages := adminui.New(adminui.Config{
		Reader: s.reader, Cursors: s.cursors, Sessions: authn, Logins: logins, MFA: second, MFARequiredForStaff: required,
	})
	s.handler = adminapi.NewAuditQueryHandler(s.reader, nil, authn, s.cursors, pages)
	return s
}

// post sends a form with the test token as the user of a session.
func (s *site) post(target, sessionID string, form url.Values) *http.Response {
	s.t.Helper()
	form.Set("csrfmiddlewaretoken", testToken)
	cookies := []string{auth.CSRFCookie, testToken}
	if sessionID != "" {
		cookies = append(cookies, auth.SessionCookie, sessionID)
	}
	return s.do(request{method: http.MethodPost, target: target, form: form, cookies: cookies}).Result()
}

func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var secretPattern = regexp.MustCompile(`<code id="totp-secret" class="totp-secret">([A-Z2-7]+)</code>`)

// TestMFAEnrolmentAndLogin: a staff user sets up an authenticator app from
// the page (a QR code inline as SVG, the key shown once), gets recovery
// codes once, and then logs in in two steps; wrong codes start again.
func TestMFAEnrolmentAndLogin(t *testing.T) {
	s := newMFASite(t, false)
	root := s.session("root")
	page := mustCode(t, s.get(mfaPath, root), 200)
	mustContain(t, page, "Not set up", `<form method="post" action="/admin/mfa/totp/">`, `<a href="/admin/mfa/">Two-factor authentication</a>`)

	begun := s.post(mfaPath+"totp/", root, url.Values{})
	body := readBody(t, begun)
	if begun.StatusCode != 200 || !strings.Contains(body, `<div class="qr"><svg xmlns="http://www.w3.org/2000/svg"`) {
		t.Fatalf("begin: %d %s", begun.StatusCode, body)
	}
	if strings.Contains(body, "<script") || strings.Contains(body, "style=") || strings.Contains(body, "data:") {
		t.Error("the enrolment page has a script, an inline style or a data: URI")
	}
	m := secretPattern.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no key on the page: %s", body)
	}
	secret := m[1]
	if wrong := readBody(t, s.post(mfaPath+"totp/confirm/", root, url.Values{"code": {"000000x"}})); !strings.Contains(wrong, "The code was not valid. Set up the app again.") {
		t.Errorf("wrong code: %s", wrong)
	}
	code, _ := totp.GenerateCode(secret, time.Now())
	confirmed := readBody(t, s.post(mfaPath+"totp/confirm/", root, url.Values{"code": {code}}))
	mustContain(t, confirmed, "The authenticator app is set up", `<ul class="recovery-codes">`, "New recovery codes", "Remove the authenticator app")
	recovery := regexp.MustCompile(`<li><code>([0-9a-z]{5}-[0-9a-z]{5})</code></li>`).FindAllStringSubmatch(confirmed, -1)
	if len(recovery) != 10 {
		t.Fatalf("%d recovery codes shown", len(recovery))
	}
	if again := mustCode(t, s.get(mfaPath, root), 200); strings.Contains(again, secret) || strings.Contains(again, recovery[0][1]) {
		t.Error("the key or a recovery code was shown twice")
	}

	// The password alone opens no session: the second step asks for a code.
	first := s.post(loginPath, "", loginForm("root", "pw-root", testToken))
	step := readBody(t, first)
	if first.StatusCode != 200 || setCookieOf(first, auth.SessionCookie) != nil || !strings.Contains(step, `action="/admin/login/mfa/"`) {
		t.Fatalf("first step: %d %s", first.StatusCode, step)
	}
	challenge := regexp.MustCompile(`name="challenge" value="([^"]+)"`).FindStringSubmatch(step)
	if challenge == nil {
		t.Fatal("no challenge in the second step")
	}
	bad := s.post(loginMFAPath, "", url.Values{"challenge": {challenge[1]}, "code": {"000000"}, "next": {listPath}})
	if b := readBody(t, bad); setCookieOf(bad, auth.SessionCookie) != nil || !strings.Contains(b, "The code was not valid, or the login took too long. Log in again.") {
		t.Errorf("wrong code: %s", b)
	}
	// The challenge served once: log in again, with a recovery code.
	step = readBody(t, s.post(loginPath, "", loginForm("root", "pw-root", testToken)))
	challenge = regexp.MustCompile(`name="challenge" value="([^"]+)"`).FindStringSubmatch(step)
	ok := s.post(loginMFAPath, "", url.Values{"challenge": {challenge[1]}, "code": {strings.ToUpper(recovery[0][1])}, "next": {listPath}})
	session := setCookieOf(ok, auth.SessionCookie)
	if ok.StatusCode != http.StatusFound || ok.Header.Get("Location") != listPath || session == nil {
		t.Fatalf("second step: %d %v", ok.StatusCode, ok.Header)
	}
	mustCode(t, s.get(listPath, session.Value), 200)
	removed := readBody(t, s.post(mfaPath+"totp/remove/", session.Value, url.Values{}))
	mustContain(t, removed, "The authenticator app and its recovery codes were removed.", "Not set up")
}

// TestMFAPolicy: with the policy on, a staff session without a second
// factor may only set one up; others go on.
func TestMFAPolicy(t *testing.T) {
	s := newMFASite(t, true)
	root := s.session("root")
	if rec := s.get(listPath, root); rec.Code != http.StatusFound || rec.Header().Get("Location") != mfaPath {
		t.Errorf("list without a second factor: %d to %q, want the MFA page", rec.Code, rec.Header().Get("Location"))
	}
	mustContain(t, mustCode(t, s.get(mfaPath, root), 200), "Staff must log in with a second factor.")
	// A session of a login with a second factor goes on.
	u := s.users["root"]
	now := time.Now()
	if err := s.store.CreateSession(context.Background(), auth.Session{
		Hash: auth.HashSessionID("with-mfa"), Username: u.Username, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour), SecondFactor: true,
	}); err != nil {
		t.Fatal(err)
	}
	mustCode(t, s.get(listPath, "with-mfa"), 200)
	mustNotContain(t, mustCode(t, s.get(mfaPath, "with-mfa"), 200), "Staff must log in with a second factor.")
}

// setCookieOf returns the cookie a response sets, or nil.
func setCookieOf(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// TestWebAuthnPages: registering a key is the one page with a script: the
// script file, allowed by a fresh nonce in that answer's CSP; a made-up
// answer and an unknown key are refused.
func TestWebAuthnPages(t *testing.T) {
	s := newMFASite(t, false)
	root := s.session("root")
	mustContain(t, mustCode(t, s.get(mfaPath, root), 200), "None registered.", `<form method="post" action="/admin/mfa/webauthn/">`)
	page := s.post(mfaPath+"webauthn/", root, url.Values{})
	body := readBody(t, page)
	m := regexp.MustCompile(`<script src="/admin/static/webauthn\.js\?v=[0-9a-f]+" nonce="([A-Za-z0-9_-]{43})" defer></script>`).FindStringSubmatch(body)
	if page.StatusCode != 200 || m == nil {
		t.Fatalf("registration page: %d %s", page.StatusCode, body)
	}
	if got := page.Header.Get("Content-Security-Policy"); got != adminui.SecurityHeaders["Content-Security-Policy"]+"; script-src 'nonce-"+m[1]+"'" {
		t.Errorf("CSP %q", got)
	}
	options := regexp.MustCompile(`data-options="([^"]+)"`).FindStringSubmatch(body)
	if options == nil || !strings.Contains(options[1], "&#34;rp&#34;:{&#34;name&#34;:&#34;Inmor&#34;,&#34;id&#34;:&#34;example.com&#34;}") {
		t.Errorf("options %v", options)
	}
	if strings.Count(body, "<script") != 1 {
		t.Error("more than one script")
	}
	// Other pages still allow no script.
	if rec := s.get(mfaPath, root); rec.Header().Get("Content-Security-Policy") != adminui.SecurityHeaders["Content-Security-Policy"] || strings.Contains(rec.Body.String(), "<script") {
		t.Error("the status page allows or has a script")
	}
	finish := readBody(t, s.post(mfaPath+"webauthn/finish/", root, url.Values{"credential": {"{}"}, "name": {"k"}}))
	mustContain(t, finish, "The security key&#39;s answer was not valid.")
	again := readBody(t, s.post(mfaPath+"webauthn/finish/", root, url.Values{"credential": {"{}"}}))
	mustContain(t, again, "No registration to finish; start again.")
	mustContain(t, readBody(t, s.post(mfaPath+"webauthn/remove/", root, url.Values{"id": {"nope"}})), "No such security key.")
	// Static: the script is served with its type.
	if rec := s.get("/admin/static/webauthn.js", ""); rec.Code != 200 || rec.Header().Get("Content-Type") != "text/javascript; charset=utf-8" {
		t.Errorf("script: %d %v", rec.Code, rec.Header())
	}
}
