// Package entityconfigtest runs an entity for tests: an https server on
// loopback (a self-signed certificate) that serves the entity's signed
// configuration at /.well-known/openid-federation, and a Fetcher that may
// reach it (the guard's test allowance for loopback, the server's
// certificate as root).
package entityconfigtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/inmor/inmor-serverless/shared/entityconfig"
	"github.com/inmor/inmor-serverless/shared/jwk"
)

// Entity is a running test entity.
type Entity struct {
	// ID is the entity id: the server's https URL.
	ID string
	// Key signs the configuration; its public JWK is in JWKS.
	Key    *ecdsa.PrivateKey
	server *httptest.Server

	mu      sync.Mutex
	handler http.HandlerFunc
	claims  map[string]any
}

// Start runs an entity whose configuration names authorityHints and has
// metadata {"openid_relying_party": {"client_name": "Test RP"}}; the
// server stops when the test ends.
func Start(t testing.TB, authorityHints ...string) *Entity {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	e := &Entity{Key: key}
	e.server = httptest.NewTLSServer(http.HandlerFunc(e.serve))
	t.Cleanup(e.server.Close)
	e.ID = e.server.URL
	hints := make([]any, len(authorityHints))
	for i, h := range authorityHints {
		hints[i] = h
	}
	e.claims = map[string]any{
		"metadata":        map[string]any{"openid_relying_party": map[string]any{"client_name": "Test RP"}},
		"authority_hints": hints,
		"jwks":            e.JWKS(t),
	}
	return e
}

// JWKS is the set of the entity's public key.
func (e *Entity) JWKS(t testing.TB) map[string]any {
	t.Helper()
	pub, err := jwk.PublicJWK(&e.Key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]any{"keys": []any{pub}}
}

// Set sets claims of the configuration served from now on (nil removes
// one); iss, sub, iat and exp are added unless set.
func (e *Entity) Set(claims map[string]any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for k, v := range claims {
		if v == nil {
			delete(e.claims, k)
		} else {
			e.claims[k] = v
		}
	}
}

// Handle replaces what the server answers (nil: the configuration again).
func (e *Entity) Handle(h http.HandlerFunc) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.handler = h
}

// sign returns a configuration signed with key, typ entity-statement+jwt,
// kid the key's thumbprint, with the claims given and iss, sub, iat, exp
// (an hour) added unless set.
func sign(key *ecdsa.PrivateKey, id string, claims map[string]any) (string, error) {
	now := time.Now().Unix()
	all := map[string]any{"iss": id, "sub": id, "iat": now, "exp": now + 3600}
	for k, v := range claims {
		all[k] = v
	}
	payload, err := json.Marshal(all)
	if err != nil {
		return "", err
	}
	kid, err := jwk.Thumbprint(&key.PublicKey)
	if err != nil {
		return "", err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType(entityconfig.JWTType))
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}

func (e *Entity) serve(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	h := e.handler
	claims := make(map[string]any, len(e.claims))
	for k, v := range e.claims {
		claims[k] = v
	}
	e.mu.Unlock()
	if h != nil {
		h(w, r)
		return
	}
	if r.URL.Path != entityconfig.WellKnownPath {
		http.NotFound(w, r)
		return
	}
	token, err := sign(e.Key, e.ID, claims)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/entity-statement+jwt")
	_, _ = w.Write([]byte(token))
}

// Options are the Fetcher options that reach the entity: loopback allowed,
// its certificate trusted.
func (e *Entity) Options() entityconfig.Options {
	roots := x509.NewCertPool()
	roots.AddCert(e.server.Certificate())
	return entityconfig.Options{
		InsecureAllow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")},
		RootCAs:       roots,
	}
}

// Fetcher returns a Fetcher that reaches the entity.
func (e *Entity) Fetcher() *entityconfig.Fetcher { return entityconfig.New(e.Options()) }
