package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/inmor/inmor-serverless/shared/apperr"
	"github.com/inmor/inmor-serverless/shared/auth"
)

// authnFunc is an Authenticator made of a function.
type authnFunc func(r *http.Request) (auth.Principal, error)

func (f authnFunc) Authenticate(r *http.Request) (auth.Principal, error) { return f(r) }

// TestAuthenticated: the middleware lets through only authenticated
// requests, with their Principal in the context.
func TestAuthenticated(t *testing.T) {
	alice := auth.Principal{UserID: 1, Username: "alice", AuthMethod: auth.MethodAPIKey, APIKeyName: "ci", Tenant: "acme", Scope: auth.ScopeAdmin}
	cases := []struct {
		name      string
		principal auth.Principal
		err       error
		status    int
		body      any
	}{
		{"valid credentials reach the handler", alice, nil, 200, map[string]any{"username": "alice", "tenant": "acme"}},
		{"no valid credentials: 401", auth.Principal{}, apperr.E(apperr.Unauthorized), 401, map[string]any{"detail": "Unauthorized"}},
		{"wrapped Unauthorized: 401", auth.Principal{}, fmt.Errorf("key: %w", apperr.E(apperr.Op("auth.Authenticate"), apperr.Unauthorized)), 401, map[string]any{"detail": "Unauthorized"}},
		{"CSRF failure: 403 with Django's reason", auth.Principal{}, apperr.E(apperr.CSRF, "CSRF token missing."), 403, map[string]any{"detail": "CSRF check Failed: CSRF token missing."}},
		{"a store failure is a 500, not a 401", auth.Principal{}, errors.New("dynamodb unavailable"), 500, map[string]any{"detail": "Internal server error"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			called := false
			next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				called = true
				p, ok := auth.PrincipalFrom(r.Context())
				if !ok || !reflect.DeepEqual(p, c.principal) {
					t.Errorf("principal in context = %+v, %v; want %+v", p, ok, c.principal)
				}
				WriteJSON(w, 200, map[string]string{"username": p.Username, "tenant": p.Tenant})
			})
			h := Authenticated(authnFunc(func(*http.Request) (auth.Principal, error) { return c.principal, c.err }), next)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("POST", "/api/v1/trustmarktypes", nil))
			if rec.Code != c.status {
				t.Errorf("status = %d, want %d", rec.Code, c.status)
			}
			if got := decodeJSON(t, rec); !reflect.DeepEqual(got, c.body) {
				t.Errorf("body = %s, want %v", rec.Body, c.body)
			}
			if called != (c.err == nil) {
				t.Errorf("next called = %v, want %v", called, c.err == nil)
			}
		})
	}
}

// TestAuthenticatedOrRefused: a request refused although its caller was
// identified (a CSRF failure) goes to the refusal handler with the caller
// in its context; anonymous refusals and accepted requests do not.
func TestAuthenticatedOrRefused(t *testing.T) {
	alice := auth.Principal{UserID: 1, Username: "alice", AuthMethod: auth.MethodSession, Tenant: "default", Scope: auth.ScopeAdmin}
	csrf := apperr.E(apperr.CSRF, "CSRF token missing.")
	cases := []struct {
		name        string
		principal   auth.Principal
		err         error
		wantRefused bool
		status      int
	}{
		{"identified and refused", alice, csrf, true, 403},
		{"anonymous", auth.Principal{}, apperr.E(apperr.Unauthorized), false, 401},
		{"accepted", alice, nil, false, 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			refused := false
			onRefused := func(w http.ResponseWriter, r *http.Request, err error) {
				refused = true
				if p, ok := auth.PrincipalFrom(r.Context()); !ok || p != c.principal || err != c.err {
					t.Errorf("refusal of %+v (%v) with %v", p, ok, err)
				}
				WriteError(w, r, err)
			}
			next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { WriteJSON(w, 200, map[string]string{}) })
			h := AuthenticatedOrRefused(authnFunc(func(*http.Request) (auth.Principal, error) { return c.principal, c.err }), next, onRefused)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("POST", "/api/v1/trustmarktypes", nil))
			if rec.Code != c.status || refused != c.wantRefused {
				t.Errorf("status %d refused %v, want %d %v", rec.Code, refused, c.status, c.wantRefused)
			}
		})
	}
	t.Run("Authenticated answers an identified refusal itself", func(t *testing.T) {
		h := Authenticated(authnFunc(func(*http.Request) (auth.Principal, error) { return alice, csrf }), http.NotFoundHandler())
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("POST", "/x", nil))
		if rec.Code != 403 || rec.Body.String() != `{"detail":"CSRF check Failed: CSRF token missing."}` {
			t.Errorf("answer %d %s", rec.Code, rec.Body)
		}
	})
}
