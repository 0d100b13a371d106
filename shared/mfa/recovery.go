package mfa

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"strings"
)

// RecoveryCodeCount is how many recovery codes a user is given at once.
const RecoveryCodeCount = 10

// recoveryEncoding is Crockford's alphabet, lowercased: no i, l, o or u,
// which read like 1, 0 and v.
var recoveryEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// newRecoveryCodes returns RecoveryCodeCount fresh codes (10 characters,
// 50 random bits each, shown as xxxxx-xxxxx) and their stored hashes.
func newRecoveryCodes() (codes, hashes []string, err error) {
	for range RecoveryCodeCount {
		var raw [7]byte
		if _, err := rand.Read(raw[:]); err != nil {
			return nil, nil, err
		}
		s := recoveryEncoding.EncodeToString(raw[:])[:10]
		code := s[:5] + "-" + s[5:]
		codes = append(codes, code)
		hashes = append(hashes, hashRecoveryCode(code))
	}
	return codes, hashes, nil
}

// normalizeRecoveryCode drops case, spaces and dashes.
func normalizeRecoveryCode(code string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '-' || r == ' ':
			return -1
		case r >= 'A' && r <= 'Z':
			return r - 'A' + 'a'
		}
		return r
	}, code)
}

// hashRecoveryCode is a code's stored form: hex SHA-256 of its normalized
// text. A fast hash suffices: 50 random bits, and every guess online is
// throttled as a password.
func hashRecoveryCode(code string) string {
	sum := sha256.Sum256([]byte("inmor-recovery-code:" + normalizeRecoveryCode(code)))
	return hex.EncodeToString(sum[:])
}
