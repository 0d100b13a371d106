package entityconfig_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/inmor/inmor-serverless/shared/apperr"
	"github.com/inmor/inmor-serverless/shared/entityconfig"
	"github.com/inmor/inmor-serverless/shared/entityconfig/entityconfigtest"
	"github.com/inmor/inmor-serverless/shared/jwk"
)

const (
	entity = "https://rp.example.org"
	ta     = "https://ta.example.org"
)

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func jwksOf(t *testing.T, keys ...*ecdsa.PrivateKey) map[string]any {
	t.Helper()
	var list []any
	for _, k := range keys {
		pub, err := jwk.PublicJWK(&k.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		list = append(list, pub)
	}
	return map[string]any{"keys": list}
}

// withoutKid is a copy of a JWK without its kid.
func withoutKid(key map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range key {
		if k != "kid" {
			out[k] = v
		}
	}
	return out
}

// signWith signs payload (JSON) with key and the header typ and kid given.
func signWith(t *testing.T, key *ecdsa.PrivateKey, typ, kid string, payload []byte) string {
	t.Helper()
	opts := &jose.SignerOptions{}
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// wantMessage fails unless err is an Invalid error with the message (a
// prefix of it when prefix).
func wantMessage(t *testing.T, err error, message string, prefix bool) {
	t.Helper()
	got := apperr.MessageOf(err)
	if !apperr.Is(apperr.Invalid, err) || (!prefix && got != message) || (prefix && !strings.HasPrefix(got, message)) {
		t.Errorf("error %v (message %q), want Invalid %q", err, got, message)
	}
}

// TestVerify: typ, signature (the kid's key, or every key), iss, sub, exp
// and iat with 60 s of leeway, jwks and the claims' types.
func TestVerify(t *testing.T) {
	key, other := newKey(t), newKey(t)
	keys := jwksOf(t, key)
	kid := keys["keys"].([]any)[0].(map[string]any)["kid"].(string)
	now := time.Unix(1_800_000_000, 0)
	base := func() map[string]any {
		return map[string]any{
			"iss": entity, "sub": entity, "iat": now.Unix() - 10, "exp": now.Unix() + 3600,
			"jwks": keys, "metadata": map[string]any{"openid_relying_party": map[string]any{}},
			"authority_hints": []any{ta},
		}
	}
	const (
		sig     = "Entity configuration signature validation failed."
		notJWT  = "Invalid response from server. No valid OpenID Federation JWT found."
		invalid = "Error fetching entity configuration: "
	)
	cases := []struct {
		name    string
		edit    func(map[string]any)
		typ     string
		kid     string
		signer  *ecdsa.PrivateKey
		keys    map[string]any
		message string // "" for success; a prefix of the message otherwise
	}{
		{name: "valid"},
		{name: "valid, no kid", kid: "-"},
		{name: "valid, self-signed", keys: map[string]any{}},
		{name: "float times (Inmor's)", edit: func(c map[string]any) { c["iat"], c["exp"] = float64(now.Unix())-0.5, float64(now.Unix())+99.25 }},
		{name: "expired within the leeway", edit: func(c map[string]any) { c["exp"] = now.Unix() - 59 }},
		{name: "issued ahead within the leeway", edit: func(c map[string]any) { c["iat"] = now.Unix() + 59 }},
		{name: "typ jwt", typ: "JWT", message: invalid + `typ is "JWT"`},
		{name: "no typ", typ: "-", message: invalid + `typ is ""`},
		{name: "another key", signer: other, message: sig},
		{name: "another key, no kid", signer: other, kid: "-", message: sig},
		{name: "an unknown kid", kid: "nope", message: sig},
		{name: "a kid, the key has none", keys: map[string]any{}, edit: func(c map[string]any) {
			c["jwks"] = map[string]any{"keys": []any{withoutKid(keys["keys"].([]any)[0].(map[string]any))}}
		}},
		{name: "self-signed by a key not in its jwks", signer: other, keys: map[string]any{}, message: sig},
		{name: "iss", edit: func(c map[string]any) { c["iss"] = "https://evil.example" }, message: invalid + `iss is "https://evil.example", want the entity id`},
		{name: "sub", edit: func(c map[string]any) { c["sub"] = "https://other.example" }, message: invalid + `sub is "https://other.example"`},
		{name: "no iss", edit: func(c map[string]any) { delete(c, "iss") }, message: invalid + "iss is missing"},
		{name: "expired", edit: func(c map[string]any) { c["exp"] = now.Unix() - 61 }, message: invalid + "the entity configuration expired at"},
		{name: "no exp", edit: func(c map[string]any) { delete(c, "exp") }, message: invalid + "exp is missing or not a number"},
		{name: "exp a string", edit: func(c map[string]any) { c["exp"] = "soon" }, message: invalid + "exp is missing or not a number"},
		{name: "iat ahead", edit: func(c map[string]any) { c["iat"] = now.Unix() + 61 }, message: invalid + "the entity configuration is issued in the future"},
		{name: "no iat", edit: func(c map[string]any) { delete(c, "iat") }, message: invalid + "iat is missing or not a number"},
		{name: "no jwks", edit: func(c map[string]any) { delete(c, "jwks") }, message: invalid + "jwks: "},
		{name: "no jwks, self-signed", edit: func(c map[string]any) { delete(c, "jwks") }, keys: map[string]any{}, message: invalid + "jwks: "},
		{name: "metadata not an object", edit: func(c map[string]any) { c["metadata"] = []any{} }, message: invalid + "metadata must be an object"},
		{name: "authority_hints of numbers", edit: func(c map[string]any) { c["authority_hints"] = []any{1} }, message: invalid + "authority_hints must be an array"},
		{name: "authority_hints a string", edit: func(c map[string]any) { c["authority_hints"] = ta }, message: invalid + "authority_hints must be an array"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			claims := base()
			if c.edit != nil {
				c.edit(claims)
			}
			payload, err := json.Marshal(claims)
			if err != nil {
				t.Fatal(err)
			}
			typ, k, signer, verifyWith := entityconfig.JWTType, kid, key, keys
			if c.typ != "" {
				typ = strings.TrimPrefix(c.typ, "-")
			}
			if c.kid != "" {
				k = strings.TrimPrefix(c.kid, "-")
			}
			if c.signer != nil {
				signer = c.signer
			}
			if c.keys != nil {
				verifyWith = nil // its own jwks
			}
			got, err := entityconfig.Verify(signWith(t, signer, typ, k, payload), entity, verifyWith, now)
			if c.message == "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if got["sub"] != entity || got["authority_hints"].([]any)[0] != ta {
					t.Errorf("claims %v", got)
				}
				return
			}
			wantMessage(t, err, c.message, true)
		})
	}
	for _, token := range []string{"", "not a jwt", "a.b.c", `{"payload":"x","signatures":[]}`} {
		_, err := entityconfig.Verify(token, entity, keys, now)
		wantMessage(t, err, notJWT, false)
	}
	// A payload that is not a JSON object.
	_, err := entityconfig.Verify(signWith(t, key, entityconfig.JWTType, kid, []byte(`[1]`)), entity, keys, now)
	wantMessage(t, err, notJWT, false)
}

// TestFetch: through the guarded client, from an https server on loopback
// reached with the test allowance.
func TestFetch(t *testing.T) {
	e := entityconfigtest.Start(t, ta)
	ctx := context.Background()
	claims, err := e.Fetcher().Fetch(ctx, e.ID, e.JWKS(t))
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if claims["iss"] != e.ID || claims["authority_hints"].([]any)[0] != ta {
		t.Errorf("claims %v", claims)
	}
	// A trailing slash on the entity id is not doubled.
	e.Set(map[string]any{"iss": e.ID + "/", "sub": e.ID + "/"})
	if _, err := e.Fetcher().Fetch(ctx, e.ID+"/", nil); err != nil {
		t.Errorf("Fetch with a trailing slash: %v", err)
	}
	e.Set(map[string]any{"iss": e.ID, "sub": e.ID})
	// Another key than the submitted one.
	_, err = e.Fetcher().Fetch(ctx, e.ID, jwksOf(t, newKey(t)))
	wantMessage(t, err, "Entity configuration signature validation failed.", false)
	// A caller that hung up is not the entity's failure (no 400).
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := e.Fetcher().Fetch(cancelled, e.ID, e.JWKS(t)); err == nil || apperr.KindOf(err) != "" {
		t.Errorf("a cancelled fetch: %v, want an error of no kind", err)
	}
}

// TestFetchFailures: each way a fetch fails, with Inmor's message.
func TestFetchFailures(t *testing.T) {
	e := entityconfigtest.Start(t, ta)
	ctx := context.Background()
	connect := "Could not connect to " + e.ID + ". Please check the URL and ensure the domain exists."
	redirect := func(to string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, to, http.StatusFound) }
	}
	cases := []struct {
		name    string
		handler http.HandlerFunc
		options func(*entityconfig.Options)
		id      string
		message string
		prefix  bool
	}{
		{name: "strict by default: loopback refused", options: func(o *entityconfig.Options) { o.InsecureAllow = nil }, message: connect},
		{name: "localhost resolves to loopback: refused at connect", options: func(o *entityconfig.Options) { o.InsecureAllow = nil },
			id: strings.Replace(e.ID, "127.0.0.1", "localhost", 1), message: "Could not connect to " + strings.Replace(e.ID, "127.0.0.1", "localhost", 1), prefix: true},
		{name: "an untrusted certificate", options: func(o *entityconfig.Options) { o.RootCAs = nil }, message: connect},
		{name: "no such host", id: "https://nonexistent.invalid", message: "Could not connect to https://nonexistent.invalid. Please check the URL and ensure the domain exists."},
		{name: "not https", id: "http://" + strings.TrimPrefix(e.ID, "https://"), message: "Could not connect to http://", prefix: true},
		{name: "404", handler: http.NotFound, message: "No OpenID Federation configuration found at " + e.ID + "/.well-known/openid-federation"},
		{name: "500", handler: func(w http.ResponseWriter, r *http.Request) { http.Error(w, "oops", 500) },
			message: "Failed to fetch entity configuration: Fetching payload returns 500 for " + e.ID},
		{name: "a redirect to the metadata service", handler: redirect("https://169.254.169.254/latest/meta-data/"), message: connect},
		{name: "a redirect to another loopback address", handler: redirect("https://127.0.0.2" + e.ID[len("https://127.0.0.1"):] + "/"),
			options: func(o *entityconfig.Options) { o.InsecureAllow = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")} }, message: connect},
		{name: "a redirect to http", handler: redirect("http://example.org/"), message: "Failed to reach " + e.ID + ": redirected to a URL that is not https"},
		{name: "redirects without end", handler: redirect("/again"), message: "Failed to reach " + e.ID + ": stopped after 3 redirects"},
		{name: "a body over 64 KB", handler: func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(make([]byte, 64<<10+1)) },
			message: "Failed to reach " + e.ID + ": the response is larger than 65536 bytes"},
		{name: "a body over 64 KB, no length", handler: func(w http.ResponseWriter, r *http.Request) {
			for range 65 {
				_, _ = w.Write(make([]byte, 1024))
				w.(http.Flusher).Flush()
			}
		}, message: "Failed to reach " + e.ID + ": the response is larger than 65536 bytes"},
		{name: "too slow", handler: func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(3 * time.Second):
			}
		}, options: func(o *entityconfig.Options) { o.Timeout = 200 * time.Millisecond }, message: "Connection to " + e.ID + " timed out. Please try again."},
		{name: "not a JWT", handler: func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("<html>hello</html>")) },
			message: "Invalid response from server. No valid OpenID Federation JWT found."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.Handle(c.handler)
			defer e.Handle(nil)
			o := e.Options()
			if c.options != nil {
				c.options(&o)
			}
			id := e.ID
			if c.id != "" {
				id = c.id
			}
			_, err := entityconfig.New(o).Fetch(ctx, id, e.JWKS(t))
			wantMessage(t, err, c.message, c.prefix)
		})
	}
	// Redirects the guard allows are followed.
	e.Handle(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/moved" {
			e.Handle(nil)
			http.Redirect(w, r, entityconfig.WellKnownPath, http.StatusFound)
			return
		}
		http.Redirect(w, r, "/moved", http.StatusMovedPermanently)
	})
	defer e.Handle(nil)
	if _, err := e.Fetcher().Fetch(ctx, e.ID, e.JWKS(t)); err != nil {
		t.Errorf("Fetch through allowed redirects: %v", err)
	}
}
