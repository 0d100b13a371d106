package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/inmor/inmor-serverless/shared/apperr"
)

// Session cookies and headers, as Django names them.
const (
	SessionCookie = "sessionid"
	CSRFCookie    = "csrftoken"
	CSRFHeader    = "X-CSRFToken"
	// SessionLifetime is how long a session lasts (Django's two weeks).
	SessionLifetime = 14 * 24 * time.Hour
	// CSRFCookieLifetime is how long the CSRF cookie lasts (Django's year).
	CSRFCookieLifetime = 364 * 24 * time.Hour
)

// Session is a logged-in user's session. Only the hash of its id is stored.
type Session struct {
	Hash      string
	Username  string
	UserID    int64
	CreatedAt time.Time
	ExpiresAt time.Time
	// SecondFactor reports whether the login presented a second factor.
	SecondFactor bool
}

// SessionStore stores sessions.
type SessionStore interface {
	CreateSession(ctx context.Context, s Session) error
	// SessionByHash returns the session, or a NotFound error (apperr).
	SessionByHash(ctx context.Context, hash string) (Session, error)
	DeleteSession(ctx context.Context, hash string) error
}

// NewSecret returns 256 bits of randomness in URL-safe base64: session ids
// and CSRF tokens.
func NewSecret() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// HashSessionID returns the stored form of a session id.
func HashSessionID(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

// csrfFailed is a session request refused by the CSRF check, for reason.
func csrfFailed(reason string) error {
	return apperr.E(apperr.Op("auth.CheckCSRF"), apperr.CSRF, reason)
}

// unsafeMethod reports whether a method changes state (and so needs CSRF).
func unsafeMethod(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return false
	}
	return true
}

// CheckCSRF applies Django's checks to a session request with an unsafe
// method: an Origin, when sent, must be allowed (the request's own origin
// always is), and the csrftoken cookie must equal the X-CSRFToken header.
func CheckCSRF(r *http.Request, allowedOrigins []string) error {
	if origin := r.Header.Get("Origin"); origin != "" && !originAllowed(origin, r, allowedOrigins) {
		return csrfFailed(fmt.Sprintf("Origin checking failed - %s does not match any trusted origins.", origin))
	}
	cookie, err := r.Cookie(CSRFCookie)
	if err != nil || cookie.Value == "" {
		return csrfFailed("CSRF cookie not set.")
	}
	header := r.Header.Get(CSRFHeader)
	if header == "" {
		return csrfFailed("CSRF token missing.")
	}
	if subtle.ConstantTimeCompare([]byte(cookie.Value), []byte(header)) != 1 {
		return csrfFailed("CSRF token incorrect.")
	}
	return nil
}

func originAllowed(origin string, r *http.Request, allowed []string) bool {
	for _, a := range allowed {
		if strings.EqualFold(strings.TrimRight(a, "/"), origin) {
			return true
		}
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, r.Host) && (u.Scheme == "https" || u.Scheme == "http")
}

// InvalidCredentials is the message of a refused login (unknown user,
// wrong password, or inactive user: the caller cannot tell which).
const InvalidCredentials = "Invalid credentials"

// TooManyLogins is the message of a throttled login.
const TooManyLogins = "Too many failed logins; try again later."

// LoginThrottle counts failed logins per username within a window.
type LoginThrottle interface {
	// LoginFailures returns the failures counted and when their window ends.
	LoginFailures(ctx context.Context, username string) (count int, windowEnd time.Time, err error)
	// RecordLoginFailure counts one failure, opening a window of the given
	// length when none is open at now.
	RecordLoginFailure(ctx context.Context, username string, now time.Time, window time.Duration) error
	ClearLoginFailures(ctx context.Context, username string) error
}

// Login throttling: after MaxLoginFailures failures within LoginWindow, a
// username is locked until the window ends.
const (
	MaxLoginFailures = 5
	LoginWindow      = 15 * time.Minute
)

// UserStore finds users.
type UserStore interface {
	UserByUsername(ctx context.Context, username string) (User, error)
}

// Logins logs users in and out.
type Logins struct {
	Users    UserStore
	Sessions SessionStore
	Throttle LoginThrottle
	// SecondFactor, when set, asks users who have one for a second factor.
	SecondFactor SecondFactor
	// Now returns the current time; time.Now when nil.
	Now func() time.Time
}

// dummyHash is verified against when the user does not exist, so that an
// unknown username takes as long as a wrong password.
var dummyHash = sync.OnceValue(func() string {
	h, err := HashPassword("not a real password")
	if err != nil {
		panic(err)
	}
	return h
})

// Login checks the credentials and opens a new session; it returns the user
// and the session id (given to the client, never stored).
func (l Logins) Login(ctx context.Context, username, password string) (User, string, error) {
	user, failures, err := l.checkPassword(ctx, "auth.Logins.Login", username, password)
	if err != nil {
		return User{}, "", err
	}
	// A second factor comes first: the failures are cleared only by a
	// whole login, so that a known password does not reopen guessing.
	if err := l.secondFactor(ctx, user); err != nil {
		return user, "", err
	}
	if failures > 0 {
		if err := l.Throttle.ClearLoginFailures(ctx, username); err != nil {
			return User{}, "", err
		}
	}
	id, err := l.OpenSession(ctx, user, false)
	return user, id, err
}

// checkPassword checks a user's password, throttled: while the username's
// failures are over the limit it is refused unchecked (Throttled), and a
// wrong one is counted. It returns the user and the failures counted so
// far; an unknown username takes as long as a wrong password.
func (l Logins) checkPassword(ctx context.Context, op apperr.Op, username, password string) (User, int, error) {
	now := l.now()
	count, windowEnd, err := l.Throttle.LoginFailures(ctx, username)
	if err != nil {
		return User{}, 0, err
	}
	if count >= MaxLoginFailures && now.Before(windowEnd) {
		return User{}, count, &apperr.Error{Op: op, Kind: apperr.Throttled, Message: TooManyLogins, RetryAfter: windowEnd.Sub(now)}
	}
	user, err := l.Users.UserByUsername(ctx, username)
	hash := user.PasswordHash
	if apperr.Is(apperr.NotFound, err) {
		hash = dummyHash()
	} else if err != nil {
		return User{}, count, err
	}
	ok, verifyErr := VerifyPassword(password, hash)
	if err != nil || verifyErr != nil || !ok || !user.IsActive {
		if err := l.Throttle.RecordLoginFailure(ctx, username, now, LoginWindow); err != nil {
			return User{}, count, err
		}
		return User{}, count, apperr.E(op, apperr.Unauthorized, InvalidCredentials)
	}
	return user, count, nil
}

// Logout ends a session server-side.
func (l Logins) Logout(ctx context.Context, sessionID string) error {
	if sessionID == "" {
		return nil
	}
	return l.Sessions.DeleteSession(ctx, HashSessionID(sessionID))
}

func (l Logins) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}
