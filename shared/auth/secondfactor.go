package auth

import (
	"context"

	"github.com/inmor/inmor-serverless/shared/apperr"
)

// SecondFactor decides whether a login that passed its password check must
// present a second factor (package mfa implements it).
type SecondFactor interface {
	// Challenge returns the methods the user may present and a new
	// single-use challenge, or no methods when the user has no second
	// factor.
	Challenge(ctx context.Context, user User) (methods []string, challenge string, err error)
}

// SecondFactorRequired is the answer of a login whose password was right
// but whose user must present a second factor: no session is opened, and
// the challenge (given to the client, stored hashed) names the login in
// the second step.
type SecondFactorRequired struct {
	User      User
	Methods   []string
	Challenge string
}

// Error says that a second factor is required.
func (e *SecondFactorRequired) Error() string { return "a second factor is required" }

// MFARequiredForStaff is the message of a staff session refused by the
// policy that requires a second factor of staff.
const MFARequiredForStaff = "Multi-factor authentication is required for staff: enrol a second factor and log in again."

// secondFactor asks l.SecondFactor whether user must present one; a
// *SecondFactorRequired error when so.
func (l Logins) secondFactor(ctx context.Context, user User) error {
	if l.SecondFactor == nil {
		return nil
	}
	methods, challenge, err := l.SecondFactor.Challenge(ctx, user)
	if err != nil || len(methods) == 0 {
		return err
	}
	return &SecondFactorRequired{User: user, Methods: methods, Challenge: challenge}
}

// OpenSession opens a new session of user, who has passed every check of
// a login; secondFactor records whether one of them was a second factor.
// It returns the session id (given to the client, never stored).
func (l Logins) OpenSession(ctx context.Context, user User, secondFactor bool) (string, error) {
	now := l.now()
	id, err := NewSecret()
	if err != nil {
		return "", err
	}
	err = l.Sessions.CreateSession(ctx, Session{
		Hash: HashSessionID(id), Username: user.Username, UserID: user.ID, CreatedAt: now, ExpiresAt: now.Add(SessionLifetime),
		SecondFactor: secondFactor,
	})
	return id, err
}

// checkSecondFactorPolicy refuses a staff session without a second factor
// when the policy requires one. API keys are not affected.
func (a *Authenticator) checkSecondFactorPolicy(p Principal) error {
	if a.RequireSecondFactorForStaff && p.AuthMethod == MethodSession && (p.IsStaff || p.IsSuperuser) && !p.SecondFactor {
		return apperr.E(apperr.Op("auth.Authenticate"), apperr.Forbidden, MFARequiredForStaff)
	}
	return nil
}

// CheckThrottle refuses a login step for username while its failures are
// over the limit (a Throttled error with Retry-After), as Login does.
func (l Logins) CheckThrottle(ctx context.Context, username string) error {
	now := l.now()
	count, windowEnd, err := l.Throttle.LoginFailures(ctx, username)
	if err != nil {
		return err
	}
	if count >= MaxLoginFailures && now.Before(windowEnd) {
		return &apperr.Error{Op: "auth.Logins.CheckThrottle", Kind: apperr.Throttled, Message: TooManyLogins, RetryAfter: windowEnd.Sub(now)}
	}
	return nil
}

// RecordFailure counts a failed login step of username (a wrong second
// factor), as a wrong password is counted.
func (l Logins) RecordFailure(ctx context.Context, username string) error {
	return l.Throttle.RecordLoginFailure(ctx, username, l.now(), LoginWindow)
}
