package jwk

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"maps"
	"math/big"
	"strings"
	"testing"
)

// RFC 7638 section 3.1 example key and thumbprint.
const (
	rfc7638N          = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
	rfc7638E          = "AQAB"
	rfc7638Thumbprint = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
)

// RFC 8037 appendix A.2/A.3 Ed25519 public key and its thumbprint.
const (
	rfc8037X          = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
	rfc8037Thumbprint = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
)

var b64 = base64.RawURLEncoding.EncodeToString

func rsaJWK() map[string]any {
	return map[string]any{"kty": "RSA", "n": rfc7638N, "e": rfc7638E, "alg": "RS256", "kid": "2011-04-29"}
}

func ecJWK(t *testing.T, curve elliptic.Curve, name string) map[string]any {
	t.Helper()
	k, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	point, err := k.PublicKey.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	size := (len(point) - 1) / 2
	return map[string]any{"kty": "EC", "crv": name, "x": b64(point[1 : 1+size]), "y": b64(point[1+size:]), "use": "sig"}
}

func okpJWK() map[string]any {
	return map[string]any{"kty": "OKP", "crv": "Ed25519", "x": rfc8037X, "key_ops": []any{"verify"}}
}

// with returns a copy of m with the given members set (nil value deletes).
func with(m map[string]any, kv ...any) map[string]any {
	out := maps.Clone(m)
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
		} else {
			out[kv[i].(string)] = kv[i+1]
		}
	}
	return out
}

func TestParsePublicValid(t *testing.T) {
	tests := []struct {
		name string
		key  map[string]any
		want string // Go type
	}{
		{"RSA", rsaJWK(), "*rsa.PublicKey"},
		{"EC P-256", ecJWK(t, elliptic.P256(), "P-256"), "*ecdsa.PublicKey"},
		{"EC P-384", ecJWK(t, elliptic.P384(), "P-384"), "*ecdsa.PublicKey"},
		{"EC P-521", ecJWK(t, elliptic.P521(), "P-521"), "*ecdsa.PublicKey"},
		{"OKP Ed25519", okpJWK(), "ed25519.PublicKey"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pub, err := ParsePublic(tt.key)
			if err != nil {
				t.Fatalf("ParsePublic: %v", err)
			}
			if got := typeName(pub); got != tt.want {
				t.Fatalf("type = %s, want %s", got, tt.want)
			}
			// The parsed key encodes back to the same members.
			back, err := PublicJWK(pub)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range []string{"kty", "crv", "x", "y", "n", "e"} {
				if back[m] != tt.key[m] {
					t.Errorf("%s = %v, want %v", m, back[m], tt.key[m])
				}
			}
		})
	}
}

func typeName(v any) string {
	switch v.(type) {
	case *rsa.PublicKey:
		return "*rsa.PublicKey"
	case *ecdsa.PublicKey:
		return "*ecdsa.PublicKey"
	case ed25519.PublicKey:
		return "ed25519.PublicKey"
	}
	return "other"
}

func TestParsePublicPrivateMembers(t *testing.T) {
	for _, member := range []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"} {
		t.Run(member, func(t *testing.T) {
			for _, base := range []map[string]any{rsaJWK(), okpJWK(), ecJWK(t, elliptic.P256(), "P-256")} {
				_, err := ParsePublic(with(base, member, "AQAB"))
				if !errors.Is(err, ErrPrivateKey) {
					t.Fatalf("%s key with %s: err = %v, want ErrPrivateKey", base["kty"], member, err)
				}
				if !strings.Contains(err.Error(), "("+member+")") {
					t.Errorf("error %q does not name %s", err, member)
				}
			}
		})
	}
	_, err := ParsePublic(with(rsaJWK(), "d", "AQAB", "p", "AQAB", "qi", "AQAB"))
	if err == nil || err.Error() != "private key members are not allowed (d, p, qi)" {
		t.Errorf("several members: err = %v", err)
	}
}

func TestParsePublicInvalid(t *testing.T) {
	ec := ecJWK(t, elliptic.P256(), "P-256")
	// Flip the last bit of y: almost certainly not on the curve.
	y, _ := base64.RawURLEncoding.DecodeString(ec["y"].(string))
	y[len(y)-1] ^= 1
	offCurve := with(ec, "y", b64(y))
	nBytes, _ := base64.RawURLEncoding.DecodeString(rfc7638N)
	xBytes, _ := base64.RawURLEncoding.DecodeString(rfc8037X)

	tests := []struct {
		name string
		key  map[string]any
		want string // substring of the error
	}{
		{"nil", nil, "key must be an object"},
		{"missing kty", with(rsaJWK(), "kty", nil), "kty is missing"},
		{"kty not string", with(rsaJWK(), "kty", 1.0), "kty must be a string"},
		{"unknown kty", with(rsaJWK(), "kty", "oct"), `kty "oct" is not supported`},
		{"lowercase kty", with(rsaJWK(), "kty", "rsa"), `kty "rsa" is not supported`},
		{"kid not string", with(rsaJWK(), "kid", 7.0), "kid must be a string"},
		{"alg not string", with(rsaJWK(), "alg", true), "alg must be a string"},
		{"use not string", with(rsaJWK(), "use", []any{"sig"}), "use must be a string"},
		{"key_ops not array", with(rsaJWK(), "key_ops", "verify"), "key_ops must be an array of strings"},
		{"key_ops element", with(rsaJWK(), "key_ops", []any{"verify", 1.0}), "key_ops[1] must be a string"},
		{"RSA missing n", with(rsaJWK(), "n", nil), "n is missing"},
		{"RSA missing e", with(rsaJWK(), "e", nil), "e is missing"},
		{"RSA n not string", with(rsaJWK(), "n", 12345.0), "n must be a string"},
		{"RSA empty n", with(rsaJWK(), "n", ""), "n must not be empty"},
		{"RSA padded n", with(rsaJWK(), "n", base64.URLEncoding.EncodeToString(nBytes)), "n must be base64url without padding"},
		{"RSA std base64", with(rsaJWK(), "n", strings.ReplaceAll(strings.ReplaceAll(rfc7638N, "-", "+"), "_", "/")), "n is not valid base64url"},
		{"RSA newline", with(rsaJWK(), "n", rfc7638N[:40]+"\n"+rfc7638N[40:]), "n is not valid base64url"},
		{"RSA bad char", with(rsaJWK(), "n", "0vx7ag*ebGcQ"), "n is not valid base64url (bad input at offset 6)"},
		{"RSA short", with(rsaJWK(), "n", b64(nBytes[:128])), "RSA modulus n is 1024 bits, at least 2048 are required"},
		{"RSA even n", with(rsaJWK(), "n", b64(append(append([]byte{}, nBytes[:255]...), 0x02))), "RSA modulus n must be odd"},
		{"RSA e=1", with(rsaJWK(), "e", "AQ"), "RSA exponent e"},
		{"RSA e even", with(rsaJWK(), "e", "AQAA"), "RSA exponent e"},
		{"RSA e huge", with(rsaJWK(), "e", "AQAAAAAB"), "RSA exponent e"},
		{"EC missing crv", with(ec, "crv", nil), "crv is missing"},
		{"EC unknown crv", with(ec, "crv", "secp256k1"), `EC crv "secp256k1" is not supported`},
		{"EC missing x", with(ec, "x", nil), "x is missing"},
		{"EC missing y", with(ec, "y", nil), "y is missing"},
		{"EC short x", with(ec, "x", b64(make([]byte, 31))), "x must be 32 bytes for P-256, got 31"},
		{"EC P-256 coordinates as P-384", with(ec, "crv", "P-384"), "x must be 48 bytes for P-384, got 32"},
		{"EC padded y", with(ec, "y", ec["y"].(string)+"="), "y must be base64url without padding"},
		{"EC off curve", offCurve, "point (x, y) is not on curve P-256"},
		{"EC zero point", with(ec, "x", b64(make([]byte, 32)), "y", b64(make([]byte, 32))), "not on curve"},
		{"OKP missing x", with(okpJWK(), "x", nil), "x is missing"},
		{"OKP short x", with(okpJWK(), "x", b64(xBytes[:31])), "x must be 32 bytes for Ed25519, got 31"},
		{"OKP long x", with(okpJWK(), "x", b64(append(append([]byte{}, xBytes...), 0))), "x must be 32 bytes for Ed25519, got 33"},
		{"OKP X25519", with(okpJWK(), "crv", "X25519"), `OKP crv "X25519" is not supported`},
		{"OKP missing crv", with(okpJWK(), "crv", nil), "crv is missing"},
		{"OKP trailing bits", with(okpJWK(), "x", rfc8037X[:len(rfc8037X)-1]+"p"), "x is not valid base64url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pub, err := ParsePublic(tt.key)
			if err == nil {
				t.Fatalf("ParsePublic accepted the key: %T", pub)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not contain %q", err, tt.want)
			}
			if errors.Is(err, ErrPrivateKey) {
				t.Fatalf("error %q wraps ErrPrivateKey", err)
			}
		})
	}
}

func TestValidateSet(t *testing.T) {
	decode := func(s string) any {
		var v any
		if err := json.Unmarshal([]byte(s), &v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	rsaKey, _ := json.Marshal(rsaJWK())
	ecKey, _ := json.Marshal(ecJWK(t, elliptic.P384(), "P-384"))
	okpKey, _ := json.Marshal(okpJWK())
	privateKey, _ := json.Marshal(with(okpJWK(), "d", "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"))

	tests := []struct {
		name    string
		jwks    any
		want    string // "" means valid; else the exact error
		private bool
	}{
		{"three keys", decode(`{"keys":[` + string(rsaKey) + `,` + string(ecKey) + `,` + string(okpKey) + `]}`), "", false},
		{"extra members", decode(`{"keys":[` + string(okpKey) + `],"other":1}`), "", false},
		{"private second", decode(`{"keys":[` + string(rsaKey) + `,` + string(privateKey) + `]}`), "keys[1]: private key members are not allowed (d)", true},
		{"bad key", decode(`{"keys":[{"kty":"EC","crv":"P-256"}]}`), "keys[0]: x is missing", false},
		{"unknown kty", decode(`{"keys":[` + string(okpKey) + `,{"kty":"oct","kid":"a"}]}`), `keys[1]: kty "oct" is not supported (want RSA, EC or OKP)`, false},
		{"non-object key", decode(`{"keys":[` + string(okpKey) + `,"AQAB"]}`), "keys[1]: key must be an object", false},
		{"null key", decode(`{"keys":[null]}`), "keys[0]: key must be an object", false},
		{"empty keys", decode(`{"keys":[]}`), "jwks: keys must not be empty", false},
		{"keys not array", decode(`{"keys":{"kty":"OKP"}}`), "jwks: keys must be an array", false},
		{"keys null", decode(`{"keys":null}`), "jwks: keys must be an array", false},
		{"keys missing", decode(`{}`), "jwks: keys is missing", false},
		{"jwks array", decode(`[` + string(okpKey) + `]`), "jwks must be an object with a keys array", false},
		{"jwks string", "keys", "jwks must be an object with a keys array", false},
		{"jwks nil", nil, "jwks must be an object with a keys array", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateSet(tt.jwks)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("ValidateSet: %v", err)
				}
				return
			}
			if err == nil || err.Error() != tt.want {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if errors.Is(err, ErrPrivateKey) != tt.private {
				t.Fatalf("errors.Is(err, ErrPrivateKey) = %v, want %v", !tt.private, tt.private)
			}
		})
	}
}

func TestThumbprint(t *testing.T) {
	rsaPub, err := ParsePublic(rsaJWK())
	if err != nil {
		t.Fatal(err)
	}
	okpPub, err := ParsePublic(okpJWK())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		pub  any
		want string
	}{
		{"RFC 7638 3.1 RSA", rsaPub, rfc7638Thumbprint},
		{"RFC 8037 A.3 Ed25519", okpPub, rfc8037Thumbprint},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Thumbprint(tt.pub)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("Thumbprint = %s, want %s", got, tt.want)
			}
		})
	}
}

// TestThumbprintECPadding checks that EC coordinates are left-padded to the
// curve size: a key whose x has a leading zero byte must hash 32-byte x.
func TestThumbprintECPadding(t *testing.T) {
	for i := 0; i < 50000; i++ {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		point, _ := k.PublicKey.Bytes()
		if point[1] != 0 {
			continue
		}
		j, err := PublicJWK(&k.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		x, _ := base64.RawURLEncoding.DecodeString(j["x"].(string))
		if len(x) != 32 || x[0] != 0 {
			t.Fatalf("x = %x, want 32 bytes with a leading zero", x)
		}
		if _, err := ParsePublic(j); err != nil {
			t.Fatalf("ParsePublic of a padded key: %v", err)
		}
		return
	}
	t.Fatal("no key with a leading zero x byte in 50000 tries")
}

func TestThumbprintUnsupported(t *testing.T) {
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	tests := []struct {
		name string
		pub  any
	}{
		{"P-224", &p224.PublicKey},
		{"private key", p224},
		{"short ed25519", ed25519.PublicKey(make([]byte, 31))},
		{"nil rsa", (*rsa.PublicKey)(nil)},
		{"nil", nil},
		{"string", "key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := Thumbprint(tt.pub); err == nil {
				t.Fatalf("Thumbprint = %s, want an error", got)
			}
			if _, err := PublicJWK(tt.pub); err == nil {
				t.Fatal("PublicJWK succeeded, want an error")
			}
		})
	}
}

func TestPublicJWKRoundTrip(t *testing.T) {
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ec384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	ec521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	rsaPub, _ := ParsePublic(rsaJWK())
	tests := []struct {
		name string
		pub  any
		kty  string
	}{
		{"P-256", &ecKey.PublicKey, "EC"},
		{"P-384", &ec384.PublicKey, "EC"},
		{"P-521", &ec521.PublicKey, "EC"},
		{"Ed25519", edPub, "OKP"},
		{"RSA", rsaPub, "RSA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j, err := PublicJWK(tt.pub)
			if err != nil {
				t.Fatal(err)
			}
			if j["kty"] != tt.kty {
				t.Fatalf("kty = %v, want %s", j["kty"], tt.kty)
			}
			// Through JSON, as a client would send it.
			data, err := json.Marshal(j)
			if err != nil {
				t.Fatal(err)
			}
			var decoded map[string]any
			if err := json.Unmarshal(data, &decoded); err != nil {
				t.Fatal(err)
			}
			back, err := ParsePublic(decoded)
			if err != nil {
				t.Fatalf("ParsePublic(%s): %v", data, err)
			}
			if !back.(interface{ Equal(crypto.PublicKey) bool }).Equal(tt.pub) {
				t.Fatalf("round trip changed the key: %s", data)
			}
			kid, _ := Thumbprint(back)
			if j["kid"] != kid {
				t.Fatalf("kid = %v, want %s", j["kid"], kid)
			}
		})
	}
}

// TestParsePublicRSASizes: the project's limits on the RSA modulus are the
// ones that apply (go-jose alone refuses moduli over 4096 bits).
func TestParsePublicRSASizes(t *testing.T) {
	modulus := func(bits int) string {
		n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), uint(bits-1)))
		if err != nil {
			t.Fatal(err)
		}
		n.SetBit(n, bits-1, 1) // exactly bits long
		n.SetBit(n, 0, 1)      // odd
		return b64(n.Bytes())
	}
	for _, bits := range []int{2048, 4096, 4097, 8192, 16384} {
		key := with(rsaJWK(), "n", modulus(bits))
		pub, err := ParsePublic(key)
		if err != nil {
			t.Fatalf("%d bits: %v", bits, err)
		}
		if got := pub.(*rsa.PublicKey).N.BitLen(); got != bits {
			t.Fatalf("%d bits: parsed a %d-bit modulus", bits, got)
		}
		back, err := PublicJWK(pub)
		if err != nil || back["n"] != key["n"] || back["e"] != key["e"] {
			t.Fatalf("%d bits: PublicJWK = %v, %v", bits, back, err)
		}
		if err := ValidateSet(map[string]any{"keys": []any{key}}); err != nil {
			t.Fatalf("%d bits: ValidateSet: %v", bits, err)
		}
	}
	_, err := ParsePublic(with(rsaJWK(), "n", modulus(16385)))
	if err == nil || err.Error() != "RSA modulus n is 16385 bits, at most 16384 are allowed" {
		t.Fatalf("16385 bits: err = %v", err)
	}
}

// TestParsePublicEd25519LowOrder: go-jose refuses Ed25519 keys that are
// points of small order (here the identity, y = 1), and so does ParsePublic.
func TestParsePublicEd25519LowOrder(t *testing.T) {
	identity := make([]byte, ed25519.PublicKeySize)
	identity[0] = 1
	_, err := ParsePublic(with(okpJWK(), "x", b64(identity)))
	if err == nil || !strings.Contains(err.Error(), "invalid OKP key") {
		t.Fatalf("err = %v, want an invalid OKP key", err)
	}
}
