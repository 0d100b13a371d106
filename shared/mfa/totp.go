// Package mfa is the second factor of staff logins: TOTP (RFC 6238)
// authenticator apps, single-use recovery codes, the short-lived challenge
// between a login's password and its second factor, and the policy that
// may require a second factor of staff.
package mfa

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"fmt"
	"strings"
	"time"

	"github.com/boombuler/barcode/qr"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// TOTP parameters: the authenticator apps' defaults (SHA-1, six digits,
// 30 seconds), one step of clock drift either way.
const (
	totpPeriod  = 30
	totpDigits  = otp.DigitsSix
	totpSkew    = 1
	secretBytes = 20
)

// Issuer names the service in authenticator apps.
const Issuer = "Inmor"

// newTOTPSecret returns 160 random bits in unpadded base32 (RFC 4226's
// recommended length).
func newTOTPSecret() (string, error) {
	raw := make([]byte, secretBytes)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(raw), nil
}

// totpURI is the otpauth:// URI an authenticator app scans.
func totpURI(account, secret string) (string, error) {
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
	if err != nil {
		return "", err
	}
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer: Issuer, AccountName: account, Period: totpPeriod, Digits: totpDigits, Algorithm: otp.AlgorithmSHA1, Secret: raw,
	})
	if err != nil {
		return "", err
	}
	return key.URL(), nil
}

// totpStep returns the time step of t.
func totpStep(t time.Time) int64 { return t.Unix() / totpPeriod }

// totpCode returns the code of a step.
func totpCode(secret string, step int64) (string, error) {
	return totp.GenerateCodeCustom(secret, time.Unix(step*totpPeriod, 0).UTC(), totp.ValidateOpts{
		Period: totpPeriod, Digits: totpDigits, Algorithm: otp.AlgorithmSHA1,
	})
}

// matchTOTP returns the time step whose code equals code, within one step
// of now either way; every candidate is compared in constant time.
func matchTOTP(secret, code string, now time.Time) (int64, bool) {
	code = strings.TrimSpace(code)
	var matched int64
	ok := false
	for d := int64(-totpSkew); d <= totpSkew; d++ {
		step := totpStep(now) + d
		want, err := totpCode(secret, step)
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			matched, ok = step, true
		}
	}
	return matched, ok
}

// qrSVG draws text as a QR code in an SVG image (one path of dark
// modules, four modules of quiet zone), to be inlined in a page: the
// admin view's CSP allows no data: images and no scripts.
func qrSVG(text string) (string, error) {
	code, err := qr.Encode(text, qr.M, qr.Auto)
	if err != nil {
		return "", err
	}
	const quiet = 4
	bounds := code.Bounds()
	size := bounds.Dx() + 2*quiet
	var path strings.Builder
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			if r, _, _, _ := code.At(x, y).RGBA(); r == 0 {
				fmt.Fprintf(&path, "M%d %dh1v1h-1z", x-bounds.Min.X+quiet, y-bounds.Min.Y+quiet)
			}
		}
	}
	return fmt.Sprintf(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="240" height="240" role="img" aria-label="QR code of the authenticator app's key" shape-rendering="crispEdges"><rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="%s"/></svg>`,
		size, size, size, size, path.String()), nil
}
