package localstack_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/inmor/inmor-serverless/shared/app"
)

// TestServerStatementsAreSignedAndAudited: POST /server/entity signs the
// trust anchor's entity configuration (its own key, this issuer for every
// active TrustMarkType) and each signing is an audit entry with the signed
// claims; historical keys answer Inmor's 404 until inmorctl retires a key
// (a failed entry), then 201, and the retirement and the signing are
// entries too.
func TestServerStatementsAreSignedAndAudited(t *testing.T) {
	s := startStack(t)
	createType(t, s, `{"tmtype":"`+memberType+`"}`)
	log := newAuditCounter(t, s)

	statement := created(t, s, "/api/v1/server/entity", "")["entity_statement"]
	header, claims := verifyJWT(t, s, statement)
	if header["typ"] != "entity-statement+jwt" || claims["iss"] != app.DefaultEntityID || claims["sub"] != app.DefaultEntityID {
		t.Errorf("header %v, iss %v, sub %v", header, claims["iss"], claims["sub"])
	}
	assertFields(t, "claims", claims, map[string]any{
		"trust_mark_issuers": map[string]any{memberType: []any{app.DefaultEntityID}},
	})
	if exp, iat := intClaim(t, claims, "exp"), intClaim(t, claims, "iat"); exp-iat != 8760*3600 {
		t.Errorf("exp - iat = %d s, want a year", exp-iat)
	}
	e := log.one(t)
	assertSuccessEntry(t, e, map[string]any{
		"action": "CREATE", "resource_type": "ServerEntity", "resource_id": 1, "resource_repr": app.DefaultEntityID,
		"endpoint": "/api/v1/server/entity", "http_method": "POST", "response_code": 201, "event_type": "server_entity_signed",
	})
	after, _ := auditDetail(t, s, e)["snapshot_after"].(map[string]any)
	if after["entity_statement"] != statement || compactJSON(t, after["claims"]) != compactJSON(t, claims) {
		t.Errorf("the entry's snapshot does not hold the signed statement and its claims: %v", after)
	}
	if r := call(t, s, http.MethodGet, "/api/v1/server/entity", ""); r.JSON(t)["entity_statement"] != statement {
		t.Errorf("read back: %s", r.Body)
	}

	second := created(t, s, "/api/v1/server/entity", "")["entity_statement"]
	e = log.one(t)
	assertSuccessEntry(t, e, map[string]any{"action": "UPDATE", "resource_type": "ServerEntity", "event_type": "server_entity_signed"})
	if keys := diffKeys(t, e); len(keys) == 0 || keys[0] != "claims" && keys[0] != "entity_statement" {
		t.Errorf("the second signing's diff %v shows neither claims nor statement", keys)
	}
	if second == statement {
		t.Error("the second signing returned the first statement")
	}

	r := call(t, s, http.MethodPost, "/api/v1/server/historical_keys", "")
	mustStatus(t, r, http.StatusNotFound)
	if r.JSON(t)["message"] != "No historical keys found with exp field" {
		t.Errorf("no keys: %s", r.Body)
	}
	e = log.one(t)
	assertFields(t, "failed entry", e, map[string]any{
		"success": false, "resource_type": "HistoricalKeys", "response_code": 404, "endpoint": "/api/v1/server/historical_keys",
	})

	key := filepath.Join(t.TempDir(), "old.json")
	if err := os.WriteFile(key, []byte(`{"kty":"OKP","crv":"Ed25519","kid":"old-1","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	operatorCLI(t, s, "", "signing", "retire", "--jwk", key, "--exp", "2027-01-01T00:00:00Z")
	e = log.one(t)
	assertFields(t, "retirement", e, map[string]any{
		"action": "CREATE", "resource_type": "HistoricalKeys", "event_type": "historical_key_retired", "success": true,
		"auth_method": "cli", "username": "local", "endpoint": "inmorctl signing retire", "response_code": nil, "user_id": nil,
	})

	r = call(t, s, http.MethodPost, "/api/v1/server/historical_keys", "")
	mustStatus(t, r, http.StatusCreated)
	if got := compactJSON(t, r.JSON(t)); got != `{"id":0,"message":"Historical keys JWT created with 1 keys"}` {
		t.Errorf("signed: %s", got)
	}
	e = log.one(t)
	assertSuccessEntry(t, e, map[string]any{
		"action": "UPDATE", "resource_type": "HistoricalKeys", "event_type": "historical_keys_signed", "response_code": 201,
	})
	after, _ = auditDetail(t, s, e)["snapshot_after"].(map[string]any)
	jwt := after["historical_keys_jwt"]
	header, claims = verifyJWT(t, s, jwt)
	keys, _ := claims["keys"].([]any)
	if header["typ"] != "jwk-set+jwt" || len(keys) != 1 || fmt.Sprint(keys[0].(map[string]any)["kid"]) != "old-1" {
		t.Errorf("historical keys JWT: header %v claims %v", header, claims)
	}
}
