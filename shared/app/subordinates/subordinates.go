// Package subordinates builds the subordinates function (the Subordinate
// routes; it signs subordinate statements) and registers it with app.
package subordinates

import (
	"net/http"

	"github.com/inmor/inmor-serverless/shared/function"

	"github.com/inmor/inmor-serverless/shared/adminapi"
	"github.com/inmor/inmor-serverless/shared/app"
	"github.com/inmor/inmor-serverless/shared/app/signer"
	"github.com/inmor/inmor-serverless/shared/entityconfig"
	"github.com/inmor/inmor-serverless/shared/resource"
)

func init() {
	app.Register(function.Subordinates, func(d app.Deps) (app.Handler, error) {
		h, err := New(d)
		return app.Handler{HTTP: h}, err
	}, signer.FromEnv)
}

// New is the function's HTTP handler. It fails when the settings of the
// trust anchor's entity configuration, or ENTITY_CONFIGURATION_CHECK, are
// malformed.
func New(d app.Deps) (http.Handler, error) {
	store := d.Config.Resources(d.Client)
	svc := resource.Subordinates{Store: store, Signer: d.Signer, EntityID: d.Config.EntityID}
	check, err := d.Config.CheckEntityConfigurations()
	if err != nil {
		return nil, err
	}
	switch {
	case check && d.EntityConfigurations != nil:
		svc.Configurations = d.EntityConfigurations
	case check:
		svc.Configurations = entityconfig.New(entityconfig.Options{}) // strict: public https only
	}
	serverConfig, err := d.Config.ServerConfig()
	if err != nil {
		return nil, err
	}
	server := resource.Server{Store: store, Signer: d.Signer, Config: serverConfig}
	return adminapi.NewSubordinatesHandler(svc, server, d.Config.Authenticator(d.Client), store), nil
}
