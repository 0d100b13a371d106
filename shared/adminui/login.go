package adminui

import (
	"errors"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/inmor/inmor-serverless/shared/adminapi"
	"github.com/inmor/inmor-serverless/shared/apperr"
	"github.com/inmor/inmor-serverless/shared/auth"
	"github.com/inmor/inmor-serverless/shared/storage"
)

// Bounds of the login form, as the API's login.
const (
	maxFormBytes      = 16 << 10
	maxUsernameLength = 150
	maxPasswordLength = 1024
)

// Messages of the login form (Django's).
const (
	msgInvalidLogin = "Please enter the correct username and password for a staff account. Note that both fields may be case-sensitive."
	msgRequired     = "Please enter both a username and a password."
)

type loginPage struct {
	layout
	Username string
	Next     string
	Error    string
	// SignedInAs names the user of a session that may not use the admin
	// view, who may log in as someone else here.
	SignedInAs string
}

// safeNext is where to go after logging in: a page of the admin view on
// this site, else the audit log.
func safeNext(next string) string {
	u, err := url.Parse(next)
	if next == "" || err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" ||
		!strings.HasPrefix(next, adminapi.AdminPath+"/") || strings.ContainsAny(next, "\\\r\n\t") ||
		strings.HasPrefix(u.Path, loginPath) || strings.HasPrefix(u.Path, logoutPath) {
		return listPath
	}
	return next
}

func (v view) renderLogin(w http.ResponseWriter, r *http.Request, status int, data loginPage) {
	token, err := v.csrfToken(w, r)
	if err != nil {
		v.fail(w, r, err)
		return
	}
	data.layout = newLayout("Log in")
	data.BodyClass, data.CSRFToken = "login", token
	v.render(w, r, status, "login.html", data)
}

// loginForm shows the form; a staff session goes straight on.
func (v view) loginForm(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	data := loginPage{Next: next}
	p, err := v.Sessions.SessionPrincipal(r)
	switch {
	case err == nil && (p.IsStaff || p.IsSuperuser):
		http.Redirect(w, r, next, http.StatusFound)
		return
	case err == nil:
		data.SignedInAs = p.Username
	case !apperr.Is(apperr.Unauthorized, err):
		v.fail(w, r, err)
		return
	}
	v.renderLogin(w, r, http.StatusOK, data)
}

// login checks the form post (CSRF first, then the credentials, throttled
// per username as the API's login) and opens a session for a staff user.
func (v view) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		v.errorPage(w, r, http.StatusBadRequest, nil, "Bad request (400)", "The form could not be read.", "", crumb{"Log in", loginPath})
		return
	}
	if err := v.checkCSRF(r); err != nil {
		v.csrfFailed(w, r, err)
		return
	}
	username, password := r.PostFormValue("username"), r.PostFormValue("password")
	data := loginPage{Username: username, Next: safeNext(r.PostFormValue("next"))}
	if username == "" || password == "" {
		data.Error = msgRequired
		v.renderLogin(w, r, http.StatusOK, data)
		return
	}
	if utf8.RuneCountInString(username) > maxUsernameLength || utf8.RuneCountInString(password) > maxPasswordLength {
		data.Error = msgInvalidLogin
		v.renderLogin(w, r, http.StatusOK, data)
		return
	}
	user, sessionID, err := v.Logins.Login(r.Context(), username, password)
	var throttled *apperr.Error
	var required *auth.SecondFactorRequired
	switch {
	case errors.As(err, &required) && (required.User.IsStaff || required.User.IsSuperuser) && v.MFA != nil:
		v.renderSecondStep(w, r, required, data.Next)
		return
	case errors.As(err, &required):
		data.Error = msgInvalidLogin
		v.renderLogin(w, r, http.StatusOK, data)
		return
	case apperr.Is(apperr.Unauthorized, err):
		adminapi.RecordSessionEvent(r, v.Events, storage.SessionLogin, storage.SessionResultInvalid, username, 0, http.StatusOK)
		data.Error = msgInvalidLogin
		v.renderLogin(w, r, http.StatusOK, data)
		return
	case errors.As(err, &throttled) && throttled.Kind == apperr.Throttled:
		adminapi.RecordSessionEvent(r, v.Events, storage.SessionLogin, storage.SessionResultThrottled, username, 0, http.StatusTooManyRequests)
		v.tooManyLogins(w, r, throttled)
		return
	case err != nil:
		v.fail(w, r, err)
		return
	}
	if !user.IsStaff && !user.IsSuperuser {
		// Django's admin refuses such a login with the same message, and
		// opens no session.
		if err := v.Logins.Logout(r.Context(), sessionID); err != nil {
			v.fail(w, r, err)
			return
		}
		adminapi.RecordSessionEvent(r, v.Events, storage.SessionLogin, storage.SessionResultNotStaff, user.Username, user.ID, http.StatusOK)
		data.Error = msgInvalidLogin
		v.renderLogin(w, r, http.StatusOK, data)
		return
	}
	if err := v.setSessionCookies(w, sessionID); err != nil {
		v.fail(w, r, err)
		return
	}
	adminapi.RecordSessionEvent(r, v.Events, storage.SessionLogin, storage.SessionResultSuccess, user.Username, user.ID, http.StatusFound)
	http.Redirect(w, r, data.Next, http.StatusFound)
}

// setSessionCookies gives the client its new session, with a new CSRF
// token (as every login of the API does).
func (v view) setSessionCookies(w http.ResponseWriter, sessionID string) error {
	token, err := auth.NewSecret()
	if err != nil {
		return err
	}
	http.SetCookie(w, v.cookie(auth.SessionCookie, sessionID, auth.SessionLifetime, true))
	http.SetCookie(w, v.cookie(auth.CSRFCookie, token, auth.CSRFCookieLifetime, false))
	return nil
}

// tooManyLogins answers a login throttled for its username: 429 with
// Retry-After, on the form's first step and its second alike.
func (v view) tooManyLogins(w http.ResponseWriter, r *http.Request, throttled *apperr.Error) {
	seconds := int(math.Ceil(throttled.RetryAfter.Seconds()))
	w.Header().Set("Retry-After", strconv.Itoa(seconds))
	v.errorPage(w, r, http.StatusTooManyRequests, nil, "Too many failed logins (429)",
		"Too many failed logins for this username.",
		"Try again in "+minutes(seconds)+".", crumb{"Log in", loginPath})
}

// notStaff answers a session of a user who may not use the admin view.
func (v view) notStaff(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	v.errorPage(w, r, http.StatusForbidden, &p, "403 Forbidden",
		"You are authenticated as "+p.Username+", but are not authorized to access this page.",
		"The admin view is for staff users. Log out and log in with a staff account.")
}

func minutes(seconds int) string {
	m := (seconds + 59) / 60
	if m <= 1 {
		return "a minute"
	}
	return strconv.Itoa(m) + " minutes"
}

type logoutPage struct {
	layout
}

// logoutForm asks to confirm with a button: logging out changes state, so
// it takes a form post with the CSRF token.
func (v view) logoutForm(w http.ResponseWriter, r *http.Request) {
	p, err := v.Sessions.SessionPrincipal(r)
	if apperr.Is(apperr.Unauthorized, err) {
		http.Redirect(w, r, loginPath, http.StatusFound)
		return
	}
	if err != nil {
		v.fail(w, r, err)
		return
	}
	l, err := v.withUser(newLayout("Log out"), w, r, p)
	if err != nil {
		v.fail(w, r, err)
		return
	}
	l.Crumbs = []crumb{{"Home", listPath}, {"Log out", ""}}
	v.render(w, r, http.StatusOK, "logout.html", logoutPage{layout: l})
}

// logout ends the session server-side and clears its cookie.
func (v view) logout(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		v.errorPage(w, r, http.StatusBadRequest, nil, "Bad request (400)", "The form could not be read.", "", crumb{"Log in", loginPath})
		return
	}
	if err := v.checkCSRF(r); err != nil {
		v.csrfFailed(w, r, err)
		return
	}
	if c, err := r.Cookie(auth.SessionCookie); err == nil {
		p, sessionErr := v.Sessions.SessionPrincipal(r)
		if err := v.Logins.Logout(r.Context(), c.Value); err != nil {
			v.fail(w, r, err)
			return
		}
		if sessionErr == nil {
			adminapi.RecordSessionEvent(r, v.Events, storage.SessionLogout, storage.SessionResultSuccess, p.Username, p.UserID, http.StatusOK)
		}
	}
	http.SetCookie(w, v.cookie(auth.SessionCookie, "", -1, true))
	l := newLayout("Logged out")
	l.BodyClass = "login"
	v.render(w, r, http.StatusOK, "logged_out.html", logoutPage{layout: l})
}
