package auth

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/inmor/inmor-serverless/shared/apperr"
)

// fakeSecondFactor asks every user for a second factor.
type fakeSecondFactor struct{ calls int }

func (f *fakeSecondFactor) Challenge(_ context.Context, u User) ([]string, string, error) {
	f.calls++
	return []string{"totp"}, "challenge-of-" + u.Username, nil
}

// TestSecondFactorRequired: a right password of a user with a second factor
// opens no session and clears no failures; OpenSession opens one that
// records the second factor.
func TestSecondFactorRequired(t *testing.T) {
	_, sessions, _, logins := sessionFixture(t)
	second := &fakeSecondFactor{}
	logins.SecondFactor = second
	ctx := context.Background()
	if _, _, err := logins.Login(ctx, "alice", "wrong"); !apperr.Is(apperr.Unauthorized, err) {
		t.Fatalf("wrong password: %v", err)
	}
	user, id, err := logins.Login(ctx, "alice", "s3cret")
	var required *SecondFactorRequired
	if !errors.As(err, &required) || id != "" || required.Challenge != "challenge-of-alice" || required.User.Username != "alice" {
		t.Fatalf("login: %+v %q %v", user, id, err)
	}
	if len(sessions.sessions) != 0 || sessions.failures["alice"] != 1 {
		t.Errorf("sessions %v, failures %v: want none opened and the failure kept", sessions.sessions, sessions.failures)
	}
	if err := logins.RecordFailure(ctx, "alice"); err != nil || sessions.failures["alice"] != 2 {
		t.Errorf("record failure: %v %v", err, sessions.failures)
	}
	id, err = logins.OpenSession(ctx, user, true)
	if s := sessions.sessions[HashSessionID(id)]; err != nil || !s.SecondFactor || s.Username != "alice" {
		t.Errorf("open session: %+v %v", s, err)
	}
	for range MaxLoginFailures {
		_ = logins.RecordFailure(ctx, "alice")
	}
	var throttled *apperr.Error
	if err := logins.CheckThrottle(ctx, "alice"); !errors.As(err, &throttled) || throttled.Kind != apperr.Throttled || throttled.RetryAfter <= 0 {
		t.Errorf("check throttle: %v", err)
	}
}

// TestSecondFactorPolicy: with the policy, a staff session without a second
// factor is refused (with its caller, so a refused write is recorded), one
// with it and API keys pass; without the policy all pass.
func TestSecondFactorPolicy(t *testing.T) {
	store, sessions, c, _ := sessionFixture(t)
	for _, s := range []Session{
		{Hash: HashSessionID("plain"), Username: "alice", UserID: 7, ExpiresAt: t0.Add(time.Hour)},
		{Hash: HashSessionID("mfa"), Username: "alice", UserID: 7, ExpiresAt: t0.Add(time.Hour), SecondFactor: true},
	} {
		sessions.sessions[s.Hash] = s
	}
	key, prefix, hash, err := GenerateAPIKey()
	if err != nil {
		t.Fatal(err)
	}
	store.keys[hash] = APIKey{Hash: hash, Prefix: prefix, Username: "alice", UserID: 7, IsActive: true, Scope: ScopeAdmin}
	for _, required := range []bool{false, true} {
		authn := &Authenticator{Store: store, Sessions: sessions, Now: c.Now, RequireSecondFactorForStaff: required}
		p, err := authn.Authenticate(request("GET", map[string]string{SessionCookie: "plain"}, nil))
		if required && (!apperr.Is(apperr.Forbidden, err) || p.Username != "alice") {
			t.Errorf("policy on, no second factor: %+v %v", p, err)
		}
		if !required && err != nil {
			t.Errorf("policy off: %v", err)
		}
		if p, err := authn.Authenticate(request("GET", map[string]string{SessionCookie: "mfa"}, nil)); err != nil || !p.SecondFactor {
			t.Errorf("second factor (policy %v): %+v %v", required, p, err)
		}
		if _, err := authn.Authenticate(request("GET", nil, map[string]string{APIKeyHeader: key})); err != nil {
			t.Errorf("API key (policy %v): %v", required, err)
		}
		// The session's own routes (SessionPrincipal) pass: enrolment.
		if _, err := authn.SessionPrincipal(request("GET", map[string]string{SessionCookie: "plain"}, nil)); err != nil {
			t.Errorf("session principal (policy %v): %v", required, err)
		}
	}
}
