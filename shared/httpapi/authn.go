package httpapi

import (
	"errors"
	"net/http"

	"github.com/inmor/inmor-serverless/shared/auth"
)

// Authenticator decides who sent a request.
type Authenticator interface {
	Authenticate(r *http.Request) (auth.Principal, error)
}

// Authenticated runs next with the caller's Principal in the request context,
// or answers 401 when the request carries no valid credentials.
func Authenticated(a Authenticator, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := a.Authenticate(r)
		var csrf *auth.CSRFError
		switch {
		case errors.Is(err, auth.ErrUnauthenticated):
			WriteError(w, r, ErrUnauthorized)
			return
		case errors.As(err, &csrf):
			WriteJSON(w, http.StatusForbidden, map[string]string{"detail": csrf.Error()})
			return
		}
		if err != nil {
			WriteError(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(auth.WithPrincipal(r.Context(), p)))
	})
}
