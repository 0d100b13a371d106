package signing

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kms/types"
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

// TestTokensVerifyWithGoJose: the JWTs of every signer (the local key; KMS
// as an OpaqueSigner: a fake KMS signing RAW and DIGEST messages, and moto)
// verify with go-jose against the signer's public JWK, which is the signing
// key, with the thumbprint as kid and the typ asked for, for each typ the
// trust anchor signs; a token of one key does not verify with another.
func TestTokensVerifyWithGoJose(t *testing.T) {
	ctx := context.Background()
	local, _ := newTestLocal(t)
	fake, fakeLarge := newFakeKMS(t), newFakeKMS(t)
	client := newKMSClient(t)
	motoKey := createKey(t, client, types.KeySpecEccNistP256, types.KeyUsageTypeSignVerify)
	for _, c := range []struct {
		name   string
		signer Signer
		pub    *ecdsa.PublicKey
		large  bool // over KMS's 4096-byte RAW limit: KMS signs a DIGEST
	}{
		{"local", local, local.PublicKey(), false},
		{"local, large", local, local.PublicKey(), true},
		{"fake KMS", NewKMS(fake, "alias/test"), &fake.key.PublicKey, false},
		{"fake KMS, digest-signed large token", NewKMS(fakeLarge, "alias/test"), &fakeLarge.key.PublicKey, true},
		{"moto KMS", NewKMS(client, motoKey), kmsPublicKey(t, client, motoKey), false},
	} {
		for _, typ := range []string{"trust-mark+jwt", "entity-statement+jwt"} {
			t.Run(c.name+"/"+typ, func(t *testing.T) {
				claims := trustMarkClaims(1_767_225_600)
				if c.large {
					claims["padding"] = strings.Repeat("x", 5000)
				}
				token, err := c.signer.Sign(ctx, typ, claims)
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
				if !ok || !pub.Equal(c.pub) {
					t.Fatalf("public JWK %s is not the signing key", raw)
				}
				got := goJoseVerify(t, token, pub, j["kid"].(string), typ)
				if got["sub"] != claims["sub"] || got["iat"] != float64(1_767_225_600) || (c.large && got["padding"] != claims["padding"]) {
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
	for f, want := range map[*fakeKMS]types.MessageType{fake: types.MessageTypeRaw, fakeLarge: types.MessageTypeDigest} {
		if len(f.requests) != 2 || f.requests[0].MessageType != want || f.requests[1].MessageType != want {
			t.Errorf("fake KMS got %d Sign requests, want 2 of MessageType %s", len(f.requests), want)
		}
	}
}
