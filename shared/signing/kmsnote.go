package signing

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"golang.org/x/mod/sumdb/note"
)

// EnvLogKMSKeyID names the AWS KMS key (ECC_NIST_EDWARDS25519) that signs
// the audit log's checkpoints.
const EnvLogKMSKeyID = "AUDIT_LOG_KMS_KEY_ID"

// kmsNoteTimeout bounds one KMS Sign of a note.
const kmsNoteTimeout = 10 * time.Second

// KMSNoteSigner signs notes (the audit log's checkpoints) with an AWS KMS
// ECC_NIST_EDWARDS25519 SIGN_VERIFY key: pure Ed25519 (ED25519_SHA_512 over
// the raw message), so its signatures are standard Ed25519 note signatures
// that note.NewVerifier and any C2SP tool check. Each signature is checked
// before it is returned.
type KMSNoteSigner struct {
	client   KMSAPI
	keyID    string
	verifier note.Verifier
	// VerifierKey is the note verifier key of the KMS key, under the
	// signer's name: what an auditor checks checkpoints with.
	VerifierKey string
}

var _ note.Signer = (*KMSNoteSigner)(nil)

// NewKMSNoteSigner reads the public key of the KMS key keyID (one
// GetPublicKey) and returns its note signer named name.
func NewKMSNoteSigner(ctx context.Context, client KMSAPI, keyID, name string) (*KMSNoteSigner, error) {
	out, err := client.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: &keyID})
	if err != nil {
		return nil, fmt.Errorf("read the public key of the log's KMS key: %w", err)
	}
	pub, err := x509.ParsePKIXPublicKey(out.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("the log's KMS key: %w", err)
	}
	edKey, ok := pub.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("the log's KMS key is not an Ed25519 key (%T): create it with key spec ECC_NIST_EDWARDS25519", pub)
	}
	vkey, err := note.NewEd25519VerifierKey(name, edKey)
	if err != nil {
		return nil, err
	}
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, err
	}
	return &KMSNoteSigner{client: client, keyID: keyID, verifier: verifier, VerifierKey: vkey}, nil
}

// Name implements note.Signer.
func (s *KMSNoteSigner) Name() string { return s.verifier.Name() }

// KeyHash implements note.Signer.
func (s *KMSNoteSigner) KeyHash() uint32 { return s.verifier.KeyHash() }

// Sign implements note.Signer: one KMS Sign of the raw message (at most
// 4096 bytes, far more than a checkpoint).
func (s *KMSNoteSigner) Sign(msg []byte) ([]byte, error) {
	if len(msg) > maxRawMessage {
		return nil, fmt.Errorf("a note of %d bytes is more than KMS signs raw", len(msg))
	}
	ctx, cancel := context.WithTimeout(context.Background(), kmsNoteTimeout)
	defer cancel()
	out, err := s.client.Sign(ctx, &kms.SignInput{
		KeyId: &s.keyID, Message: msg, MessageType: types.MessageTypeRaw, SigningAlgorithm: types.SigningAlgorithmSpecEd25519Sha512,
	})
	if err != nil {
		return nil, fmt.Errorf("sign with the log's KMS key: %w", err)
	}
	if !s.verifier.Verify(msg, out.Signature) {
		return nil, errors.New("the log's KMS key signed with another key than its public key")
	}
	return out.Signature, nil
}
