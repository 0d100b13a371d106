package localstack_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/inmor/inmor-serverless/shared/adminapi"
	"github.com/inmor/inmor-serverless/shared/localstack"
)

// eventsPath is the Subordinate Events endpoint about an entity id.
func eventsPath(sub string) string {
	return adminapi.SubordinateEventsPath + "?sub=" + url.QueryEscape(sub)
}

// nextSecond waits for the next whole second, so that the next change
// has an iat of its own.
func nextSecond() {
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second + 20*time.Millisecond)))
}

// entityConfigurationKeys signs the trust anchor's entity configuration and
// returns its jwks (go-jose's), as a relying party would read them.
func entityConfigurationKeys(t *testing.T, s *localstack.Stack) jose.JSONWebKeySet {
	t.Helper()
	statement, _ := created(t, s, "/api/v1/server/entity", "")["entity_statement"].(string)
	jws, err := jose.ParseSigned(statement, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		JWKS     jose.JSONWebKeySet `json:"jwks"`
		Metadata struct {
			FederationEntity map[string]string `json:"federation_entity"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &claims); err != nil {
		t.Fatal(err)
	}
	if len(claims.JWKS.Keys) == 0 {
		t.Fatal("the entity configuration publishes no keys")
	}
	if _, err := jws.Verify(claims.JWKS.Keys[0]); err != nil {
		t.Fatalf("the entity configuration does not verify with its own jwks: %v", err)
	}
	if got := claims.Metadata.FederationEntity["federation_subordinate_events_endpoint"]; !strings.HasSuffix(got, adminapi.SubordinateEventsPath) {
		t.Errorf("the entity configuration advertises the events endpoint as %q", got)
	}
	return claims.JWKS
}

// TestSubordinateEventsEndpoint takes a subordinate through every event and
// reads them back, signed, from the public endpoint, verified with go-jose
// against the keys of the trust anchor's entity configuration; out-of-band
// changes and failures are not published; errors are in the federation
// format.
func TestSubordinateEventsEndpoint(t *testing.T) {
	s := startStack(t)
	loadSubKeys(t)
	keys := entityConfigurationKeys(t, s)

	created(t, s, "/api/v1/subordinates", mustJSON(t, subordinateBody(t, nil)))
	nextSecond() // updates at a registration's iat are not published
	// Each update sends every field as it stands (an update replaces
	// metadata, forced_metadata and jwks).
	state := map[string]any{}
	update := func(fields map[string]any) {
		t.Helper()
		for k, v := range fields {
			state[k] = v
		}
		mustStatus(t, call(t, s, http.MethodPost, "/api/v1/subordinates/1", subordinateUpdate(t, state)), http.StatusOK)
		delete(state, "suspended")
	}
	update(map[string]any{"metadata": map[string]any{"openid_relying_party": map[string]any{"client_name": "RP 2"}}})
	update(map[string]any{"forced_metadata": map[string]any{}})
	update(map[string]any{"jwks": map[string]any{"keys": []any{ecJWK(t, subKeys.ec2, "ec-2", false)}}})
	// A failed change is not an event.
	mustStatus(t, call(t, s, http.MethodPost, "/api/v1/subordinates/1", subordinateUpdate(t, map[string]any{"active": true, "suspended": true})), http.StatusUnprocessableEntity)
	update(map[string]any{"active": false, "suspended": true})
	nextSecond() // the updates above must not share the re-registration's iat
	update(map[string]any{"active": true})
	update(map[string]any{"active": false})
	settle(t, s)

	// Without authentication: a public route.
	r := call(t, s, http.MethodGet, eventsPath(subEntityID), "", "X-API-Key", "")
	mustStatus(t, r, http.StatusOK)
	if ct, cc := r.Header.Get("Content-Type"), r.Header.Get("Cache-Control"); ct != "application/entity-events-statement+jwt" || cc != "max-age=60" {
		t.Errorf("Content-Type %q, Cache-Control %q", ct, cc)
	}
	jws, err := jose.ParseSigned(string(r.Body), []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatalf("not a JWS: %v: %s", err, r.Body)
	}
	if typ := jws.Signatures[0].Protected.ExtraHeaders[jose.HeaderType]; typ != "entity-events-statement+jwt" {
		t.Errorf("typ %v", typ)
	}
	matching := keys.Key(jws.Signatures[0].Protected.KeyID)
	if len(matching) != 1 {
		t.Fatalf("kid %q is not a key of the entity configuration", jws.Signatures[0].Protected.KeyID)
	}
	payload, err := jws.Verify(matching[0])
	if err != nil {
		t.Fatalf("the statement does not verify with the entity configuration's key: %v", err)
	}
	var claims struct {
		Iss, Sub string
		Iat, Exp int64
		Events   []struct {
			Iat         int64
			Event       string
			Description string `json:"event_description"`
		} `json:"federation_registration_events"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	if claims.Iss != "https://localhost:8080" || claims.Sub != subEntityID || claims.Exp-claims.Iat != 24*3600 {
		t.Errorf("iss %q sub %q iat %d exp %d", claims.Iss, claims.Sub, claims.Iat, claims.Exp)
	}
	var got []string
	for i, e := range claims.Events {
		got = append(got, e.Event)
		if e.Iat < claims.Iat-120 || e.Iat > claims.Iat || e.Description == "" || i > 0 && e.Iat < claims.Events[i-1].Iat {
			t.Errorf("event %d %+v: want a description and an iat in the last two minutes, oldest first", i, e)
		}
	}
	want := "registration metadata_update metadata_policy_update jwks_update suspension registration revocation"
	if strings.Join(got, " ") != want {
		t.Errorf("events %v\nwant  %s", got, want)
	}

	// POST with a form body answers the same.
	r = call(t, s, http.MethodPost, adminapi.SubordinateEventsPath, "sub="+url.QueryEscape(subEntityID),
		"Content-Type", "application/x-www-form-urlencoded", "X-API-Key", "")
	mustStatus(t, r, http.StatusOK)
	if _, err := jose.ParseSigned(string(r.Body), []jose.SignatureAlgorithm{jose.ES256}); err != nil {
		t.Errorf("POST: %v", err)
	}

	for _, c := range []struct {
		name, method, path, body string
		status                   int
		code                     string
	}{
		{"no sub", http.MethodGet, adminapi.SubordinateEventsPath, "", 400, "invalid_request"},
		{"a malformed sub", http.MethodGet, eventsPath("javascript:alert(1)"), "", 400, "invalid_request"},
		{"sub twice", http.MethodGet, eventsPath(subEntityID) + "&sub=https%3A%2F%2Fx.example", "", 400, "invalid_request"},
		{"an unknown subordinate", http.MethodGet, eventsPath("https://unknown.example"), "", 404, "not_found"},
		{"a form too large", http.MethodPost, adminapi.SubordinateEventsPath, "sub=" + strings.Repeat("a", 9000), 400, "invalid_request"},
	} {
		r := call(t, s, c.method, c.path, c.body, "Content-Type", "application/x-www-form-urlencoded", "X-API-Key", "")
		body := r.JSON(t)
		if r.Status != c.status || body["error"] != c.code || body["error_description"] == "" {
			t.Errorf("%s: %d %s, want %d %s with a description", c.name, r.Status, r.Body, c.status, c.code)
		}
	}
}
