package events_test

import (
	"time"

	"context"
	"encoding/json"
	"github.com/pquerna/otp/totp"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/inmor/inmor-serverless/shared/integrity"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/inmor/inmor-serverless/events"
	"github.com/inmor/inmor-serverless/shared/adminapi"
	"github.com/inmor/inmor-serverless/shared/apigw"
	"github.com/inmor/inmor-serverless/shared/app"
	_ "github.com/inmor/inmor-serverless/shared/app/all"
	appaudit "github.com/inmor/inmor-serverless/shared/app/audit"
	"github.com/inmor/inmor-serverless/shared/dynamo"
	"github.com/inmor/inmor-serverless/shared/dynamotest"
	"github.com/inmor/inmor-serverless/shared/localstack"
	"github.com/inmor/inmor-serverless/shared/signing"
)

func TestMain(m *testing.M) { dynamotest.Main(m) }

const sampleKey = "sample-api-key-0123456789abcdefghijklmnopqrstuv"

func load[T any](t *testing.T, name string) T {
	t.Helper()
	raw, err := events.Samples.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return v
}

// TestSamplesThroughTheirHandlers runs every sample event, in the order a
// client would send them, through the handler of the function that owns
// its route, against a real DynamoDB API.
func TestSamplesThroughTheirHandlers(t *testing.T) {
	ctx := context.Background()
	// The samples' entity ids (https://rp.example.org) do not resolve: the
	// entity configuration check is off, as on the local stack.
	getenv := dynamotest.Getenv(t, map[string]string{"INMOR_DEV_API_KEY": sampleKey, "INMOR_DEV_ADMIN_PASSWORD": "sample", app.EnvEntityConfigurationCheck: "off"})
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
	signer, err := signing.GenerateLocalFile(filepath.Join(t.TempDir(), "key.json"))
	if err != nil {
		t.Fatal(err)
	}
	// Every HTTP function of the registry, as Lambda builds it.
	functions := map[string]func(context.Context, lambdaevents.APIGatewayV2HTTPRequest) (lambdaevents.APIGatewayV2HTTPResponse, error){}
	for _, spec := range app.Specs() {
		if spec.Kind != app.HTTP {
			continue
		}
		h, err := app.Build(spec.Name, app.Deps{Client: client, Config: cfg, Signer: signer})
		if err != nil {
			t.Fatal(err)
		}
		functions[spec.Name] = apigw.Handler(h.HTTP)
	}
	owner := map[string]string{}
	for _, r := range adminapi.Routes {
		owner[r.Key()] = r.Function
	}
	// cookies replaces the placeholders SESSION and CSRF in the samples.
	cookies := strings.NewReplacer()
	var lastCookies []string
	invoke := func(name string, wantStatus int) map[string]any {
		t.Helper()
		ev := load[lambdaevents.APIGatewayV2HTTPRequest](t, "apigw/"+name+".json")
		for i, c := range ev.Cookies {
			ev.Cookies[i] = cookies.Replace(c)
		}
		for k, v := range ev.Headers {
			ev.Headers[k] = cookies.Replace(v)
		}
		ev.Body = cookies.Replace(ev.Body)
		fn := functions[owner[ev.RouteKey]]
		if fn == nil {
			t.Fatalf("%s: no function serves %q", name, ev.RouteKey)
		}
		resp, err := fn(ctx, ev)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if resp.StatusCode != wantStatus {
			t.Fatalf("%s: status %d, want %d: %s", name, resp.StatusCode, wantStatus, resp.Body)
		}
		lastCookies = resp.Cookies
		if strings.HasPrefix(resp.Headers["Content-Type"], "text/plain") {
			return map[string]any{"text": resp.Body}
		}
		if ct := resp.Headers["Content-Type"]; strings.HasPrefix(ct, "application/") && strings.HasSuffix(ct, "+jwt") {
			return map[string]any{"jwt": resp.Body, "content_type": ct}
		}
		var body map[string]any
		if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
			t.Fatalf("%s: body is not a JSON object: %s", name, resp.Body)
		}
		return body
	}

	if got := invoke("create-trustmarktype", 201); got["tmtype"] != "https://example.org/tm/member" || got["valid_for"] != 720.0 {
		t.Errorf("create: %v", got)
	}
	if got := invoke("list-trustmarktypes", 200); got["count"] != 1.0 {
		t.Errorf("list: %v", got)
	}
	invoke("get-trustmarktype", 200)
	if got := invoke("get-trustmarktype-by-tmtype", 200); got["id"] != 1.0 {
		t.Errorf("find: %v", got)
	}

	// Trust marks of that type, and a subordinate.
	mark := invoke("create-trustmark", 201)
	if _, claims, err := signing.Verify(mark["mark"].(string), signer.PublicKey()); err != nil || claims["sub"] != "https://rp.example.org" {
		t.Errorf("issued mark: %v %v", claims, err)
	}
	if got := invoke("list-trustmarks", 200); got["count"] != 1.0 {
		t.Errorf("list marks: %v", got)
	}
	if got := invoke("list-trustmarks-by-domain", 200); got["count"] != 1.0 {
		t.Errorf("list marks by domain: %v", got)
	}
	invoke("get-trustmark", 200)
	invoke("renew-trustmark", 200)
	if got := invoke("update-trustmark", 200); got["mark"] != nil {
		t.Errorf("revoke: %v", got)
	}
	if got := invoke("create-subordinate", 201); got["required_trustmarks"] != "https://example.org/tm/member" {
		t.Errorf("create subordinate: %v", got)
	}
	if got := invoke("list-subordinates", 200); got["count"] != 1.0 {
		t.Errorf("list subordinates: %v", got)
	}
	invoke("get-subordinate", 200)
	if got := invoke("update-subordinate", 200); got["valid_for"] != 720.0 || got["required_trustmarks"] == nil {
		t.Errorf("update subordinate kept no optional fields: %v", got)
	}
	invoke("renew-subordinate", 200)
	// With the check off nothing is fetched: fetch-config says so (in AWS
	// it answers 200 with the configuration).
	if got := invoke("fetch-subordinate-config", 400); got["message"] != "Fetching entity configurations is turned off on this server (ENTITY_CONFIGURATION_CHECK=off)." {
		t.Errorf("fetch-config with the check off: %v", got)
	}
	if got := invoke("create-historical-keys", 404); got["message"] != "No historical keys found with exp field" {
		t.Errorf("historical keys before any is retired: %v", got)
	}
	for _, name := range []string{"get-subordinate-events", "post-subordinate-events"} {
		if got := invoke(name, 200); got["content_type"] != "application/entity-events-statement+jwt" || strings.Count(got["jwt"].(string), ".") != 2 {
			t.Errorf("%s: %v", name, got)
		}
	}
	statement := invoke("create-server-entity", 201)["entity_statement"]
	if got := invoke("get-server-entity", 200); statement == nil || got["entity_statement"] != statement {
		t.Errorf("the entity configuration read back: %v, want %v", got, statement)
	}
	if got := invoke("update-trustmarktype", 200); got["active"] != false {
		t.Errorf("update: %v", got)
	}

	logKey, _, err := integrity.LoadOrGenerateKeyFile(filepath.Join(t.TempDir(), "audit-log-key"), integrity.DefaultOrigin)
	if err != nil {
		t.Fatal(err)
	}
	audit := appaudit.New(app.Deps{Client: client, Config: cfg, LogSigner: logKey.Signer, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	for _, c := range []struct {
		file                          string
		appended, duplicates, skipped int
	}{
		{"stream/trustmarktype-insert.json", 1, 0, 1},
		{"stream/trustmarktype-insert.json", 0, 1, 1}, // delivered again: nothing added
		{"stream/trustmarktype-modify.json", 1, 0, 0},
		{"stream/attempt-insert.json", 1, 0, 0}, // a failed create
	} {
		raw, err := events.Samples.ReadFile(c.file)
		if err != nil {
			t.Fatal(err)
		}
		resp, stats, err := audit.Process(ctx, raw)
		if err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("%s: %v %v", c.file, err, resp.BatchItemFailures)
		}
		if stats.Appended != c.appended || stats.Duplicates != c.duplicates || stats.Skipped != c.skipped {
			t.Errorf("%s: %+v, want appended %d duplicates %d skipped %d", c.file, stats, c.appended, c.duplicates, c.skipped)
		}
	}

	page := invoke("list-auditlog", 200)
	items, _ := page["items"].([]any)
	if page["count"] != 3.0 || len(items) != 3 {
		t.Fatalf("audit list: %v", page)
	}
	failed, _ := items[0].(map[string]any)
	if failed["success"] != false || failed["response_code"] != 403.0 || failed["error"] != "TrustMarkType exists already." ||
		failed["resource_repr"] != "https://example.org/tm/member" || failed["auth_method"] != "api_key" {
		t.Errorf("failed entry: %v", failed)
	}
	update, _ := items[1].(map[string]any)
	if update["event_type"] != "trustmarktype_deactivated" || update["request_id"] != "req-update" || update["ip_address"] != "203.0.113.7" {
		t.Errorf("update entry: %v", update)
	}
	entry := invoke("get-auditlog-entry", 200)
	if entry["event_type"] != "trustmarktype_created" || entry["snapshot_after"] == nil {
		t.Errorf("entry 1: %v", entry)
	}
	// The log's checkpoint (made after the batch) and its proofs.
	verifier, err := note.NewVerifier(logKey.VerifierKey)
	if err != nil {
		t.Fatal(err)
	}
	checkpoint, err := integrity.Open([]byte(invoke("get-auditlog-checkpoint", 200)["text"].(string)), verifier)
	// One checkpoint a second at most: the first batch's.
	if err != nil || checkpoint.Size < 1 || checkpoint.Size > int64(len(items)) {
		t.Errorf("checkpoint: %+v %v, want a size from 1 to %d", checkpoint, err, len(items))
	}
	if got := invoke("prove-auditlog-entry", 200); got["leaf_index"] != 0.0 || got["tree_size"] != float64(checkpoint.Size) {
		t.Errorf("inclusion proof: %v", got)
	}
	if got := invoke("prove-auditlog-growth", 200); got["from"] != 1.0 || got["to"] != float64(checkpoint.Size) {
		t.Errorf("consistency proof: %v", got)
	}
	if doc := invoke("openapi", 200); !strings.HasPrefix(doc["openapi"].(string), "3.") {
		t.Errorf("openapi: %v", doc["openapi"])
	}

	// A session: log in, read the user and the CSRF token, log out.
	if got := invoke("login", 200); got["username"] != "admin" || got["is_superuser"] != true {
		t.Errorf("login: %v", got)
	}
	values := map[string]string{}
	for _, c := range lastCookies {
		name, rest, _ := strings.Cut(c, "=")
		values[name], _, _ = strings.Cut(rest, ";")
	}
	if values["sessionid"] == "" || values["csrftoken"] == "" {
		t.Fatalf("login set cookies %v", lastCookies)
	}
	cookies = strings.NewReplacer("SESSION", values["sessionid"], "CSRF", values["csrftoken"])
	if got := invoke("me", 200); got["username"] != "admin" {
		t.Errorf("me: %v", got)
	}
	if got := invoke("csrf", 200); got["csrf_token"] != values["csrftoken"] {
		t.Errorf("csrf: %v, want the cookie's token", got)
	}

	// Second factors: enrol an authenticator app (confirmed with a code),
	// replace the recovery codes, log out, log in again in two steps with
	// a recovery code, remove the app.
	if got := invoke("mfa-status", 200); got["totp"] != false {
		t.Errorf("mfa status: %v", got)
	}
	enrolment := invoke("begin-totp", 200)
	secret, _ := enrolment["secret"].(string)
	code, err := totp.GenerateCode(secret, time.Now())
	if err != nil {
		t.Fatalf("begin-totp: %v %v", enrolment, err)
	}
	cookies = strings.NewReplacer("SESSION", values["sessionid"], "CSRF", values["csrftoken"], "TOTPCODE", code)
	if got := invoke("confirm-totp", 200); len(got["recovery_codes"].([]any)) != 10 {
		t.Errorf("confirm-totp: %v", got)
	}
	recovery := invoke("regenerate-recovery-codes", 200)["recovery_codes"].([]any)
	// A security key: the options of navigator.credentials.create; a
	// made-up credential and an unknown key are refused.
	if got := invoke("begin-webauthn", 200); got["publicKey"] == nil {
		t.Errorf("begin-webauthn: %v", got)
	}
	invoke("finish-webauthn", 422)
	if got := invoke("remove-webauthn", 400); got["message"] != "No such security key." {
		t.Errorf("remove-webauthn: %v", got)
	}
	// Confirming the password replaces the session: its new cookies.
	if got := invoke("reauthenticate", 200); got["message"] == nil || len(lastCookies) != 2 {
		t.Errorf("reauthenticate: %v, cookies %v", got, lastCookies)
	}
	for _, c := range lastCookies {
		name, rest, _ := strings.Cut(c, "=")
		values[name], _, _ = strings.Cut(rest, ";")
	}
	cookies = strings.NewReplacer("SESSION", values["sessionid"], "CSRF", values["csrftoken"])
	if got := invoke("logout", 200); got["message"] != "Logged out successfully" {
		t.Errorf("logout: %v", got)
	}
	if got := invoke("me", 401); got["message"] != "Not authenticated" {
		t.Errorf("me after logout: %v", got)
	}
	first := invoke("login", 200)
	if first["mfa_required"] != true || len(lastCookies) != 0 {
		t.Fatalf("login with MFA: %v, cookies %v", first, lastCookies)
	}
	cookies = strings.NewReplacer("CHALLENGE", first["challenge"].(string), "RECOVERY", recovery[0].(string))
	// The security key's options: none without a key; the challenge stays unused.
	if got := invoke("login-webauthn", 401); got["message"] != "No such security key." {
		t.Errorf("login-webauthn: %v", got)
	}
	if got := invoke("login-mfa", 200); got["username"] != "admin" {
		t.Errorf("login-mfa: %v", got)
	}
	values = map[string]string{}
	for _, c := range lastCookies {
		name, rest, _ := strings.Cut(c, "=")
		values[name], _, _ = strings.Cut(rest, ";")
	}
	cookies = strings.NewReplacer("SESSION", values["sessionid"], "CSRF", values["csrftoken"])
	if got := invoke("remove-totp", 200); got["message"] == nil {
		t.Errorf("remove-totp: %v", got)
	}
	if got := invoke("mfa-status", 200); got["totp"] != false {
		t.Errorf("mfa status after removal: %v", got)
	}
}

// sampleAttributionKey is the attribution key the stream samples' MACs
// are made with.
const sampleAttributionKey = "events-test-attribution-key-0123"

// TestEverySampleIsUsed keeps the folder and the test in step.
func TestEverySampleIsUsed(t *testing.T) {
	entries, err := events.Samples.ReadDir("apigw")
	if err != nil {
		t.Fatal(err)
	}
	routes := map[string]bool{}
	for _, e := range entries {
		ev := load[lambdaevents.APIGatewayV2HTTPRequest](t, "apigw/"+e.Name())
		routes[ev.RouteKey] = true
	}
	for _, r := range adminapi.Routes {
		if !routes[r.Key()] {
			t.Errorf("no sample event for route %s", r.Key())
		}
	}
}
