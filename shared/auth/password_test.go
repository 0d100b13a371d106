package auth

import (
	"fmt"
	"strings"
	"testing"
)

// TestPasswordHashing: argon2id in PHC format with a fresh salt; only the
// right password verifies. (Each hash costs ~100 ms: two hashes in all.)
func TestPasswordHashing(t *testing.T) {
	const password = "correct horse battery staple"
	h1, err := HashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	h2, err := HashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h1, "$argon2id$v=19$m=65536,t=3,p=2$") || strings.Count(h1, "$") != 5 {
		t.Errorf("hash %q is not an argon2id PHC string with the configured parameters", h1)
	}
	if h1 == h2 {
		t.Errorf("two hashes of one password are equal (no salt?): %q", h1)
	}
	if strings.Contains(h1, password) {
		t.Errorf("hash %q contains the password", h1)
	}
	for _, c := range []struct {
		name, password, hash string
		want                 bool
	}{
		{"right password, first hash", password, h1, true},
		{"right password, second hash", password, h2, true},
		{"wrong password", "correct horse battery stapler", h1, false},
		{"empty password", "", h1, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			ok, err := VerifyPassword(c.password, c.hash)
			if err != nil || ok != c.want {
				t.Errorf("VerifyPassword = %v, %v; want %v, nil", ok, err, c.want)
			}
		})
	}
}

// TestVerifyPasswordMalformedHash: a stored hash that is not a well-formed
// argon2id string is an error; never a panic, never a match.
func TestVerifyPasswordMalformedHash(t *testing.T) {
	// Cheap parameters, so a case that reaches argon2 costs nothing.
	cases := []struct {
		name, hash string
	}{
		{name: "empty", hash: ""},
		{name: "plain text", hash: "hunter2"},
		{name: "bcrypt", hash: "$2b$12$C6UzMDM.H6dfI/f/IKxGhuS0bJYuFyRTGt4CeQXfFq0D3wz.7lSNu"},
		{name: "argon2i, not argon2id", hash: "$argon2i$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g"},
		{name: "too few parts", hash: "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ"},
		{name: "too many parts", hash: "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g$x"},
		{name: "other version", hash: "$argon2id$v=16$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g"},
		{name: "version not a number", hash: "$argon2id$v=x$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g"},
		{name: "parameters not numbers", hash: "$argon2id$v=19$m=a,t=b,p=c$c2FsdHNhbHQ$aGFzaGhhc2g"},
		{name: "parallelism out of range", hash: "$argon2id$v=19$m=8,t=1,p=300$c2FsdHNhbHQ$aGFzaGhhc2g"},
		{name: "salt not base64", hash: "$argon2id$v=19$m=8,t=1,p=1$!!!$aGFzaGhhc2g"},
		{name: "key not base64", hash: "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$!!!"},
		{name: "zero iterations", hash: "$argon2id$v=19$m=8,t=0,p=1$c2FsdHNhbHQ$aGFzaGhhc2g"},
		{name: "zero parallelism", hash: "$argon2id$v=19$m=8,t=1,p=0$c2FsdHNhbHQ$aGFzaGhhc2g"},
		{name: "empty key", hash: "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ok, err, panicked := verifyNoPanic("any password", c.hash)
			if panicked != nil {
				t.Errorf("VerifyPassword(%q) panicked: %v", c.hash, panicked)
				return
			}
			if ok || err == nil {
				t.Errorf("VerifyPassword(%q) = %v, %v; want false and an error", c.hash, ok, err)
			}
		})
	}
}

func verifyNoPanic(password, hash string) (ok bool, err error, panicked any) {
	defer func() {
		if r := recover(); r != nil {
			panicked = fmt.Sprint(r)
		}
	}()
	ok, err = VerifyPassword(password, hash)
	return ok, err, nil
}
