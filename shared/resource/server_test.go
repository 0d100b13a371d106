package resource_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/inmor/inmor-serverless/shared/apperr"
	"github.com/inmor/inmor-serverless/shared/jwk"
	"github.com/inmor/inmor-serverless/shared/memstore"
	"github.com/inmor/inmor-serverless/shared/resource"
	"github.com/inmor/inmor-serverless/shared/signing"
)

const taID = "https://ta.example"

var serverNow = time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)

func newServer(t *testing.T, config resource.ServerConfig) (resource.Server, *memstore.Store) {
	t.Helper()
	signer, err := signing.GenerateLocalFile(filepath.Join(t.TempDir(), "key.json"))
	if err != nil {
		t.Fatal(err)
	}
	config.EntityID, config.TrustMarkIssuer = taID, taID
	store := &memstore.Store{}
	return resource.Server{Store: store, Signer: signer, Config: config, Now: func() time.Time { return serverNow }}, store
}

// verify checks a JWT with the signer's public key and returns its header
// and claims (numbers as JSON numbers).
func verify(t *testing.T, s resource.Server, token string) (map[string]any, map[string]any) {
	t.Helper()
	key, err := s.Signer.PublicJWK(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	pub, err := jwk.ParsePublic(key)
	if err != nil {
		t.Fatal(err)
	}
	header, claims, err := signing.Verify(token, pub)
	if err != nil {
		t.Fatalf("the statement does not verify with the trust anchor's key: %v", err)
	}
	return header, claims
}

func asJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestSignEntityConfiguration: Inmor's claims, signed with the trust
// anchor's key, stored; a second signing replaces the first.
func TestSignEntityConfiguration(t *testing.T) {
	ctx := context.Background()
	s, store := newServer(t, resource.ServerConfig{
		AuthorityHints:   []string{"https://superior.example"},
		TrustMarks:       []any{map[string]any{"trust_mark_type": "https://tm.example/self", "trust_mark": "eyJ.x.y"}},
		TrustMarkIssuers: map[string][]string{"https://tm.example/external": {"https://issuer.example"}, "https://tm.example/open": {}},
		Expiry:           48 * time.Hour,
	})
	for _, tmt := range []resource.TrustMarkType{
		{TMType: "https://tm.example/member", Active: true},
		{TMType: "https://tm.example/external", Active: true},
		{TMType: "https://tm.example/open", Active: true},
		{TMType: "https://tm.example/retired", Active: false},
	} {
		if _, err := store.CreateTrustMarkType(ctx, tmt, resource.Attribution{}); err != nil {
			t.Fatal(err)
		}
	}
	e, err := s.SignEntityConfiguration(ctx, resource.Attribution{Username: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	header, claims := verify(t, s, e.Statement)
	if header["typ"] != "entity-statement+jwt" {
		t.Errorf("typ %v", header["typ"])
	}
	if claims["iss"] != taID || claims["sub"] != taID {
		t.Errorf("iss %v sub %v, want %s", claims["iss"], claims["sub"], taID)
	}
	fe, _ := claims["metadata"].(map[string]any)["federation_entity"].(map[string]any)
	for _, ep := range resource.FederationEndpoints {
		if fe[ep.Name] != taID+ep.Path {
			t.Errorf("%s = %v, want %s", ep.Name, fe[ep.Name], taID+ep.Path)
		}
	}
	if got := asJSON(t, claims["authority_hints"]); got != `["https://superior.example"]` {
		t.Errorf("authority_hints %s", got)
	}
	if got := asJSON(t, claims["trust_marks"]); got != `[{"trust_mark":"eyJ.x.y","trust_mark_type":"https://tm.example/self"}]` {
		t.Errorf("trust_marks %s", got)
	}
	// This issuer for every active type, after the configured ones; an
	// explicitly open type stays open; an inactive type is not listed.
	want := `{"https://tm.example/external":["https://issuer.example","https://ta.example"],"https://tm.example/member":["https://ta.example"],"https://tm.example/open":[]}`
	if got := asJSON(t, claims["trust_mark_issuers"]); got != want {
		t.Errorf("trust_mark_issuers\n got %s\nwant %s", got, want)
	}
	if asJSON(t, claims["iat"]) != asJSON(t, serverNow.Unix()) || asJSON(t, claims["exp"]) != asJSON(t, serverNow.Add(48*time.Hour).Unix()) {
		t.Errorf("iat %v exp %v", claims["iat"], claims["exp"])
	}
	key, _ := s.Signer.PublicJWK(ctx)
	if got := asJSON(t, claims["jwks"]); got != asJSON(t, map[string]any{"keys": []any{key}}) {
		t.Errorf("jwks %s, want the trust anchor's public key", got)
	}
	if _, private := key["d"]; private {
		t.Error("the published key holds a private member")
	}

	stored, err := store.ServerEntity(ctx)
	if err != nil || stored.Statement != e.Statement || stored.Version != 1 || asJSON(t, stored.Claims) != asJSON(t, e.Claims) {
		t.Errorf("stored %+v %v", stored, err)
	}
	if a := store.Attributions(); a[len(a)-1].Operation != resource.OpCreate || a[len(a)-1].ResponseCode != 201 {
		t.Errorf("first signing attributed as %+v, want a create answered 201", a[len(a)-1])
	}
	again, err := s.SignEntityConfiguration(ctx, resource.Attribution{})
	if err != nil || again.Version != 2 || !again.Added.Equal(stored.Added) {
		t.Errorf("signed again: %+v %v, want version 2 with the first's added time", again, err)
	}
	if a := store.Attributions(); a[len(a)-1].Operation != resource.OpUpdate {
		t.Errorf("second signing attributed as %+v, want an update", a[len(a)-1])
	}
}

// TestEntityConfigurationMinimal: without settings, no authority_hints,
// trust_marks or trust_mark_issuers, and a year of validity.
func TestEntityConfigurationMinimal(t *testing.T) {
	s, _ := newServer(t, resource.ServerConfig{})
	claims, err := s.EntityConfigurationClaims(context.Background(), serverNow)
	if err != nil {
		t.Fatal(err)
	}
	for _, absent := range []string{"authority_hints", "trust_marks", "trust_mark_issuers"} {
		if _, ok := claims[absent]; ok {
			t.Errorf("%s present without configuration", absent)
		}
	}
	if claims["exp"] != serverNow.Add(8760*time.Hour).Unix() {
		t.Errorf("exp %v, want a year after iat", claims["exp"])
	}
}

var ed25519Key = map[string]any{"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}

// TestHistoricalKeys: none retired is Inmor's 404; retired keys are
// signed into a jwk-set+jwt with exp and revocations; retiring a key
// again replaces its entry; private keys are refused.
func TestHistoricalKeys(t *testing.T) {
	ctx := context.Background()
	s, store := newServer(t, resource.ServerConfig{})
	_, _, err := s.SignHistoricalKeys(ctx, resource.Attribution{})
	if !apperr.Is(apperr.NotFound, err) || apperr.MessageOf(err) != "No historical keys found with exp field" {
		t.Fatalf("no keys: %v, want Inmor's 404", err)
	}

	exp := serverNow.Add(-time.Hour)
	if _, err := s.RetireKey(ctx, ed25519Key, exp, nil, resource.Attribution{}); err != nil {
		t.Fatal(err)
	}
	current, _ := s.Signer.PublicJWK(ctx)
	revokedAt := serverNow.Add(-30 * time.Minute)
	h, err := s.RetireKey(ctx, current, exp, &resource.Revocation{Reason: "compromised", At: revokedAt}, resource.Attribution{})
	if err != nil || len(h.Keys) != 2 {
		t.Fatalf("second key: %+v %v", h, err)
	}
	// The same key again (a later revocation) replaces its entry.
	h, err = s.RetireKey(ctx, ed25519Key, exp, &resource.Revocation{At: revokedAt}, resource.Attribution{})
	if err != nil || len(h.Keys) != 2 || h.Version != 3 {
		t.Fatalf("the same key again: %d keys, version %d, %v; want 2 keys, version 3", len(h.Keys), h.Version, err)
	}

	signed, n, err := s.SignHistoricalKeys(ctx, resource.Attribution{})
	if err != nil || n != 2 || resource.HistoricalKeysMessage(n) != "Historical keys JWT created with 2 keys" {
		t.Fatalf("sign: %d keys %v", n, err)
	}
	header, claims := verify(t, s, *signed.Statement)
	if header["typ"] != "jwk-set+jwt" || claims["iss"] != taID || asJSON(t, claims["iat"]) != asJSON(t, serverNow.Unix()) {
		t.Errorf("header %v claims %v", header, claims)
	}
	keys, _ := claims["keys"].([]any)
	if len(keys) != 2 {
		t.Fatalf("keys %v", keys)
	}
	var sawRevoked, sawPlainRevocation bool
	for _, k := range keys {
		key := k.(map[string]any)
		if asJSON(t, key["exp"]) != asJSON(t, exp.Unix()) || key["kid"] == nil {
			t.Errorf("key %v: want exp %d and a kid", key, exp.Unix())
		}
		switch asJSON(t, key["revoked"]) {
		case asJSON(t, map[string]any{"revoked_at": revokedAt.Unix(), "reason": "compromised"}):
			sawRevoked = key["kid"] == current["kid"]
		case asJSON(t, map[string]any{"revoked_at": revokedAt.Unix()}):
			sawPlainRevocation = key["x"] == ed25519Key["x"]
		default:
			t.Errorf("key %v: unexpected revocation", key)
		}
	}
	if !sawRevoked || !sawPlainRevocation {
		t.Errorf("revocations not kept per key: %v", keys)
	}
	if stored, _ := store.HistoricalKeys(ctx); stored.Statement == nil || *stored.Statement != *signed.Statement {
		t.Error("the signed JWT is not stored")
	}

	private := map[string]any{"kty": "OKP", "crv": "Ed25519", "x": ed25519Key["x"], "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}
	_, err = s.RetireKey(ctx, private, exp, nil, resource.Attribution{})
	var invalid *apperr.Error
	if !errors.As(err, &invalid) || invalid.Kind != apperr.Unprocessable || invalid.Field != "jwk" || !strings.Contains(invalid.Message, "private") {
		t.Errorf("a private key: %v, want a 422 on jwk naming private members", err)
	}
	_, err = s.RetireKey(ctx, ed25519Key, exp, &resource.Revocation{Reason: "lost", At: revokedAt}, resource.Attribution{})
	if !errors.As(err, &invalid) || invalid.Field != "revoked_reason" || !strings.Contains(invalid.Message, "unspecified, compromised, superseded") {
		t.Errorf("an unknown reason: %v, want a 422 on revoked_reason listing the reasons", err)
	}
	if h, _ := store.HistoricalKeys(ctx); len(h.Keys) != 2 {
		t.Errorf("a refused key changed the retired keys: %d", len(h.Keys))
	}
}
