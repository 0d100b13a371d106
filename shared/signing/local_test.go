package signing

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inmor/inmor-serverless/shared/jwk"
)

// privateJWK returns the private JWK of key as decoded JSON.
func privateJWK(t *testing.T, key *ecdsa.PrivateKey) map[string]any {
	t.Helper()
	pub, err := jwk.PublicJWK(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	d, err := key.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	pub["d"] = base64.RawURLEncoding.EncodeToString(d)
	return pub
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newTestLocal(t testing.TB) (*Local, *ecdsa.PrivateKey) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	l, err := newLocal(key)
	if err != nil {
		t.Fatal(err)
	}
	return l, key
}

func trustMarkClaims(now int64) map[string]any {
	return map[string]any{
		"iss":             "https://ta.example.org",
		"sub":             "https://rp.example.com",
		"iat":             now,
		"exp":             now + 24*3600,
		"trust_mark_type": "https://ta.example.org/trust-marks/member",
		"ref":             "https://ta.example.org/policy",
		"logo_uri":        "https://ta.example.org/logo.svg",
	}
}

func TestLocalSignVerify(t *testing.T) {
	ctx := context.Background()
	l, key := newTestLocal(t)
	thumbprint, err := jwk.Thumbprint(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if l.KeyID() != thumbprint {
		t.Fatalf("KeyID = %s, want %s", l.KeyID(), thumbprint)
	}
	const now = int64(1_767_225_600) // beyond float32, exact in float64
	tests := []struct {
		name   string
		typ    string
		claims map[string]any
	}{
		{"trust mark", "trust-mark+jwt", trustMarkClaims(now)},
		{"entity statement", "entity-statement+jwt", map[string]any{
			"iss": "https://ta.example.org", "sub": "https://op.example.org", "iat": now, "exp": now + 8760*3600,
			"metadata": map[string]any{"openid_provider": map[string]any{"issuer": "https://op.example.org"}},
			"jwks":     map[string]any{"keys": []any{map[string]any{"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}}},
		}},
		{"escaped typ and claims", `odd"typ<>`, map[string]any{"note": "a<b & \"c\"\n", "big": int64(1) << 53}},
		{"empty claims", "JWT", map[string]any{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token, err := l.Sign(ctx, tt.typ, tt.claims)
			if err != nil {
				t.Fatal(err)
			}
			parts := strings.Split(token, ".")
			if len(parts) != 3 {
				t.Fatalf("token has %d parts", len(parts))
			}
			sig, err := base64.RawURLEncoding.Strict().DecodeString(parts[2])
			if err != nil || len(sig) != 64 {
				t.Fatalf("signature: %d bytes, err %v; want 64", len(sig), err)
			}
			rawHeader, _ := base64.RawURLEncoding.DecodeString(parts[0])
			wantHeader := `{"alg":"ES256","kid":"` + thumbprint + `","typ":` + string(mustJSON(t, tt.typ)) + `}`
			if string(rawHeader) != wantHeader {
				t.Fatalf("header = %s, want %s", rawHeader, wantHeader)
			}
			header, claims, err := Verify(token, &key.PublicKey)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if header["alg"] != "ES256" || header["typ"] != tt.typ || header["kid"] != thumbprint || len(header) != 3 {
				t.Fatalf("header = %v", header)
			}
			// Claims come back equal, with integers as exact json.Numbers.
			want := map[string]any{}
			for k, v := range tt.claims {
				if n, ok := v.(int64); ok {
					v = json.Number(strings.TrimSpace(string(mustJSON(t, n))))
				}
				want[k] = v
			}
			if got, wantJSON := mustJSON(t, claims), mustJSON(t, want); string(got) != string(wantJSON) {
				t.Fatalf("claims = %s, want %s", got, wantJSON)
			}
		})
	}
}

func TestLocalIntegerClaims(t *testing.T) {
	l, key := newTestLocal(t)
	const iat = int64(1_767_225_601)
	token, err := l.Sign(context.Background(), "trust-mark+jwt", trustMarkClaims(iat))
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[1])
	if !strings.Contains(string(payload), `"iat":1767225601`) || !strings.Contains(string(payload), `"exp":1767312001`) {
		t.Fatalf("payload does not encode iat/exp as integers: %s", payload)
	}
	_, claims, err := Verify(token, &key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]int64{"iat": iat, "exp": iat + 24*3600} {
		n, ok := claims[name].(json.Number)
		if !ok {
			t.Fatalf("%s is %T, want json.Number", name, claims[name])
		}
		got, err := n.Int64()
		if err != nil || got != want {
			t.Fatalf("%s = %s (%v), want %d", name, n, err, want)
		}
	}
}

func TestVerifyRejects(t *testing.T) {
	ctx := context.Background()
	l, key := newTestLocal(t)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	token, err := l.Sign(ctx, "trust-mark+jwt", trustMarkClaims(1_700_000_000))
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(token, ".")
	enc := base64.RawURLEncoding.EncodeToString

	// A payload changed by one claim, signature kept.
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	tamperedPayload := strings.Replace(string(payload), "rp.example.com", "rp.example.net", 1)
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	flipped := append([]byte{}, sig...)
	flipped[10] ^= 0x01
	flippedS := append([]byte{}, sig...)
	flippedS[63] ^= 0x80
	// A validly signed token with another alg in the header.
	noneHeader := enc([]byte(`{"alg":"none","kid":"x"}`))
	// A validly signed token that is not a JSON object.
	signedArray := func(payload string) string {
		input := []byte(parts[0] + "." + enc([]byte(payload)))
		return signWith(t, key, input)
	}

	tests := []struct {
		name  string
		token string
		pub   any
		want  string
	}{
		{"tampered payload", parts[0] + "." + enc([]byte(tamperedPayload)) + "." + parts[2], &key.PublicKey, "does not verify"},
		{"tampered r", parts[0] + "." + parts[1] + "." + enc(flipped), &key.PublicKey, "does not verify"},
		{"tampered s", parts[0] + "." + parts[1] + "." + enc(flippedS), &key.PublicKey, "does not verify"},
		{"tampered header", enc([]byte(`{"alg":"ES256","kid":"other","typ":"trust-mark+jwt"}`)) + "." + parts[1] + "." + parts[2], &key.PublicKey, "does not verify"},
		{"other key", token, &other.PublicKey, "does not verify"},
		{"P-384 key", token, &p384.PublicKey, "P-256"},
		{"private key", token, key, "P-256"},
		{"truncated signature", parts[0] + "." + parts[1] + "." + enc(sig[:63]), &key.PublicKey, "63 bytes"},
		{"DER signature", parts[0] + "." + parts[1] + "." + enc(append([]byte{0x30, 0x44}, sig...)), &key.PublicKey, "66 bytes"},
		{"zero signature", parts[0] + "." + parts[1] + "." + enc(make([]byte, 64)), &key.PublicKey, "does not verify"},
		{"padded signature", token + "=", &key.PublicKey, "base64url"},
		{"two parts", parts[0] + "." + parts[1], &key.PublicKey, "three"},
		{"four parts", token + ".x", &key.PublicKey, "three"},
		{"alg none", noneHeader + "." + parts[1] + "." + parts[2], &key.PublicKey, "alg"},
		{"bad header JSON", enc([]byte(`{"alg":`)) + "." + parts[1] + "." + parts[2], &key.PublicKey, "header"},
		{"claims array", signedArray(`["iss"]`), &key.PublicKey, "claims"},
		{"claims trailing", signedArray(`{"iss":"a"} {}`), &key.PublicKey, "trailing"},
		{"claims null", signedArray(`null`), &key.PublicKey, "not a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Verify(tt.token, tt.pub)
			if err == nil {
				t.Fatal("Verify accepted the token")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not contain %q", err, tt.want)
			}
		})
	}
	// The untouched token still verifies.
	if _, _, err := Verify(token, &key.PublicKey); err != nil {
		t.Fatalf("original token: %v", err)
	}
}

// signWith signs any JWS signing input with key (ES256, as RFC 7518
// section 3.4 says) and returns the compact JWS: tokens go-jose would not
// make, for Verify to refuse.
func signWith(t *testing.T, key *ecdsa.PrivateKey, input []byte) string {
	t.Helper()
	digest := sha256.Sum256(input)
	r, s, err := ecdsa.Sign(rand.Reader, key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 2*es256Size)
	r.FillBytes(sig[:es256Size])
	s.FillBytes(sig[es256Size:])
	return string(input) + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func TestSignRejectsNilClaims(t *testing.T) {
	l, _ := newTestLocal(t)
	if _, err := l.Sign(context.Background(), "JWT", nil); err == nil {
		t.Fatal("Sign(nil claims) succeeded")
	}
	if _, err := l.Sign(context.Background(), "JWT", map[string]any{"f": func() {}}); err == nil {
		t.Fatal("Sign of unencodable claims succeeded")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.Sign(ctx, "JWT", map[string]any{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sign with a cancelled context: %v", err)
	}
}

func TestNewLocal(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	good := privateJWK(t, key)
	with := func(kv ...any) []byte {
		m := map[string]any{}
		for k, v := range good {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(m, kv[i].(string))
			} else {
				m[kv[i].(string)] = kv[i+1]
			}
		}
		return mustJSON(t, m)
	}
	otherD := privateJWK(t, other)["d"]
	orderD := base64.RawURLEncoding.EncodeToString(elliptic.P256().Params().N.Bytes())

	tests := []struct {
		name string
		data []byte
		want string // "" means valid
	}{
		{"valid", mustJSON(t, good), ""},
		{"valid with other kid", with("kid", "my-key"), ""},
		{"public only", with("d", nil), "no d"},
		{"d of another key", with("d", otherD), "d does not match"},
		{"d not a string", with("d", 5), "d must be a string"},
		{"d padded", with("d", good["d"].(string)+"="), "d is not unpadded base64url"},
		{"d short", with("d", base64.RawURLEncoding.EncodeToString(make([]byte, 31))), "d must be 32 bytes"},
		{"d zero", with("d", base64.RawURLEncoding.EncodeToString(make([]byte, 32))), "invalid d"},
		{"d = order", with("d", orderD), "invalid d"},
		{"P-384 key", mustJSON(t, privateJWK(t, p384)), "crv P-256"},
		{"RSA", with("kty", "RSA"), "kty EC"},
		{"extra private member", with("p", "AQAB"), "private key members"},
		{"x off curve", with("x", base64.RawURLEncoding.EncodeToString(make([]byte, 32))), "not on curve"},
		{"not JSON", []byte("{"), "not a JSON object"},
		{"JSON array", []byte("[]"), "not a JSON object"},
		{"JSON null", []byte("null"), "not a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := NewLocal(tt.data)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("NewLocal: %v", err)
				}
				want, _ := jwk.Thumbprint(&key.PublicKey)
				if l.KeyID() != want {
					t.Fatalf("kid = %s, want %s", l.KeyID(), want)
				}
				return
			}
			if err == nil {
				t.Fatal("NewLocal accepted the key")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestGenerateLocalFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "keys", "nested", "signing.jwk")
	l, err := GenerateLocalFile(path)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := info.Mode().Perm(); mode != 0o600 {
		t.Fatalf("key file mode = %o, want 600", mode)
	}
	for _, d := range []string{filepath.Join(dir, "keys"), filepath.Join(dir, "keys", "nested")} {
		info, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if mode := info.Mode().Perm(); mode != 0o700 {
			t.Fatalf("%s mode = %o, want 700", d, mode)
		}
	}
	original, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	// The file loads back as the same key.
	loaded, err := LoadLocalFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if loaded.KeyID() != l.KeyID() || !loaded.PublicKey().Equal(l.PublicKey()) {
		t.Fatal("loaded key differs from the generated one")
	}
	token, err := loaded.Sign(ctx, "trust-mark+jwt", trustMarkClaims(1_700_000_000))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := Verify(token, l.PublicKey()); err != nil {
		t.Fatalf("token by the loaded key does not verify with the generated key: %v", err)
	}
	pub, err := l.PublicJWK(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, hasD := pub["d"]; hasD || pub["kid"] != l.KeyID() || pub["alg"] != "ES256" {
		t.Fatalf("PublicJWK = %v", pub)
	}
	if _, err := jwk.ParsePublic(pub); err != nil {
		t.Fatalf("PublicJWK does not parse: %v", err)
	}
	pub["kid"] = "changed"
	if again, _ := l.PublicJWK(ctx); again["kid"] != l.KeyID() {
		t.Fatal("PublicJWK returned the signer's own map")
	}

	// No overwrite.
	if _, err := GenerateLocalFile(path); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second GenerateLocalFile: err = %v, want fs.ErrExist", err)
	}
	after, _ := os.ReadFile(path)
	if string(after) != string(original) {
		t.Fatal("the existing key file was modified")
	}
	if _, err := LoadLocalFile(filepath.Join(dir, "missing.jwk")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("LoadLocalFile(missing): %v", err)
	}
}
