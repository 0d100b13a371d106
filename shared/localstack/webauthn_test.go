package localstack_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/inmor/inmor-serverless/shared/auth"
	"github.com/inmor/inmor-serverless/shared/mfa/securitykey/securitykeytest"
)

// byName returns a browser that calls the stack by the name localhost,
// with cookies of its own.
func byName(b *browser) *browser {
	u, err := url.Parse(b.s.URL)
	if err != nil {
		b.t.Fatal(err)
	}
	named := *b
	named.host = "localhost:" + u.Port()
	return &named
}

// origin is the origin of the browser's pages.
func (b *browser) origin() string { return "http://" + b.host }

// beginRegistration starts registering a security key of the browser's
// session user through the auth function, and returns the options.
func beginRegistration(t *testing.T, b *browser) json.RawMessage {
	t.Helper()
	if r := b.do("POST", "/api/v1/auth/mfa/webauthn", ""); r.Status != 403 {
		t.Errorf("begin without the CSRF header: %d %s", r.Status, r.Body)
	}
	r := b.do("POST", "/api/v1/auth/mfa/webauthn", "", auth.CSRFHeader, b.cookie(auth.CSRFCookie))
	mustStatus(t, r, 200)
	var options struct {
		PublicKey struct {
			RP struct {
				ID string `json:"id"`
			} `json:"rp"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(r.Body, &options); err != nil || options.PublicKey.RP.ID != "localhost" {
		t.Fatalf("registration options: %s", r.Body)
	}
	return r.Body
}

// keyLogin takes a login's second step with key, as the admin view's
// script does: the options by the challenge, then the assertion.
func keyLogin(t *testing.T, b *browser, key *securitykeytest.Key, challenge string) response {
	t.Helper()
	r := b.do("POST", "/api/v1/auth/login/mfa/webauthn", fmt.Sprintf(`{"challenge":%q}`, challenge))
	mustStatus(t, r, 200)
	if r.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("options cached: %v", r.Header)
	}
	return b.do("POST", "/api/v1/auth/login/mfa", fmt.Sprintf(`{"challenge":%q,"webauthn":%s}`, challenge, key.Get(r.Body, "localhost", b.origin())))
}

// keyChallenge logs in with the password of a user with a security key
// and returns the challenge.
func keyChallenge(t *testing.T, b *browser, username, password string) string {
	t.Helper()
	r := b.do("POST", "/api/v1/auth/login", fmt.Sprintf(`{"username":%q,"password":%q}`, username, password))
	mustStatus(t, r, 200)
	body := r.JSON(t)
	challenge, _ := body["challenge"].(string)
	if body["mfa_required"] != true || challenge == "" || compactJSON(t, body["methods"]) != `["webauthn","recovery_code"]` {
		t.Fatalf("first step: %s", r.Body)
	}
	return challenge
}

// TestWebAuthnThroughTheAPI: a staff user registers security keys through
// the auth function (a software key answering as a browser would), logs
// in with one through the API and through the admin form's second step
// (as its script does), cannot replay an assertion, and removes keys
// through the API and the admin view; every registration and removal is
// an entry of the user, the replay a failed login, and no entry holds the
// key.
func TestWebAuthnThroughTheAPI(t *testing.T) {
	s := startStack(t)
	addStaff(t, s, "faye")
	c := newAdminClient(t, s)
	mustStatus(t, c.login("faye", "pw-faye", "/admin/"), http.StatusFound) // before any key
	byAddress := newBrowser(t, s)
	mustStatus(t, byAddress.do("POST", "/api/v1/auth/login", `{"username":"faye","password":"pw-faye"}`), 200)
	// WebAuthn needs a domain: a call by IP address is told so.
	if r := byAddress.do("POST", "/api/v1/auth/mfa/webauthn", "", auth.CSRFHeader, byAddress.cookie(auth.CSRFCookie)); r.Status != 400 ||
		compactJSON(t, r.JSON(t)) != `{"id":0,"message":"Security keys need a host name: call the API by its name (such as localhost), not by an IP address."}` {
		t.Errorf("by IP address: %d %s", r.Status, r.Body)
	}
	b := byName(newBrowser(t, s))
	mustStatus(t, b.do("POST", "/api/v1/auth/login", `{"username":"faye","password":"pw-faye"}`), 200)

	// Two keys: the first registration answers recovery codes, the second
	// keeps them; a ceremony finishes once.
	key, spare := securitykeytest.NewKey(t), securitykeytest.NewKey(t)
	for i, k := range []struct {
		key   *securitykeytest.Key
		name  string
		codes int
	}{{key, "YubiKey", 10}, {spare, "Spare", 0}} {
		answer := k.key.Create(beginRegistration(t, b), "localhost", b.origin())
		r := b.do("POST", "/api/v1/auth/mfa/webauthn/finish", fmt.Sprintf(`{"name":%q,"credential":%s}`, k.name, answer), auth.CSRFHeader, b.cookie(auth.CSRFCookie))
		mustStatus(t, r, 200)
		var body struct {
			RecoveryCodes []string `json:"recovery_codes"`
		}
		if err := json.Unmarshal(r.Body, &body); err != nil || len(body.RecoveryCodes) != k.codes {
			t.Errorf("key %d: %s, want %d recovery codes", i, r.Body, k.codes)
		}
		again := b.do("POST", "/api/v1/auth/mfa/webauthn/finish", fmt.Sprintf(`{"credential":%s}`, answer), auth.CSRFHeader, b.cookie(auth.CSRFCookie))
		if again.Status != 400 || compactJSON(t, again.JSON(t)) != `{"id":0,"message":"No registration to finish; start again."}` {
			t.Errorf("finish again: %d %s", again.Status, again.Body)
		}
	}
	// A made-up answer is refused, and the ceremony ends with it.
	beginRegistration(t, b)
	if r := b.do("POST", "/api/v1/auth/mfa/webauthn/finish", `{"credential":{"id":"x"}}`, auth.CSRFHeader, b.cookie(auth.CSRFCookie)); r.Status != 422 {
		t.Errorf("a made-up credential: %d %s", r.Status, r.Body)
	}
	status := b.do("GET", "/api/v1/auth/mfa", "").JSON(t)
	keys, _ := status["webauthn"].([]any)
	if compactJSON(t, status["methods"]) != `["webauthn","recovery_code"]` || len(keys) != 2 || keys[0].(map[string]any)["name"] != "YubiKey" {
		t.Fatalf("status: %v", status)
	}
	spareID := keys[1].(map[string]any)["id"].(string)

	// The admin view removes the spare key.
	removed := c.do(http.MethodPost, "/admin/mfa/webauthn/remove/", url.Values{"csrfmiddlewaretoken": {c.cookie(auth.CSRFCookie)}, "id": {spareID}})
	if removed.Status != 200 || !strings.Contains(string(removed.Body), "The security key was removed.") {
		t.Errorf("remove through the admin view: %d", removed.Status)
	}

	// The API's two steps; the same assertion answers no later challenge.
	mustStatus(t, b.do("POST", "/api/v1/auth/logout", ""), 200)
	challenge := keyChallenge(t, b, "faye", "pw-faye")
	r := b.do("POST", "/api/v1/auth/login/mfa/webauthn", fmt.Sprintf(`{"challenge":%q}`, challenge))
	mustStatus(t, r, 200)
	assertion := key.Get(r.Body, "localhost", b.origin())
	mustStatus(t, b.do("POST", "/api/v1/auth/login/mfa", fmt.Sprintf(`{"challenge":%q,"webauthn":%s}`, challenge, assertion)), 200)
	if me := b.do("GET", "/api/v1/auth/me", ""); me.Status != 200 || me.JSON(t)["username"] != "faye" {
		t.Errorf("me after the key's login: %d %s", me.Status, me.Body)
	}
	mustStatus(t, b.do("POST", "/api/v1/auth/logout", ""), 200)
	challenge = keyChallenge(t, b, "faye", "pw-faye")
	mustStatus(t, b.do("POST", "/api/v1/auth/login/mfa/webauthn", fmt.Sprintf(`{"challenge":%q}`, challenge)), 200)
	if replay := b.do("POST", "/api/v1/auth/login/mfa", fmt.Sprintf(`{"challenge":%q,"webauthn":%s}`, challenge, assertion)); replay.Status != 401 ||
		compactJSON(t, replay.JSON(t)) != `{"message":"Invalid code"}` {
		t.Errorf("replayed assertion: %d %s", replay.Status, replay.Body)
	}
	if r := b.do("POST", "/api/v1/auth/login/mfa/webauthn", `{"challenge":"unknown"}`); r.Status != 401 {
		t.Errorf("options of an unknown challenge: %d %s", r.Status, r.Body)
	}

	// The admin form's second step offers the key; its script's calls open
	// the session the admin view then serves.
	mustStatus(t, c.do(http.MethodPost, "/admin/logout/", url.Values{"csrfmiddlewaretoken": {c.cookie(auth.CSRFCookie)}}), http.StatusOK)
	step := c.login("faye", "pw-faye", "/admin/")
	ch := challengeOnPage.FindStringSubmatch(string(step.Body))
	if step.Status != 200 || ch == nil || !strings.Contains(string(step.Body), `data-webauthn="login"`) {
		t.Fatalf("the form's second step: %d %s", step.Status, step.Body)
	}
	script := byName(&browser{t: t, s: s, client: c.client})
	mustStatus(t, keyLogin(t, script, key, ch[1]), 200)
	if list := script.do("GET", "/admin/auditlog/auditlogentry/", ""); list.Status != 200 || !strings.Contains(string(list.Body), "faye") {
		t.Errorf("the admin view after the key's login: %d", list.Status)
	}

	// The API removes the last key (in the session the key opened), and
	// the recovery codes with it.
	lastID := keys[0].(map[string]any)["id"].(string)
	mustStatus(t, script.do("DELETE", "/api/v1/auth/mfa/webauthn/"+lastID, "", auth.CSRFHeader, script.cookie(auth.CSRFCookie)), 200)
	if r := script.do("DELETE", "/api/v1/auth/mfa/webauthn/"+lastID, "", auth.CSRFHeader, script.cookie(auth.CSRFCookie)); r.Status != 400 ||
		compactJSON(t, r.JSON(t)) != `{"id":0,"message":"No such security key."}` {
		t.Errorf("remove again: %d %s", r.Status, r.Body)
	}
	if st := compactJSON(t, script.do("GET", "/api/v1/auth/mfa", "").JSON(t)); st != `{"methods":[],"recovery_codes_left":0,"totp":false,"webauthn":[]}` {
		t.Errorf("status after removal: %s", st)
	}

	settle(t, s)
	page := listAudit(t, s, "?resource_type=User&q=faye&limit=100")
	var got []string
	for i := len(page.Items) - 1; i >= 0; i-- {
		e := page.Items[i]
		if e["event_type"] != "mfa_enrolled" && e["event_type"] != "mfa_removed" {
			continue
		}
		detail, raw := entryDetail(t, s, e["id"])
		after, _ := detail["snapshot_after"].(map[string]any)
		got = append(got, fmt.Sprintf("%v %v %v %v", e["event_type"], after["result"], e["auth_method"], e["success"]))
		for _, secret := range []string{"publicKey", "attestation", spareID} {
			if strings.Contains(raw, secret) {
				t.Errorf("entry %v holds %q: %s", e["id"], secret, raw)
			}
		}
	}
	want := []string{
		"mfa_enrolled webauthn session true", "mfa_enrolled webauthn session true",
		"mfa_removed webauthn session true", "mfa_removed webauthn session true",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("second-factor entries, oldest first:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	failed := listAudit(t, s, "?resource_type=Session&event_type=login_failed&q=faye")
	if failed.Count != 1 || failed.Items[0]["success"] != false {
		t.Errorf("the replay: %d failed logins %v", failed.Count, failed.Items)
	}
}
