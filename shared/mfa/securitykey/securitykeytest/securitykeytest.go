// Package securitykeytest is a security key in software for tests of
// WebAuthn: it answers the options of navigator.credentials.create and
// .get as a browser would hand its authenticator's answers to a page.
package securitykeytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"slices"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

var b64 = base64.RawURLEncoding

// Key is a security key in software: one ES256 credential, "none"
// attestation, answering as a browser hands a key's answers to a page.
type Key struct {
	t   testing.TB
	key *ecdsa.PrivateKey
	// ID is the credential id.
	ID []byte
	// Count is the signature counter, incremented by each Get.
	Count uint32
}

// NewKey returns a new key.
func NewKey(t testing.TB) *Key {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	return &Key{t: t, key: key, ID: id}
}

// challengeOf reads the challenge of options ({"publicKey": {...}}).
func challengeOf(t testing.TB, options json.RawMessage) string {
	t.Helper()
	var o struct {
		PublicKey struct {
			Challenge string `json:"challenge"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(options, &o); err != nil || o.PublicKey.Challenge == "" {
		t.Fatalf("options %s: %v", options, err)
	}
	return o.PublicKey.Challenge
}

func (k *Key) clientData(typ, challenge, origin string) []byte {
	b, _ := json.Marshal(map[string]string{"type": typ, "challenge": challenge, "origin": origin})
	return b
}

func (k *Key) authData(rpID string, flags byte, attested []byte) []byte {
	rp := sha256.Sum256([]byte(rpID))
	out := append(rp[:], flags)
	out = binary.BigEndian.AppendUint32(out, k.Count)
	return append(out, attested...)
}

// Create answers navigator.credentials.create with options, as a
// browser's page at origin sends the answer on (JSON).
func (k *Key) Create(options json.RawMessage, rpID, origin string) []byte {
	cose, err := cbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: k.key.X.FillBytes(make([]byte, 32)), -3: k.key.Y.FillBytes(make([]byte, 32))})
	if err != nil {
		k.t.Fatal(err)
	}
	attested := append(make([]byte, 16), byte(len(k.ID)>>8), byte(len(k.ID)))
	attested = append(append(attested, k.ID...), cose...)
	object, err := cbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": k.authData(rpID, 0x41, attested)})
	if err != nil {
		k.t.Fatal(err)
	}
	out, _ := json.Marshal(map[string]any{
		"id": b64.EncodeToString(k.ID), "rawId": b64.EncodeToString(k.ID), "type": "public-key",
		"response": map[string]string{
			"clientDataJSON":    b64.EncodeToString(k.clientData("webauthn.create", challengeOf(k.t, options), origin)),
			"attestationObject": b64.EncodeToString(object),
		},
	})
	return out
}

// Get answers navigator.credentials.get with options, for the relying
// party rpID and a page at origin (JSON).
func (k *Key) Get(options json.RawMessage, rpID, origin string) []byte {
	k.Count++
	data := k.authData(rpID, 0x01, nil)
	client := k.clientData("webauthn.get", challengeOf(k.t, options), origin)
	hash := sha256.Sum256(client)
	digest := sha256.Sum256(append(slices.Clone(data), hash[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, k.key, digest[:])
	if err != nil {
		k.t.Fatal(err)
	}
	out, _ := json.Marshal(map[string]any{
		"id": b64.EncodeToString(k.ID), "rawId": b64.EncodeToString(k.ID), "type": "public-key",
		"response": map[string]string{
			"clientDataJSON": b64.EncodeToString(client), "authenticatorData": b64.EncodeToString(data),
			"signature": b64.EncodeToString(sig),
		},
	})
	return out
}
