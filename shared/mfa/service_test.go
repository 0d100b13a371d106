package mfa_test

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/inmor/inmor-serverless/shared/apperr"
	"github.com/inmor/inmor-serverless/shared/auth"
	"github.com/inmor/inmor-serverless/shared/dynamo"
	"github.com/inmor/inmor-serverless/shared/dynamotest"
	"github.com/inmor/inmor-serverless/shared/memstore"
	"github.com/inmor/inmor-serverless/shared/mfa"
	"github.com/inmor/inmor-serverless/shared/tables"
)

func TestMain(m *testing.M) { dynamotest.Main(m) }

// userStore is what the tests need of the auth stores.
type userStore interface {
	auth.UserStore
	auth.SessionStore
	auth.LoginThrottle
	CreateUser(ctx context.Context, u auth.User) (auth.User, error)
}

// TestService runs the same enrolment and logins on the in-memory store
// and on the auth table (moto).
func TestService(t *testing.T) {
	t.Run("memstore", func(t *testing.T) {
		users := &memstore.Store{}
		service(t, users, &memstore.MFA{})
	})
	t.Run("dynamo", func(t *testing.T) {
		ctx := context.Background()
		getenv := dynamotest.Getenv(t, nil)
		client := dynamo.NewClient(dynamo.LocalConfig(dynamotest.Endpoint()))
		if err := dynamo.CreateTables(ctx, client, getenv); err != nil {
			t.Fatal(err)
		}
		store := &dynamo.Auth{Client: client, Table: tables.Auth.Name(getenv)}
		service(t, store, store)
	})
}

func service(t *testing.T, users userStore, store mfa.Store) {
	ctx := context.Background()
	now := time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	hash, err := auth.HashPassword("pw")
	if err != nil {
		t.Fatal(err)
	}
	alice, err := users.CreateUser(ctx, auth.User{Username: "alice", PasswordHash: hash, IsActive: true, IsStaff: true})
	if err != nil {
		t.Fatal(err)
	}
	logins := auth.Logins{Users: users, Sessions: users, Throttle: users, Now: clock}
	box := testBox(t, 1)
	s := mfa.Service{Store: store, Logins: logins, Now: clock, Secrets: box}
	logins.SecondFactor = s
	s.Logins = logins

	// Without a second factor, the password opens a session.
	if _, id, err := logins.Login(ctx, "alice", "pw"); err != nil || id == "" {
		t.Fatalf("login without MFA: %q %v", id, err)
	}
	if _, err := s.ConfirmTOTP(ctx, alice, "123456"); !apperr.Is(apperr.Invalid, err) {
		t.Errorf("confirm without a pending key: %v", err)
	}
	if _, err := s.RegenerateRecoveryCodes(ctx, "alice"); !apperr.Is(apperr.Invalid, err) {
		t.Errorf("recovery codes without a factor: %v", err)
	}

	// Enrolment: a key shown once, confirmed by a code.
	e, err := s.BeginTOTP(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[A-Z2-7]{32}$`).MatchString(e.Secret) || !strings.HasPrefix(e.URI, "otpauth://totp/Inmor:alice?") ||
		!strings.Contains(e.URI, "secret="+e.Secret) || !strings.HasPrefix(e.QRSVG, "<svg ") || !strings.Contains(e.QRSVG, "<path fill=\"#000\" d=\"M") {
		t.Errorf("enrolment %+v", e)
	}
	if _, err := s.ConfirmTOTP(ctx, alice, "000000"+"x"); !apperr.Is(apperr.Unprocessable, err) {
		t.Errorf("confirm with a wrong code: %v", err)
	}
	codes, err := s.ConfirmTOTP(ctx, alice, mfa.Code(e.Secret, now))
	if err != nil || len(codes) != mfa.RecoveryCodeCount {
		t.Fatalf("confirm: %v %v", codes, err)
	}
	for _, c := range codes {
		if !regexp.MustCompile(`^[0-9a-hjkmnp-tv-z]{5}-[0-9a-hjkmnp-tv-z]{5}$`).MatchString(c) {
			t.Errorf("recovery code %q", c)
		}
	}
	if st, err := s.Status(ctx, "alice"); err != nil || !st.TOTP || st.RecoveryCodesLeft != 10 || !slices.Equal(st.Methods, []string{mfa.MethodTOTP, mfa.MethodRecoveryCode}) {
		t.Errorf("status %+v %v", st, err)
	}
	if _, err := s.BeginTOTP(ctx, "alice"); !apperr.Is(apperr.Invalid, err) {
		t.Errorf("a second key: %v", err)
	}
	// The table holds the key sealed, and the codes hashed.
	state, err := store.MFAState(ctx, "alice")
	if err != nil || !strings.HasPrefix(state.TOTPSecret, "v1.") || strings.Contains(state.TOTPSecret, e.Secret) ||
		len(state.RecoveryHashes) != 10 || slices.Contains(state.RecoveryHashes, codes[0]) {
		t.Errorf("stored %+v %v", state, err)
	}
	if opened, err := box.Open("alice", state.TOTPSecret); err != nil || opened != e.Secret {
		t.Errorf("the stored key opens to %q, %v", opened, err)
	}

	// The password now asks for a second factor and opens no session.
	firstStep := func() string {
		t.Helper()
		_, id, err := logins.Login(ctx, "alice", "pw")
		req, ok := err.(*auth.SecondFactorRequired)
		if !ok || id != "" || req.Challenge == "" || !slices.Equal(req.Methods, []string{mfa.MethodTOTP, mfa.MethodRecoveryCode}) {
			t.Fatalf("login with MFA: %q %v", id, err)
		}
		return req.Challenge
	}
	// The code the enrolment used is refused: its step was accepted.
	if _, _, err := s.Verify(ctx, firstStep(), mfa.Proof{Code: mfa.Code(e.Secret, now)}); !apperr.Is(apperr.Unauthorized, err) {
		t.Errorf("the enrolment's code again: %v", err)
	}
	now = now.Add(30 * time.Second)
	challenge := firstStep()
	user, id, err := s.Verify(ctx, challenge, mfa.Proof{Code: mfa.Code(e.Secret, now)})
	if err != nil || id == "" || user.Username != "alice" {
		t.Fatalf("second step: %v %q %v", user, id, err)
	}
	if sess, err := users.SessionByHash(ctx, auth.HashSessionID(id)); err != nil || !sess.SecondFactor {
		t.Errorf("session %+v %v, want a second factor", sess, err)
	}
	// The challenge served once; the same code again is a replay.
	if _, _, err := s.Verify(ctx, challenge, mfa.Proof{Code: mfa.Code(e.Secret, now)}); !apperr.Is(apperr.Unauthorized, err) {
		t.Errorf("challenge reused: %v", err)
	}
	if _, _, err := s.Verify(ctx, firstStep(), mfa.Proof{Code: mfa.Code(e.Secret, now)}); !apperr.Is(apperr.Unauthorized, err) {
		t.Errorf("code replayed: %v", err)
	}
	// A recovery code serves once, in any case and with or without its dash.
	code := strings.ToUpper(strings.ReplaceAll(codes[3], "-", ""))
	if _, id, err := s.Verify(ctx, firstStep(), mfa.Proof{RecoveryCode: code}); err != nil || id == "" {
		t.Fatalf("recovery code: %v", err)
	}
	if _, _, err := s.Verify(ctx, firstStep(), mfa.Proof{RecoveryCode: codes[3]}); !apperr.Is(apperr.Unauthorized, err) {
		t.Errorf("recovery code reused: %v", err)
	}
	if st, _ := s.Status(ctx, "alice"); st.RecoveryCodesLeft != 9 {
		t.Errorf("recovery codes left %d", st.RecoveryCodesLeft)
	}
	// An expired challenge is refused.
	old := firstStep()
	now = now.Add(mfa.ChallengeLifetime + time.Second)
	if _, _, err := s.Verify(ctx, old, mfa.Proof{Code: mfa.Code(e.Secret, now)}); !apperr.Is(apperr.Unauthorized, err) {
		t.Errorf("expired challenge: %v", err)
	}

	// Wrong codes are throttled with the passwords: a right password does
	// not clear them (the reused recovery code counted one), and the sixth
	// attempt is refused.
	for i := range auth.MaxLoginFailures - 2 {
		if _, _, err := s.Verify(ctx, firstStep(), mfa.Proof{Code: "000000"}); !apperr.Is(apperr.Unauthorized, err) {
			t.Fatalf("wrong code %d: %v", i, err)
		}
	}
	now = now.Add(30 * time.Second)
	if _, _, err := s.Verify(ctx, firstStep(), mfa.Proof{Code: "000000"}); !apperr.Is(apperr.Unauthorized, err) {
		t.Fatalf("fifth wrong code: %v", err)
	}
	if _, _, err := logins.Login(ctx, "alice", "pw"); !apperr.Is(apperr.Throttled, err) {
		t.Errorf("after five wrong codes: %v, want throttled", err)
	}
	now = now.Add(auth.LoginWindow)
	if _, _, err := s.Verify(ctx, firstStep(), mfa.Proof{Code: mfa.Code(e.Secret, now)}); err != nil {
		t.Errorf("after the window: %v", err)
	}

	// New recovery codes replace the old; removal and reset.
	fresh, err := s.RegenerateRecoveryCodes(ctx, "alice")
	if err != nil || len(fresh) != 10 {
		t.Fatalf("regenerate: %v", err)
	}
	if _, _, err := s.Verify(ctx, firstStep(), mfa.Proof{RecoveryCode: codes[0]}); !apperr.Is(apperr.Unauthorized, err) {
		t.Errorf("an old recovery code: %v", err)
	}
	if err := s.RemoveTOTP(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveTOTP(ctx, "alice"); !apperr.Is(apperr.Invalid, err) {
		t.Errorf("remove again: %v", err)
	}
	if _, id, err := logins.Login(ctx, "alice", "pw"); err != nil || id == "" {
		t.Errorf("login after removal: %v", err)
	}
	e2, err := s.BeginTOTP(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ConfirmTOTP(ctx, alice, mfa.Code(e2.Secret, now)); err != nil {
		t.Fatal(err)
	}
	if reset, err := s.Reset(ctx, "alice"); err != nil || !reset {
		t.Errorf("reset: %v %v", reset, err)
	}
	if reset, err := s.Reset(ctx, "alice"); err != nil || reset {
		t.Errorf("reset again: %v %v", reset, err)
	}
	if _, id, err := logins.Login(ctx, "alice", "pw"); err != nil || id == "" {
		t.Errorf("login after reset: %v", err)
	}
	if m, ok := store.(*memstore.MFA); ok {
		var got []string
		for _, ev := range m.Events {
			got = append(got, ev.Type+"/"+ev.Factor+"/"+ev.Method)
		}
		want := []string{"mfa_enrolled/totp/session", "mfa_enrolled/recovery_codes/session", "mfa_removed/totp/session", "mfa_enrolled/totp/session", "mfa_reset/all/cli"}
		if !slices.Equal(got, want) {
			t.Errorf("events %v, want %v", got, want)
		}
	}
}

// testBox is a SecretBox under a key of the bytes b.
func testBox(t *testing.T, b byte) *mfa.SecretBox {
	t.Helper()
	box, err := mfa.NewSecretBox(bytes.Repeat([]byte{b}, mfa.MinKeySize))
	if err != nil {
		t.Fatal(err)
	}
	return box
}

// TestSecretBox: a sealed secret opens for its user under its key only,
// and not once altered; each seal is fresh; short keys are refused.
func TestSecretBox(t *testing.T) {
	box, other := testBox(t, 1), testBox(t, 2)
	sealed, err := box.Seal("alice", "JBSWY3DPEHPK3PXP")
	if err != nil || !strings.HasPrefix(sealed, "v1.") || strings.Contains(sealed, "JBSWY3DPEHPK3PXP") {
		t.Fatalf("seal: %q %v", sealed, err)
	}
	if again, _ := box.Seal("alice", "JBSWY3DPEHPK3PXP"); again == sealed {
		t.Error("two seals are equal: the nonce is not fresh")
	}
	if got, err := box.Open("alice", sealed); err != nil || got != "JBSWY3DPEHPK3PXP" {
		t.Errorf("open: %q %v", got, err)
	}
	altered := []byte(sealed)
	altered[len(altered)-2] ^= 1
	for name, c := range map[string]struct {
		box      *mfa.SecretBox
		username string
		value    string
	}{
		"another user": {box, "bob", sealed}, "another key": {other, "alice", sealed}, "altered": {box, "alice", string(altered)},
		"in clear": {box, "alice", "JBSWY3DPEHPK3PXP"}, "no prefix": {box, "alice", strings.TrimPrefix(sealed, "v1.")}, "empty": {box, "alice", ""},
	} {
		if got, err := c.box.Open(c.username, c.value); !errors.Is(err, mfa.ErrNotSealed) || got != "" {
			t.Errorf("%s: %q %v", name, got, err)
		}
	}
	if _, err := mfa.NewSecretBox(make([]byte, mfa.MinKeySize-1)); err == nil {
		t.Error("a short key was taken")
	}
}

// TestPlantedSecretsAreRefused: a TOTP key written into the table by
// someone without the MFA key (in clear, or another user's sealed key
// moved over) accepts no code, so a stolen password and a write to the
// table do not make a second factor.
func TestPlantedSecretsAreRefused(t *testing.T) {
	ctx := context.Background()
	users, store := &memstore.Store{}, &memstore.MFA{}
	hash, err := auth.HashPassword("pw")
	if err != nil {
		t.Fatal(err)
	}
	logins := auth.Logins{Users: users, Sessions: users, Throttle: users}
	s := mfa.Service{Store: store, Logins: logins, Secrets: testBox(t, 1)}
	logins.SecondFactor = s
	s.Logins = logins
	created := map[string]auth.User{}
	for _, name := range []string{"alice", "mallory", "bob"} {
		if created[name], err = users.CreateUser(ctx, auth.User{Username: name, PasswordHash: hash, IsActive: true, IsStaff: true}); err != nil {
			t.Fatal(err)
		}
	}
	e, err := s.BeginTOTP(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ConfirmTOTP(ctx, created["alice"], mfa.Code(e.Secret, time.Now())); err != nil {
		t.Fatal(err)
	}
	alice, err := store.MFAState(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	const known = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	for user, planted := range map[string]string{"mallory": known, "bob": alice.TOTPSecret} {
		if err := store.EnrolTOTP(ctx, created[user], planted, 0, []string{"h"}, mfa.Event{}); err != nil {
			t.Fatal(err)
		}
		secret := map[string]string{"mallory": known, "bob": e.Secret}[user]
		_, _, err := logins.Login(ctx, user, "pw")
		required, ok := err.(*auth.SecondFactorRequired)
		if !ok {
			t.Fatalf("%s's login: %v", user, err)
		}
		if _, id, err := s.Verify(ctx, required.Challenge, mfa.Proof{Code: mfa.Code(secret, time.Now())}); !apperr.Is(apperr.Unauthorized, err) || id != "" {
			t.Errorf("%s's planted key opened a session: %v", user, err)
		}
	}
}
