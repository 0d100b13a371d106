package mfa

import "time"

// Code is the TOTP code of secret at t, for the tests.
func Code(secret string, t time.Time) string {
	c, err := totpCode(secret, totpStep(t))
	if err != nil {
		panic(err)
	}
	return c
}
