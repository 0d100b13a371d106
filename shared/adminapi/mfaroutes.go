package adminapi

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/inmor/inmor-serverless/shared/apperr"
	"github.com/inmor/inmor-serverless/shared/auth"
	"github.com/inmor/inmor-serverless/shared/httpapi"
	"github.com/inmor/inmor-serverless/shared/mfa"
	"github.com/inmor/inmor-serverless/shared/storage"
)

// mfaSchemas are the components of the second factors' routes.
func mfaSchemas() object {
	return object{
		"LoginResult": object{"oneOf": []object{ref("User"), ref("MFARequired")}},
		"MFARequired": object{"type": "object", "required": []string{"mfa_required", "methods", "challenge"}, "properties": object{
			"mfa_required": prop("boolean", "enum", []bool{true}),
			"methods":      object{"type": "array", "items": prop("string", "enum", []string{mfa.MethodTOTP, mfa.MethodWebAuthn, mfa.MethodRecoveryCode})},
			"challenge":    prop("string", "description", "Single use; expires in 5 minutes. With webauthn among the methods, POST it to /auth/login/mfa/webauthn for the security key's options."),
		}},
		"LoginWebAuthn":        object{"type": "object", "required": []string{"challenge"}, "properties": object{"challenge": prop("string")}},
		"WebAuthnLoginOptions": prop("object", "description", "The options of navigator.credentials.get, as JSON ({publicKey: ...}, base64url binary members)."),
		"LoginMFA": object{"type": "object", "required": []string{"challenge"}, "properties": object{
			"challenge": prop("string"), "code": prop("string", "description", "A TOTP code (send one of code, recovery_code, webauthn)."),
			"recovery_code": prop("string", "format", "password"),
			"webauthn":      prop("object", "description", "The PublicKeyCredential of navigator.credentials.get, as JSON (base64url binary members)."),
		}},
		"WebAuthnOptions": prop("object", "description", "The options of navigator.credentials.create, as JSON ({publicKey: ...}, base64url binary members)."),
		"WebAuthnRegistration": object{"type": "object", "required": []string{"credential"}, "properties": object{
			"name":       prop("string", "description", "A name for the key (default \"Security key\")."),
			"credential": prop("object", "description", "The PublicKeyCredential of navigator.credentials.create, as JSON."),
		}},
		"MFAStatus": object{"type": "object", "required": []string{"totp", "webauthn", "recovery_codes_left", "methods"}, "properties": object{
			"totp": prop("boolean"), "recovery_codes_left": prop("integer"), "methods": object{"type": "array", "items": prop("string")},
			"webauthn": object{"type": "array", "items": object{"type": "object", "required": []string{"id", "name", "added_at"}, "properties": object{
				"id": prop("string"), "name": prop("string"), "added_at": prop("string", "format", "date-time"),
			}}},
		}},
		"TOTPEnrolment": object{"type": "object", "required": []string{"secret", "otpauth_uri", "qr_svg"}, "properties": object{
			"secret": prop("string", "description", "Base32; shown this once."), "otpauth_uri": prop("string"), "qr_svg": prop("string"),
		}},
		"Reauthenticate": object{"type": "object", "required": []string{"password"}, "properties": object{"password": prop("string", "format", "password")}},
		"TOTPConfirm":    object{"type": "object", "required": []string{"code"}, "properties": object{"code": prop("string")}},
		"RecoveryCodes": object{"type": "object", "required": []string{"recovery_codes"}, "properties": object{
			"recovery_codes": object{"type": "array", "items": prop("string"), "description": "Shown this once; empty when the existing codes were kept."},
		}},
	}
}

// mfaRequiredBody is the answer of a login that needs its second step.
type mfaRequiredBody struct {
	MFARequired bool     `json:"mfa_required"`
	Methods     []string `json:"methods"`
	Challenge   string   `json:"challenge"`
}

func writeSecondFactorRequired(w http.ResponseWriter, required *auth.SecondFactorRequired) {
	httpapi.WriteJSON(w, http.StatusOK, mfaRequiredBody{MFARequired: true, Methods: required.Methods, Challenge: required.Challenge})
}

// withRP gives every request the WebAuthn relying party it speaks to.
func (h authHandlers) withRP(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rp := mfa.RPOf(r, h.cfg.Secure, h.cfg.WebAuthnRPID, h.authn.AllowedOrigins)
		next.ServeHTTP(w, r.WithContext(mfa.WithRP(r.Context(), rp)))
	})
}

// Bounds of the second step's fields.
const (
	maxChallengeLength = 64
	maxCodeLength      = 32
)

func (h authHandlers) mfaHandlers() map[string]http.HandlerFunc {
	return map[string]http.HandlerFunc{
		"loginMFA":                h.withMFA(h.loginMFA),
		"loginWebAuthn":           h.withMFA(h.loginWebAuthn),
		"mfaStatus":               h.withMFA(h.mfaStatus),
		"beginTOTP":               h.withMFA(h.beginTOTP),
		"confirmTOTP":             h.withMFA(h.confirmTOTP),
		"removeTOTP":              h.withMFA(h.removeTOTP),
		"regenerateRecoveryCodes": h.withMFA(h.regenerateRecoveryCodes),
		"beginWebAuthn":           h.withMFA(h.beginWebAuthn),
		"finishWebAuthn":          h.withMFA(h.finishWebAuthn),
		"removeWebAuthn":          h.withMFA(h.removeWebAuthn),
	}
}

// withMFA answers 404 when second factors are not offered.
func (h authHandlers) withMFA(next func(http.ResponseWriter, *http.Request, *mfa.Service)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if h.cfg.MFA == nil {
			httpapi.WriteError(w, r, apperr.E(apperr.Op("api.mfa"), apperr.NotFound, "Not found"))
			return
		}
		next(w, r, h.cfg.MFA)
	}
}

// setSessionCookies opens the client's session, with a new CSRF token.
func (h authHandlers) setSessionCookies(w http.ResponseWriter, sessionID string) error {
	csrfToken, err := auth.NewSecret()
	if err != nil {
		return err
	}
	http.SetCookie(w, h.cookie(auth.SessionCookie, sessionID, auth.SessionLifetime, true))
	http.SetCookie(w, h.cookie(auth.CSRFCookie, csrfToken, auth.CSRFCookieLifetime, false))
	return nil
}

func (h authHandlers) loginMFA(w http.ResponseWriter, r *http.Request, svc *mfa.Service) {
	f, err := httpapi.ReadFields(r)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	challenge, _ := f.String("challenge", true, maxChallengeLength)
	code, _ := f.String("code", false, maxCodeLength)
	recovery, _ := f.String("recovery_code", false, maxCodeLength)
	assertion, _ := f.Object("webauthn", false)
	if err := f.Err(); err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	proof := mfa.Proof{Code: code, RecoveryCode: recovery}
	sent := 0
	for _, given := range []bool{code != "", recovery != "", assertion != nil} {
		if given {
			sent++
		}
	}
	if sent != 1 {
		httpapi.WriteError(w, r, apperr.E(apperr.Op("api.loginMFA"), apperr.Unprocessable, "code", "Send one of code, recovery_code or webauthn."))
		return
	}
	if assertion != nil {
		if proof.WebAuthn, err = json.Marshal(assertion); err != nil {
			httpapi.WriteError(w, r, err)
			return
		}
	}
	// A wrong code is 401 "Invalid code" and counts as a failed login;
	// an unknown, used or expired challenge is 401 too.
	user, sessionID, err := svc.Verify(r.Context(), challenge, proof)
	if err == nil {
		err = h.setSessionCookies(w, sessionID)
	}
	if err != nil {
		if result, status, refused := secondStepRefusal(err); refused {
			RecordSessionEvent(r, h.cfg.Events, storage.SessionLogin, result, user.Username, user.ID, status)
		}
		httpapi.WriteError(w, r, err)
		return
	}
	RecordSessionEvent(r, h.cfg.Events, storage.SessionLogin, storage.SessionResultSuccess, user.Username, user.ID, http.StatusOK)
	httpapi.WriteJSON(w, http.StatusOK, userJSON(user))
}

// loginWebAuthn answers the security key's options for a login's second
// step, by its challenge (which stays unused until POST /auth/login/mfa).
func (h authHandlers) loginWebAuthn(w http.ResponseWriter, r *http.Request, svc *mfa.Service) {
	f, err := httpapi.ReadFields(r)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	challenge, _ := f.String("challenge", true, maxChallengeLength)
	if err := f.Err(); err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	options, err := svc.BeginWebAuthnLogin(r.Context(), challenge)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpapi.WriteJSON(w, http.StatusOK, options)
}

// secondStepRefusal is the session event result and the status of a
// second step refused with err: ok is false for a fault.
func secondStepRefusal(err error) (result string, status int, ok bool) {
	switch {
	case apperr.Is(apperr.Throttled, err):
		return storage.SessionResultThrottled, http.StatusTooManyRequests, true
	case apperr.Is(apperr.Unauthorized, err):
		return storage.SessionResultInvalidCode, http.StatusUnauthorized, true
	}
	return "", 0, false
}

// recentSessionUser is sessionUser for the changes of second factors:
// the session's login (or reauthentication) must be recent, else 401
// auth.ReauthenticationRequired. Confirming an enrolment (TOTP's code, a
// security key's answer) asks no more: its start was checked, and it
// expires in 10 minutes.
func (h authHandlers) recentSessionUser(w http.ResponseWriter, r *http.Request) (auth.Principal, bool) {
	p, ok := h.sessionUser(w, r)
	if !ok {
		return p, false
	}
	if err := auth.RequireRecentLogin(p, time.Now()); err != nil {
		httpapi.WriteError(w, r, err)
		return p, false
	}
	return p, true
}

// sessionUser returns the session's user, whose own second factors these
// routes change: any session of theirs, also one the MFA policy refuses
// elsewhere (so that they can enrol). Writes pass the CSRF check.
func (h authHandlers) sessionUser(w http.ResponseWriter, r *http.Request) (auth.Principal, bool) {
	p, err := h.authn.SessionPrincipal(r)
	if apperr.Is(apperr.Unauthorized, err) {
		err = apperr.E(apperr.Op("api.mfa"), apperr.Unauthorized, "Not authenticated")
	}
	if err == nil && r.Method != http.MethodGet {
		err = auth.CheckCSRF(r, h.authn.AllowedOrigins)
	}
	if err != nil {
		httpapi.WriteError(w, r, err)
		return p, false
	}
	return p, true
}

func (h authHandlers) mfaStatus(w http.ResponseWriter, r *http.Request, svc *mfa.Service) {
	p, ok := h.sessionUser(w, r)
	if !ok {
		return
	}
	st, err := svc.Status(r.Context(), p.Username)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, st)
}

func (h authHandlers) beginTOTP(w http.ResponseWriter, r *http.Request, svc *mfa.Service) {
	p, ok := h.recentSessionUser(w, r)
	if !ok {
		return
	}
	e, err := svc.BeginTOTP(r.Context(), p.Username)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpapi.WriteJSON(w, http.StatusOK, e)
}

// recoveryCodesBody answers new recovery codes, shown once.
type recoveryCodesBody struct {
	RecoveryCodes []string `json:"recovery_codes"`
}

func (h authHandlers) writeRecoveryCodes(w http.ResponseWriter, codes []string) {
	if codes == nil {
		codes = []string{}
	}
	w.Header().Set("Cache-Control", "no-store")
	httpapi.WriteJSON(w, http.StatusOK, recoveryCodesBody{RecoveryCodes: codes})
}

func (h authHandlers) confirmTOTP(w http.ResponseWriter, r *http.Request, svc *mfa.Service) {
	p, ok := h.sessionUser(w, r)
	if !ok {
		return
	}
	f, err := httpapi.ReadFields(r)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	code, _ := f.String("code", true, maxCodeLength)
	if err := f.Err(); err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	user := auth.User{ID: p.UserID, Username: p.Username} // the session read the user already
	codes, err := svc.ConfirmTOTP(r.Context(), user, code)
	if h.recordChange(w, r, user.Username, user.ID, err, storage.SessionMFAEnrolled, mfa.FactorTOTP) {
		h.writeRecoveryCodes(w, codes)
	}
}

// recordChange ends a change of the session user's factors: it answers
// err, or records the change (event, of factor) and reports true for the
// caller's answer.
func (h authHandlers) recordChange(w http.ResponseWriter, r *http.Request, username string, userID int64, err error, event, factor string) bool {
	if err != nil {
		httpapi.WriteError(w, r, err)
		return false
	}
	RecordSessionEvent(r, h.cfg.Events, event, factor, username, userID, http.StatusOK)
	return true
}

func (h authHandlers) removeTOTP(w http.ResponseWriter, r *http.Request, svc *mfa.Service) {
	p, ok := h.recentSessionUser(w, r)
	if !ok {
		return
	}
	err := svc.RemoveTOTP(r.Context(), p.Username)
	if !h.recordChange(w, r, p.Username, p.UserID, err, storage.SessionMFARemoved, mfa.FactorTOTP) {
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]string{"message": "The authenticator app and the recovery codes were removed."})
}

func (h authHandlers) regenerateRecoveryCodes(w http.ResponseWriter, r *http.Request, svc *mfa.Service) {
	p, ok := h.recentSessionUser(w, r)
	if !ok {
		return
	}
	codes, err := svc.RegenerateRecoveryCodes(r.Context(), p.Username)
	if h.recordChange(w, r, p.Username, p.UserID, err, storage.SessionMFAEnrolled, mfa.FactorRecoveryCodes) {
		h.writeRecoveryCodes(w, codes)
	}
}

// Operation ids of the admin view's second-factor pages (Route.Page).
const (
	PageLoginMFA         = "adminLoginMFA"
	PageMFA              = "adminMFA"
	PageMFABeginTOTP     = "adminMFABeginTOTP"
	PageMFAConfirmTOTP   = "adminMFAConfirmTOTP"
	PageMFARemoveTOTP    = "adminMFARemoveTOTP"
	PageMFARecoveryCodes = "adminMFARecoveryCodes"
	// PageMFARemoveWebAuthn removes a security key; registering one is the
	// page script's call of the auth function's routes.
	PageMFARemoveWebAuthn = "adminMFARemoveWebAuthn"
	// PageMFAReauthenticate confirms the password, so that the session may
	// change second factors again.
	PageMFAReauthenticate = "adminMFAReauthenticate"
)

func (h authHandlers) beginWebAuthn(w http.ResponseWriter, r *http.Request, svc *mfa.Service) {
	p, ok := h.recentSessionUser(w, r)
	if !ok {
		return
	}
	options, err := svc.BeginWebAuthnRegistration(r.Context(), auth.User{ID: p.UserID, Username: p.Username})
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpapi.WriteJSON(w, http.StatusOK, options)
}

func (h authHandlers) finishWebAuthn(w http.ResponseWriter, r *http.Request, svc *mfa.Service) {
	p, ok := h.sessionUser(w, r)
	if !ok {
		return
	}
	f, err := httpapi.ReadFields(r)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	name, _ := f.String("name", false, mfa.MaxKeyNameLength)
	credential, _ := f.Object("credential", true)
	if err := f.Err(); err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	response, err := json.Marshal(credential)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	codes, err := svc.FinishWebAuthnRegistration(r.Context(), auth.User{ID: p.UserID, Username: p.Username}, name, response)
	if h.recordChange(w, r, p.Username, p.UserID, err, storage.SessionMFAEnrolled, mfa.FactorWebAuthn) {
		h.writeRecoveryCodes(w, codes)
	}
}

func (h authHandlers) removeWebAuthn(w http.ResponseWriter, r *http.Request, svc *mfa.Service) {
	p, ok := h.recentSessionUser(w, r)
	if !ok {
		return
	}
	err := svc.RemoveWebAuthn(r.Context(), p.Username, r.PathValue("id"))
	if !h.recordChange(w, r, p.Username, p.UserID, err, storage.SessionMFARemoved, mfa.FactorWebAuthn) {
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]string{"message": "The security key was removed."})
}
