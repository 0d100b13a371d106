// Package auth builds the auth function (login, logout, me, csrf, second
// factors with WebAuthn's ceremonies) and registers it with app.
package auth

import (
	"net/http"

	"github.com/inmor/inmor-serverless/shared/function"

	"github.com/inmor/inmor-serverless/shared/adminapi"
	"github.com/inmor/inmor-serverless/shared/app"
	"github.com/inmor/inmor-serverless/shared/mfa/securitykey"
)

func init() {
	app.Register(function.Auth, func(d app.Deps) (app.Handler, error) {
		h, err := New(d)
		return app.Handler{HTTP: h}, err
	}, nil)
}

// New is the function's HTTP handler.
func New(d app.Deps) (http.Handler, error) {
	store := d.Config.AuthStore(d.Client)
	logins, second, err := d.Config.Logins(d.Client)
	if err != nil {
		return nil, err
	}
	second.SecurityKeys = securitykey.Ceremonies{} // here only: see mfa.Ceremonies
	return adminapi.NewAuthHandler(logins, store, d.Config.Authenticator(d.Client), adminapi.SessionConfig{
		Secure: d.Config.SessionCookieSecure, Events: store, MFA: second, WebAuthnRPID: d.Config.WebAuthnRPID,
	}), nil
}
