package signing

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"math/big"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/inmor/inmor-serverless/shared/jwk"
)

// countingKMS counts the calls made through a KMSAPI.
type countingKMS struct {
	KMSAPI
	getPublicKey, sign atomic.Int32
}

func (c *countingKMS) Sign(ctx context.Context, in *kms.SignInput, opts ...func(*kms.Options)) (*kms.SignOutput, error) {
	c.sign.Add(1)
	return c.KMSAPI.Sign(ctx, in, opts...)
}

func (c *countingKMS) GetPublicKey(ctx context.Context, in *kms.GetPublicKeyInput, opts ...func(*kms.Options)) (*kms.GetPublicKeyOutput, error) {
	c.getPublicKey.Add(1)
	return c.KMSAPI.GetPublicKey(ctx, in, opts...)
}

// createKey creates a KMS key with the given spec and usage.
func createKey(t *testing.T, client *kms.Client, spec types.KeySpec, usage types.KeyUsageType) string {
	t.Helper()
	out, err := client.CreateKey(context.Background(), &kms.CreateKeyInput{KeySpec: spec, KeyUsage: usage})
	if err != nil {
		t.Fatalf("CreateKey %s: %v", spec, err)
	}
	return *out.KeyMetadata.KeyId
}

// kmsPublicKey fetches and parses the public key of a KMS key.
func kmsPublicKey(t *testing.T, client *kms.Client, keyID string) *ecdsa.PublicKey {
	t.Helper()
	out, err := client.GetPublicKey(context.Background(), &kms.GetPublicKeyInput{KeyId: aws.String(keyID)})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.ParsePKIXPublicKey(out.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return pub.(*ecdsa.PublicKey)
}

func TestKMSSignMoto(t *testing.T) {
	ctx := context.Background()
	client := newKMSClient(t)
	keyID := createKey(t, client, types.KeySpecEccNistP256, types.KeyUsageTypeSignVerify)
	pub := kmsPublicKey(t, client, keyID)
	wantKid, err := jwk.Thumbprint(pub)
	if err != nil {
		t.Fatal(err)
	}
	counting := &countingKMS{KMSAPI: client}
	signer := NewKMS(counting, keyID)

	const signatures = 40 // enough for r or s to be short now and then
	for i := range signatures {
		claims := trustMarkClaims(1_767_225_600 + int64(i))
		token, err := signer.Sign(ctx, "trust-mark+jwt", claims)
		if err != nil {
			t.Fatalf("Sign: %v", err)
		}
		header, got, err := Verify(token, pub)
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		if header["kid"] != wantKid || header["typ"] != "trust-mark+jwt" || header["alg"] != "ES256" {
			t.Fatalf("header = %v, want kid %s", header, wantKid)
		}
		if got["sub"] != claims["sub"] || got["iat"].(interface{ String() string }).String() != big.NewInt(claims["iat"].(int64)).String() {
			t.Fatalf("claims = %v", got)
		}
		// KMS itself accepts the signature (converted back to DER) over the
		// signing input.
		if i == 0 {
			last := strings.LastIndexByte(token, '.')
			sig, _ := base64.RawURLEncoding.DecodeString(token[last+1:])
			der, _ := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])})
			out, err := client.Verify(ctx, &kms.VerifyInput{
				KeyId: aws.String(keyID), Message: []byte(token[:last]), MessageType: types.MessageTypeRaw,
				Signature: der, SigningAlgorithm: types.SigningAlgorithmSpecEcdsaSha256,
			})
			if err != nil || !out.SignatureValid {
				t.Fatalf("KMS Verify: valid=%v err=%v", out != nil && out.SignatureValid, err)
			}
		}
	}
	jwkOut, err := signer.PublicJWK(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if jwkOut["kid"] != wantKid || jwkOut["crv"] != "P-256" {
		t.Fatalf("PublicJWK = %v", jwkOut)
	}
	back, err := jwk.ParsePublic(jwkOut)
	if err != nil || !pub.Equal(back) {
		t.Fatalf("PublicJWK is not the KMS key: %v", err)
	}
	if n := counting.getPublicKey.Load(); n != 1 {
		t.Fatalf("GetPublicKey called %d times, want 1", n)
	}
	if n := counting.sign.Load(); n != signatures {
		t.Fatalf("Sign called %d times, want %d", n, signatures)
	}
}

func TestKMSConcurrentFirstUseMoto(t *testing.T) {
	client := newKMSClient(t)
	keyID := createKey(t, client, types.KeySpecEccNistP256, types.KeyUsageTypeSignVerify)
	pub := kmsPublicKey(t, client, keyID)
	counting := &countingKMS{KMSAPI: client}
	signer := NewKMS(counting, keyID)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			token, err := signer.Sign(context.Background(), "entity-statement+jwt", trustMarkClaims(int64(i)))
			if err == nil {
				_, _, err = Verify(token, pub)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := counting.getPublicKey.Load(); n != 1 {
		t.Fatalf("GetPublicKey called %d times by concurrent first use, want 1", n)
	}
}

// TestKMSAliasRepointedMoto moves an alias to another key: the cached public
// key no longer verifies, so Sign fetches the new one and signs again.
func TestKMSAliasRepointedMoto(t *testing.T) {
	ctx := context.Background()
	client := newKMSClient(t)
	first := createKey(t, client, types.KeySpecEccNistP256, types.KeyUsageTypeSignVerify)
	second := createKey(t, client, types.KeySpecEccNistP256, types.KeyUsageTypeSignVerify)
	alias := "alias/inmor-ta-" + strings.ToLower(rand.Text()[:10])
	if _, err := client.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String(alias), TargetKeyId: aws.String(first)}); err != nil {
		t.Fatal(err)
	}
	counting := &countingKMS{KMSAPI: client}
	signer := NewKMS(counting, alias)
	tests := []struct {
		name    string
		target  string
		wantGPK int32 // GetPublicKey calls so far
	}{
		{"first key", first, 1},
		{"same key again", first, 1},
		{"alias moved", second, 2},
		{"new key cached", second, 2},
	}
	for _, tt := range tests {
		if _, err := client.UpdateAlias(ctx, &kms.UpdateAliasInput{AliasName: aws.String(alias), TargetKeyId: aws.String(tt.target)}); err != nil {
			t.Fatal(err)
		}
		pub := kmsPublicKey(t, client, tt.target)
		token, err := signer.Sign(ctx, "trust-mark+jwt", trustMarkClaims(1))
		if err != nil {
			t.Fatalf("%s: Sign: %v", tt.name, err)
		}
		header, _, err := Verify(token, pub)
		if err != nil {
			t.Fatalf("%s: Verify with the alias target: %v", tt.name, err)
		}
		if kid, _ := jwk.Thumbprint(pub); header["kid"] != kid {
			t.Fatalf("%s: kid = %v, want %s", tt.name, header["kid"], kid)
		}
		if n := counting.getPublicKey.Load(); n != tt.wantGPK {
			t.Fatalf("%s: GetPublicKey called %d times, want %d", tt.name, n, tt.wantGPK)
		}
	}
}

func TestKMSUnsuitableKeysMoto(t *testing.T) {
	client := newKMSClient(t)
	tests := []struct {
		name  string
		keyID string
		want  string
	}{
		{"RSA key", createKey(t, client, types.KeySpecRsa2048, types.KeyUsageTypeSignVerify), "ECDSA_SHA_256"},
		{"P-384 key", createKey(t, client, types.KeySpecEccNistP384, types.KeyUsageTypeSignVerify), "ECDSA_SHA_256"},
		{"symmetric key", createKey(t, client, types.KeySpecSymmetricDefault, types.KeyUsageTypeEncryptDecrypt), "SIGN_VERIFY"},
		{"missing key", "11111111-2222-3333-4444-555555555555", "GetPublicKey"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			signer := NewKMS(client, tt.keyID)
			token, err := signer.Sign(context.Background(), "trust-mark+jwt", trustMarkClaims(1))
			if err == nil {
				t.Fatalf("Sign with %s succeeded: %s", tt.name, token)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not contain %q", err, tt.want)
			}
			if _, err := signer.PublicJWK(context.Background()); err == nil {
				t.Fatal("PublicJWK succeeded")
			}
		})
	}
}

// TestKMSLargeMessageMoto signs an input over KMS's 4096-byte RAW limit,
// which goes to KMS as a DIGEST. moto 5.2 hashes DIGEST messages again, so
// its signatures are wrong: Sign must then fail rather than return a token
// that does not verify.
func TestKMSLargeMessageMoto(t *testing.T) {
	client := newKMSClient(t)
	keyID := createKey(t, client, types.KeySpecEccNistP256, types.KeyUsageTypeSignVerify)
	pub := kmsPublicKey(t, client, keyID)
	claims := trustMarkClaims(1)
	claims["padding"] = strings.Repeat("x", 5000)
	token, err := NewKMS(client, keyID).Sign(context.Background(), "entity-statement+jwt", claims)
	if err != nil {
		if !strings.Contains(err.Error(), "does not verify") {
			t.Fatalf("Sign: %v", err)
		}
		t.Logf("KMS endpoint signs DIGEST messages wrongly (as moto does): %v", err)
		return
	}
	if _, _, err := Verify(token, pub); err != nil {
		t.Fatalf("Sign returned a token that does not verify: %v", err)
	}
}

// fakeKMS is an in-memory KMS that implements RAW and DIGEST messages as AWS
// documents them, with hooks for failures.
type fakeKMS struct {
	key       *ecdsa.PrivateKey
	signKey   *ecdsa.PrivateKey // signs with this key when set (a wrong key)
	gpkErrs   []error           // errors returned by the next GetPublicKey calls
	signDER   []byte            // returned as the signature when set
	gpk       int
	requests  []*kms.SignInput
	publicDER []byte
}

func newFakeKMS(t *testing.T) *fakeKMS {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return &fakeKMS{key: key, publicDER: der}
}

func (f *fakeKMS) GetPublicKey(_ context.Context, in *kms.GetPublicKeyInput, _ ...func(*kms.Options)) (*kms.GetPublicKeyOutput, error) {
	f.gpk++
	if len(f.gpkErrs) > 0 {
		err := f.gpkErrs[0]
		f.gpkErrs = f.gpkErrs[1:]
		return nil, err
	}
	return &kms.GetPublicKeyOutput{
		KeyId: in.KeyId, KeySpec: types.KeySpecEccNistP256, KeyUsage: types.KeyUsageTypeSignVerify,
		PublicKey: f.publicDER, SigningAlgorithms: []types.SigningAlgorithmSpec{types.SigningAlgorithmSpecEcdsaSha256},
	}, nil
}

func (f *fakeKMS) Sign(_ context.Context, in *kms.SignInput, _ ...func(*kms.Options)) (*kms.SignOutput, error) {
	f.requests = append(f.requests, in)
	if f.signDER != nil {
		return &kms.SignOutput{Signature: f.signDER}, nil
	}
	var digest []byte
	switch in.MessageType {
	case types.MessageTypeRaw:
		if len(in.Message) > 4096 {
			return nil, errors.New("ValidationException: RAW message longer than 4096 bytes")
		}
		sum := sha256.Sum256(in.Message)
		digest = sum[:]
	case types.MessageTypeDigest:
		if len(in.Message) != 32 {
			return nil, errors.New("ValidationException: digest length")
		}
		digest = in.Message
	default:
		return nil, errors.New("ValidationException: MessageType")
	}
	key := f.key
	if f.signKey != nil {
		key = f.signKey
	}
	sig, err := ecdsa.SignASN1(rand.Reader, key, digest)
	return &kms.SignOutput{Signature: sig, SigningAlgorithm: in.SigningAlgorithm}, err
}

func TestKMSFake(t *testing.T) {
	ctx := context.Background()
	large := trustMarkClaims(1)
	large["padding"] = strings.Repeat("y", 4096)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tests := []struct {
		name       string
		setup      func(f *fakeKMS)
		claims     map[string]any
		want       string // error substring; "" means success
		wantType   types.MessageType
		wantGPK    int
		wantSigns  int
		retryAfter bool // a second Sign succeeds
	}{
		{name: "small input is RAW", claims: trustMarkClaims(1), wantType: types.MessageTypeRaw, wantGPK: 1, wantSigns: 1},
		{name: "large input is DIGEST", claims: large, wantType: types.MessageTypeDigest, wantGPK: 1, wantSigns: 1},
		{
			name:   "failed GetPublicKey is not cached",
			setup:  func(f *fakeKMS) { f.gpkErrs = []error{errors.New("throttled")} },
			claims: trustMarkClaims(1), want: "throttled", wantGPK: 1, wantSigns: 0, retryAfter: true,
		},
		{
			name:   "malformed DER",
			setup:  func(f *fakeKMS) { f.signDER = []byte{0x30, 0x03, 0x02, 0x01} },
			claims: trustMarkClaims(1), want: "malformed DER", wantGPK: 1, wantSigns: 1,
		},
		{
			name:   "signature by another key",
			setup:  func(f *fakeKMS) { f.signKey = other },
			claims: trustMarkClaims(1), want: "does not verify", wantGPK: 2, wantSigns: 2,
		},
		{name: "nil claims", claims: nil, want: "claims must not be nil", wantGPK: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeKMS(t)
			if tt.setup != nil {
				tt.setup(f)
			}
			signer := NewKMS(f, "alias/test")
			token, err := signer.Sign(ctx, "entity-statement+jwt", tt.claims)
			if tt.want != "" {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("err = %v, want %q", err, tt.want)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				if _, _, err := Verify(token, &f.key.PublicKey); err != nil {
					t.Fatal(err)
				}
				if got := f.requests[0].MessageType; got != tt.wantType {
					t.Fatalf("MessageType = %s, want %s", got, tt.wantType)
				}
				if f.requests[0].SigningAlgorithm != types.SigningAlgorithmSpecEcdsaSha256 || *f.requests[0].KeyId != "alias/test" {
					t.Fatalf("request = %+v", f.requests[0])
				}
			}
			if f.gpk != tt.wantGPK || len(f.requests) != tt.wantSigns {
				t.Fatalf("GetPublicKey calls = %d, Sign calls = %d; want %d, %d", f.gpk, len(f.requests), tt.wantGPK, tt.wantSigns)
			}
			if tt.retryAfter {
				token, err := signer.Sign(ctx, "entity-statement+jwt", tt.claims)
				if err != nil {
					t.Fatalf("second Sign: %v", err)
				}
				if _, _, err := Verify(token, &f.key.PublicKey); err != nil {
					t.Fatal(err)
				}
				if f.gpk != tt.wantGPK+1 {
					t.Fatalf("GetPublicKey calls = %d after retry, want %d", f.gpk, tt.wantGPK+1)
				}
			}
		})
	}
}
