package signing

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

// goJoseVerify checks a token as any go-jose user would: ES256 only, the
// signature against pub, and the protected header's kid and typ.
func goJoseVerify(t *testing.T, token string, pub *ecdsa.PublicKey, kid, typ string) map[string]any {
	t.Helper()
	jws, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatalf("go-jose cannot parse %s: %v", token, err)
	}
	payload, err := jws.Verify(pub)
	if err != nil {
		t.Fatalf("go-jose does not verify the token: %v", err)
	}
	h := jws.Signatures[0].Protected
	if h.KeyID != kid || h.ExtraHeaders[jose.HeaderType] != typ || h.Algorithm != string(jose.ES256) {
		t.Errorf("header: kid %q typ %v alg %q; want %q, %q, ES256", h.KeyID, h.ExtraHeaders[jose.HeaderType], h.Algorithm, kid, typ)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	return claims
}

// TestTokensVerifyWithGoJose: the JWTs of both signers verify with go-jose
// against their public JWK, with the thumbprint as kid and the typ asked
// for; a token of one key does not verify with another.
func TestTokensVerifyWithGoJose(t *testing.T) {
	ctx := context.Background()
	local, _ := newTestLocal(t)
	fake := newFakeKMS(t)
	for _, c := range []struct {
		name   string
		signer Signer
		pub    *ecdsa.PublicKey
	}{
		{"local", local, local.PublicKey()},
		{"KMS (as an OpaqueSigner)", NewKMS(fake, "alias/test"), &fake.key.PublicKey},
		{"KMS, a digest-signed large token", NewKMS(newFakeKMS(t), "alias/test"), nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			claims := trustMarkClaims(1)
			if c.pub == nil {
				claims["padding"] = strings.Repeat("x", 5000)
			}
			token, err := c.signer.Sign(ctx, "trust-mark+jwt", claims)
			if err != nil {
				t.Fatal(err)
			}
			j, err := c.signer.PublicJWK(ctx)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := json.Marshal(j)
			var key jose.JSONWebKey
			if err := key.UnmarshalJSON(raw); err != nil {
				t.Fatalf("go-jose cannot read the public JWK %s: %v", raw, err)
			}
			pub, ok := key.Key.(*ecdsa.PublicKey)
			if !ok {
				t.Fatalf("public JWK holds a %T", key.Key)
			}
			got := goJoseVerify(t, token, pub, j["kid"].(string), "trust-mark+jwt")
			if got["sub"] != claims["sub"] {
				t.Errorf("claims %v", got)
			}
			other, _ := newTestLocal(t)
			if jws, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256}); err != nil {
				t.Fatal(err)
			} else if _, err := jws.Verify(other.PublicKey()); err == nil {
				t.Error("the token verifies with another key")
			}
		})
	}
}
