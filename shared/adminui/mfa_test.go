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
	s.mfa = &memstore.MFA{}
	secrets, err := mfa.NewSecretBox(make([]byte, mfa.MinKeySize))
	if err != nil {
		t.Fatal(err)
	}
	second := &mfa.Service{Store: s.mfa, Logins: logins, Secrets: secrets}
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
	theScriptOnly(t, begun.Header, body)
	if strings.Contains(body, "style=") || strings.Contains(body, "data:") {
		t.Error("the enrolment page has an inline style or a data: URI")
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

var scriptTag = regexp.MustCompile(`<script src="/admin/static/webauthn\.js\?v=[0-9a-f]+" nonce="([A-Za-z0-9_-]{43})" defer></script>`)

// theScriptOnly checks that a page's one script is the WebAuthn script
// file, allowed by its answer's nonce, which may call the API of its own
// origin; it returns the nonce.
func theScriptOnly(t *testing.T, header http.Header, body string) string {
	t.Helper()
	m := scriptTag.FindStringSubmatch(body)
	if m == nil || strings.Count(body, "<script") != 1 {
		t.Fatalf("want the one script file: %s", body)
	}
	if got := header.Get("Content-Security-Policy"); got != adminui.SecurityHeaders["Content-Security-Policy"]+"; script-src 'nonce-"+m[1]+"'; connect-src 'self'" {
		t.Errorf("CSP %q", got)
	}
	return m[1]
}

// addKey stores a security key of username, as a registration would.
func (s *site) addKey(username, id string) {
	s.t.Helper()
	u := s.users[username]
	err := s.mfa.AddWebAuthnCredential(context.Background(), u, mfa.WebAuthnCredential{
		ID: id, Name: "YubiKey <5>", AddedAt: time.Date(2026, 11, 29, 4, 0, 0, 0, time.UTC), Credential: []byte(`{}`),
	}, []string{"h"}, mfa.Event{Type: mfa.EventEnrolled, Factor: mfa.FactorWebAuthn})
	if err != nil {
		s.t.Fatal(err)
	}
}

// TestWebAuthnPages: the two-factor page registers keys through its one
// script (a fresh nonce per answer; the script calls the auth function's
// routes), lists them and removes them; a login's second step offers a
// user's key through the same script, and a user without one gets no
// script.
func TestWebAuthnPages(t *testing.T) {
	s := newMFASite(t, false)
	root := s.session("root")
	first := s.get(mfaPath, root)
	page := mustCode(t, first, 200)
	mustContain(t, page, "None registered.", `<div class="login-form" id="webauthn" data-webauthn="register" data-csrf="`+testToken+`">`,
		`<section class="module mfa-module" id="recovery-codes" hidden>`)
	nonce := theScriptOnly(t, first.Header(), page)
	if again := s.get(mfaPath, root); theScriptOnly(t, again.Header(), again.Body.String()) == nonce {
		t.Error("two answers share a nonce")
	}

	s.addKey("root", "a2V5LWlk")
	listed := mustCode(t, s.get(mfaPath, root), 200)
	mustNotContain(t, listed, "password alone")
	mustContain(t, listed, "Not set up.", `<span class="key-name">YubiKey &lt;5&gt;</span> <span class="quiet">added 2026-11-29 04:00 UTC</span>`, `<input type="hidden" name="id" value="a2V5LWlk">`)

	// The login's second step offers the key, through the script.
	firstStep := s.post(loginPath, "", loginForm("root", "pw-root", testToken))
	step := readBody(t, firstStep)
	theScriptOnly(t, firstStep.Header, step)
	challenge := regexp.MustCompile(`name="challenge" value="([^"]+)"`).FindStringSubmatch(step)
	if challenge == nil {
		t.Fatalf("no challenge: %s", step)
	}
	mustContain(t, step, "or use your security key", `data-webauthn="login" data-challenge="`+challenge[1]+`" data-next="/admin/auditlog/auditlogentry/?action=CREATE"`,
		`<a href="/admin/login/?next=%2fadmin%2fauditlog%2fauditlogentry%2f%3faction%3dCREATE">Log in again</a>`)
	// This function does not verify assertions: a form post of one is a
	// recovery code that does not match.
	bad := s.post(loginMFAPath, "", url.Values{"challenge": {challenge[1]}, "webauthn": {"{}"}, "code": {""}, "next": {listPath}})
	if setCookieOf(bad, auth.SessionCookie) != nil {
		t.Error("a session without a second factor")
	}

	mustContain(t, readBody(t, s.post(mfaPath+"webauthn/remove/", root, url.Values{"id": {"nope"}})), "No such security key.")
	removed := readBody(t, s.post(mfaPath+"webauthn/remove/", root, url.Values{"id": {"a2V5LWlk"}}))
	mustContain(t, removed, "The security key was removed.", "None registered.")
	if n := len(s.mfa.Events); n != 2 || s.mfa.Events[1].Type != mfa.EventRemoved || s.mfa.Events[1].Factor != mfa.FactorWebAuthn {
		t.Errorf("events %+v", s.mfa.Events)
	}

	// Without a key, the second step has no script.
	s.enrolTOTP("root")
	plain := s.post(loginPath, "", loginForm("root", "pw-root", testToken))
	if body := readBody(t, plain); strings.Contains(body, "<script") || plain.Header.Get("Content-Security-Policy") != adminui.SecurityHeaders["Content-Security-Policy"] {
		t.Errorf("a second step without a key has a script: %s", body)
	}
	// Static: the script is served with its type.
	if rec := s.get("/admin/static/webauthn.js", ""); rec.Code != 200 || rec.Header().Get("Content-Type") != "text/javascript; charset=utf-8" {
		t.Errorf("script: %d %v", rec.Code, rec.Header())
	}
}

// enrolTOTP gives username an authenticator app, as its confirmation would.
func (s *site) enrolTOTP(username string) {
	s.t.Helper()
	if err := s.mfa.EnrolTOTP(context.Background(), s.users[username], "JBSWY3DPEHPK3PXP", 0, []string{"h"}, mfa.Event{Type: mfa.EventEnrolled, Factor: mfa.FactorTOTP}); err != nil {
		s.t.Fatal(err)
	}
}

// TestReauthentication: a session whose login is older than the window
// sees its second factors but no control to change them, only a password
// form; a change posted anyway is refused; a wrong password is refused and
// counted; the right one replaces the session and the controls return.
func TestReauthentication(t *testing.T) {
	s := newMFASite(t, false)
	u := s.users["root"]
	old := time.Now().Add(-auth.ReauthenticationWindow - time.Minute)
	if err := s.store.CreateSession(context.Background(), auth.Session{
		Hash: auth.HashSessionID("old-login"), Username: u.Username, UserID: u.ID, CreatedAt: old, ExpiresAt: old.Add(time.Hour),
	}); err != nil {
		t.Fatal(err)
	}
	page := mustCode(t, s.get(mfaPath, "old-login"), 200)
	mustContain(t, page, `<form method="post" action="/admin/mfa/reauthenticate/"`, "confirm your password")
	mustNotContain(t, page, `action="/admin/mfa/totp/"`, "<script", `data-webauthn="register"`)
	if rec := s.get(mfaPath, "old-login"); rec.Header().Get("Content-Security-Policy") != adminui.SecurityHeaders["Content-Security-Policy"] {
		t.Error("a page without the script allows one")
	}
	refused := readBody(t, s.post(mfaPath+"totp/", "old-login", url.Values{}))
	mustContain(t, refused, "Confirm your password first")
	mustNotContain(t, refused, `id="totp-secret"`)

	wrong := s.post(mfaPath+"reauthenticate/", "old-login", url.Values{"password": {"nope"}})
	mustContain(t, readBody(t, wrong), "The password was not right.")
	if setCookieOf(wrong, auth.SessionCookie) != nil {
		t.Error("a wrong password replaced the session")
	}
	if n, _, _ := s.store.LoginFailures(context.Background(), "root"); n != 1 {
		t.Errorf("%d failures counted, want 1", n)
	}
	right := s.post(mfaPath+"reauthenticate/", "old-login", url.Values{"password": {"pw-root"}})
	fresh := setCookieOf(right, auth.SessionCookie)
	if right.StatusCode != http.StatusSeeOther || right.Header.Get("Location") != mfaPath || fresh == nil || fresh.Value == "old-login" {
		t.Fatalf("reauthenticate: %d %v", right.StatusCode, right.Header)
	}
	if rec := s.get(mfaPath, "old-login"); rec.Code != http.StatusFound {
		t.Errorf("the old session still serves: %d", rec.Code)
	}
	mustContain(t, mustCode(t, s.get(mfaPath, fresh.Value), 200), `action="/admin/mfa/totp/"`, `data-webauthn="register"`)
	mustNotContain(t, mustCode(t, s.get(mfaPath, fresh.Value), 200), "/admin/mfa/reauthenticate/")
	begun := readBody(t, s.post(mfaPath+"totp/", fresh.Value, url.Values{}))
	mustContain(t, begun, `id="totp-secret"`)
}
