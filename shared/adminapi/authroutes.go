package adminapi

import (
	"errors"
	"maps"
	"net/http"
	"time"

	"github.com/inmor/inmor-serverless/shared/function"

	"github.com/inmor/inmor-serverless/shared/apperr"
	"github.com/inmor/inmor-serverless/shared/auth"
	"github.com/inmor/inmor-serverless/shared/httpapi"
	"github.com/inmor/inmor-serverless/shared/mfa"
	"github.com/inmor/inmor-serverless/shared/storage"
)

// SessionConfig says how session cookies are set.
type SessionConfig struct {
	// Secure marks cookies Secure (HTTPS only); off only on the local stack.
	Secure bool
	// Events records logins and logouts for the audit log; nil records
	// nothing.
	Events SessionEvents
	// MFA enrols and checks second factors; nil offers none (the MFA
	// routes answer 404).
	MFA *mfa.Service
	// WebAuthnRPID is the WebAuthn relying party id (WEBAUTHN_RP_ID); ""
	// for the request's host.
	WebAuthnRPID string
}

// NewAuthHandler returns the handler of the auth function: login, logout,
// the session's user and the CSRF token.
func NewAuthHandler(logins auth.Logins, users auth.UserStore, authn *auth.Authenticator, cfg SessionConfig) http.Handler {
	h := authHandlers{logins: logins, users: users, authn: authn, cfg: cfg}
	handlers := map[string]http.HandlerFunc{
		"login":          h.login,
		"logout":         h.logout,
		"me":             h.me,
		"csrf":           h.csrf,
		"reauthenticate": h.reauthenticate,
	}
	maps.Copy(handlers, h.mfaHandlers())
	return h.withRP(newFunctionHandler(function.Auth, authn, nil, handlers))
}

type authHandlers struct {
	logins auth.Logins
	users  auth.UserStore
	authn  *auth.Authenticator
	cfg    SessionConfig
}

type userBody struct {
	ID          int64  `json:"id"`
	Username    string `json:"username"`
	Email       string `json:"email"`
	IsStaff     bool   `json:"is_staff"`
	IsSuperuser bool   `json:"is_superuser"`
}

func userJSON(u auth.User) userBody {
	return userBody{ID: u.ID, Username: u.Username, Email: u.Email, IsStaff: u.IsStaff, IsSuperuser: u.IsSuperuser}
}

func (h authHandlers) cookie(name, value string, maxAge time.Duration, httpOnly bool) *http.Cookie {
	c := &http.Cookie{
		Name: name, Value: value, Path: "/", HttpOnly: httpOnly, Secure: h.cfg.Secure, SameSite: http.SameSiteLaxMode,
		MaxAge: int(maxAge.Seconds()),
	}
	if maxAge < 0 {
		c.MaxAge = -1
	}
	return c
}

const maxCredentialLength = 1024

func (h authHandlers) login(w http.ResponseWriter, r *http.Request) {
	f, err := httpapi.ReadFields(r)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	username, _ := f.String("username", true, 150)
	password, _ := f.String("password", true, maxCredentialLength)
	if err := f.Err(); err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	// Refused (401 "Invalid credentials") and throttled (429 with
	// Retry-After) logins are errors of their kinds.
	user, sessionID, err := h.logins.Login(r.Context(), username, password)
	var required *auth.SecondFactorRequired
	if errors.As(err, &required) {
		writeSecondFactorRequired(w, required)
		return
	}
	if err != nil {
		if result, status, refused := loginRefusal(err); refused {
			RecordSessionEvent(r, h.cfg.Events, storage.SessionLogin, result, username, 0, status)
		}
		httpapi.WriteError(w, r, err)
		return
	}
	if err := h.setSessionCookies(w, sessionID); err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	RecordSessionEvent(r, h.cfg.Events, storage.SessionLogin, storage.SessionResultSuccess, user.Username, user.ID, http.StatusOK)
	httpapi.WriteJSON(w, http.StatusOK, userJSON(user))
}

// reauthenticate checks the session user's password again and replaces
// the session by one authenticated now (new cookies), so that it may
// change the user's second factors (auth.ReauthenticationWindow). It is
// recorded as a login, or a failed one, of the user.
func (h authHandlers) reauthenticate(w http.ResponseWriter, r *http.Request) {
	p, ok := h.sessionUser(w, r)
	if !ok {
		return
	}
	f, err := httpapi.ReadFields(r)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	password, _ := f.String("password", true, maxCredentialLength)
	if err := f.Err(); err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	cookie, _ := r.Cookie(auth.SessionCookie) // sessionUser found it
	sessionID, err := h.logins.Reauthenticate(r.Context(), p, cookie.Value, password)
	if err == nil {
		err = h.setSessionCookies(w, sessionID)
	}
	if err != nil {
		if result, status, refused := loginRefusal(err); refused {
			RecordSessionEvent(r, h.cfg.Events, storage.SessionLogin, result, p.Username, p.UserID, status)
		}
		httpapi.WriteError(w, r, err)
		return
	}
	RecordSessionEvent(r, h.cfg.Events, storage.SessionLogin, storage.SessionResultSuccess, p.Username, p.UserID, http.StatusOK)
	httpapi.WriteJSON(w, http.StatusOK, map[string]string{"message": "Reauthenticated: the session may change second factors for 5 minutes."})
}

// logout ends the session; ending a valid session is recorded as a logout
// of its user.
func (h authHandlers) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(auth.SessionCookie); err == nil {
		p, sessionErr := h.authn.SessionPrincipal(r)
		if err := h.logins.Logout(r.Context(), c.Value); err != nil {
			httpapi.WriteError(w, r, err)
			return
		}
		if sessionErr == nil {
			RecordSessionEvent(r, h.cfg.Events, storage.SessionLogout, storage.SessionResultSuccess, p.Username, p.UserID, http.StatusOK)
		}
	}
	http.SetCookie(w, h.cookie(auth.SessionCookie, "", -1, true))
	httpapi.WriteJSON(w, http.StatusOK, map[string]string{"message": "Logged out successfully"})
}

func (h authHandlers) me(w http.ResponseWriter, r *http.Request) {
	p, err := h.authn.SessionPrincipal(r)
	if apperr.Is(apperr.Unauthorized, err) {
		httpapi.WriteError(w, r, apperr.E(apperr.Op("api.me"), apperr.Unauthorized, "Not authenticated"))
		return
	}
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	user, err := h.users.UserByUsername(r.Context(), p.Username)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, userJSON(user))
}

// csrf answers the CSRF token, keeping a well-formed existing cookie.
func (h authHandlers) csrf(w http.ResponseWriter, r *http.Request) {
	token := ""
	if c, err := r.Cookie(auth.CSRFCookie); err == nil && len(c.Value) >= 32 && len(c.Value) <= 64 {
		token = c.Value
	}
	if token == "" {
		var err error
		if token, err = auth.NewSecret(); err != nil {
			httpapi.WriteError(w, r, err)
			return
		}
	}
	http.SetCookie(w, h.cookie(auth.CSRFCookie, token, auth.CSRFCookieLifetime, false))
	httpapi.WriteJSON(w, http.StatusOK, map[string]string{"csrf_token": token})
}
