package auth

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/inmor/inmor-serverless/shared/apperr"
)

var urlSafeKey = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)

// TestGenerateAPIKey: 256 random bits in URL-safe base64, shown once; the
// prefix and the hash are derived from it.
func TestGenerateAPIKey(t *testing.T) {
	plain, prefix, hash, err := GenerateAPIKey()
	if err != nil {
		t.Fatal(err)
	}
	if !urlSafeKey.MatchString(plain) {
		t.Errorf("key %q is not 43 URL-safe base64 characters", plain)
	}
	if raw, err := base64.RawURLEncoding.DecodeString(plain); err != nil || len(raw) != 32 {
		t.Errorf("key decodes to %d bytes (%v), want 32", len(raw), err)
	}
	if prefix != plain[:KeyPrefixLength] || len(prefix) != 8 {
		t.Errorf("prefix = %q, want the first 8 characters of %q", prefix, plain)
	}
	if hash != HashAPIKey(plain) {
		t.Errorf("hash = %q, want HashAPIKey(plaintext) = %q", hash, HashAPIKey(plain))
	}
	plain2, _, hash2, err := GenerateAPIKey()
	if err != nil {
		t.Fatal(err)
	}
	if plain2 == plain || hash2 == hash {
		t.Errorf("two generated keys are equal: %q", plain)
	}
}

// TestHashAPIKey: the stored form is lowercase hex SHA-256.
func TestHashAPIKey(t *testing.T) {
	cases := map[string]string{
		"":    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		"abc": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
	}
	for in, want := range cases {
		if got := HashAPIKey(in); got != want {
			t.Errorf("HashAPIKey(%q) = %q, want %q", in, got, want)
		}
	}
	if HashAPIKey("abc") == HashAPIKey("abd") {
		t.Error("different keys hash alike")
	}
}

// TestAPIKeyUsable: active and not expired (expiry is exclusive).
func TestAPIKeyUsable(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { t := now.Add(d); return &t }
	cases := []struct {
		name string
		key  APIKey
		want bool
	}{
		{"active without expiry", APIKey{IsActive: true}, true},
		{"active, expires later", APIKey{IsActive: true, ExpiresAt: at(time.Second)}, true},
		{"active, expired", APIKey{IsActive: true, ExpiresAt: at(-time.Second)}, false},
		{"active, expires right now", APIKey{IsActive: true, ExpiresAt: at(0)}, false},
		{"inactive without expiry", APIKey{IsActive: false}, false},
		{"inactive, not yet expired", APIKey{IsActive: false, ExpiresAt: at(time.Hour)}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.key.Usable(now); got != c.want {
				t.Errorf("Usable = %v, want %v", got, c.want)
			}
		})
	}
}

// fakeKeyStore is an in-memory KeyStore that counts its calls.
type fakeKeyStore struct {
	keys     map[string]APIKey // by hash
	users    map[string]User   // by username
	keyErr   error
	userErr  error
	keyCalls int
	// nearMatch makes APIKeyByHash return the only key whatever the hash.
	nearMatch bool
}

func (s *fakeKeyStore) APIKeyByHash(_ context.Context, hash string) (APIKey, error) {
	s.keyCalls++
	if s.keyErr != nil {
		return APIKey{}, s.keyErr
	}
	if s.nearMatch {
		for _, k := range s.keys {
			return k, nil
		}
	}
	k, ok := s.keys[hash]
	if !ok {
		return APIKey{}, apperr.E(apperr.NotFound)
	}
	return k, nil
}

func (s *fakeKeyStore) UserByUsername(_ context.Context, username string) (User, error) {
	if s.userErr != nil {
		return User{}, s.userErr
	}
	u, ok := s.users[username]
	if !ok {
		return User{}, apperr.E(apperr.NotFound)
	}
	return u, nil
}

// TestAuthenticate specifies API key authentication (X-API-Key first, no fallback to the session).
func TestAuthenticate(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	later, earlier := now.Add(time.Hour), now.Add(-time.Hour)
	const plain = "k3y-Plaintext_0123456789abcdefghijklmnopqrstu"
	baseKey := APIKey{Hash: HashAPIKey(plain), Prefix: plain[:8], Name: "ci-key", Username: "alice", UserID: 42,
		Tenant: "acme", Scope: ScopeAuditRead, IsActive: true, ExpiresAt: &later}
	alice := User{ID: 42, Username: "alice", IsStaff: true, IsSuperuser: false, IsActive: true}
	storeErr := errors.New("dynamodb: throttled")

	cases := []struct {
		name     string
		header   string // the X-API-Key header; "" for none
		key      func(k *APIKey)
		user     func(u *User)
		store    func(s *fakeKeyStore)
		want     Principal
		wantErr  error
		wantKind apperr.Kind
		// noLookup: the store must not even be asked.
		noLookup bool
	}{
		{name: "valid key", header: plain,
			want: Principal{UserID: 42, Username: "alice", IsStaff: true, AuthMethod: MethodAPIKey, APIKeyName: "ci-key", Tenant: "acme", Scope: ScopeAuditRead}},
		{name: "valid key, surrounding space trimmed", header: "  " + plain + " ",
			want: Principal{UserID: 42, Username: "alice", IsStaff: true, AuthMethod: MethodAPIKey, APIKeyName: "ci-key", Tenant: "acme", Scope: ScopeAuditRead}},
		{name: "superuser flags come from the user", header: plain, user: func(u *User) { u.IsSuperuser = true; u.IsStaff = false },
			want: Principal{UserID: 42, Username: "alice", IsSuperuser: true, AuthMethod: MethodAPIKey, APIKeyName: "ci-key", Tenant: "acme", Scope: ScopeAuditRead}},
		{name: "empty scope means admin", header: plain, key: func(k *APIKey) { k.Scope = "" },
			want: Principal{UserID: 42, Username: "alice", IsStaff: true, AuthMethod: MethodAPIKey, APIKeyName: "ci-key", Tenant: "acme", Scope: ScopeAdmin}},
		{name: "no expiry", header: plain, key: func(k *APIKey) { k.ExpiresAt = nil },
			want: Principal{UserID: 42, Username: "alice", IsStaff: true, AuthMethod: MethodAPIKey, APIKeyName: "ci-key", Tenant: "acme", Scope: ScopeAuditRead}},
		{name: "empty tenant means the default tenant", header: plain, key: func(k *APIKey) { k.Tenant = "" },
			want: Principal{UserID: 42, Username: "alice", IsStaff: true, AuthMethod: MethodAPIKey, APIKeyName: "ci-key", Tenant: DefaultTenant, Scope: ScopeAuditRead}},
		{name: "missing header", header: "", wantKind: apperr.Unauthorized, noLookup: true},
		{name: "blank header", header: "   ", wantKind: apperr.Unauthorized, noLookup: true},
		{name: "over-long header", header: strings.Repeat("a", 257), wantKind: apperr.Unauthorized, noLookup: true},
		{name: "unknown key", header: "not-a-key", wantKind: apperr.Unauthorized},
		{name: "a store returning a key whose hash differs (near match)", header: "other-key",
			store: func(s *fakeKeyStore) { s.nearMatch = true }, wantKind: apperr.Unauthorized},
		{name: "inactive key", header: plain, key: func(k *APIKey) { k.IsActive = false }, wantKind: apperr.Unauthorized},
		{name: "expired key", header: plain, key: func(k *APIKey) { k.ExpiresAt = &earlier }, wantKind: apperr.Unauthorized},
		{name: "key expiring right now", header: plain, key: func(k *APIKey) { k.ExpiresAt = &now }, wantKind: apperr.Unauthorized},
		{name: "inactive owner", header: plain, user: func(u *User) { u.IsActive = false }, wantKind: apperr.Unauthorized},
		{name: "owner id mismatch (user re-created under the same name)", header: plain, user: func(u *User) { u.ID = 43 }, wantKind: apperr.Unauthorized},
		{name: "owner gone", header: plain, store: func(s *fakeKeyStore) { delete(s.users, "alice") }, wantKind: apperr.Unauthorized},
		{name: "key store error is returned as is", header: plain, store: func(s *fakeKeyStore) { s.keyErr = storeErr }, wantErr: storeErr},
		{name: "user store error is returned as is", header: plain, store: func(s *fakeKeyStore) { s.userErr = storeErr }, wantErr: storeErr},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			key, user := baseKey, alice
			if c.key != nil {
				c.key(&key)
			}
			if c.user != nil {
				c.user(&user)
			}
			store := &fakeKeyStore{keys: map[string]APIKey{key.Hash: key}, users: map[string]User{user.Username: user}}
			if c.store != nil {
				c.store(store)
			}
			r := httptest.NewRequest("GET", "/api/v1/auditlog", nil)
			if c.header != "" {
				r.Header.Set(APIKeyHeader, c.header)
			}
			// A session cookie never rescues an invalid key.
			r.Header.Set("Cookie", "sessionid=s; csrftoken=t")
			got, err := (&Authenticator{Store: store, Now: func() time.Time { return now }}).Authenticate(r)
			if c.wantKind != "" || c.wantErr != nil {
				if c.wantKind != "" && !apperr.Is(c.wantKind, err) || c.wantErr != nil && !errors.Is(err, c.wantErr) {
					t.Fatalf("error = %v, want kind %q / %v", err, c.wantKind, c.wantErr)
				}
				if c.wantErr != nil && apperr.Is(apperr.Unauthorized, err) {
					t.Errorf("a store failure must not look like bad credentials: %v", err)
				}
				if got != (Principal{}) {
					t.Errorf("principal = %+v on error, want zero", got)
				}
			} else if err != nil {
				t.Fatalf("error = %v, want none", err)
			}
			if c.wantErr == nil && !reflect.DeepEqual(got, c.want) {
				t.Errorf("principal = %+v\nwant      %+v", got, c.want)
			}
			if c.noLookup && store.keyCalls != 0 {
				t.Errorf("the store was asked %d times; a missing or over-long header needs no lookup", store.keyCalls)
			}
		})
	}
}

// TestPrincipalContext: the principal travels in the request context.
func TestPrincipalContext(t *testing.T) {
	if _, ok := PrincipalFrom(context.Background()); ok {
		t.Error("PrincipalFrom(empty context) reported a principal")
	}
	p := Principal{UserID: 1, Username: "u", AuthMethod: MethodSession, Tenant: DefaultTenant}
	got, ok := PrincipalFrom(WithPrincipal(context.Background(), p))
	if !ok || got != p {
		t.Errorf("PrincipalFrom = %+v, %v; want %+v", got, ok, p)
	}
}
