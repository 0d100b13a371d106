// Package jwk validates and encodes JSON Web Keys (RFC 7517, RFC 7518) and
// computes their RFC 7638 thumbprints, with go-jose (v4) doing the key
// decoding, encoding and thumbprints. On top it keeps the project's rules:
// public keys only (private members refused), RSA of 2048 to 16384 bits,
// EC P-256/P-384/P-521 and Ed25519 only, strict base64url, and precise
// messages. It checks the public keys that subordinates submit and names
// the trust anchor's own signing key.
package jwk

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/go-jose/go-jose/v4"
)

// ErrPrivateKey is returned (wrapped, with the offending member names) when a
// JWK that should be public carries private key members.
var ErrPrivateKey = errors.New("private key members are not allowed")

// privateMembers are the JWK members that hold private or secret key material
// (RFC 7518 sections 6.2.2, 6.3.2 and 6.4; RFC 8037 section 2).
var privateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

const (
	minRSABits = 2048
	// maxRSABits bounds the work a submitted key can cause when it is used.
	maxRSABits = 16384
)

// go-jose refuses RSA moduli over jose.MaxRSAModulusBits (4096 by default)
// when it decodes a JWK; the project's limit is maxRSABits, checked before
// go-jose sees a key, so go-jose's is raised to it. go-jose is used through
// this package, package signing and package entityconfig (which parses
// keys here) only.
func init() {
	if jose.MaxRSAModulusBits < maxRSABits {
		jose.MaxRSAModulusBits = maxRSABits
	}
}

// ecCurve describes one supported EC curve.
type ecCurve struct {
	name  string
	curve elliptic.Curve
	size  int // coordinate size in bytes
}

var ecCurves = []ecCurve{
	{"P-256", elliptic.P256(), 32},
	{"P-384", elliptic.P384(), 48},
	{"P-521", elliptic.P521(), 66},
}

// ParsePublic validates one public JWK, given as decoded JSON (as produced by
// encoding/json), and returns its key: *rsa.PublicKey for kty RSA (modulus of
// at least 2048 bits), *ecdsa.PublicKey for kty EC (P-256, P-384 or P-521, the
// point checked to be on the curve) or ed25519.PublicKey for kty OKP with crv
// Ed25519. Binary members must be base64url without padding. A key carrying
// private members fails with an error wrapping ErrPrivateKey. The optional
// members use, key_ops, alg and kid are checked for their JSON type only.
func ParsePublic(raw map[string]any) (crypto.PublicKey, error) {
	if raw == nil {
		return nil, errors.New("key must be an object")
	}
	var private []string
	for _, name := range privateMembers {
		if _, ok := raw[name]; ok {
			private = append(private, name)
		}
	}
	if len(private) > 0 {
		return nil, fmt.Errorf("%w (%s)", ErrPrivateKey, strings.Join(private, ", "))
	}
	kty, err := stringMember(raw, "kty")
	if err != nil {
		return nil, err
	}
	for _, name := range []string{"use", "alg", "kid"} {
		if v, ok := raw[name]; ok {
			if _, isString := v.(string); !isString {
				return nil, fmt.Errorf("%s must be a string", name)
			}
		}
	}
	if v, ok := raw["key_ops"]; ok {
		ops, isArray := v.([]any)
		if !isArray {
			return nil, errors.New("key_ops must be an array of strings")
		}
		for i, op := range ops {
			if _, isString := op.(string); !isString {
				return nil, fmt.Errorf("key_ops[%d] must be a string", i)
			}
		}
	}
	switch kty {
	case "RSA":
		return parseRSA(raw)
	case "EC":
		return parseEC(raw)
	case "OKP":
		return parseOKP(raw)
	default:
		return nil, fmt.Errorf("kty %q is not supported (want RSA, EC or OKP)", kty)
	}
}

func parseRSA(raw map[string]any) (crypto.PublicKey, error) {
	nb, err := bytesMember(raw, "n")
	if err != nil {
		return nil, err
	}
	eb, err := bytesMember(raw, "e")
	if err != nil {
		return nil, err
	}
	n := new(big.Int).SetBytes(nb)
	if bits := n.BitLen(); bits < minRSABits {
		return nil, fmt.Errorf("RSA modulus n is %d bits, at least %d are required", bits, minRSABits)
	} else if bits > maxRSABits {
		return nil, fmt.Errorf("RSA modulus n is %d bits, at most %d are allowed", bits, maxRSABits)
	}
	if n.Bit(0) == 0 {
		return nil, errors.New("RSA modulus n must be odd")
	}
	e := new(big.Int).SetBytes(eb)
	if e.BitLen() > 31 || e.Int64() < 3 || e.Bit(0) == 0 {
		return nil, errors.New("RSA exponent e must be an odd number between 3 and 2^31-1")
	}
	return decode(raw)
}

func parseEC(raw map[string]any) (crypto.PublicKey, error) {
	crv, err := stringMember(raw, "crv")
	if err != nil {
		return nil, err
	}
	var c *ecCurve
	for i := range ecCurves {
		if ecCurves[i].name == crv {
			c = &ecCurves[i]
		}
	}
	if c == nil {
		return nil, fmt.Errorf("EC crv %q is not supported (want P-256, P-384 or P-521)", crv)
	}
	point := make([]byte, 1, 1+2*c.size)
	point[0] = 4 // uncompressed
	for _, name := range []string{"x", "y"} {
		b, err := bytesMember(raw, name)
		if err != nil {
			return nil, err
		}
		if len(b) != c.size {
			return nil, fmt.Errorf("%s must be %d bytes for %s, got %d", name, c.size, c.name, len(b))
		}
		point = append(point, b...)
	}
	if _, err := ecdsa.ParseUncompressedPublicKey(c.curve, point); err != nil {
		return nil, fmt.Errorf("point (x, y) is not on curve %s", c.name)
	}
	return decode(raw)
}

func parseOKP(raw map[string]any) (crypto.PublicKey, error) {
	crv, err := stringMember(raw, "crv")
	if err != nil {
		return nil, err
	}
	if crv != "Ed25519" {
		return nil, fmt.Errorf("OKP crv %q is not supported (want Ed25519)", crv)
	}
	x, err := bytesMember(raw, "x")
	if err != nil {
		return nil, err
	}
	if len(x) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("x must be %d bytes for Ed25519, got %d", ed25519.PublicKeySize, len(x))
	}
	return decode(raw)
}

// decode has go-jose decode a key whose members were checked: only the
// members that define the key are passed on.
func decode(raw map[string]any) (crypto.PublicKey, error) {
	defining := map[string]any{}
	for _, name := range []string{"kty", "crv", "x", "y", "n", "e"} {
		if v, ok := raw[name]; ok {
			defining[name] = v
		}
	}
	data, err := json.Marshal(defining)
	if err != nil {
		return nil, err
	}
	var k jose.JSONWebKey
	if err := k.UnmarshalJSON(data); err != nil {
		return nil, fmt.Errorf("invalid %s key: %w", defining["kty"], err)
	}
	if !k.Valid() || !k.IsPublic() {
		return nil, fmt.Errorf("invalid %s key", defining["kty"])
	}
	return k.Key, nil
}

// ValidateSet checks a JWK Set given as decoded JSON: an object whose "keys"
// member is a non-empty array of objects, each a valid public key for
// ParsePublic. Errors name the failing key, e.g.
// "keys[1]: private key members are not allowed (d)".
func ValidateSet(jwks any) error {
	set, ok := jwks.(map[string]any)
	if !ok {
		return errors.New("jwks must be an object with a keys array")
	}
	rawKeys, ok := set["keys"]
	if !ok {
		return errors.New("jwks: keys is missing")
	}
	keys, ok := rawKeys.([]any)
	if !ok {
		return errors.New("jwks: keys must be an array")
	}
	if len(keys) == 0 {
		return errors.New("jwks: keys must not be empty")
	}
	for i, k := range keys {
		obj, ok := k.(map[string]any)
		if !ok {
			return fmt.Errorf("keys[%d]: key must be an object", i)
		}
		if _, err := ParsePublic(obj); err != nil {
			return fmt.Errorf("keys[%d]: %w", i, err)
		}
	}
	return nil
}

// Thumbprint returns the RFC 7638 JWK thumbprint of a public key: the SHA-256
// of its required members in lexicographic order, base64url without padding.
// pub must be an *ecdsa.PublicKey (P-256, P-384 or P-521), an *rsa.PublicKey
// or an ed25519.PublicKey.
func Thumbprint(pub crypto.PublicKey) (string, error) {
	if err := checkPublic(pub); err != nil {
		return "", err
	}
	sum, err := (&jose.JSONWebKey{Key: pub}).Thumbprint(crypto.SHA256)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(sum), nil
}

// PublicJWK returns the public JWK of pub (kty with crv, x, y; n, e; or crv,
// x) with kid set to its Thumbprint. It accepts the key types Thumbprint does.
func PublicJWK(pub crypto.PublicKey) (map[string]any, error) {
	kid, err := Thumbprint(pub)
	if err != nil {
		return nil, err
	}
	data, err := json.Marshal(jose.JSONWebKey{Key: pub, KeyID: kid})
	if err != nil {
		return nil, err
	}
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// checkPublic accepts only the public keys the project signs or verifies
// with (go-jose would also take private keys and other curves).
func checkPublic(pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k == nil {
			return errors.New("nil EC public key")
		}
		for _, c := range ecCurves {
			if c.curve == k.Curve {
				if _, err := k.Bytes(); err != nil {
					return fmt.Errorf("invalid EC public key: %w", err)
				}
				return nil
			}
		}
		return errors.New("unsupported EC curve (want P-256, P-384 or P-521)")
	case *rsa.PublicKey:
		if k == nil || k.N == nil || k.N.Sign() <= 0 || k.E <= 0 {
			return errors.New("invalid RSA public key")
		}
		return nil
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return fmt.Errorf("invalid Ed25519 public key length %d", len(k))
		}
		return nil
	default:
		return fmt.Errorf("unsupported public key type %T", pub)
	}
}

// stringMember returns the non-empty string member name of raw.
func stringMember(raw map[string]any, name string) (string, error) {
	v, ok := raw[name]
	if !ok {
		return "", fmt.Errorf("%s is missing", name)
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%s must be a string", name)
	}
	if s == "" {
		return "", fmt.Errorf("%s must not be empty", name)
	}
	return s, nil
}

// bytesMember decodes the base64url (unpadded) member name of raw.
func bytesMember(raw map[string]any, name string) ([]byte, error) {
	s, err := stringMember(raw, name)
	if err != nil {
		return nil, err
	}
	b, err := decodeBase64URL(s)
	if err != nil {
		return nil, fmt.Errorf("%s %v", name, err)
	}
	return b, nil
}

// decodeBase64URL decodes unpadded base64url strictly: no padding, no
// whitespace (which encoding/base64 would otherwise skip) and no non-zero
// trailing bits.
func decodeBase64URL(s string) ([]byte, error) {
	if strings.ContainsRune(s, '=') {
		return nil, errors.New("must be base64url without padding")
	}
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		return nil, fmt.Errorf("is not valid base64url (bad character at offset %d)", i)
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		var corrupt base64.CorruptInputError
		if errors.As(err, &corrupt) {
			return nil, fmt.Errorf("is not valid base64url (bad input at offset %d)", int64(corrupt))
		}
		return nil, errors.New("is not valid base64url")
	}
	return b, nil
}
