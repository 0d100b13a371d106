// Package trustmarks builds the trustmarks function (the TrustMark routes;
// it signs trust marks) and registers it with app.
package trustmarks

import (
	"net/http"

	"github.com/inmor/inmor-serverless/shared/function"

	"github.com/inmor/inmor-serverless/shared/adminapi"
	"github.com/inmor/inmor-serverless/shared/app"
	"github.com/inmor/inmor-serverless/shared/app/signer"
	"github.com/inmor/inmor-serverless/shared/resource"
)

func init() {
	app.Register(function.TrustMarks, func(d app.Deps) (app.Handler, error) { return app.Handler{HTTP: New(d)}, nil }, signer.FromEnv)
}

// New is the function's HTTP handler.
func New(d app.Deps) http.Handler {
	store := d.Config.Resources(d.Client)
	svc := resource.TrustMarks{Store: store, Types: store, Signer: d.Signer, Issuer: d.Config.TrustMarkIssuer}
	return adminapi.NewTrustMarksHandler(svc, d.Config.Authenticator(d.Client), store)
}
