// Package subordinates builds the subordinates function (the Subordinate
// routes; it signs subordinate statements) and registers it with app.
package subordinates

import (
	"net/http"

	"github.com/inmor/inmor-serverless/shared/function"

	"github.com/inmor/inmor-serverless/shared/adminapi"
	"github.com/inmor/inmor-serverless/shared/app"
	"github.com/inmor/inmor-serverless/shared/app/signer"
	"github.com/inmor/inmor-serverless/shared/resource"
)

func init() {
	app.Register(function.Subordinates, func(d app.Deps) (app.Handler, error) { return app.Handler{HTTP: New(d)}, nil }, signer.FromEnv)
}

// New is the function's HTTP handler.
func New(d app.Deps) http.Handler {
	store := d.Config.Resources(d.Client)
	svc := resource.Subordinates{Store: store, Signer: d.Signer, EntityID: d.Config.EntityID}
	return adminapi.NewSubordinatesHandler(svc, d.Config.Authenticator(d.Client), store)
}
