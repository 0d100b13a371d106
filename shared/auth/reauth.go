package auth

import (
	"context"
	"time"

	"github.com/inmor/inmor-serverless/shared/apperr"
)

// ReauthenticationWindow is how long after a session's login (or its
// reauthentication) it may change the user's second factors; later the
// password is asked again, as django-allauth asks
// (ACCOUNT_REAUTHENTICATION_TIMEOUT, 300 s). A stolen session then cannot
// add the thief's factor, or remove the user's, without the password.
const ReauthenticationWindow = 5 * time.Minute

// ReauthenticationRequired is the message of a change refused because the
// session's login is older than the window.
const ReauthenticationRequired = "Reauthentication required: confirm your password (POST /api/v1/auth/reauthenticate)."

// RecentlyAuthenticated reports whether a session principal's login (or
// reauthentication) is within the window at now.
func (p Principal) RecentlyAuthenticated(now time.Time) bool {
	return p.AuthMethod == MethodSession && !p.AuthenticatedAt.IsZero() && now.Sub(p.AuthenticatedAt) <= ReauthenticationWindow
}

// RequireRecentLogin refuses (Unauthorized, ReauthenticationRequired) a
// principal that has not authenticated within the window at now.
func RequireRecentLogin(p Principal, now time.Time) error {
	if p.RecentlyAuthenticated(now) {
		return nil
	}
	return apperr.E(apperr.Op("auth.RequireRecentLogin"), apperr.Unauthorized, ReauthenticationRequired)
}

// Reauthenticate checks the password of a session's user again (throttled
// and counted as a login's) and replaces the session, whose id is
// sessionID, by a new one authenticated now that keeps its second factor:
// it returns the new id. A refused password leaves the session as it is.
func (l Logins) Reauthenticate(ctx context.Context, p Principal, sessionID, password string) (string, error) {
	user, _, err := l.checkPassword(ctx, "auth.Logins.Reauthenticate", p.Username, password)
	if err != nil {
		return "", err
	}
	if user.ID != p.UserID {
		return "", apperr.E(apperr.Op("auth.Logins.Reauthenticate"), apperr.Unauthorized, InvalidCredentials)
	}
	id, err := l.OpenSession(ctx, user, p.SecondFactor)
	if err != nil {
		return "", err
	}
	return id, l.Logout(ctx, sessionID)
}
