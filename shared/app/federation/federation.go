// Package federation builds the federation function (the public federation
// endpoints the trust anchor serves from its own tables: Subordinate
// Events) and registers it with app.
package federation

import (
	"net/http"

	"github.com/inmor/inmor-serverless/shared/adminapi"
	"github.com/inmor/inmor-serverless/shared/app"
	"github.com/inmor/inmor-serverless/shared/app/signer"
	"github.com/inmor/inmor-serverless/shared/dynamo"
	"github.com/inmor/inmor-serverless/shared/fedevents"
	"github.com/inmor/inmor-serverless/shared/function"
)

func init() {
	app.Register(function.Federation, func(d app.Deps) (app.Handler, error) {
		h, err := New(d)
		return app.Handler{HTTP: h}, err
	}, signer.FromEnv)
}

// New is the function's HTTP handler. It fails when a setting is malformed.
func New(d app.Deps) (http.Handler, error) {
	ttl, err := d.Config.EventsTTL()
	if err != nil {
		return nil, err
	}
	publisher := fedevents.Publisher{
		History:   &dynamo.AuditLog{Client: d.Client, Table: d.Config.AuditTable},
		Directory: d.Config.Resources(d.Client),
		Signer:    d.Signer, EntityID: d.Config.EntityID, TTL: ttl, InformationURI: d.Config.EventsInformationURI,
	}
	return adminapi.NewFederationHandler(publisher), nil
}
