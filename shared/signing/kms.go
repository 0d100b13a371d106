package signing

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/go-jose/go-jose/v4"
)

// KMSAPI is the part of the AWS KMS client (*kms.Client) that KMS uses.
type KMSAPI interface {
	// Sign is KMS Sign: it signs a message (RAW) or digest (DIGEST).
	Sign(ctx context.Context, params *kms.SignInput, optFns ...func(*kms.Options)) (*kms.SignOutput, error)
	// GetPublicKey is KMS GetPublicKey: the DER SubjectPublicKeyInfo of a key.
	GetPublicKey(ctx context.Context, params *kms.GetPublicKeyInput, optFns ...func(*kms.Options)) (*kms.GetPublicKeyOutput, error)
}

// maxRawMessage is the largest message KMS signs with MessageType RAW;
// longer signing inputs are hashed here and sent as a DIGEST.
const maxRawMessage = 4096

// KMS signs with an asymmetric ECC_NIST_P256 SIGN_VERIFY key in AWS KMS,
// using ECDSA_SHA_256. The public key (and so the kid) is fetched from KMS
// once, on first use; a failed fetch is retried on the next call. Every
// signature is checked against that public key before it is returned: if it
// does not verify (the key behind an alias was changed) the public key is
// fetched again and the claims are signed once more. It is safe for
// concurrent use.
type KMS struct {
	client KMSAPI
	keyID  string

	mu  sync.Mutex // serializes fetches of key
	key atomic.Pointer[kmsKey]
}

// kmsKey is the public key of a KMS key.
type kmsKey struct {
	pub       *ecdsa.PublicKey
	kid       string
	publicJWK map[string]any
}

var _ Signer = (*KMS)(nil)

// NewKMS returns a Signer using the KMS key keyID (key id, key ARN, alias
// name or alias ARN) through client. It makes no request to KMS.
func NewKMS(client KMSAPI, keyID string) *KMS {
	return &KMS{client: client, keyID: keyID}
}

// Sign returns a compact ES256 JWS of claims with header
// {"alg":"ES256","kid":<thumbprint>,"typ":typ}, signed by KMS: the signing
// input itself (MessageType RAW) when it is at most 4096 bytes, otherwise its
// SHA-256 digest (MessageType DIGEST).
func (k *KMS) Sign(ctx context.Context, typ string, claims map[string]any) (string, error) {
	for attempt := 0; ; attempt++ {
		key, err := k.publicKey(ctx)
		if err != nil {
			return "", err
		}
		token, err := sign(kmsSigner{k: k, ctx: ctx, key: key}, typ, claims)
		if err != nil {
			return "", err
		}
		if _, _, err := Verify(token, key.pub); err == nil {
			return token, nil
		}
		// Forget the key, so that this or the next call fetches it again.
		k.key.CompareAndSwap(key, nil)
		if attempt > 0 {
			return "", fmt.Errorf("signing: KMS signature by %s does not verify with its public key %s", k.keyID, key.kid)
		}
	}
}

// kmsSigner is go-jose's OpaqueSigner over the KMS key, for one Sign call
// (KMS requests take the caller's context).
type kmsSigner struct {
	k   *KMS
	ctx context.Context
	key *kmsKey
}

// Public implements jose.OpaqueSigner: the public key, whose KeyID go-jose
// puts in the kid header.
func (o kmsSigner) Public() *jose.JSONWebKey {
	return &jose.JSONWebKey{Key: o.key.pub, KeyID: o.key.kid, Algorithm: Alg, Use: "sig"}
}

// Algs implements jose.OpaqueSigner: ES256 only.
func (o kmsSigner) Algs() []jose.SignatureAlgorithm { return []jose.SignatureAlgorithm{jose.ES256} }

// SignPayload implements jose.OpaqueSigner: KMS signs the signing input
// itself (MessageType RAW) when it is at most 4096 bytes, otherwise its
// SHA-256 digest (DIGEST); its DER signature becomes JOSE's r || s.
func (o kmsSigner) SignPayload(payload []byte, alg jose.SignatureAlgorithm) ([]byte, error) {
	if alg != jose.ES256 {
		return nil, fmt.Errorf("signing: KMS key %s signs %s only, not %s", o.k.keyID, Alg, alg)
	}
	req := &kms.SignInput{KeyId: &o.k.keyID, SigningAlgorithm: types.SigningAlgorithmSpecEcdsaSha256}
	if len(payload) <= maxRawMessage {
		req.MessageType, req.Message = types.MessageTypeRaw, payload
	} else {
		digest := sha256.Sum256(payload)
		req.MessageType, req.Message = types.MessageTypeDigest, digest[:]
	}
	out, err := o.k.client.Sign(o.ctx, req)
	if err != nil {
		return nil, fmt.Errorf("signing: KMS Sign with %s: %w", o.k.keyID, err)
	}
	sig, err := derToJOSE(out.Signature, es256Size)
	if err != nil {
		return nil, fmt.Errorf("signing: KMS Sign with %s: %w", o.k.keyID, err)
	}
	return sig, nil
}

// PublicJWK returns the public JWK (kty, crv, x, y, kid, alg, use) of the KMS
// key, fetching it on first use; the map is a fresh copy.
func (k *KMS) PublicJWK(ctx context.Context) (map[string]any, error) {
	key, err := k.publicKey(ctx)
	if err != nil {
		return nil, err
	}
	return maps.Clone(key.publicJWK), nil
}

// publicKey returns the cached public key, fetching it when there is none.
func (k *KMS) publicKey(ctx context.Context) (*kmsKey, error) {
	if key := k.key.Load(); key != nil {
		return key, nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if key := k.key.Load(); key != nil {
		return key, nil
	}
	key, err := k.fetch(ctx)
	if err != nil {
		return nil, err
	}
	k.key.Store(key)
	return key, nil
}

func (k *KMS) fetch(ctx context.Context) (*kmsKey, error) {
	out, err := k.client.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: &k.keyID})
	if err != nil {
		return nil, fmt.Errorf("signing: KMS GetPublicKey of %s: %w", k.keyID, err)
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("signing: KMS key %s cannot sign %s: "+format, append([]any{k.keyID, Alg}, args...)...)
	}
	// Fields KMS always returns; emulators may leave some out.
	if out.KeyUsage != "" && out.KeyUsage != types.KeyUsageTypeSignVerify {
		return nil, fail("key usage is %s, not SIGN_VERIFY", out.KeyUsage)
	}
	if out.KeySpec != "" && out.KeySpec != types.KeySpecEccNistP256 {
		return nil, fail("key spec is %s, not ECC_NIST_P256", out.KeySpec)
	}
	if len(out.SigningAlgorithms) > 0 && !slices.Contains(out.SigningAlgorithms, types.SigningAlgorithmSpecEcdsaSha256) {
		return nil, fail("signing algorithms %v do not include ECDSA_SHA_256", out.SigningAlgorithms)
	}
	parsed, err := x509.ParsePKIXPublicKey(out.PublicKey)
	if err != nil {
		return nil, fail("public key: %v", err)
	}
	pub, ok := parsed.(*ecdsa.PublicKey)
	if !ok {
		return nil, fail("public key is a %T, not an EC P-256 key", parsed)
	}
	if pub.Curve != elliptic.P256() {
		return nil, fail("public key is on curve %s, not P-256", pub.Curve.Params().Name)
	}
	j, err := publicJWK(pub)
	if err != nil {
		return nil, err
	}
	return &kmsKey{pub: pub, kid: j["kid"].(string), publicJWK: j}, nil
}
