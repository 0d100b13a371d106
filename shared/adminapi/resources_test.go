package adminapi

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/inmor/inmor-serverless/shared/auth"
	"github.com/inmor/inmor-serverless/shared/function"
	"github.com/inmor/inmor-serverless/shared/resource"
)

var admin = authn{p: auth.Principal{UserID: 1, Username: "alice", IsStaff: true, AuthMethod: auth.MethodAPIKey, Tenant: "acme", Scope: auth.ScopeAdmin}}

// answer decodes a JSON object answer.
func answer(t *testing.T, body string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("answer is not a JSON object: %v\n%s", err, body)
	}
	return m
}

// jwtType returns the typ header of a compact JWS, verified with the key
// of the test signer.
func jwtType(t *testing.T, compact string) string {
	t.Helper()
	jws, err := jose.ParseSigned(compact, []jose.SignatureAlgorithm{jose.ES256, jose.RS256, jose.PS256, jose.EdDSA})
	if err != nil {
		t.Fatalf("not a JWS: %v", err)
	}
	typ, _ := jws.Signatures[0].Protected.ExtraHeaders[jose.HeaderType].(string)
	return typ
}

// TestTrustMarksOnTheMemoryStore: the trust marks function issues a mark
// for a stored type, answers 403 with the existing mark for the same type
// and domain, 404 for an unknown type, and lists marks by domain.
func TestTrustMarksOnTheMemoryStore(t *testing.T) {
	hs, store, _ := handlers(admin)
	rec := serve(hs[function.TrustMarkTypes], "POST", "/api/v1/trustmarktypes", `{"tmtype":"https://tm.example/member"}`)
	if rec.Code != 201 {
		t.Fatalf("create type: %d %s", rec.Code, rec.Body)
	}
	tmt := int64(answer(t, rec.Body.String())["id"].(float64))

	body := fmt.Sprintf(`{"tmt":%d,"domain":"https://rp.example.org"}`, tmt)
	rec = serve(hs[function.TrustMarks], "POST", "/api/v1/trustmarks", body)
	if rec.Code != 201 {
		t.Fatalf("issue: %d %s", rec.Code, rec.Body)
	}
	mark := answer(t, rec.Body.String())
	if typ := jwtType(t, mark["mark"].(string)); typ != resource.TrustMarkJWTType {
		t.Errorf("mark typ %q, want %q", typ, resource.TrustMarkJWTType)
	}

	rec = serve(hs[function.TrustMarks], "POST", "/api/v1/trustmarks", body)
	if rec.Code != 403 || answer(t, rec.Body.String())["id"] != mark["id"] {
		t.Errorf("the same type and domain: %d %s, want 403 with mark %v", rec.Code, rec.Body, mark["id"])
	}
	rec = serve(hs[function.TrustMarks], "POST", "/api/v1/trustmarks", `{"tmt":99,"domain":"https://rp.example.org"}`)
	if rec.Code != 404 {
		t.Errorf("an unknown type: %d %s, want 404", rec.Code, rec.Body)
	}
	rec = serve(hs[function.TrustMarks], "POST", "/api/v1/trustmarks", fmt.Sprintf(`{"tmt":%d,"domain":"https://other.example.org"}`, tmt))
	if rec.Code != 201 {
		t.Fatalf("issue for another domain: %d %s", rec.Code, rec.Body)
	}

	rec = serve(hs[function.TrustMarks], "POST", "/api/v1/trustmarks/list", `{"domain":"https://rp.example.org"}`)
	if page := answer(t, rec.Body.String()); rec.Code != 200 || page["count"] != 1.0 {
		t.Errorf("list by domain: %d %s, want 200 with a count of 1", rec.Code, rec.Body)
	}
	// One type and two marks, each write attributed to its caller.
	for _, a := range store.Attributions() {
		if a.Username != "alice" || a.Tenant != "acme" {
			t.Errorf("write attributed to %+v", a)
		}
	}
	if n := len(store.Attributions()); n != 3 {
		t.Errorf("%d writes, want 3 (a type, two marks)", n)
	}
}

// TestSubordinatesOnTheMemoryStore: the subordinates function registers an
// entity with a signed statement, answers 403 with the existing one for
// the same entity id and 422 for keys that are not a JWK Set.
func TestSubordinatesOnTheMemoryStore(t *testing.T) {
	hs, _, _ := handlers(admin)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwk, err := json.Marshal(jose.JSONWebKey{Key: &key.PublicKey, KeyID: "rp-1", Algorithm: "ES256", Use: "sig"})
	if err != nil {
		t.Fatal(err)
	}
	body := `{"entityid":"https://rp.example.org","metadata":{"openid_relying_party":{"client_name":"RP"}},"forced_metadata":{},"jwks":{"keys":[` + string(jwk) + `]}}`
	rec := serve(hs[function.Subordinates], "POST", "/api/v1/subordinates", body)
	if rec.Code != 201 {
		t.Fatalf("register: %d %s", rec.Code, rec.Body)
	}
	sub := answer(t, rec.Body.String())
	if sub["entityid"] != "https://rp.example.org" || sub["active"] != true {
		t.Errorf("registered %v", sub)
	}
	rec = serve(hs[function.Subordinates], "POST", "/api/v1/subordinates", body)
	if rec.Code != 403 || answer(t, rec.Body.String())["id"] != sub["id"] {
		t.Errorf("the same entity id: %d %s, want 403 with subordinate %v", rec.Code, rec.Body, sub["id"])
	}
	badKeys := `{"entityid":"https://op.example.org","metadata":{},"forced_metadata":{},"jwks":{"keys":"no"}}`
	rec = serve(hs[function.Subordinates], "POST", "/api/v1/subordinates", badKeys)
	if rec.Code != 422 || !strings.Contains(rec.Body.String(), "jwks") {
		t.Errorf("keys that are not a JWK Set: %d %s, want 422", rec.Code, rec.Body)
	}
}

// TestOnlyStaffManageTheFederation: a user who is not staff, whatever
// their key's scope, reads the audit log and nothing else; a refused write
// is a failed attempt.
func TestOnlyStaffManageTheFederation(t *testing.T) {
	notStaff := authn{p: auth.Principal{UserID: 5, Username: "bob", AuthMethod: auth.MethodAPIKey, Tenant: "acme", Scope: auth.ScopeAdmin}}
	hs, store, reader := handlers(notStaff)
	reader.entries[1] = []byte(`{"id":1,"tenant":"acme"}`)
	for _, c := range []struct {
		function, method, target, body string
		status                         int
	}{
		{function.TrustMarkTypes, "POST", "/api/v1/trustmarktypes", `{"tmtype":"https://tm/x"}`, 403},
		{function.TrustMarkTypes, "GET", "/api/v1/trustmarktypes", "", 403},
		{function.TrustMarks, "POST", "/api/v1/trustmarks", `{"tmt":1,"domain":"https://rp"}`, 403},
		{function.Subordinates, "GET", "/api/v1/subordinates", "", 403},
		{function.AuditQuery, "GET", "/api/v1/auditlog", "", 200},
		{function.AuditQuery, "GET", "/api/v1/auditlog/1", "", 200},
	} {
		rec := serve(hs[c.function], c.method, c.target, c.body)
		if rec.Code != c.status {
			t.Errorf("%s %s by a non-staff admin key: %d %s, want %d", c.method, c.target, rec.Code, rec.Body, c.status)
		}
	}
	attempts := store.Attempts()
	if len(attempts) != 2 || attempts[0].Attribution.ResponseCode != 403 || attempts[0].Attribution.Username != "bob" {
		t.Errorf("refused writes recorded as %+v, want two 403 attempts by bob", attempts)
	}
}

// TestIdentifiersAreValidated: identifiers that are not URLs of the right
// kind, and control characters in any string field, are 422 about the
// field, through the handlers.
func TestIdentifiersAreValidated(t *testing.T) {
	hs, store, _ := handlers(admin)
	for _, c := range []struct{ function, target, body, field string }{
		{function.TrustMarkTypes, "/api/v1/trustmarktypes", `{"tmtype":"javascript:alert(1)"}`, "tmtype"},
		{function.TrustMarkTypes, "/api/v1/trustmarktypes", `{"tmtype":"https://tm.example/\u0000"}`, "tmtype"},
		{function.TrustMarks, "/api/v1/trustmarks", `{"tmt":1,"domain":"ftp://rp.example"}`, "domain"},
		{function.TrustMarks, "/api/v1/trustmarks", `{"tmt":1,"domain":"https://rp.example/?q=1"}`, "domain"},
		{function.Subordinates, "/api/v1/subordinates", `{"entityid":"http://-x","metadata":{},"forced_metadata":{},"jwks":{"keys":[]}}`, "entityid"},
		{function.Subordinates, "/api/v1/subordinates", `{"entityid":"not a url","metadata":{},"forced_metadata":{},"jwks":{"keys":[]}}`, "entityid"},
	} {
		rec := serve(hs[c.function], "POST", c.target, c.body)
		if rec.Code != 422 || !strings.Contains(rec.Body.String(), `"loc":["body","`+c.field+`"]`) {
			t.Errorf("POST %s %s: %d %s, want 422 about %s", c.target, c.body, rec.Code, rec.Body, c.field)
		}
	}
	if n := len(store.Attributions()); n != 0 {
		t.Errorf("%d writes from refused identifiers", n)
	}
}

// TestServerStatementsOnTheMemoryStore: the /server/* routes answer with
// Inmor's statuses and bodies: 201 with the signed entity configuration,
// readable back; 404 for historical keys while none are retired, 201 with
// the count once they are; a non-staff key is refused and its attempt
// recorded.
func TestServerStatementsOnTheMemoryStore(t *testing.T) {
	hs, store, _ := handlers(admin)
	h := hs[function.Subordinates]
	if rec := serve(h, "GET", "/api/v1/server/entity", ""); rec.Code != 404 ||
		rec.Body.String() != `{"message":"The server's entity configuration has not been created.","id":0}` {
		t.Errorf("read before the first signing: %d %s", rec.Code, rec.Body)
	}
	rec := serve(h, "POST", "/api/v1/server/entity", "")
	if rec.Code != 201 {
		t.Fatalf("sign: %d %s", rec.Code, rec.Body)
	}
	statement, _ := answer(t, rec.Body.String())["entity_statement"].(string)
	if typ := jwtType(t, statement); typ != resource.EntityStatementJWTType {
		t.Errorf("typ %q", typ)
	}
	if rec := serve(h, "GET", "/api/v1/server/entity", ""); rec.Code != 200 || answer(t, rec.Body.String())["entity_statement"] != statement {
		t.Errorf("read back: %d %s", rec.Code, rec.Body)
	}
	if a := store.Attributions(); len(a) != 1 || a[0].Username != "alice" || a[0].Path != "/api/v1/server/entity" {
		t.Errorf("attributions %+v", a)
	}

	rec = serve(h, "POST", "/api/v1/server/historical_keys", "")
	if rec.Code != 404 || rec.Body.String() != `{"message":"No historical keys found with exp field","id":0}` {
		t.Errorf("no retired keys: %d %s", rec.Code, rec.Body)
	}
	if got := store.Attempts(); len(got) != 1 || got[0].ResourceType != resource.TypeHistoricalKeys || got[0].Attribution.ResponseCode != 404 {
		t.Errorf("the refused signing is not recorded as a failed attempt: %+v", got)
	}
	server := resource.Server{Store: store, Signer: testSigner(), Config: resource.ServerConfig{EntityID: "https://ta.example"}}
	key, _ := testSigner().PublicJWK(t.Context())
	if _, err := server.RetireKey(t.Context(), key, time.Now().Add(time.Hour), nil, resource.Attribution{}); err != nil {
		t.Fatal(err)
	}
	rec = serve(h, "POST", "/api/v1/server/historical_keys", "")
	if rec.Code != 201 || rec.Body.String() != `{"message":"Historical keys JWT created with 1 keys","id":0}` {
		t.Errorf("one retired key: %d %s", rec.Code, rec.Body)
	}

	reader := authn{p: auth.Principal{UserID: 2, Username: "bob", AuthMethod: auth.MethodAPIKey, Tenant: "acme", Scope: auth.ScopeAdmin}}
	hs, store, _ = handlers(reader)
	for _, path := range []string{"/api/v1/server/entity", "/api/v1/server/historical_keys"} {
		if rec := serve(hs[function.Subordinates], "POST", path, ""); rec.Code != 403 || rec.Body.String() != `{"detail":"Forbidden"}` {
			t.Errorf("non-staff %s: %d %s", path, rec.Code, rec.Body)
		}
	}
	if got := store.Attempts(); len(got) != 2 || got[0].ResourceType != resource.TypeServerEntity {
		t.Errorf("non-staff attempts: %+v", got)
	}
	if rec := serve(hs[function.Subordinates], "GET", "/api/v1/server/entity", ""); rec.Code != 403 {
		t.Errorf("non-staff read: %d", rec.Code)
	}
	hs, _, _ = handlers(nobody)
	if rec := serve(hs[function.Subordinates], "POST", "/api/v1/server/entity", ""); rec.Code != 401 {
		t.Errorf("unauthenticated: %d", rec.Code)
	}
}
