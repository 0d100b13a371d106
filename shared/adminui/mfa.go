package adminui

import (
	"context"
	"errors"
	"html/template"
	"net/http"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/inmor/inmor-serverless/shared/adminapi"
	"github.com/inmor/inmor-serverless/shared/apperr"
	"github.com/inmor/inmor-serverless/shared/auth"
	"github.com/inmor/inmor-serverless/shared/mfa"
	"github.com/inmor/inmor-serverless/shared/storage"
)

// SecondFactors enrols and checks the users' second factors (*mfa.Service
// does).
type SecondFactors interface {
	Verify(ctx context.Context, challenge string, proof mfa.Proof) (auth.User, string, error)
	Status(ctx context.Context, username string) (mfa.Status, error)
	BeginTOTP(ctx context.Context, username string) (mfa.Enrolment, error)
	ConfirmTOTP(ctx context.Context, user auth.User, code string) ([]string, error)
	RemoveTOTP(ctx context.Context, username string) error
	RegenerateRecoveryCodes(ctx context.Context, username string) ([]string, error)
	RemoveWebAuthn(ctx context.Context, username, id string) error
}

// Paths of the second-factor pages.
const (
	loginMFAPath = adminapi.AdminPath + "/login/mfa/"
	mfaPath      = adminapi.AdminPath + "/mfa/"
)

// Messages of the second-factor pages.
const (
	msgInvalidCode   = "The code was not valid, or the login took too long. Log in again."
	msgTOTPRemoved   = "The authenticator app and its recovery codes were removed."
	msgTOTPEnrolled  = "The authenticator app is set up: logins now ask for its code."
	msgWrongCode     = "The code was not valid. Set up the app again."
	msgKeyRemoved    = "The security key was removed."
	msgReauthFirst   = "Confirm your password first: second factors change only within 5 minutes of a login."
	msgWrongPassword = "The password was not right."
)

// mfaPages are the handlers of the second-factor pages.
func (v view) mfaPages() adminapi.Pages {
	return adminapi.Pages{
		adminapi.PageLoginMFA:          v.page(v.loginMFA),
		adminapi.PageMFA:               v.page(v.staffSession(v.mfaStatus)),
		adminapi.PageMFABeginTOTP:      v.page(v.staffSession(v.formPost(v.recent(v.beginTOTP)))),
		adminapi.PageMFAConfirmTOTP:    v.page(v.staffSession(v.formPost(v.confirmTOTP))),
		adminapi.PageMFARemoveTOTP:     v.page(v.staffSession(v.formPost(v.recent(v.removeTOTP)))),
		adminapi.PageMFARecoveryCodes:  v.page(v.staffSession(v.formPost(v.recent(v.regenerateRecoveryCodes)))),
		adminapi.PageMFARemoveWebAuthn: v.page(v.staffSession(v.formPost(v.recent(v.removeWebAuthn)))),
		adminapi.PageMFAReauthenticate: v.page(v.staffSession(v.formPost(v.reauthenticate))),
	}
}

type loginMFAPage struct {
	layout
	Username  string
	Next      string
	Challenge string
	Error     string
	scripted
}

// scripted is a page that runs the admin view's one script, which asks
// the browser for a security key and calls the auth function's WebAuthn
// routes (the audit query function does not link the WebAuthn library):
// the script's address and the nonce the page's CSP allows it by.
type scripted struct {
	Script string
	Nonce  string
}

// allowScript lets this answer run the WebAuthn script, by a fresh nonce
// (script-src), and call the API of its own origin (connect-src).
func allowScript(w http.ResponseWriter) (scripted, error) {
	nonce, err := auth.NewSecret()
	if err != nil {
		return scripted{}, err
	}
	w.Header().Set("Content-Security-Policy", SecurityHeaders["Content-Security-Policy"]+"; script-src 'nonce-"+nonce+"'; connect-src 'self'")
	return scripted{Script: staticURL("webauthn.js"), Nonce: nonce}, nil
}

// renderSecondStep asks for the second factor of a login whose password
// was right.
func (v view) renderSecondStep(w http.ResponseWriter, r *http.Request, required *auth.SecondFactorRequired, next string) {
	token, err := v.csrfToken(w, r)
	if err != nil {
		v.fail(w, r, err)
		return
	}
	data := loginMFAPage{Username: required.User.Username, Next: next, Challenge: required.Challenge}
	if slices.Contains(required.Methods, mfa.MethodWebAuthn) {
		if data.scripted, err = allowScript(w); err != nil {
			v.fail(w, r, err)
			return
		}
	}
	data.layout = newLayout("Two-factor authentication")
	data.BodyClass, data.CSRFToken = "login", token
	v.render(w, r, http.StatusOK, "login_mfa.html", data)
}

// isTOTPCode reports whether a code is six digits (else a recovery code).
func isTOTPCode(code string) bool {
	if len(code) != 6 {
		return false
	}
	for _, c := range code {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// loginMFA checks the second step's form post (CSRF first) and opens the
// session of a staff user. A wrong code ends the login (the challenge
// served once): the form starts again.
func (v view) loginMFA(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		v.errorPage(w, r, http.StatusBadRequest, nil, "Bad request (400)", "The form could not be read.", "", crumb{"Log in", loginPath})
		return
	}
	if err := v.checkCSRF(r); err != nil {
		v.csrfFailed(w, r, err)
		return
	}
	next := safeNext(r.PostFormValue("next"))
	code := r.PostFormValue("code")
	proof := mfa.Proof{RecoveryCode: code}
	if isTOTPCode(code) {
		proof = mfa.Proof{Code: code}
	}
	user, sessionID, err := v.MFA.Verify(r.Context(), r.PostFormValue("challenge"), proof)
	var throttled *apperr.Error
	switch {
	case apperr.Is(apperr.Unauthorized, err):
		adminapi.RecordSessionEvent(r, v.Events, storage.SessionLogin, storage.SessionResultInvalidCode, user.Username, user.ID, http.StatusOK)
		v.renderLogin(w, r, http.StatusOK, loginPage{Next: next, Error: msgInvalidCode})
		return
	case errors.As(err, &throttled) && throttled.Kind == apperr.Throttled:
		adminapi.RecordSessionEvent(r, v.Events, storage.SessionLogin, storage.SessionResultThrottled, user.Username, user.ID, http.StatusTooManyRequests)
		v.tooManyLogins(w, r, throttled)
		return
	case err != nil:
		v.fail(w, r, err)
		return
	}
	if !user.IsStaff && !user.IsSuperuser {
		if err := v.Logins.Logout(r.Context(), sessionID); err != nil {
			v.fail(w, r, err)
			return
		}
		adminapi.RecordSessionEvent(r, v.Events, storage.SessionLogin, storage.SessionResultNotStaff, user.Username, user.ID, http.StatusOK)
		v.renderLogin(w, r, http.StatusOK, loginPage{Next: next, Error: msgInvalidLogin})
		return
	}
	if err := v.setSessionCookies(w, sessionID); err != nil {
		v.fail(w, r, err)
		return
	}
	adminapi.RecordSessionEvent(r, v.Events, storage.SessionLogin, storage.SessionResultSuccess, user.Username, user.ID, http.StatusFound)
	http.Redirect(w, r, next, http.StatusFound)
}

// staffSession serves h to staff sessions, also those the second-factor
// policy refuses elsewhere (so that they can set one up).
func (v view) staffSession(h func(http.ResponseWriter, *http.Request, auth.Principal)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := v.Sessions.SessionPrincipal(r)
		switch {
		case apperr.Is(apperr.Unauthorized, err):
			http.Redirect(w, r, loginPath+"?next="+mfaPath, http.StatusFound)
			return
		case err != nil:
			v.fail(w, r, err)
			return
		case !p.IsStaff && !p.IsSuperuser:
			v.notStaff(w, r, p)
			return
		}
		h(w, r, p)
	}
}

// formPost checks a form post's size and CSRF token before h.
func (v view) formPost(h func(http.ResponseWriter, *http.Request, auth.Principal)) func(http.ResponseWriter, *http.Request, auth.Principal) {
	return func(w http.ResponseWriter, r *http.Request, p auth.Principal) {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			v.errorPage(w, r, http.StatusBadRequest, &p, "Bad request (400)", "The form could not be read.", "", crumb{"Two-factor authentication", mfaPath})
			return
		}
		if err := v.checkCSRF(r); err != nil {
			v.csrfFailed(w, r, err)
			return
		}
		h(w, r, p)
	}
}

// mfaPage shows a staff user's second factors, with what an action just
// made (a key to scan, recovery codes), each shown once.
type mfaPage struct {
	layout
	Status mfa.Status
	// Required: the policy refuses this session until a second factor
	// is set up and used.
	Required      bool
	Enrolment     *mfa.Enrolment
	QR            template.HTML
	RecoveryCodes []string
	Notice        string
	Error         string
	// Recent: the session's login (or reauthentication) is recent enough
	// to change second factors; else the page asks for the password.
	Recent bool
	scripted
}

func (v view) renderMFA(w http.ResponseWriter, r *http.Request, p auth.Principal, data mfaPage) {
	status, err := v.MFA.Status(r.Context(), p.Username)
	if err != nil {
		v.fail(w, r, err)
		return
	}
	l, err := v.withUser(newLayout("Two-factor authentication"), w, r, p)
	if err != nil {
		v.fail(w, r, err)
		return
	}
	l.Crumbs = []crumb{{"Home", listPath}, {"Two-factor authentication", ""}}
	data.layout, data.Status = l, status
	data.Required = v.MFARequiredForStaff && !p.SecondFactor
	if data.Recent = p.RecentlyAuthenticated(time.Now()); data.Recent {
		if data.scripted, err = allowScript(w); err != nil {
			v.fail(w, r, err)
			return
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	v.render(w, r, http.StatusOK, "mfa.html", data)
}

func (v view) mfaStatus(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	v.renderMFA(w, r, p, mfaPage{})
}

// userError is the message of an error the user can act on, or "".
func userError(err error) string {
	var ae *apperr.Error
	if errors.As(err, &ae) && (ae.Kind == apperr.Invalid || ae.Kind == apperr.Unprocessable) {
		return ae.Message
	}
	return ""
}

func (v view) beginTOTP(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	e, err := v.MFA.BeginTOTP(r.Context(), p.Username)
	if msg := userError(err); msg != "" {
		v.renderMFA(w, r, p, mfaPage{Error: msg})
		return
	}
	if err != nil {
		v.fail(w, r, err)
		return
	}
	// The SVG is the service's own drawing of the URI: paths, no text.
	v.renderMFA(w, r, p, mfaPage{Enrolment: &e, QR: template.HTML(e.QRSVG)})
}

func (v view) confirmTOTP(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	codes, err := v.MFA.ConfirmTOTP(r.Context(), auth.User{ID: p.UserID, Username: p.Username}, r.PostFormValue("code"))
	if apperr.Is(apperr.Unprocessable, err) {
		v.renderMFA(w, r, p, mfaPage{Error: msgWrongCode})
		return
	}
	v.afterChange(w, r, p, err, storage.SessionMFAEnrolled, mfa.FactorTOTP, mfaPage{Notice: msgTOTPEnrolled, RecoveryCodes: codes})
}

// afterChange shows the two-factor page after a change of the user's
// factors: its refusal (an error the user can act on), a fault, or the
// change recorded (event, of factor) and page.
func (v view) afterChange(w http.ResponseWriter, r *http.Request, p auth.Principal, err error, event, factor string, page mfaPage) {
	if msg := userError(err); msg != "" {
		v.renderMFA(w, r, p, mfaPage{Error: msg})
		return
	}
	if err != nil {
		v.fail(w, r, err)
		return
	}
	adminapi.RecordSessionEvent(r, v.Events, event, factor, p.Username, p.UserID, http.StatusOK)
	v.renderMFA(w, r, p, page)
}

func (v view) removeTOTP(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	err := v.MFA.RemoveTOTP(r.Context(), p.Username)
	v.afterChange(w, r, p, err, storage.SessionMFARemoved, mfa.FactorTOTP, mfaPage{Notice: msgTOTPRemoved})
}

func (v view) regenerateRecoveryCodes(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	codes, err := v.MFA.RegenerateRecoveryCodes(r.Context(), p.Username)
	v.afterChange(w, r, p, err, storage.SessionMFAEnrolled, mfa.FactorRecoveryCodes, mfaPage{RecoveryCodes: codes})
}

func (v view) removeWebAuthn(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	err := v.MFA.RemoveWebAuthn(r.Context(), p.Username, r.PostFormValue("id"))
	v.afterChange(w, r, p, err, storage.SessionMFARemoved, mfa.FactorWebAuthn, mfaPage{Notice: msgKeyRemoved})
}

// recent serves h to a session whose login (or reauthentication) is
// recent; any other gets the two-factor page, which asks for the password.
func (v view) recent(h func(http.ResponseWriter, *http.Request, auth.Principal)) func(http.ResponseWriter, *http.Request, auth.Principal) {
	return func(w http.ResponseWriter, r *http.Request, p auth.Principal) {
		if !p.RecentlyAuthenticated(time.Now()) {
			v.renderMFA(w, r, p, mfaPage{Error: msgReauthFirst})
			return
		}
		h(w, r, p)
	}
}

// reauthenticate checks the password again and replaces the session by one
// authenticated now (new cookies), recorded as a login of the user (or a
// failed one), then shows the two-factor page again.
func (v view) reauthenticate(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	password := r.PostFormValue("password")
	if utf8.RuneCountInString(password) > maxPasswordLength {
		v.renderMFA(w, r, p, mfaPage{Error: msgWrongPassword})
		return
	}
	cookie, _ := r.Cookie(auth.SessionCookie) // staffSession found it
	sessionID, err := v.Logins.Reauthenticate(r.Context(), p, cookie.Value, password)
	var throttled *apperr.Error
	switch {
	case apperr.Is(apperr.Unauthorized, err):
		adminapi.RecordSessionEvent(r, v.Events, storage.SessionLogin, storage.SessionResultInvalid, p.Username, p.UserID, http.StatusOK)
		v.renderMFA(w, r, p, mfaPage{Error: msgWrongPassword})
		return
	case errors.As(err, &throttled) && throttled.Kind == apperr.Throttled:
		adminapi.RecordSessionEvent(r, v.Events, storage.SessionLogin, storage.SessionResultThrottled, p.Username, p.UserID, http.StatusTooManyRequests)
		v.tooManyLogins(w, r, throttled)
		return
	case err != nil:
		v.fail(w, r, err)
		return
	}
	if err := v.setSessionCookies(w, sessionID); err != nil {
		v.fail(w, r, err)
		return
	}
	adminapi.RecordSessionEvent(r, v.Events, storage.SessionLogin, storage.SessionResultSuccess, p.Username, p.UserID, http.StatusSeeOther)
	http.Redirect(w, r, mfaPath, http.StatusSeeOther)
}
