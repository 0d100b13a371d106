package adminapi

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/inmor/inmor-serverless/shared/auth"
	"github.com/inmor/inmor-serverless/shared/entityconfig"
	"github.com/inmor/inmor-serverless/shared/entityconfig/entityconfigtest"
	"github.com/inmor/inmor-serverless/shared/jwk"
	"github.com/inmor/inmor-serverless/shared/memstore"
	"github.com/inmor/inmor-serverless/shared/resource"
)

// checkedSubordinates is the subordinates function of trust anchor
// https://ta.example, checking entity configurations with configs.
func checkedSubordinates(a authn, configs resource.EntityConfigurations) (*memstore.Store, func(method, target, body string) *httptest.ResponseRecorder) {
	store := &memstore.Store{}
	h := NewSubordinatesHandler(resource.Subordinates{Store: store, Signer: testSigner(), EntityID: "https://ta.example", Configurations: configs},
		resource.Server{Store: store, Signer: testSigner(), Config: resource.ServerConfig{EntityID: "https://ta.example"}}, a, store)
	return store, func(method, target, body string) *httptest.ResponseRecorder { return serve(h, method, target, body) }
}

func registration(t *testing.T, entityID string, jwks map[string]any) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{"entityid": entityID, "metadata": map[string]any{}, "forced_metadata": map[string]any{}, "jwks": jwks})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestEntityConfigurationEndToEnd: the subordinates function fetches each
// entity's configuration from an https server (self-signed, on loopback,
// reached with the guard's test allowance): registration with the keys
// that sign it, 400 with Inmor's bodies otherwise (recorded as failed
// attempts), renew storing the configuration's keys, fetch-config
// answering Inmor's fields (a read: nothing recorded).
func TestEntityConfigurationEndToEnd(t *testing.T) {
	e := entityconfigtest.Start(t, "https://ta.example")
	store, call := checkedSubordinates(admin, e.Fetcher())
	wantMessage := func(rec *httptest.ResponseRecorder, id float64, message string) {
		t.Helper()
		if rec.Code != 400 || !reflect.DeepEqual(decode(t, rec), map[string]any{"message": message, "id": id}) {
			t.Errorf("%d %s, want 400 %q", rec.Code, rec.Body, message)
		}
	}

	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	otherJWK, err := jwk.PublicJWK(&other.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	otherKeys := map[string]any{"keys": []any{otherJWK}}
	wantMessage(call("POST", "/api/v1/subordinates", registration(t, e.ID, otherKeys)), 0, "Entity configuration signature validation failed.")
	if n := len(store.Attempts()); n != 1 {
		t.Errorf("%d attempts recorded, want the failed registration", n)
	}

	rec := call("POST", "/api/v1/subordinates", registration(t, e.ID, e.JWKS(t)))
	if rec.Code != 201 {
		t.Fatalf("register: %d %s", rec.Code, rec.Body)
	}
	id := decode(t, rec).(map[string]any)["id"].(float64)

	// The entity rotates: its configuration, signed with the registered
	// key, lists the new key too; renew stores and signs both.
	rotated := map[string]any{"keys": []any{e.JWKS(t)["keys"].([]any)[0], otherJWK}}
	e.Set(map[string]any{"jwks": rotated, "metadata": map[string]any{"openid_relying_party": map[string]any{"client_name": "Rotated"}}})
	rec = call("POST", "/api/v1/subordinates/1/renew", "")
	if rec.Code != 200 {
		t.Fatalf("renew: %d %s", rec.Code, rec.Body)
	}
	renewed := decode(t, rec).(map[string]any)
	if keys := renewed["jwks"].(map[string]any)["keys"].([]any); len(keys) != 2 || renewed["metadata"].(map[string]any)["openid_relying_party"] == nil {
		t.Errorf("renewed %v, want the configuration's two keys and metadata", renewed)
	}

	// The entity drops the trust anchor from its authority_hints.
	e.Set(map[string]any{"authority_hints": []any{"https://other-ta.example"}})
	wantMessage(call("POST", "/api/v1/subordinates/1/renew", ""), id, "TA domain https://ta.example is not in the authority_hints of the entity configuration.")
	update := `{"metadata":{},"forced_metadata":{},"jwks":` + mustJSON(t, e.JWKS(t)) + `}`
	wantMessage(call("POST", "/api/v1/subordinates/1", update), id, "TA domain https://ta.example is not in the authority_hints of the entity configuration.")
	// Revoking it does not fetch.
	revoke := `{"metadata":{},"forced_metadata":{},"jwks":` + mustJSON(t, e.JWKS(t)) + `,"active":false}`
	if rec := call("POST", "/api/v1/subordinates/1", revoke); rec.Code != 200 {
		t.Errorf("revoke: %d %s", rec.Code, rec.Body)
	}
	if n := len(store.Attempts()); n != 3 {
		t.Errorf("%d attempts recorded, want 3 (registration, renew, update)", n)
	}

	// fetch-config: the configuration verified with its own keys.
	rec = call("POST", "/api/v1/subordinates/fetch-config", `{"url":"`+e.ID+`"}`)
	if rec.Code != 200 {
		t.Fatalf("fetch-config: %d %s", rec.Code, rec.Body)
	}
	got := decode(t, rec).(map[string]any)
	if got["authority_hints"].([]any)[0] != "https://other-ta.example" || got["jwks"] == nil || got["jwks_uri"] != nil || got["trust_marks"] != nil ||
		got["metadata"].(map[string]any)["openid_relying_party"] == nil {
		t.Errorf("fetch-config answered %v", got)
	}
	wantMessage(call("POST", "/api/v1/subordinates/fetch-config", `{"url":"`+e.ID+`/nowhere"}`), 0,
		"No OpenID Federation configuration found at "+e.ID+"/nowhere/.well-known/openid-federation")
	if rec := call("POST", "/api/v1/subordinates/fetch-config", `{"url":"http://rp.example.org"}`); rec.Code != 422 {
		t.Errorf("fetch-config of an http url: %d %s, want 422", rec.Code, rec.Body)
	}
	if rec := call("POST", "/api/v1/subordinates/fetch-config", `{}`); rec.Code != 422 {
		t.Errorf("fetch-config without url: %d %s, want 422", rec.Code, rec.Body)
	}
	if n := len(store.Attempts()); n != 3 {
		t.Errorf("%d attempts recorded, want fetch-config to record none", n)
	}

	// The guard is strict by default: the same loopback entity is refused.
	_, strict := checkedSubordinates(admin, entityconfig.New(entityconfig.Options{}))
	wantMessage(strict("POST", "/api/v1/subordinates/fetch-config", `{"url":"`+e.ID+`"}`), 0,
		"Could not connect to "+e.ID+". Please check the URL and ensure the domain exists.")

	// Staff only, like every route but the audit log's.
	notStaff := authn{p: auth.Principal{UserID: 2, Username: "bob", AuthMethod: auth.MethodAPIKey, Tenant: "acme", Scope: auth.ScopeAdmin}}
	_, asBob := checkedSubordinates(notStaff, e.Fetcher())
	if rec := asBob("POST", "/api/v1/subordinates/fetch-config", `{"url":"`+e.ID+`"}`); rec.Code != 403 {
		t.Errorf("fetch-config by a user who is not staff: %d %s, want 403", rec.Code, rec.Body)
	}
	if rec := serve(NewSubordinatesHandler(resource.Subordinates{}, resource.Server{}, nobody, &memstore.Store{}), "POST", "/api/v1/subordinates/fetch-config", `{"url":"`+e.ID+`"}`); rec.Code != 401 {
		t.Errorf("fetch-config unauthenticated: %d %s, want 401", rec.Code, rec.Body)
	}
}

// TestFetchConfigWhenTheCheckIsOff: 400 that says so.
func TestFetchConfigWhenTheCheckIsOff(t *testing.T) {
	_, call := checkedSubordinates(admin, nil)
	rec := call("POST", "/api/v1/subordinates/fetch-config", `{"url":"https://rp.example.org"}`)
	if rec.Code != 400 || decode(t, rec).(map[string]any)["message"] != "Fetching entity configurations is turned off on this server (ENTITY_CONFIGURATION_CHECK=off)." {
		t.Errorf("%d %s", rec.Code, rec.Body)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
