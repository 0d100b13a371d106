// Package auth decides who is calling: API keys (generation, hashing,
// validation) and users (password hashing), and the Principal that the rest of
// the system records as the author of a change.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strings"
	"time"

	"github.com/inmor/inmor-serverless/shared/apperr"
)

// Authentication methods, as recorded in the audit log.
const (
	MethodAPIKey  = "api_key"
	MethodSession = "session"
)

// Key scopes.
const (
	// ScopeAdmin allows every call.
	ScopeAdmin = "admin"
	// ScopeAuditRead allows only reading the audit log.
	ScopeAuditRead = "audit:read"
)

// DefaultTenant is the tenant of sessions and of keys created without one.
const DefaultTenant = "default"

// APIKeyHeader carries an API key.
const APIKeyHeader = "X-API-Key"

// KeyPrefixLength is the number of leading characters of a key kept in clear
// so operators can tell keys apart.
const KeyPrefixLength = 8

// unauthenticated is the error of a request without valid credentials.
func unauthenticated() error { return apperr.E(apperr.Op("auth.Authenticate"), apperr.Unauthorized) }

// Principal is an authenticated caller.
type Principal struct {
	UserID      int64
	Username    string
	IsStaff     bool
	IsSuperuser bool
	// AuthMethod is MethodAPIKey or MethodSession.
	AuthMethod string
	// APIKeyName is the name of the key used, or "".
	APIKeyName string
	Tenant     string
	Scope      string
	// SecondFactor reports whether the session's login presented a
	// second factor.
	SecondFactor bool
	// AuthenticatedAt is when the session's user last gave the password
	// (its login, or a reauthentication); zero for an API key.
	AuthenticatedAt time.Time
}

// User is an account that can own API keys and log in.
type User struct {
	ID           int64
	Username     string
	Email        string
	IsStaff      bool
	IsSuperuser  bool
	IsActive     bool
	PasswordHash string
	DateJoined   time.Time
}

// APIKey is a stored API key. The plaintext is never stored: only its hash.
type APIKey struct {
	Hash       string
	Prefix     string
	Name       string
	Username   string
	UserID     int64
	Tenant     string
	Scope      string
	IsActive   bool
	CreatedAt  time.Time
	ExpiresAt  *time.Time
	LastUsedAt *time.Time
}

// Usable reports whether the key may authenticate a request at time now.
func (k APIKey) Usable(now time.Time) bool {
	if !k.IsActive {
		return false
	}
	return k.ExpiresAt == nil || now.Before(*k.ExpiresAt)
}

// GenerateAPIKey returns a new 256-bit random key in URL-safe base64, its
// prefix and its hash.
func GenerateAPIKey() (plaintext, prefix, hash string, err error) {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", "", "", err
	}
	plaintext = base64.RawURLEncoding.EncodeToString(raw[:])
	return plaintext, plaintext[:KeyPrefixLength], HashAPIKey(plaintext), nil
}

// HashAPIKey returns the stored form of a key: hex SHA-256. A fast hash is
// right here: keys are 256-bit random, so there is nothing to brute-force.
func HashAPIKey(plaintext string) string {
	sum := sha256.Sum256([]byte(plaintext))
	return hex.EncodeToString(sum[:])
}

// KeyStore reads the data that authentication needs.
type KeyStore interface {
	// APIKeyByHash returns the key with that hash, or a NotFound error (apperr).
	APIKeyByHash(ctx context.Context, hash string) (APIKey, error)
	// UserByUsername returns the user, or a NotFound error (apperr).
	UserByUsername(ctx context.Context, username string) (User, error)
}

// KeyToucher records when a key was last used.
type KeyToucher interface {
	// TouchAPIKey sets the key's last_used_at to now unless it is already
	// later than notBefore (so it is written at most once a minute).
	TouchAPIKey(ctx context.Context, hash string, now, notBefore time.Time) error
}

// LastUsedResolution is how stale a key's last_used_at may be: it is written
// at most once per key in this interval, not on every request.
const LastUsedResolution = time.Minute

// Authenticator authenticates requests: by API key (X-API-Key) or, without
// that header, by session cookie with CSRF protection of unsafe methods.
type Authenticator struct {
	Store KeyStore
	// Sessions, when set, enables session authentication.
	Sessions SessionStore
	// Touch, when set, records keys' last use.
	Touch KeyToucher
	// Cache, when set, caches key lookups for a bounded time.
	Cache *KeyCache
	// AllowedOrigins may send unsafe session requests besides the API's own origin.
	AllowedOrigins []string
	// Now returns the current time; time.Now when nil.
	Now func() time.Time
	// RequireSecondFactorForStaff refuses staff sessions opened without a
	// second factor (MFA_REQUIRED_FOR_STAFF).
	RequireSecondFactorForStaff bool
}

// maxKeyLength bounds the header before it is hashed.
const maxKeyLength = 256

// Authenticate returns the caller of r, an Unauthorized error, or a
// CSRF error (or the second-factor policy's Forbidden) together with the
// session's caller, whom the check refused
// (so the refusal can be recorded against them). A request that carries
// an API key is judged by that key alone: an invalid key never falls back
// to the session.
func (a *Authenticator) Authenticate(r *http.Request) (Principal, error) {
	if _, sent := r.Header[http.CanonicalHeaderKey(APIKeyHeader)]; sent {
		plaintext := strings.TrimSpace(r.Header.Get(APIKeyHeader))
		if plaintext == "" || len(plaintext) > maxKeyLength {
			return Principal{}, unauthenticated()
		}
		return a.authenticateKey(r.Context(), plaintext)
	}
	p, err := a.SessionPrincipal(r)
	if err != nil {
		return Principal{}, err
	}
	if err := a.checkSecondFactorPolicy(p); err != nil {
		return p, err // refused, as a CSRF failure, so a refused write is recorded
	}
	if unsafeMethod(r.Method) {
		if err := CheckCSRF(r, a.AllowedOrigins); err != nil {
			return p, err
		}
	}
	return p, nil
}

// SessionPrincipal returns the caller of r by its session cookie alone, or
// an Unauthorized error. It makes no CSRF check.
func (a *Authenticator) SessionPrincipal(r *http.Request) (Principal, error) {
	cookie, err := r.Cookie(SessionCookie)
	if a.Sessions == nil || err != nil || cookie.Value == "" || len(cookie.Value) > maxKeyLength {
		return Principal{}, unauthenticated()
	}
	ctx := r.Context()
	session, err := a.Sessions.SessionByHash(ctx, HashSessionID(cookie.Value))
	if apperr.Is(apperr.NotFound, err) {
		return Principal{}, unauthenticated()
	}
	if err != nil {
		return Principal{}, err
	}
	if !a.now().Before(session.ExpiresAt) {
		return Principal{}, unauthenticated()
	}
	user, err := a.Store.UserByUsername(ctx, session.Username)
	if apperr.Is(apperr.NotFound, err) {
		return Principal{}, unauthenticated()
	}
	if err != nil {
		return Principal{}, err
	}
	if !user.IsActive || user.ID != session.UserID {
		return Principal{}, unauthenticated()
	}
	return Principal{
		UserID: user.ID, Username: user.Username, IsStaff: user.IsStaff, IsSuperuser: user.IsSuperuser,
		AuthMethod: MethodSession, Tenant: DefaultTenant, Scope: ScopeAdmin, SecondFactor: session.SecondFactor,
		AuthenticatedAt: session.CreatedAt,
	}, nil
}

func (a *Authenticator) authenticateKey(ctx context.Context, plaintext string) (Principal, error) {
	hash := HashAPIKey(plaintext)
	now := a.now()
	if p, ok := a.Cache.get(hash, now); ok {
		return p, nil
	}
	p, key, err := a.lookupKey(ctx, hash, now)
	if err != nil {
		return Principal{}, err
	}
	if a.Touch != nil && (key.LastUsedAt == nil || now.Sub(*key.LastUsedAt) >= LastUsedResolution) {
		if err := a.Touch.TouchAPIKey(ctx, hash, now, now.Add(-LastUsedResolution)); err != nil {
			return Principal{}, err
		}
	}
	a.Cache.put(hash, p, now)
	return p, nil
}

// lookupKey reads a key and its owner and checks that both may be used.
func (a *Authenticator) lookupKey(ctx context.Context, hash string, now time.Time) (Principal, APIKey, error) {
	key, err := a.Store.APIKeyByHash(ctx, hash)
	if apperr.Is(apperr.NotFound, err) {
		return Principal{}, key, unauthenticated()
	}
	if err != nil {
		return Principal{}, key, err
	}
	// The lookup was by hash; compare again in constant time so that a store
	// returning a near match can never authenticate.
	if subtle.ConstantTimeCompare([]byte(key.Hash), []byte(hash)) != 1 || !key.Usable(now) {
		return Principal{}, key, unauthenticated()
	}
	user, err := a.Store.UserByUsername(ctx, key.Username)
	if apperr.Is(apperr.NotFound, err) {
		return Principal{}, key, unauthenticated()
	}
	if err != nil {
		return Principal{}, key, err
	}
	if !user.IsActive || user.ID != key.UserID {
		return Principal{}, key, unauthenticated()
	}
	scope, tenant := key.Scope, key.Tenant
	if scope == "" {
		scope = ScopeAdmin
	}
	if tenant == "" {
		tenant = DefaultTenant
	}
	return Principal{
		UserID:      user.ID,
		Username:    user.Username,
		IsStaff:     user.IsStaff,
		IsSuperuser: user.IsSuperuser,
		AuthMethod:  MethodAPIKey,
		APIKeyName:  key.Name,
		Tenant:      tenant,
		Scope:       scope,
	}, key, nil
}

func (a *Authenticator) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

type principalKey struct{}

// WithPrincipal returns a context carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal stored by WithPrincipal.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}
