package mfa

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// MinKeySize is the least length of the MFA key (MFA_KEY): the key
// material of the SecretBox.
const MinKeySize = 32

// sealedPrefix starts a sealed secret (its format's version).
const sealedPrefix = "v1."

// ErrNotSealed is Open's answer to a stored value that this key did not
// seal for this user: a secret in clear, another user's, altered, or
// sealed under another key.
var ErrNotSealed = errors.New("mfa: the secret is not sealed by this key for this user")

// SecretBox seals the TOTP secrets kept in the auth table (AES-256-GCM
// under a key derived from the MFA key, bound to their user), so that a
// copy of the table holds no usable secret, and a secret written into it
// by anyone without the key (or moved from another user's item) is
// refused rather than trusted.
type SecretBox struct{ aead cipher.AEAD }

// NewSecretBox derives the sealing key from material (at least
// MinKeySize bytes: the MFA key) with HKDF-SHA256.
func NewSecretBox(material []byte) (*SecretBox, error) {
	if len(material) < MinKeySize {
		return nil, fmt.Errorf("mfa: the MFA key has %d bytes, want at least %d", len(material), MinKeySize)
	}
	key, err := hkdf.Key(sha256.New, material, nil, "inmor mfa totp secret v1", 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &SecretBox{aead: aead}, nil
}

// additionalData binds a sealed secret to its user.
func additionalData(username string) []byte { return []byte("totp\x00" + username) }

// Seal returns secret sealed for username: "v1." and the nonce and
// ciphertext in unpadded base64url.
func (b *SecretBox) Seal(username, secret string) (string, error) {
	nonce := make([]byte, b.aead.NonceSize(), b.aead.NonceSize()+len(secret)+b.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	sealed := b.aead.Seal(nonce, nonce, []byte(secret), additionalData(username))
	return sealedPrefix + base64.RawURLEncoding.EncodeToString(sealed), nil
}

// Open returns the secret sealed for username, or ErrNotSealed.
func (b *SecretBox) Open(username, sealed string) (string, error) {
	data, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(sealed, sealedPrefix))
	if err != nil || !strings.HasPrefix(sealed, sealedPrefix) || len(data) < b.aead.NonceSize() {
		return "", ErrNotSealed
	}
	nonce, ciphertext := data[:b.aead.NonceSize()], data[b.aead.NonceSize():]
	secret, err := b.aead.Open(nil, nonce, ciphertext, additionalData(username))
	if err != nil {
		return "", ErrNotSealed
	}
	return string(secret), nil
}
