package signing_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"golang.org/x/mod/sumdb/note"

	"github.com/inmor/inmor-serverless/shared/integrity"
	"github.com/inmor/inmor-serverless/shared/signing"
)

// edKMS is an Ed25519 KMS key in memory: Sign with ED25519_SHA_512 over a
// RAW message is pure Ed25519, as AWS KMS does it.
type edKMS struct {
	priv    ed25519.PrivateKey
	signErr error
	calls   int
}

func (k *edKMS) Sign(_ context.Context, in *kms.SignInput, _ ...func(*kms.Options)) (*kms.SignOutput, error) {
	k.calls++
	if k.signErr != nil {
		return nil, k.signErr
	}
	if in.MessageType != types.MessageTypeRaw || in.SigningAlgorithm != types.SigningAlgorithmSpecEd25519Sha512 {
		return nil, errors.New("unsupported signing request")
	}
	return &kms.SignOutput{Signature: ed25519.Sign(k.priv, in.Message)}, nil
}

func (k *edKMS) GetPublicKey(context.Context, *kms.GetPublicKeyInput, ...func(*kms.Options)) (*kms.GetPublicKeyOutput, error) {
	der, err := x509.MarshalPKIXPublicKey(k.priv.Public())
	return &kms.GetPublicKeyOutput{PublicKey: der}, err
}

// TestKMSNoteSignerSignsCheckpoints: a checkpoint signed through KMS opens
// with the verifier key of the KMS key's public key; a KMS failure, or a
// signature by another key, is an error, never a bad checkpoint.
func TestKMSNoteSignerSignsCheckpoints(t *testing.T) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	key := &edKMS{priv: priv}
	signer, err := signing.NewKMSNoteSigner(context.Background(), key, "alias/log", integrity.DefaultOrigin)
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := note.NewVerifier(signer.VerifierKey)
	if err != nil || verifier.Name() != integrity.DefaultOrigin || verifier.KeyHash() != signer.KeyHash() {
		t.Fatalf("verifier key %q: %v", signer.VerifierKey, err)
	}
	c := integrity.Checkpoint{Origin: integrity.DefaultOrigin, Size: 9}
	signed, err := integrity.Sign(c, signer)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := integrity.Open([]byte(signed), verifier); err != nil || got != c {
		t.Errorf("Open = %+v, %v", got, err)
	}

	key.signErr = errors.New("throttled")
	if _, err := integrity.Sign(c, signer); err == nil {
		t.Error("a failed KMS Sign gave a checkpoint")
	}
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	key.signErr, key.priv = nil, other // the key behind the alias changed
	if _, err := integrity.Sign(c, signer); err == nil {
		t.Error("a signature by another key was returned")
	}

	if _, err := signing.NewKMSNoteSigner(context.Background(), notEd25519{&edKMS{priv: priv}}, "k", integrity.DefaultOrigin); err == nil {
		t.Error("a key that is not Ed25519 was accepted")
	}
}

// notEd25519 answers the public key of a P-256 key.
type notEd25519 struct{ *edKMS }

func (notEd25519) GetPublicKey(context.Context, *kms.GetPublicKeyInput, ...func(*kms.Options)) (*kms.GetPublicKeyOutput, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	return &kms.GetPublicKeyOutput{PublicKey: der}, err
}
