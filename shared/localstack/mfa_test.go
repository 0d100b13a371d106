package localstack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/inmor/inmor-serverless/shared/app"
	"github.com/inmor/inmor-serverless/shared/auth"
	"github.com/inmor/inmor-serverless/shared/dynamo"
	"github.com/inmor/inmor-serverless/shared/localstack"
	"github.com/inmor/inmor-serverless/shared/mfa"
	"github.com/inmor/inmor-serverless/shared/operator"
)

// enrolTOTP sets up an authenticator app for the browser's session user
// and returns its key and the recovery codes.
func enrolTOTP(t *testing.T, b *browser) (string, []string) {
	t.Helper()
	if r := b.do("POST", "/api/v1/auth/mfa/totp", ""); r.Status != 403 {
		t.Errorf("begin without the CSRF header: %d %s", r.Status, r.Body)
	}
	r := b.do("POST", "/api/v1/auth/mfa/totp", "", auth.CSRFHeader, b.cookie(auth.CSRFCookie))
	mustStatus(t, r, 200)
	secret, _ := r.JSON(t)["secret"].(string)
	code, err := totp.GenerateCode(secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	r = b.do("POST", "/api/v1/auth/mfa/totp/confirm", fmt.Sprintf(`{"code":%q}`, code), auth.CSRFHeader, b.cookie(auth.CSRFCookie))
	mustStatus(t, r, 200)
	var body struct {
		RecoveryCodes []string `json:"recovery_codes"`
	}
	if err := json.Unmarshal(r.Body, &body); err != nil || len(body.RecoveryCodes) != 10 {
		t.Fatalf("confirm: %s", r.Body)
	}
	return secret, body.RecoveryCodes
}

// firstStep logs in with the password and returns the challenge.
func firstStep(t *testing.T, b *browser, username, password string) string {
	t.Helper()
	r := b.do("POST", "/api/v1/auth/login", fmt.Sprintf(`{"username":%q,"password":%q}`, username, password))
	mustStatus(t, r, 200)
	body := r.JSON(t)
	challenge, _ := body["challenge"].(string)
	if body["mfa_required"] != true || challenge == "" || compactJSON(t, body["methods"]) != `["totp","recovery_code"]` || len(r.Header.Values("Set-Cookie")) != 0 {
		t.Fatalf("first step: %s %v", r.Body, r.Header.Values("Set-Cookie"))
	}
	return challenge
}

// TestMFALogin: enrolment through the API, the two-step login with a TOTP
// code (refused a second time) or a recovery code (single use), throttled
// with the passwords, and inmorctl's reset.
func TestMFALogin(t *testing.T) {
	s := startStack(t)
	addStaff(t, s, "carol")
	b := newBrowser(t, s)
	mustStatus(t, b.do("POST", "/api/v1/auth/login", `{"username":"carol","password":"pw-carol"}`), 200)
	if r := b.do("GET", "/api/v1/auth/mfa", ""); compactJSON(t, r.JSON(t)) != `{"methods":[],"recovery_codes_left":0,"totp":false,"webauthn":[]}` {
		t.Errorf("status before: %s", r.Body)
	}
	secret, recovery := enrolTOTP(t, b)
	if r := b.do("GET", "/api/v1/auth/mfa", ""); compactJSON(t, r.JSON(t)) != `{"methods":["totp","recovery_code"],"recovery_codes_left":10,"totp":true,"webauthn":[]}` {
		t.Errorf("status after: %s", r.Body)
	}
	// The table holds the key sealed by the stack's MFA key.
	item, err := authStore(s).MFAState(context.Background(), "carol")
	if err != nil || !strings.HasPrefix(item.TOTPSecret, "v1.") || strings.Contains(item.TOTPSecret, secret) {
		t.Fatalf("stored %q: %v", item.TOTPSecret, err)
	}
	box, err := mfa.NewSecretBox(s.Config.MFAKey)
	if err != nil {
		t.Fatal(err)
	}
	if opened, err := box.Open("carol", item.TOTPSecret); err != nil || opened != secret {
		t.Errorf("the stored key opens to %q, %v", opened, err)
	}
	mustStatus(t, b.do("POST", "/api/v1/auth/logout", ""), 200)

	// A wrong code ends the login; so does a used challenge.
	challenge := firstStep(t, b, "carol", "pw-carol")
	if r := b.do("POST", "/api/v1/auth/login/mfa", fmt.Sprintf(`{"challenge":%q,"code":"000000"}`, challenge)); r.Status != 401 || compactJSON(t, r.JSON(t)) != `{"message":"Invalid code"}` {
		t.Errorf("wrong code: %d %s", r.Status, r.Body)
	}
	if r := b.do("POST", "/api/v1/auth/login/mfa", fmt.Sprintf(`{"challenge":%q,"code":"000000"}`, challenge)); r.Status != 401 || compactJSON(t, r.JSON(t)) != `{"message":"Invalid or expired challenge; log in again."}` {
		t.Errorf("used challenge: %d %s", r.Status, r.Body)
	}
	if r := b.do("POST", "/api/v1/auth/login/mfa", fmt.Sprintf(`{"challenge":%q}`, challenge)); r.Status != 422 {
		t.Errorf("no code: %d %s", r.Status, r.Body)
	}
	// The next time step's code (the enrolment used the current one).
	code, err := totp.GenerateCode(secret, time.Now().Add(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	r := b.do("POST", "/api/v1/auth/login/mfa", fmt.Sprintf(`{"challenge":%q,"code":%q}`, firstStep(t, b, "carol", "pw-carol"), code))
	if r.Status != 200 || r.JSON(t)["username"] != "carol" || b.cookie(auth.SessionCookie) == "" {
		t.Fatalf("second step: %d %s", r.Status, r.Body)
	}
	mustStatus(t, b.do("GET", "/api/v1/trustmarktypes", ""), 200)
	mustStatus(t, b.do("POST", "/api/v1/auth/logout", ""), 200)
	// The same code again is a replay.
	if r := b.do("POST", "/api/v1/auth/login/mfa", fmt.Sprintf(`{"challenge":%q,"code":%q}`, firstStep(t, b, "carol", "pw-carol"), code)); r.Status != 401 {
		t.Errorf("replayed code: %d %s", r.Status, r.Body)
	}
	// A recovery code serves once.
	mustStatus(t, b.do("POST", "/api/v1/auth/login/mfa", fmt.Sprintf(`{"challenge":%q,"recovery_code":%q}`, firstStep(t, b, "carol", "pw-carol"), recovery[0])), 200)
	if r := b.do("POST", "/api/v1/auth/login/mfa", fmt.Sprintf(`{"challenge":%q,"recovery_code":%q}`, firstStep(t, b, "carol", "pw-carol"), recovery[0])); r.Status != 401 {
		t.Errorf("reused recovery code: %d %s", r.Status, r.Body)
	}
	// One failure since the last login (the reused code); four more lock
	// the username, whose password is then throttled too.
	for range 4 {
		mustStatus(t, b.do("POST", "/api/v1/auth/login/mfa", fmt.Sprintf(`{"challenge":%q,"code":"000000"}`, firstStep(t, b, "carol", "pw-carol"))), 401)
	}
	if r := b.do("POST", "/api/v1/auth/login", `{"username":"carol","password":"pw-carol"}`); r.Status != 429 || r.Header.Get("Retry-After") == "" {
		t.Errorf("after five failures: %d %s", r.Status, r.Body)
	}
	if r := b.do("POST", "/api/v1/auth/login/mfa", `{"challenge":"unknown","code":"000000"}`); r.Status != 401 {
		t.Errorf("unknown challenge: %d", r.Status)
	}

	// inmorctl resets a lost device: the password alone logs in again.
	var out, errOut strings.Builder
	code2 := operator.Run(context.Background(), []string{"user", "mfa", "reset", "--username", "carol"}, operator.Env{
		Getenv: localOperator(s), Stdout: &out, Stderr: &errOut,
		Store: func(context.Context) (operator.Store, error) { return authStore(s), nil },
	})
	if code2 != operator.ExitOK || out.String() != "The second factors of 'carol' were removed.\n" {
		t.Fatalf("reset: %d %q %q", code2, out.String(), errOut.String())
	}
	if err := authStore(s).ClearLoginFailures(context.Background(), "carol"); err != nil {
		t.Fatal(err)
	}
	if r := b.do("POST", "/api/v1/auth/login", `{"username":"carol","password":"pw-carol"}`); r.Status != 200 || r.JSON(t)["username"] != "carol" {
		t.Errorf("login after reset: %d %s", r.Status, r.Body)
	}
}

// TestMFAPolicy: with MFA_REQUIRED_FOR_STAFF=true a staff session without
// a second factor may only set one up; a session of a two-step login and
// API keys go on.
func TestMFAPolicy(t *testing.T) {
	s := startStack(t, func(o *localstack.Options) {
		getenv := o.Getenv
		o.Getenv = func(k string) string {
			if k == app.EnvMFARequiredForStaff {
				return "true"
			}
			return getenv(k)
		}
	})
	dave := addStaff(t, s, "dave")
	key := addKey(t, s, dave, "ci", "default", auth.ScopeAdmin)
	b := newBrowser(t, s)
	mustStatus(t, b.do("POST", "/api/v1/auth/login", `{"username":"dave","password":"pw-dave"}`), 200)
	if r := b.do("GET", "/api/v1/trustmarktypes", ""); r.Status != 403 {
		t.Errorf("a staff session without a second factor: %d %s", r.Status, r.Body)
	}
	mustStatus(t, call(t, s, "GET", "/api/v1/trustmarktypes", "", "X-API-Key", key), 200)
	secret, _ := enrolTOTP(t, b)
	mustStatus(t, b.do("POST", "/api/v1/auth/logout", ""), 200)
	code, err := totp.GenerateCode(secret, time.Now().Add(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	mustStatus(t, b.do("POST", "/api/v1/auth/login/mfa", fmt.Sprintf(`{"challenge":%q,"code":%q}`, firstStep(t, b, "dave", "pw-dave"), code)), 200)
	mustStatus(t, b.do("GET", "/api/v1/trustmarktypes", ""), 200)
}

// localOperator is the environment of inmorctl on the local stack (its
// operator is "local": no AWS identity to ask).
func localOperator(s *localstack.Stack) func(string) string {
	return func(k string) string {
		if k == "AWS_ENDPOINT_URL_DYNAMODB" {
			return s.Endpoint
		}
		return ""
	}
}

var totpSecretOnPage = regexp.MustCompile(`id="totp-secret" class="totp-secret">([A-Z2-7]+)<`)
var challengeOnPage = regexp.MustCompile(`name="challenge" value="([^"]+)"`)

// TestMFAChangesAreAudited: every enrolment, removal, new recovery codes
// and reset of second factors, through the API, the admin view and
// inmorctl, is an entry of the user (mfa_enrolled, mfa_removed,
// mfa_reset), and a wrong code at a login's second step a failed Session
// entry of the user it was for.
func TestMFAChangesAreAudited(t *testing.T) {
	s := startStack(t)
	ctx := context.Background()

	// The API: enrol, new recovery codes, a wrong code, remove.
	addStaff(t, s, "dora")
	b := newBrowser(t, s)
	mustStatus(t, b.do("POST", "/api/v1/auth/login", `{"username":"dora","password":"pw-dora"}`), 200)
	r := b.do("POST", "/api/v1/auth/mfa/totp", "", auth.CSRFHeader, b.cookie(auth.CSRFCookie))
	mustStatus(t, r, 200)
	secret, _ := r.JSON(t)["secret"].(string)
	code, err := totp.GenerateCode(secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	mustStatus(t, b.do("POST", "/api/v1/auth/mfa/totp/confirm", fmt.Sprintf(`{"code":%q}`, code), auth.CSRFHeader, b.cookie(auth.CSRFCookie)), 200)
	mustStatus(t, b.do("POST", "/api/v1/auth/mfa/recovery-codes", "", auth.CSRFHeader, b.cookie(auth.CSRFCookie)), 200)
	mustStatus(t, b.do("POST", "/api/v1/auth/logout", ""), 200)
	mustStatus(t, b.do("POST", "/api/v1/auth/login/mfa", fmt.Sprintf(`{"challenge":%q,"code":"000000"}`, firstStep(t, b, "dora", "pw-dora"))), 401)
	if code, err = totp.GenerateCode(secret, time.Now().Add(30*time.Second)); err != nil {
		t.Fatal(err)
	}
	mustStatus(t, b.do("POST", "/api/v1/auth/login/mfa", fmt.Sprintf(`{"challenge":%q,"code":%q}`, firstStep(t, b, "dora", "pw-dora"), code)), 200)
	mustStatus(t, b.do("DELETE", "/api/v1/auth/mfa/totp", "", auth.CSRFHeader, b.cookie(auth.CSRFCookie)), 200)

	// The admin view: enrol, new recovery codes, log in in two steps
	// (a wrong code first), remove.
	addStaff(t, s, "erin")
	c := newAdminClient(t, s)
	mustStatus(t, c.login("erin", "pw-erin", "/admin/"), http.StatusFound)
	form := func() url.Values { return url.Values{"csrfmiddlewaretoken": {c.cookie(auth.CSRFCookie)}} }
	page := c.do(http.MethodPost, "/admin/mfa/totp/", form())
	m := totpSecretOnPage.FindStringSubmatch(string(page.Body))
	if m == nil {
		t.Fatalf("the enrolment page shows no key: %d", page.Status)
	}
	code, err = totp.GenerateCode(m[1], time.Now())
	if err != nil {
		t.Fatal(err)
	}
	confirm := form()
	confirm.Set("code", code)
	mustStatus(t, c.do(http.MethodPost, "/admin/mfa/totp/confirm/", confirm), http.StatusOK)
	mustStatus(t, c.do(http.MethodPost, "/admin/mfa/recovery-codes/", form()), http.StatusOK)
	mustStatus(t, c.do(http.MethodPost, "/admin/logout/", form()), http.StatusOK)
	second := func(code string) response {
		r := c.login("erin", "pw-erin", "/admin/")
		ch := challengeOnPage.FindStringSubmatch(string(r.Body))
		if ch == nil {
			t.Fatalf("no second step: %d", r.Status)
		}
		f := form()
		f.Set("challenge", ch[1])
		f.Set("code", code)
		f.Set("next", "/admin/")
		return c.do(http.MethodPost, "/admin/login/mfa/", f)
	}
	mustStatus(t, second("000000"), http.StatusOK) // the form again, with an error
	code, err = totp.GenerateCode(m[1], time.Now().Add(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	mustStatus(t, second(code), http.StatusFound)
	mustStatus(t, c.do(http.MethodPost, "/admin/mfa/totp/remove/", form()), http.StatusOK)

	// inmorctl resets dora's second factors (enrolled again first).
	mustStatus(t, b.do("POST", "/api/v1/auth/login", `{"username":"dora","password":"pw-dora"}`), 200)
	enrolTOTP(t, b)
	var out, errOut strings.Builder
	// The operator's store signs with the functions' attribution key, as
	// inmorctl's does.
	signed := &dynamo.Auth{Client: s.Client, Table: s.Config.AuthTable, AttributionKey: s.Config.AttributionKey}
	if code := operator.Run(ctx, []string{"user", "mfa", "reset", "--username", "dora"}, operator.Env{
		Getenv: localOperator(s), Stdout: &out, Stderr: &errOut,
		Store: func(context.Context) (operator.Store, error) { return signed, nil },
	}); code != operator.ExitOK {
		t.Fatalf("reset: %d %s", code, errOut.String())
	}

	settle(t, s)
	page2 := listAudit(t, s, "?resource_type=User&limit=100")
	var got []string
	for i := len(page2.Items) - 1; i >= 0; i-- {
		e := page2.Items[i]
		if e["event_type"] == "mfa_enrolled" || e["event_type"] == "mfa_removed" || e["event_type"] == "mfa_reset" {
			got = append(got, fmt.Sprintf("%v %v %v %v %v", e["event_type"], e["resource_repr"], e["username"], e["auth_method"], e["success"]))
			if e["action"] != "UPDATE" {
				t.Errorf("%v: action %v, want UPDATE", e["event_type"], e["action"])
			}
		}
	}
	want := []string{
		"mfa_enrolled dora dora session true", "mfa_enrolled dora dora session true", "mfa_removed dora dora session true",
		"mfa_enrolled erin erin session true", "mfa_enrolled erin erin session true", "mfa_removed erin erin session true",
		"mfa_enrolled dora dora session true", "mfa_reset dora local cli true",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("second-factor entries, oldest first:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, who := range []string{"dora", "erin"} {
		failed := listAudit(t, s, "?resource_type=Session&event_type=login_failed&q="+who)
		if failed.Count != 1 || failed.Items[0]["resource_repr"] != who || failed.Items[0]["success"] != false {
			t.Errorf("%s's wrong code: %d failed logins %v", who, failed.Count, failed.Items)
		}
	}
	detail, _ := entryDetail(t, s, page2.Items[0]["id"])
	if strings.Contains(compactJSON(t, detail), secret) {
		t.Error("an entry shows the TOTP secret")
	}
}
