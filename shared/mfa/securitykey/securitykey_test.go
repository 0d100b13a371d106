package securitykey_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"slices"
	"testing"

	"github.com/inmor/inmor-serverless/shared/apperr"
	"github.com/inmor/inmor-serverless/shared/auth"
	"github.com/inmor/inmor-serverless/shared/dynamo"
	"github.com/inmor/inmor-serverless/shared/dynamotest"
	"github.com/inmor/inmor-serverless/shared/memstore"
	"github.com/inmor/inmor-serverless/shared/mfa"
	"github.com/inmor/inmor-serverless/shared/mfa/securitykey"
	"github.com/inmor/inmor-serverless/shared/mfa/securitykey/securitykeytest"
	"github.com/inmor/inmor-serverless/shared/tables"
)

func TestMain(m *testing.M) { dynamotest.Main(m) }

var b64 = base64.RawURLEncoding

// userStore is what the tests need of the auth stores.
type userStore interface {
	auth.UserStore
	auth.SessionStore
	auth.LoginThrottle
	CreateUser(ctx context.Context, u auth.User) (auth.User, error)
}

// TestWebAuthn registers a key and logs in with it through mfa.Service
// and these ceremonies, on the in-memory store and on the auth table
// (moto); a service without ceremonies (the audit query function's) lists
// and removes keys but neither registers nor accepts one.
func TestWebAuthn(t *testing.T) {
	t.Run("memstore", func(t *testing.T) { webAuthn(t, &memstore.Store{}, &memstore.MFA{}) })
	t.Run("dynamo", func(t *testing.T) {
		ctx := context.Background()
		getenv := dynamotest.Getenv(t, nil)
		client := dynamo.NewClient(dynamo.LocalConfig(dynamotest.Endpoint()))
		if err := dynamo.CreateTables(ctx, client, getenv); err != nil {
			t.Fatal(err)
		}
		store := &dynamo.Auth{Client: client, Table: tables.Auth.Name(getenv)}
		webAuthn(t, store, store)
	})
}

func webAuthn(t *testing.T, users userStore, store mfa.Store) {
	const rpID, origin = "inmor.example.org", "https://inmor.example.org"
	plain := context.Background()
	ctx := mfa.WithRP(plain, mfa.RP{ID: rpID, Origins: []string{origin}})
	hash, err := auth.HashPassword("pw")
	if err != nil {
		t.Fatal(err)
	}
	bob, err := users.CreateUser(plain, auth.User{Username: "bob", PasswordHash: hash, IsActive: true, IsStaff: true})
	if err != nil {
		t.Fatal(err)
	}
	logins := auth.Logins{Users: users, Sessions: users, Throttle: users}
	s := mfa.Service{Store: store, Logins: logins, SecurityKeys: securitykey.Ceremonies{}}
	logins.SecondFactor = s
	s.Logins = logins
	// The audit query function's service: no ceremonies.
	listOnly := s
	listOnly.SecurityKeys = nil
	key := securitykeytest.NewKey(t)

	if _, err := listOnly.BeginWebAuthnRegistration(ctx, bob); !apperr.Is(apperr.NotFound, err) {
		t.Errorf("a registration without ceremonies: %v", err)
	}

	options, err := s.BeginWebAuthnRegistration(ctx, bob)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.BeginWebAuthnRegistration(plain, bob); err == nil || apperr.Is(apperr.NotFound, err) {
		t.Errorf("a registration without a relying party: %v", err)
	}
	// An answer for another origin is refused, and ends the ceremony.
	if _, err := s.FinishWebAuthnRegistration(ctx, bob, "k", key.Create(options, rpID, "https://evil.example")); !apperr.Is(apperr.Unprocessable, err) {
		t.Errorf("another origin: %v", err)
	}
	if _, err := s.FinishWebAuthnRegistration(ctx, bob, "k", key.Create(options, rpID, origin)); !apperr.Is(apperr.Invalid, err) {
		t.Errorf("a finished ceremony again: %v", err)
	}
	options, err = s.BeginWebAuthnRegistration(ctx, bob)
	if err != nil {
		t.Fatal(err)
	}
	codes, err := s.FinishWebAuthnRegistration(ctx, bob, " YubiKey ", key.Create(options, rpID, origin))
	if err != nil || len(codes) != mfa.RecoveryCodeCount {
		t.Fatalf("finish: %v %v", codes, err)
	}
	st, err := s.Status(plain, "bob")
	if err != nil || len(st.WebAuthn) != 1 || st.WebAuthn[0].Name != "YubiKey" || st.WebAuthn[0].ID != b64.EncodeToString(key.ID) ||
		!slices.Equal(st.Methods, []string{mfa.MethodWebAuthn, mfa.MethodRecoveryCode}) {
		t.Fatalf("status %+v %v", st, err)
	}

	login := func() *auth.SecondFactorRequired {
		t.Helper()
		_, _, err := logins.Login(plain, "bob", "pw")
		required, ok := err.(*auth.SecondFactorRequired)
		if !ok {
			t.Fatalf("login: %v", err)
		}
		return required
	}
	// loginOptions are the security key's options of a login's challenge.
	loginOptions := func(challenge string) json.RawMessage {
		t.Helper()
		o, err := s.BeginWebAuthnLogin(ctx, challenge)
		if err != nil {
			t.Fatalf("options of %q: %v", challenge, err)
		}
		return o
	}
	required := login()
	if !slices.Equal(required.Methods, []string{mfa.MethodWebAuthn, mfa.MethodRecoveryCode}) {
		t.Fatalf("first step %+v", required)
	}
	if _, err := s.BeginWebAuthnLogin(ctx, "unknown"); !apperr.Is(apperr.Unauthorized, err) {
		t.Errorf("options of an unknown challenge: %v", err)
	}
	if _, err := listOnly.BeginWebAuthnLogin(ctx, required.Challenge); !apperr.Is(apperr.NotFound, err) {
		t.Errorf("options without ceremonies: %v", err)
	}
	// Options asked twice: the later ceremony is the challenge's.
	stale := key.Get(loginOptions(required.Challenge), rpID, origin)
	assertion := key.Get(loginOptions(required.Challenge), rpID, origin)
	if _, _, err := s.Verify(ctx, required.Challenge, mfa.Proof{WebAuthn: stale}); !apperr.Is(apperr.Unauthorized, err) {
		t.Errorf("an assertion of a replaced ceremony: %v", err)
	}
	required = login()
	assertion = key.Get(loginOptions(required.Challenge), rpID, origin)
	_, id, err := s.Verify(ctx, required.Challenge, mfa.Proof{WebAuthn: assertion})
	if err != nil || id == "" {
		t.Fatalf("second step: %v", err)
	}
	if sess, err := users.SessionByHash(plain, auth.HashSessionID(id)); err != nil || !sess.SecondFactor {
		t.Errorf("session %+v %v", sess, err)
	}
	var stored struct{ Authenticator struct{ SignCount uint32 } }
	if state, _ := store.MFAState(plain, "bob"); json.Unmarshal(state.WebAuthn[0].Credential, &stored) != nil || stored.Authenticator.SignCount != key.Count {
		t.Errorf("sign count %d, want %d", stored.Authenticator.SignCount, key.Count)
	}
	// The same assertion answers no other challenge; nor does one for
	// another relying party, or a replayed counter; nor does one without
	// options asked, or where there are no ceremonies.
	required = login()
	loginOptions(required.Challenge)
	if _, _, err := s.Verify(ctx, required.Challenge, mfa.Proof{WebAuthn: assertion}); !apperr.Is(apperr.Unauthorized, err) {
		t.Errorf("replayed assertion: %v", err)
	}
	required = login()
	if _, _, err := s.Verify(ctx, required.Challenge, mfa.Proof{WebAuthn: key.Get(loginOptions(required.Challenge), "evil.example", origin)}); !apperr.Is(apperr.Unauthorized, err) {
		t.Errorf("another relying party: %v", err)
	}
	required = login()
	key.Count = 0
	if _, _, err := s.Verify(ctx, required.Challenge, mfa.Proof{WebAuthn: key.Get(loginOptions(required.Challenge), rpID, origin)}); !apperr.Is(apperr.Unauthorized, err) {
		t.Errorf("a counter gone back (a cloned key): %v", err)
	}
	key.Count = 10
	required = login()
	if _, _, err := s.Verify(ctx, required.Challenge, mfa.Proof{WebAuthn: key.Get(json.RawMessage(`{"publicKey":{"challenge":"AAAA"}}`), rpID, origin)}); !apperr.Is(apperr.Unauthorized, err) {
		t.Errorf("no options asked: %v", err)
	}
	required = login()
	if _, _, err := listOnly.Verify(ctx, required.Challenge, mfa.Proof{WebAuthn: key.Get(loginOptions(required.Challenge), rpID, origin)}); !apperr.Is(apperr.Unauthorized, err) {
		t.Errorf("no ceremonies: %v", err)
	}
	if err := logins.Throttle.ClearLoginFailures(plain, "bob"); err != nil {
		t.Fatal(err)
	}

	// Removing the last key removes the recovery codes too.
	if err := s.RemoveWebAuthn(plain, "bob", "nope"); !apperr.Is(apperr.Invalid, err) {
		t.Errorf("remove an unknown key: %v", err)
	}
	if err := listOnly.RemoveWebAuthn(plain, "bob", b64.EncodeToString(key.ID)); err != nil { // needs no ceremonies
		t.Fatal(err)
	}
	if st, err := s.Status(plain, "bob"); err != nil || len(st.WebAuthn) != 0 || st.RecoveryCodesLeft != 0 || len(st.Methods) != 0 {
		t.Errorf("after removal %+v %v", st, err)
	}
	if _, id, err := logins.Login(ctx, "bob", "pw"); err != nil || id == "" {
		t.Errorf("login after removal: %v", err)
	}
}
