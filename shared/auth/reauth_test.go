package auth

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/inmor/inmor-serverless/shared/apperr"
)

// TestReauthenticate: a wrong password leaves the session and counts as a
// failed login (throttled as logins are); the right one replaces the
// session by one authenticated now, with the same second factor, which
// the session principal then shows as recent.
func TestReauthenticate(t *testing.T) {
	store, sessions, c, logins := sessionFixture(t)
	ctx := context.Background()
	id, err := logins.OpenSession(ctx, store.users["alice"], true)
	if err != nil {
		t.Fatal(err)
	}
	authn := &Authenticator{Store: store, Sessions: sessions, Now: c.Now}
	principal := func(id string) Principal {
		t.Helper()
		p, err := authn.SessionPrincipal(request(http.MethodGet, map[string]string{SessionCookie: id}, nil))
		if err != nil {
			t.Fatalf("session %q: %v", id, err)
		}
		return p
	}
	p := principal(id)
	if !p.RecentlyAuthenticated(c.Now()) || RequireRecentLogin(p, c.Now()) != nil {
		t.Errorf("a new login is not recent: %+v", p)
	}
	c.now = c.now.Add(ReauthenticationWindow + time.Second)
	if p.RecentlyAuthenticated(c.Now()) || !apperr.Is(apperr.Unauthorized, RequireRecentLogin(p, c.Now())) {
		t.Error("an old login is recent")
	}
	if RequireRecentLogin(Principal{AuthMethod: MethodAPIKey, AuthenticatedAt: c.Now()}, c.Now()) == nil {
		t.Error("an API key passed for a recent login")
	}

	if _, err := logins.Reauthenticate(ctx, p, id, "wrong"); !apperr.Is(apperr.Unauthorized, err) || sessions.failures["alice"] != 1 {
		t.Errorf("wrong password: %v, failures %d", err, sessions.failures["alice"])
	}
	if _, ok := sessions.sessions[HashSessionID(id)]; !ok {
		t.Error("a wrong password ended the session")
	}
	fresh, err := logins.Reauthenticate(ctx, p, id, "s3cret")
	if err != nil || fresh == id {
		t.Fatalf("reauthenticate: %q %v", fresh, err)
	}
	if _, ok := sessions.sessions[HashSessionID(id)]; ok {
		t.Error("the old session is kept")
	}
	if q := principal(fresh); !q.SecondFactor || !q.RecentlyAuthenticated(c.Now()) || q.Username != "alice" {
		t.Errorf("the new session %+v", q)
	}
	// Wrong passwords are throttled with the logins'.
	for range MaxLoginFailures {
		_, _ = logins.Reauthenticate(ctx, principal(fresh), fresh, "wrong")
	}
	var throttled *apperr.Error
	if _, err := logins.Reauthenticate(ctx, principal(fresh), fresh, "s3cret"); !errors.As(err, &throttled) || throttled.Kind != apperr.Throttled {
		t.Errorf("after %d failures: %v", MaxLoginFailures, err)
	}
}
