package auth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/inmor/inmor-serverless/shared/apperr"
)

// memSessions is an in-memory SessionStore, LoginThrottle and KeyToucher.
type memSessions struct {
	sessions map[string]Session
	failures map[string]int
	window   map[string]time.Time
	touched  []time.Time
}

func newMemSessions() *memSessions {
	return &memSessions{sessions: map[string]Session{}, failures: map[string]int{}, window: map[string]time.Time{}}
}

func (m *memSessions) CreateSession(_ context.Context, s Session) error {
	m.sessions[s.Hash] = s
	return nil
}

func (m *memSessions) SessionByHash(_ context.Context, hash string) (Session, error) {
	s, ok := m.sessions[hash]
	if !ok {
		return Session{}, apperr.E(apperr.NotFound)
	}
	return s, nil
}

func (m *memSessions) DeleteSession(_ context.Context, hash string) error {
	delete(m.sessions, hash)
	return nil
}

func (m *memSessions) LoginFailures(_ context.Context, u string) (int, time.Time, error) {
	return m.failures[u], m.window[u], nil
}

func (m *memSessions) RecordLoginFailure(_ context.Context, u string, now time.Time, window time.Duration) error {
	if !now.Before(m.window[u]) {
		m.failures[u], m.window[u] = 0, now.Add(window)
	}
	m.failures[u]++
	return nil
}

func (m *memSessions) ClearLoginFailures(_ context.Context, u string) error {
	delete(m.failures, u)
	delete(m.window, u)
	return nil
}

func (m *memSessions) TouchAPIKey(_ context.Context, _ string, now, _ time.Time) error {
	m.touched = append(m.touched, now)
	return nil
}

var t0 = time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)

type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

func sessionFixture(t *testing.T) (*fakeKeyStore, *memSessions, *clock, Logins) {
	t.Helper()
	hash, err := HashPassword("s3cret")
	if err != nil {
		t.Fatal(err)
	}
	store := &fakeKeyStore{keys: map[string]APIKey{}, users: map[string]User{
		"alice": {ID: 7, Username: "alice", Email: "a@example.org", IsStaff: true, IsActive: true, PasswordHash: hash},
	}}
	sessions, c := newMemSessions(), &clock{now: t0}
	return store, sessions, c, Logins{Users: store, Sessions: sessions, Throttle: sessions, Now: c.Now}
}

func request(method string, cookies map[string]string, headers map[string]string) *http.Request {
	r := httptest.NewRequest(method, "http://api.example.org/api/v1/trustmarktypes", strings.NewReader("{}"))
	for name, value := range cookies {
		r.AddCookie(&http.Cookie{Name: name, Value: value})
	}
	for name, value := range headers {
		r.Header.Set(name, value)
	}
	return r
}

func TestLoginOpensASessionStoredOnlyHashed(t *testing.T) {
	store, sessions, c, logins := sessionFixture(t)
	user, id, err := logins.Login(context.Background(), "alice", "s3cret")
	if err != nil || user.ID != 7 {
		t.Fatalf("login: %v %+v", err, user)
	}
	if len(id) != 43 {
		t.Errorf("session id %q is not 256 bits in base64url", id)
	}
	stored, ok := sessions.sessions[HashSessionID(id)]
	if !ok || len(sessions.sessions) != 1 {
		t.Fatalf("sessions stored: %v", sessions.sessions)
	}
	if _, plain := sessions.sessions[id]; plain {
		t.Error("the session id is stored in clear")
	}
	if !stored.ExpiresAt.Equal(t0.Add(14 * 24 * time.Hour)) {
		t.Errorf("session expires %v, want two weeks", stored.ExpiresAt)
	}
	_, id2, err := logins.Login(context.Background(), "alice", "s3cret")
	if err != nil || id2 == id {
		t.Errorf("a second login must get a new session id (%v)", err)
	}

	authn := &Authenticator{Store: store, Sessions: sessions, Now: c.Now}
	p, err := authn.Authenticate(request("GET", map[string]string{SessionCookie: id}, nil))
	if err != nil || p.AuthMethod != MethodSession || p.Tenant != DefaultTenant || p.Username != "alice" || p.Scope != ScopeAdmin {
		t.Errorf("session principal %+v, %v", p, err)
	}
	c.now = stored.ExpiresAt
	if _, err := authn.Authenticate(request("GET", map[string]string{SessionCookie: id}, nil)); !apperr.Is(apperr.Unauthorized, err) {
		t.Errorf("an expired session authenticated: %v", err)
	}
	c.now = t0
	if err := logins.Logout(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	if _, err := authn.Authenticate(request("GET", map[string]string{SessionCookie: id}, nil)); !apperr.Is(apperr.Unauthorized, err) {
		t.Errorf("a logged-out session authenticated: %v", err)
	}
}

func TestLoginFailuresAreThrottled(t *testing.T) {
	_, sessions, c, logins := sessionFixture(t)
	ctx := context.Background()
	if _, _, err := logins.Login(ctx, "nobody", "x"); !isInvalidCredentials(err) {
		t.Errorf("unknown user: %v", err)
	}
	for i := 0; i < MaxLoginFailures; i++ {
		if _, _, err := logins.Login(ctx, "alice", "wrong"); !isInvalidCredentials(err) {
			t.Fatalf("failure %d: %v", i+1, err)
		}
	}
	c.now = t0.Add(time.Minute)
	_, _, err := logins.Login(ctx, "alice", "s3cret") // even the right password waits
	var throttled *apperr.Error
	if !errors.As(err, &throttled) || throttled.Kind != apperr.Throttled || throttled.RetryAfter != LoginWindow-time.Minute ||
		throttled.Message != TooManyLogins {
		t.Fatalf("after %d failures: %v, want throttled for the rest of the window", MaxLoginFailures, err)
	}
	if len(sessions.sessions) != 0 {
		t.Error("a throttled login opened a session")
	}
	c.now = t0.Add(LoginWindow)
	if _, _, err := logins.Login(ctx, "alice", "s3cret"); err != nil {
		t.Fatalf("after the window: %v", err)
	}
	if sessions.failures["alice"] != 0 {
		t.Error("a successful login did not clear the failures")
	}
}

func TestInactiveUserCannotLogIn(t *testing.T) {
	store, _, _, logins := sessionFixture(t)
	u := store.users["alice"]
	u.IsActive = false
	store.users["alice"] = u
	if _, _, err := logins.Login(context.Background(), "alice", "s3cret"); !isInvalidCredentials(err) {
		t.Errorf("inactive user logged in: %v", err)
	}
}

func TestSessionUnsafeMethodsNeedCSRF(t *testing.T) {
	store, sessions, c, logins := sessionFixture(t)
	_, id, err := logins.Login(context.Background(), "alice", "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	authn := &Authenticator{Store: store, Sessions: sessions, Now: c.Now, AllowedOrigins: []string{"https://admin.example.org"}}
	const token = "tok-0123456789abcdefghijklmnopqrstuvwxyzABCD"
	cases := []struct {
		name    string
		method  string
		cookies map[string]string
		headers map[string]string
		reason  string // "" accepted
	}{
		{"GET needs no token", "GET", map[string]string{SessionCookie: id}, nil, ""},
		{"POST with cookie and header", "POST", map[string]string{SessionCookie: id, CSRFCookie: token}, map[string]string{CSRFHeader: token}, ""},
		{"POST from an allowed origin", "PUT", map[string]string{SessionCookie: id, CSRFCookie: token}, map[string]string{CSRFHeader: token, "Origin": "https://admin.example.org"}, ""},
		{"POST from its own origin", "POST", map[string]string{SessionCookie: id, CSRFCookie: token}, map[string]string{CSRFHeader: token, "Origin": "http://api.example.org"}, ""},
		{"no cookie", "POST", map[string]string{SessionCookie: id}, map[string]string{CSRFHeader: token}, "CSRF cookie not set."},
		{"no header", "DELETE", map[string]string{SessionCookie: id, CSRFCookie: token}, nil, "CSRF token missing."},
		{"wrong header", "PATCH", map[string]string{SessionCookie: id, CSRFCookie: token}, map[string]string{CSRFHeader: token + "x"}, "CSRF token incorrect."},
		{"foreign origin", "POST", map[string]string{SessionCookie: id, CSRFCookie: token}, map[string]string{CSRFHeader: token, "Origin": "https://evil.example"},
			"Origin checking failed - https://evil.example does not match any trusted origins."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := authn.Authenticate(request(c.method, c.cookies, c.headers))
			var csrf *apperr.Error
			switch {
			case c.reason == "" && err != nil:
				t.Errorf("refused: %v", err)
			case c.reason != "" && (!errors.As(err, &csrf) || csrf.Kind != apperr.CSRF || csrf.Message != c.reason):
				t.Errorf("got %v, want CSRF failure %q", err, c.reason)
			case p.Username != "alice" || p.AuthMethod != MethodSession:
				t.Errorf("caller %+v, want the session's user, refused or not", p)
			}
		})
	}
}

func TestAnAPIKeyHeaderNeverFallsBackToTheSession(t *testing.T) {
	store, sessions, c, logins := sessionFixture(t)
	_, id, _ := logins.Login(context.Background(), "alice", "s3cret")
	authn := &Authenticator{Store: store, Sessions: sessions, Now: c.Now}
	for _, key := range []string{"invalid-key", ""} {
		r := request("GET", map[string]string{SessionCookie: id}, nil)
		r.Header.Set(APIKeyHeader, key)
		if _, err := authn.Authenticate(r); !apperr.Is(apperr.Unauthorized, err) {
			t.Errorf("key %q with a valid session: %v, want unauthenticated", key, err)
		}
	}
	// A valid key needs no CSRF, even on POST.
	const plain = "valid-key-0123456789abcdefghijklmnopqrstuvw"
	store.keys[HashAPIKey(plain)] = APIKey{Hash: HashAPIKey(plain), Name: "ci", Username: "alice", UserID: 7, Tenant: "acme", IsActive: true}
	r := request("POST", nil, map[string]string{APIKeyHeader: plain})
	if p, err := authn.Authenticate(r); err != nil || p.AuthMethod != MethodAPIKey || p.Tenant != "acme" {
		t.Errorf("POST with a key: %+v %v", p, err)
	}
}

// TestRevokedKeyStopsWithinTheCacheBound: a cached key keeps working only
// until its cache entry expires, and the cache never keeps one longer
// than MaxKeyCacheTTL; an unknown key is never cached.
func TestRevokedKeyStopsWithinTheCacheBound(t *testing.T) {
	const plain = "cached-key-0123456789abcdefghijklmnopqrstuv"
	c := &clock{now: t0}
	store := &fakeKeyStore{
		keys:  map[string]APIKey{HashAPIKey(plain): {Hash: HashAPIKey(plain), Name: "ci", Username: "alice", UserID: 7, Tenant: "acme", IsActive: true}},
		users: map[string]User{"alice": {ID: 7, Username: "alice", IsActive: true}},
	}
	authn := &Authenticator{Store: store, Cache: NewKeyCache(10 * time.Minute), Now: c.Now}
	auth := func() error {
		_, err := authn.Authenticate(request("GET", nil, map[string]string{APIKeyHeader: plain}))
		return err
	}
	if err := auth(); err != nil {
		t.Fatal(err)
	}
	k := store.keys[HashAPIKey(plain)]
	k.IsActive = false
	store.keys[HashAPIKey(plain)] = k
	calls := store.keyCalls
	c.now = t0.Add(MaxKeyCacheTTL - time.Second)
	if err := auth(); err != nil || store.keyCalls != calls {
		t.Fatalf("within the bound the cached lookup serves (err %v, %d reads)", err, store.keyCalls-calls)
	}
	c.now = t0.Add(MaxKeyCacheTTL)
	if err := auth(); !apperr.Is(apperr.Unauthorized, err) {
		t.Fatalf("a revoked key still works %s after revocation: %v", MaxKeyCacheTTL, err)
	}
	// Failures are not cached: the key works again as soon as it is restored.
	k.IsActive = true
	store.keys[HashAPIKey(plain)] = k
	if err := auth(); err != nil {
		t.Errorf("a reactivated key was refused: %v", err)
	}
}

// TestLastUsedIsWrittenAtMostOnceAMinute.
func TestLastUsedIsWrittenAtMostOnceAMinute(t *testing.T) {
	const plain = "touch-key-0123456789abcdefghijklmnopqrstuvw"
	c := &clock{now: t0}
	store := &fakeKeyStore{
		keys:  map[string]APIKey{HashAPIKey(plain): {Hash: HashAPIKey(plain), Name: "ci", Username: "alice", UserID: 7, IsActive: true}},
		users: map[string]User{"alice": {ID: 7, Username: "alice", IsActive: true}},
	}
	touch := newMemSessions()
	authn := &Authenticator{Store: store, Touch: touch, Now: c.Now}
	for _, at := range []time.Duration{0, 10 * time.Second, 59 * time.Second, 60 * time.Second, 90 * time.Second} {
		c.now = t0.Add(at)
		if _, err := authn.Authenticate(request("GET", nil, map[string]string{APIKeyHeader: plain})); err != nil {
			t.Fatal(err)
		}
		if n := len(touch.touched); n > 0 {
			k := store.keys[HashAPIKey(plain)]
			last := touch.touched[n-1]
			k.LastUsedAt = &last
			store.keys[HashAPIKey(plain)] = k
		}
	}
	if len(touch.touched) != 2 || !touch.touched[0].Equal(t0) || !touch.touched[1].Equal(t0.Add(60*time.Second)) {
		t.Errorf("touched at %v, want at 0s and 60s only", touch.touched)
	}
}

// isInvalidCredentials reports whether err is a refused login: Unauthorized
// with the message the API answers.
func isInvalidCredentials(err error) bool {
	var e *apperr.Error
	return errors.As(err, &e) && e.Kind == apperr.Unauthorized && e.Message == InvalidCredentials
}
