package signing

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"

	"github.com/go-jose/go-jose/v4"

	"github.com/inmor/inmor-serverless/shared/jwk"
)

// Local signs with an EC P-256 private key held in memory, read from a
// private JWK. It is safe for concurrent use.
type Local struct {
	priv      *ecdsa.PrivateKey
	kid       string
	publicJWK map[string]any
}

var _ Signer = (*Local)(nil)

// NewLocal parses a private EC P-256 JWK (kty EC, crv P-256, x, y, d) and
// checks that d matches x and y. The kid of the signatures is the RFC 7638
// thumbprint of the public key; a kid member in the JWK is ignored.
func NewLocal(privateJWK []byte) (*Local, error) {
	var raw map[string]any
	if err := json.Unmarshal(privateJWK, &raw); err != nil {
		return nil, fmt.Errorf("signing: private JWK is not a JSON object: %w", err)
	}
	if raw == nil {
		return nil, errors.New("signing: private JWK is not a JSON object")
	}
	if raw["kty"] != "EC" || raw["crv"] != "P-256" {
		return nil, fmt.Errorf("signing: private JWK must be kty EC with crv P-256 for %s (got kty %v, crv %v)", Alg, raw["kty"], raw["crv"])
	}
	dValue, ok := raw["d"]
	if !ok {
		return nil, errors.New("signing: private JWK has no d: a public key cannot sign")
	}
	dString, ok := dValue.(string)
	if !ok {
		return nil, errors.New("signing: private JWK: d must be a string")
	}
	d, err := decodeBase64URL(dString)
	if err != nil {
		return nil, fmt.Errorf("signing: private JWK: d is %w", err)
	}
	if len(d) != es256Size {
		return nil, fmt.Errorf("signing: private JWK: d must be %d bytes, got %d", es256Size, len(d))
	}
	public := maps.Clone(raw)
	delete(public, "d")
	pub, err := jwk.ParsePublic(public)
	if err != nil {
		return nil, fmt.Errorf("signing: private JWK: %w", err)
	}
	priv, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d)
	if err != nil {
		return nil, fmt.Errorf("signing: private JWK: invalid d: %w", err)
	}
	if !priv.PublicKey.Equal(pub) {
		return nil, errors.New("signing: private JWK: d does not match the public key (x, y)")
	}
	return newLocal(priv)
}

func newLocal(priv *ecdsa.PrivateKey) (*Local, error) {
	pub, err := publicJWK(&priv.PublicKey)
	if err != nil {
		return nil, err
	}
	return &Local{priv: priv, kid: pub["kid"].(string), publicJWK: pub}, nil
}

// publicJWK is jwk.PublicJWK of an ES256 key, with alg and use.
func publicJWK(pub *ecdsa.PublicKey) (map[string]any, error) {
	j, err := jwk.PublicJWK(pub)
	if err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	j["alg"] = Alg
	j["use"] = "sig"
	return j, nil
}

// LoadLocalFile reads a private EC P-256 JWK from path (see NewLocal).
func LoadLocalFile(path string) (*Local, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("signing: read key file: %w", err)
	}
	l, err := NewLocal(data)
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	return l, nil
}

// GenerateLocalFile creates a new P-256 key and writes its private JWK (with
// its kid) to path with mode 0600, creating missing parent directories with
// mode 0700. It refuses to overwrite an existing file: the error then wraps
// fs.ErrExist.
func GenerateLocalFile(path string) (*Local, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("signing: create key directory: %w", err)
	}
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("signing: generate key: %w", err)
	}
	l, err := newLocal(priv)
	if err != nil {
		return nil, err
	}
	private := jose.JSONWebKey{Key: priv, KeyID: l.kid, Algorithm: Alg, Use: "sig"}
	data, err := json.MarshalIndent(private, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("signing: encode key: %w", err)
	}
	data = append(data, '\n')
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("signing: refusing to overwrite existing key file: %w", err)
		}
		return nil, fmt.Errorf("signing: create key file: %w", err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("signing: write key file: %w", err)
	}
	return l, nil
}

// Sign returns a compact ES256 JWS of claims with header
// {"alg":"ES256","kid":<thumbprint>,"typ":typ}.
func (l *Local) Sign(ctx context.Context, typ string, claims map[string]any) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	return sign(jose.JSONWebKey{Key: l.priv, KeyID: l.kid}, typ, claims)
}

// PublicJWK returns the public JWK (kty, crv, x, y, kid, alg, use) of the
// key; the map is a fresh copy the caller may modify.
func (l *Local) PublicJWK(context.Context) (map[string]any, error) {
	return maps.Clone(l.publicJWK), nil
}

// KeyID returns the kid of the signatures: the RFC 7638 thumbprint of the
// public key.
func (l *Local) KeyID() string { return l.kid }

// PublicKey returns the public key that verifies the signatures.
func (l *Local) PublicKey() *ecdsa.PublicKey { return &l.priv.PublicKey }
