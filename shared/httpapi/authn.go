package httpapi

import (
	"net/http"

	"github.com/inmor/inmor-serverless/shared/auth"
)

// Authenticator decides who sent a request.
type Authenticator interface {
	// Authenticate returns the caller of r, or an error. With an error the
	// Principal is the zero value, unless the caller was identified but
	// refused (a session write that failed the CSRF check): then it is
	// that caller.
	Authenticate(r *http.Request) (auth.Principal, error)
}

// Authenticated runs next with the caller's Principal in the request context,
// or answers the authenticator's error: 401 when the request carries no
// valid credentials, 403 when a session request fails the CSRF check.
func Authenticated(a Authenticator, next http.Handler) http.Handler {
	return AuthenticatedOrRefused(a, next, nil)
}

// RefusalHandler answers a request refused although its caller was
// identified; the request carries the caller in its context, err is the
// refusal (which it answers, with WriteError).
type RefusalHandler func(w http.ResponseWriter, r *http.Request, err error)

// AuthenticatedOrRefused is Authenticated, except that refused, when not
// nil, answers the requests the authenticator refused although it
// identified their caller (a session write that failed the CSRF check), so
// that they can be recorded against that caller.
func AuthenticatedOrRefused(a Authenticator, next http.Handler, refused RefusalHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := a.Authenticate(r)
		if err != nil {
			if refused != nil && p.Username != "" {
				refused(w, r.WithContext(auth.WithPrincipal(r.Context(), p)), err)
				return
			}
			WriteError(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(auth.WithPrincipal(r.Context(), p)))
	})
}
