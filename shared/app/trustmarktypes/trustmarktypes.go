// Package trustmarktypes builds the trustmarktypes function (the
// TrustMarkType routes) and registers it with app.
package trustmarktypes

import (
	"net/http"

	"github.com/inmor/inmor-serverless/shared/function"

	"github.com/inmor/inmor-serverless/shared/adminapi"
	"github.com/inmor/inmor-serverless/shared/app"
	"github.com/inmor/inmor-serverless/shared/resource"
)

func init() {
	app.Register(function.TrustMarkTypes, func(d app.Deps) (app.Handler, error) { return app.Handler{HTTP: New(d)}, nil }, nil)
}

// New is the function's HTTP handler.
func New(d app.Deps) http.Handler {
	store := d.Config.Resources(d.Client)
	return adminapi.NewTrustMarkTypesHandler(resource.TrustMarkTypes{Store: store}, d.Config.Authenticator(d.Client), store)
}
