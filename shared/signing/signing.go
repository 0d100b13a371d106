// Package signing produces the JWTs the trust anchor signs (trust marks and
// subordinate statements) as ES256 compact JWS, with the key either in a
// local private JWK file (Local) or in AWS KMS (KMS, behind go-jose's
// OpaqueSigner), and verifies them. go-jose (v4) makes and checks the JWS;
// the package adds the project's rules: ES256 only, the kid as the key's
// RFC 7638 thumbprint, the typ header, and strict parsing on verification.
package signing

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"

	"github.com/go-jose/go-jose/v4"
)

// Alg is the JWS algorithm of every signature made by this package.
const Alg = "ES256"

// es256Size is the byte size of each of r and s in an ES256 signature.
const es256Size = 32

// Signer signs JWTs. Implementations: Local (a private JWK) and KMS.
type Signer interface {
	// Sign returns a compact JWS of claims with header {"alg", "kid", "typ": typ}.
	Sign(ctx context.Context, typ string, claims map[string]any) (string, error)
	// PublicJWK is the public key (with kid) that verifies the signatures.
	PublicJWK(ctx context.Context) (map[string]any, error)
}

// Environment variables read by NewFromEnv.
const (
	// EnvKMSKeyID names the KMS key (id, ARN or alias) to sign with.
	EnvKMSKeyID = "SIGNING_KMS_KEY_ID"
	// EnvKeyFile names a file holding a private EC P-256 JWK to sign with.
	EnvKeyFile = "SIGNING_KEY_FILE"
)

// NewFromEnv returns the Signer configured by the environment: a KMS signer
// when SIGNING_KMS_KEY_ID is set (kmsClient is only called then), otherwise a
// Local signer loaded from SIGNING_KEY_FILE. With neither set it returns an
// error naming both variables. The KMS public key is fetched lazily, on the
// first Sign or PublicJWK, so ctx is only checked for cancellation here.
func NewFromEnv(ctx context.Context, getenv func(string) string, kmsClient func() (KMSAPI, error)) (Signer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if keyID := strings.TrimSpace(getenv(EnvKMSKeyID)); keyID != "" {
		if kmsClient == nil {
			return nil, fmt.Errorf("signing: %s is set but no KMS client is available", EnvKMSKeyID)
		}
		client, err := kmsClient()
		if err != nil {
			return nil, fmt.Errorf("signing: KMS client: %w", err)
		}
		return NewKMS(client, keyID), nil
	}
	if path := strings.TrimSpace(getenv(EnvKeyFile)); path != "" {
		return LoadLocalFile(path)
	}
	return nil, fmt.Errorf("signing: no signing key configured: set %s (a KMS key id, ARN or alias) or %s (a private JWK file)", EnvKMSKeyID, EnvKeyFile)
}

// sign returns the compact ES256 JWS of claims with the header
// {"alg":"ES256","kid":kid,"typ":typ} (typ left out when empty), signed by
// key: a jose.JSONWebKey holding an *ecdsa.PrivateKey, or a
// jose.OpaqueSigner. go-jose takes kid from the key: its KeyID, or that of
// the OpaqueSigner's Public key.
func sign(key any, typ string, claims map[string]any) (string, error) {
	if claims == nil {
		return "", errors.New("signing: claims must not be nil")
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("signing: encode claims: %w", err)
	}
	opts := &jose.SignerOptions{}
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, opts)
	if err != nil {
		return "", fmt.Errorf("signing: %w", err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("signing: sign: %w", err)
	}
	return jws.CompactSerialize()
}

// derToJOSE converts an ASN.1 DER ECDSA signature, SEQUENCE { r INTEGER,
// s INTEGER } as KMS returns it, to the JOSE form r || s with each integer
// left-padded to size bytes (RFC 7518 section 3.4).
func derToJOSE(der []byte, size int) ([]byte, error) {
	var sig struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(der, &sig)
	if err != nil {
		return nil, fmt.Errorf("signing: malformed DER signature: %w", err)
	}
	if len(rest) != 0 {
		return nil, errors.New("signing: malformed DER signature: trailing data")
	}
	if sig.R.Sign() <= 0 || sig.S.Sign() <= 0 {
		return nil, errors.New("signing: malformed DER signature: r and s must be positive")
	}
	if sig.R.BitLen() > 8*size || sig.S.BitLen() > 8*size {
		return nil, fmt.Errorf("signing: malformed DER signature: r or s longer than %d bytes", size)
	}
	out := make([]byte, 2*size)
	sig.R.FillBytes(out[:size])
	sig.S.FillBytes(out[size:])
	return out, nil
}

// Verify checks an ES256 compact JWS against pub, which must be a P-256
// *ecdsa.PublicKey, and returns its decoded header and claims: the project's
// strict parsing first, with precise errors, then go-jose checks the
// signature. Claims are decoded with UseNumber, so numbers come back as
// exact json.Number values. Only the signature is checked (and that alg is
// ES256 and no crit header is present); the caller judges the claims, such
// as exp.
func Verify(token string, pub crypto.PublicKey) (header, claims map[string]any, err error) {
	ecPub, ok := pub.(*ecdsa.PublicKey)
	if !ok || ecPub == nil || ecPub.Curve != elliptic.P256() {
		return nil, nil, fmt.Errorf("signing: verify: public key must be a P-256 *ecdsa.PublicKey, got %T", pub)
	}
	if strings.Count(token, ".") != 2 {
		return nil, nil, errors.New("signing: verify: token is not a compact JWS (want three dot-separated parts)")
	}
	first := strings.IndexByte(token, '.')
	last := strings.LastIndexByte(token, '.')
	headerPart, payloadPart, sigPart := token[:first], token[first+1:last], token[last+1:]
	// The project's strictness first (go-jose would take padding, say), with
	// precise messages; then go-jose checks the signature.
	if _, err := decodeBase64URL(payloadPart); err != nil {
		return nil, nil, fmt.Errorf("signing: verify: payload: %w", err)
	}

	headerJSON, err := decodeBase64URL(headerPart)
	if err != nil {
		return nil, nil, fmt.Errorf("signing: verify: header: %w", err)
	}
	header, err = decodeObject(headerJSON)
	if err != nil {
		return nil, nil, fmt.Errorf("signing: verify: header: %w", err)
	}
	if alg, _ := header["alg"].(string); alg != Alg {
		return nil, nil, fmt.Errorf("signing: verify: alg %v is not %s", header["alg"], Alg)
	}
	if _, ok := header["crit"]; ok {
		return nil, nil, errors.New("signing: verify: crit header parameters are not supported")
	}
	sig, err := decodeBase64URL(sigPart)
	if err != nil {
		return nil, nil, fmt.Errorf("signing: verify: signature: %w", err)
	}
	if len(sig) != 2*es256Size {
		return nil, nil, fmt.Errorf("signing: verify: signature is %d bytes, want %d", len(sig), 2*es256Size)
	}
	jws, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		return nil, nil, fmt.Errorf("signing: verify: %w", err)
	}
	payload, err := jws.Verify(ecPub)
	if err != nil {
		return nil, nil, errors.New("signing: verify: signature does not verify")
	}
	claims, err = decodeObject(payload)
	if err != nil {
		return nil, nil, fmt.Errorf("signing: verify: claims: %w", err)
	}
	return header, claims, nil
}

// decodeObject decodes a single JSON object, numbers as json.Number.
func decodeObject(data []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if obj == nil {
		return nil, errors.New("not a JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after the JSON object")
	}
	return obj, nil
}

// decodeBase64URL decodes unpadded base64url strictly (no padding, no line
// breaks, no non-zero trailing bits).
func decodeBase64URL(s string) ([]byte, error) {
	if strings.ContainsAny(s, "=\r\n") {
		return nil, errors.New("not unpadded base64url")
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, errors.New("not unpadded base64url")
	}
	return b, nil
}
