package events_test

import (
	"context"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/pquerna/otp/totp"

	"github.com/inmor/inmor-serverless/events"
	"github.com/inmor/inmor-serverless/shared/apigw"
	"github.com/inmor/inmor-serverless/shared/app"
	appaudit "github.com/inmor/inmor-serverless/shared/app/audit"
	"github.com/inmor/inmor-serverless/shared/app/auditquery"
	"github.com/inmor/inmor-serverless/shared/dynamo"
	"github.com/inmor/inmor-serverless/shared/dynamotest"
	"github.com/inmor/inmor-serverless/shared/localstack"
)

// TestAdminPageSamples runs the admin view's sample events, as a browser
// sends them through API Gateway, through the audit query function: the
// login form, the form post (its own Origin, the CSRF token in the form),
// the list, an entry, the stylesheet and the logout.
func TestAdminPageSamples(t *testing.T) {
	ctx := context.Background()
	getenv := dynamotest.Getenv(t, map[string]string{"INMOR_DEV_API_KEY": sampleKey, "INMOR_DEV_ADMIN_PASSWORD": "sample"})
	client := dynamo.NewClient(dynamo.LocalConfig(dynamotest.Endpoint()))
	if err := dynamo.CreateTables(ctx, client, getenv); err != nil {
		t.Fatal(err)
	}
	cfg := app.ConfigFromEnv(getenv)
	cfg.MFAKey = []byte("sample MFA key of at least 32 bytes")
	cfg.AttributionKey = []byte(sampleAttributionKey)
	if _, err := localstack.Bootstrap(ctx, &dynamo.Auth{Client: client, Table: cfg.AuthTable}, getenv, io.Discard); err != nil {
		t.Fatal(err)
	}
	raw, err := events.Samples.ReadFile("stream/trustmarktype-insert.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := appaudit.New(app.Deps{Client: client, Config: cfg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}).Process(ctx, raw); err != nil {
		t.Fatal(err)
	}
	handler, err := auditquery.New(app.Deps{Client: client, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	fn := apigw.Handler(handler)

	// placeholders replaces SESSION and CSRF in the samples' cookies and bodies.
	placeholders := strings.NewReplacer()
	invoke := func(name string, wantStatus int) lambdaevents.APIGatewayV2HTTPResponse {
		t.Helper()
		ev := load[lambdaevents.APIGatewayV2HTTPRequest](t, "apigw/"+name+".json")
		for i, c := range ev.Cookies {
			ev.Cookies[i] = placeholders.Replace(c)
		}
		ev.Body = placeholders.Replace(ev.Body)
		resp, err := fn(ctx, ev)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if resp.StatusCode != wantStatus {
			t.Fatalf("%s: status %d, want %d: %s", name, resp.StatusCode, wantStatus, resp.Body)
		}
		if !strings.Contains(resp.Headers["Content-Security-Policy"], "default-src 'none'") {
			t.Errorf("%s: no Content-Security-Policy: %v", name, resp.Headers)
		}
		return resp
	}
	cookie := func(resp lambdaevents.APIGatewayV2HTTPResponse, name string) string {
		for _, c := range resp.Cookies {
			if value, ok := strings.CutPrefix(c, name+"="); ok {
				value, _, _ = strings.Cut(value, ";")
				return value
			}
		}
		return ""
	}
	const list = "/admin/auditlog/auditlogentry/"

	for _, name := range []string{"admin-root", "admin-index"} {
		if resp := invoke(name, 302); resp.Headers["Location"] != list {
			t.Errorf("%s: to %q, want the list", name, resp.Headers["Location"])
		}
	}
	form := invoke("admin-login-form", 200)
	csrf := cookie(form, "csrftoken")
	if csrf == "" || !strings.Contains(form.Body, `name="csrfmiddlewaretoken" value="`+csrf+`"`) {
		t.Fatalf("login form: cookies %v", form.Cookies)
	}
	placeholders = strings.NewReplacer("CSRF", csrf)
	login := invoke("admin-login", 302)
	session := cookie(login, "sessionid")
	if login.Headers["Location"] != list || session == "" || cookie(login, "csrftoken") == "" {
		t.Fatalf("login: to %q, cookies %v", login.Headers["Location"], login.Cookies)
	}
	placeholders = strings.NewReplacer("SESSION", session, "CSRF", cookie(login, "csrftoken"))

	if resp := invoke("admin-auditlog-list", 200); !strings.Contains(resp.Body, "1 entry, showing 1") || !strings.Contains(resp.Body, "trustmarktype_created") {
		t.Errorf("list: %s", resp.Body)
	}
	if resp := invoke("admin-auditlog-entry", 200); !strings.Contains(resp.Body, "View audit log entry") ||
		!strings.Contains(resp.Body, `href="/admin/auditlog/auditlogentry/?event_type=trustmarktype_created" class="button">← Back to the list</a>`) {
		t.Errorf("entry: %s", resp.Body)
	}
	if resp := invoke("admin-static", 200); resp.Headers["Content-Type"] != "text/css; charset=utf-8" {
		t.Errorf("stylesheet: %v", resp.Headers)
	}
	invoke("admin-logout-form", 200)
	if resp := invoke("admin-logout", 200); !strings.Contains(resp.Body, "Logged out") {
		t.Errorf("logout: %s", resp.Body)
	}
	if resp := invoke("admin-auditlog-list", 302); !strings.HasPrefix(resp.Headers["Location"], "/admin/login/?next=") {
		t.Errorf("list after logout: to %q, want the login form", resp.Headers["Location"])
	}

	// Second factors: log in, set up an authenticator app (its key and QR
	// code on the page), replace the recovery codes, log out; the login
	// then takes a second step (a recovery code here); remove the app.
	login = invoke("admin-login", 302)
	placeholders = strings.NewReplacer("SESSION", cookie(login, "sessionid"), "CSRF", cookie(login, "csrftoken"))
	if resp := invoke("admin-mfa", 200); !strings.Contains(resp.Body, "Set up an authenticator app") {
		t.Errorf("mfa page: %s", resp.Body)
	}
	begun := invoke("admin-mfa-begin-totp", 200)
	m := regexp.MustCompile(`id="totp-secret" class="totp-secret">([A-Z2-7]+)<`).FindStringSubmatch(begun.Body)
	if m == nil || !strings.Contains(begun.Body, "<svg ") {
		t.Fatalf("begin: %s", begun.Body)
	}
	code, err := totp.GenerateCode(m[1], time.Now())
	if err != nil {
		t.Fatal(err)
	}
	placeholders = strings.NewReplacer("SESSION", cookie(login, "sessionid"), "CSRF", cookie(login, "csrftoken"), "TOTPCODE", code)
	if resp := invoke("admin-mfa-confirm-totp", 200); !strings.Contains(resp.Body, "The authenticator app is set up") {
		t.Errorf("confirm: %s", resp.Body)
	}
	codes := regexp.MustCompile(`<li><code>([0-9a-z-]+)</code></li>`).FindAllStringSubmatch(invoke("admin-mfa-recovery-codes", 200).Body, -1)
	if len(codes) != 10 {
		t.Fatalf("%d recovery codes", len(codes))
	}
	// A security key: the page's one script, allowed by a nonce, registers
	// keys through the auth function; an unknown key is refused removal.
	webauthn := invoke("admin-mfa", 200)
	nonce := regexp.MustCompile(`<script src="/admin/static/webauthn\.js\?v=[0-9a-f]+" nonce="([^"]+)" defer></script>`).FindStringSubmatch(webauthn.Body)
	if nonce == nil || !strings.HasSuffix(webauthn.Headers["Content-Security-Policy"], "; script-src 'nonce-"+nonce[1]+"'; connect-src 'self'") || !strings.Contains(webauthn.Body, `data-webauthn="register"`) {
		t.Errorf("webauthn registration: %v %s", webauthn.Headers, webauthn.Body)
	}
	if resp := invoke("admin-mfa-remove-webauthn", 200); !strings.Contains(resp.Body, "No such security key.") {
		t.Errorf("remove webauthn: %s", resp.Body)
	}
	// Confirming the password replaces the session (new cookies).
	reauth := invoke("admin-mfa-reauthenticate", 303)
	if reauth.Headers["Location"] != "/admin/mfa/" || cookie(reauth, "sessionid") == "" || cookie(reauth, "sessionid") == cookie(login, "sessionid") {
		t.Fatalf("reauthenticate: %v %v", reauth.Headers, reauth.Cookies)
	}
	placeholders = strings.NewReplacer("SESSION", cookie(reauth, "sessionid"), "CSRF", cookie(reauth, "csrftoken"))
	invoke("admin-logout", 200)
	login = reauth
	placeholders = strings.NewReplacer("CSRF", cookie(login, "csrftoken"))
	step := invoke("admin-login", 200)
	challenge := regexp.MustCompile(`name="challenge" value="([^"]+)"`).FindStringSubmatch(step.Body)
	if challenge == nil || cookie(step, "sessionid") != "" {
		t.Fatalf("first step: %s", step.Body)
	}
	placeholders = strings.NewReplacer("CSRF", cookie(login, "csrftoken"), "CHALLENGE", challenge[1], "RECOVERY", codes[0][1])
	second := invoke("admin-login-mfa", 302)
	if second.Headers["Location"] != list || cookie(second, "sessionid") == "" {
		t.Fatalf("second step: to %q, cookies %v", second.Headers["Location"], second.Cookies)
	}
	placeholders = strings.NewReplacer("SESSION", cookie(second, "sessionid"), "CSRF", cookie(second, "csrftoken"))
	if resp := invoke("admin-mfa-remove-totp", 200); !strings.Contains(resp.Body, "were removed") {
		t.Errorf("remove: %s", resp.Body)
	}
}
