// Package adminui is the read-only admin view of the audit log:
// server-rendered pages at the Django admin's addresses, for staff
// sessions, over the same audit.Reader and filters as the API. It offers no
// way to add, change or delete anything.
package adminui

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/inmor/inmor-serverless/shared/adminapi"
	"github.com/inmor/inmor-serverless/shared/apperr"
	"github.com/inmor/inmor-serverless/shared/audit"
	"github.com/inmor/inmor-serverless/shared/auth"
	"github.com/inmor/inmor-serverless/shared/httpapi"
)

// Sessions finds the user of a request's session cookie
// (auth.Authenticator does).
type Sessions interface {
	SessionPrincipal(r *http.Request) (auth.Principal, error)
}

// Logins checks credentials and opens and ends sessions, throttling failed
// logins (auth.Logins does).
type Logins interface {
	Login(ctx context.Context, username, password string) (auth.User, string, error)
	Logout(ctx context.Context, sessionID string) error
	// Reauthenticate checks the session user's password again and
	// replaces the session by one authenticated now, returning its id.
	Reauthenticate(ctx context.Context, p auth.Principal, sessionID, password string) (string, error)
}

// Config is what the pages need.
type Config struct {
	Reader  audit.Reader
	Cursors *audit.CursorCodec
	// Sessions and Logins are the API's own: one session serves both.
	Sessions Sessions
	Logins   Logins
	// AllowedOrigins may post the login and logout forms besides the
	// page's own origin (the API's CSRF origin check).
	AllowedOrigins []string
	// SecureCookies marks the cookies Secure; off only on the local stack,
	// which serves plain HTTP.
	SecureCookies bool
	// Events records the form's logins (and refusals) and logouts for the
	// audit log, as the API's; nil records nothing.
	Events adminapi.SessionEvents
	// MFA enrols and checks second factors (the login's second step).
	MFA SecondFactors
	// MFARequiredForStaff sends staff sessions without a second factor to
	// set one up (MFA_REQUIRED_FOR_STAFF).
	MFARequiredForStaff bool
}

// Paths of the pages.
const (
	loginPath  = adminapi.AdminPath + "/login/"
	logoutPath = adminapi.AdminPath + "/logout/"
	listPath   = adminapi.AdminAuditLogPath
	staticPath = adminapi.AdminPath + "/static/"
	siteTitle  = "Inmor administration"
)

// SecurityHeaders are sent with every page: no script runs, styles come
// only from the stylesheet, forms post only to this origin, and no other
// site may frame a page.
var SecurityHeaders = map[string]string{
	"Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
	"X-Frame-Options":         "DENY",
	"Referrer-Policy":         "same-origin",
	"X-Content-Type-Options":  "nosniff",
}

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static/admin.css
var stylesheet []byte

//go:embed static/favicon.svg
var favicon []byte

//go:embed static/webauthn.js
var webauthnScript []byte

// staticFiles are the files under /admin/static/, each with its type and a
// version that changes with its content, so that its versioned address can
// be cached for good.
var staticFiles = map[string]staticFile{
	"admin.css":   newStaticFile(stylesheet, "text/css; charset=utf-8"),
	"favicon.svg": newStaticFile(favicon, "image/svg+xml"),
	"webauthn.js": newStaticFile(webauthnScript, "text/javascript; charset=utf-8"),
}

type staticFile struct {
	content     []byte
	contentType string
	version     string
}

func newStaticFile(content []byte, contentType string) staticFile {
	sum := sha256.Sum256(content)
	return staticFile{content: content, contentType: contentType, version: hex.EncodeToString(sum[:6])}
}

// staticURL is the versioned address of a static file.
func staticURL(name string) string {
	return staticPath + name + "?v=" + staticFiles[name].version
}

// templates are the pages, each joined with the layout. They are parsed
// at the first page served, not at init: the function that serves the
// pages serves the audit API too, whose cold starts need no templates.
var templates = sync.OnceValue(func() map[string]*template.Template {
	layout := template.Must(template.New("layout.html").ParseFS(templateFiles, "templates/layout.html"))
	pages, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		panic(err)
	}
	out := map[string]*template.Template{}
	for _, p := range pages {
		name := strings.TrimPrefix(p, "templates/")
		if name == "layout.html" {
			continue
		}
		out[name] = template.Must(template.Must(layout.Clone()).ParseFS(templateFiles, p))
	}
	return out
})

// New returns the admin view's pages by operation id, for
// adminapi.NewAuditQueryHandler.
func New(c Config) adminapi.Pages {
	v := view{Config: c}
	pages := adminapi.Pages{
		adminapi.PageAdminRoot:     v.page(v.index),
		adminapi.PageAdminIndex:    v.page(v.index),
		adminapi.PageLogin:         v.page(v.loginForm),
		adminapi.PageLoginSubmit:   v.page(v.login),
		adminapi.PageLogoutConfirm: v.page(v.logoutForm),
		adminapi.PageLogout:        v.page(v.logout),
		adminapi.PageAuditLogList:  v.page(v.staffOnly(v.list)),
		adminapi.PageAuditLogEntry: v.page(v.staffOnly(v.entry)),
		adminapi.PageStatic:        v.page(v.static),
	}
	maps.Copy(pages, v.mfaPages())
	return pages
}

type view struct {
	Config
}

// page adds the security headers to a page's every answer.
func (v view) page(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for name, value := range SecurityHeaders {
			w.Header().Set(name, value)
		}
		h(w, r)
	}
}

// layout is what every page shows around its content.
type layout struct {
	Title      string
	Stylesheet string
	Icon       string
	// User is the logged-in staff user, "" on the login pages.
	User string
	// CSRFToken goes into the logout form (and the login form).
	CSRFToken string
	Crumbs    []crumb
	// BodyClass styles the login pages apart.
	BodyClass string
}

type crumb struct {
	Label string
	URL   string
}

func newLayout(title string) layout {
	return layout{Title: title, Stylesheet: staticURL("admin.css"), Icon: staticURL("favicon.svg")}
}

// withUser adds the user's tools (the logout form) to a page.
func (v view) withUser(l layout, w http.ResponseWriter, r *http.Request, p auth.Principal) (layout, error) {
	token, err := v.csrfToken(w, r)
	l.User, l.CSRFToken = p.Username, token
	return l, err
}

// render writes a page. It renders into a buffer first, so a template
// failure answers a whole error page, never half a page.
func (v view) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	var buf bytes.Buffer
	if err := templates()[name].Execute(&buf, data); err != nil {
		v.fail(w, r, err)
		return
	}
	writeHTML(w, status, buf.Bytes())
}

func writeHTML(w http.ResponseWriter, status int, page []byte) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(page)
}

// errorPage is a page that says what went wrong and where to go instead.
type errorPage struct {
	layout
	Heading string
	Message string
	Detail  string
	// Links lead on: back to the list, or to the login form.
	Links []crumb
}

func (v view) errorPage(w http.ResponseWriter, r *http.Request, status int, p *auth.Principal, heading, message, detail string, links ...crumb) {
	data := errorPage{layout: newLayout(heading), Heading: heading, Message: message, Detail: detail, Links: links}
	if p != nil {
		if l, err := v.withUser(data.layout, w, r, *p); err == nil {
			data.layout = l
		}
	} else {
		data.BodyClass = "login"
	}
	var buf bytes.Buffer
	if err := templates()["error.html"].Execute(&buf, data); err != nil {
		slog.ErrorContext(r.Context(), "admin error page failed", "error", err.Error())
		http.Error(w, heading, status)
		return
	}
	writeHTML(w, status, buf.Bytes())
}

// fail answers 500 and logs the cause with the request id, never showing
// it; a client that hung up gets httpapi.WriteClientGone.
func (v view) fail(w http.ResponseWriter, r *http.Request, err error) {
	if httpapi.ClientGone(r) {
		httpapi.WriteClientGone(w, r)
		return
	}
	slog.ErrorContext(r.Context(), "admin page failed", "error", err.Error(),
		"request_id", httpapi.RequestContextOf(r.Context()).RequestID, "method", r.Method, "path", r.URL.Path)
	v.errorPage(w, r, http.StatusInternalServerError, nil, "Server error (500)",
		"There’s been an error. It has been logged; please try again later.", "", crumb{"Audit log", listPath})
}

// staffOnly serves h to staff and superuser sessions; anyone else is sent
// to the login form, and a session of another user gets 403.
func (v view) staffOnly(h func(http.ResponseWriter, *http.Request, auth.Principal)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := v.Sessions.SessionPrincipal(r)
		switch {
		case apperr.Is(apperr.Unauthorized, err):
			http.Redirect(w, r, loginPath+"?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusFound)
			return
		case err != nil:
			v.fail(w, r, err)
			return
		case !p.IsStaff && !p.IsSuperuser:
			v.notStaff(w, r, p)
			return
		case v.MFARequiredForStaff && !p.SecondFactor:
			http.Redirect(w, r, mfaPath, http.StatusFound)
			return
		}
		h(w, r, p)
	}
}

// index sends the admin's home to the audit log, the only model it shows.
func (v view) index(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, listPath, http.StatusFound)
}

// static serves the stylesheet and the icon; their versioned addresses
// are cached for good.
func (v view) static(w http.ResponseWriter, r *http.Request) {
	f, ok := staticFiles[r.PathValue("file")]
	if !ok {
		v.errorPage(w, r, http.StatusNotFound, nil, "Page not found (404)", "There is no such file.", "")
		return
	}
	w.Header().Set("Content-Type", f.contentType)
	if r.URL.Query().Get("v") == f.version {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	_, _ = w.Write(f.content)
}

// cookie is a cookie as the API's login sets it.
func (v view) cookie(name, value string, maxAge time.Duration, httpOnly bool) *http.Cookie {
	c := &http.Cookie{
		Name: name, Value: value, Path: "/", HttpOnly: httpOnly, Secure: v.SecureCookies, SameSite: http.SameSiteLaxMode,
		MaxAge: int(maxAge.Seconds()),
	}
	if maxAge < 0 {
		c.MaxAge = -1
	}
	return c
}

// csrfToken returns the request's CSRF token, setting a new csrftoken
// cookie when it has none (or a malformed one).
func (v view) csrfToken(w http.ResponseWriter, r *http.Request) (string, error) {
	if c, err := r.Cookie(auth.CSRFCookie); err == nil && wellFormedToken(c.Value) {
		return c.Value, nil
	}
	token, err := auth.NewSecret()
	if err != nil {
		return "", err
	}
	http.SetCookie(w, v.cookie(auth.CSRFCookie, token, auth.CSRFCookieLifetime, false))
	return token, nil
}

// wellFormedToken: what auth.NewSecret makes (32 to 64 URL-safe characters).
func wellFormedToken(s string) bool {
	if len(s) < 32 || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// checkCSRF applies the API's CSRF check (auth.CheckCSRF: the Origin, then
// the csrftoken cookie) to a form post, whose token travels in the
// csrfmiddlewaretoken field as in Django.
func (v view) checkCSRF(r *http.Request) error {
	checked := r.Clone(r.Context())
	checked.Header.Set(auth.CSRFHeader, r.PostFormValue(csrfField))
	return auth.CheckCSRF(checked, v.AllowedOrigins)
}

// csrfField is the form field that carries the CSRF token (Django's name).
const csrfField = "csrfmiddlewaretoken"

// csrfFailed is Django's page for a refused form post.
func (v view) csrfFailed(w http.ResponseWriter, r *http.Request, err error) {
	reason := err.Error()
	var ce *apperr.Error
	if errors.As(err, &ce) && ce.Kind == apperr.CSRF {
		reason = ce.Message
	}
	v.errorPage(w, r, http.StatusForbidden, nil, "Forbidden (403)", "CSRF verification failed. Request aborted.", reason,
		crumb{"Log in", loginPath})
}
