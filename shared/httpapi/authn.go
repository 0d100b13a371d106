package httpapi

import (
	"net/http"

	"github.com/inmor/inmor-serverless/shared/auth"
)

// Authenticator decides who sent a request.
type Authenticator interface {
	Authenticate(r *http.Request) (auth.Principal, error)
}

// Authenticated runs next with the caller's Principal in the request context,
// or answers the authenticator's error: 401 when the request carries no
// valid credentials, 403 when a session request fails the CSRF check.
func Authenticated(a Authenticator, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := a.Authenticate(r)
		if err != nil {
			WriteError(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(auth.WithPrincipal(r.Context(), p)))
	})
}
