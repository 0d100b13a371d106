// Package auditquery builds the auditquery function (the audit log API, the
// admin view, whose login opens the same sessions as the API's, and the
// OpenAPI document) and registers it with app.
package auditquery

import (
	"net/http"

	"github.com/inmor/inmor-serverless/shared/function"

	"github.com/inmor/inmor-serverless/shared/adminapi"
	"github.com/inmor/inmor-serverless/shared/adminui"
	"github.com/inmor/inmor-serverless/shared/app"
	"github.com/inmor/inmor-serverless/shared/audit"
	"github.com/inmor/inmor-serverless/shared/dynamo"
)

func init() {
	app.Register(function.AuditQuery, func(d app.Deps) (app.Handler, error) {
		h, err := New(d)
		return app.Handler{HTTP: h}, err
	}, nil)
}

// New is the function's HTTP handler.
func New(d app.Deps) (http.Handler, error) {
	c := d.Config
	cursors, err := audit.NewCursorCodec(c.CursorKey)
	if err != nil {
		return nil, err
	}
	log := &dynamo.AuditLog{Client: d.Client, Table: c.AuditTable}
	authn := c.Authenticator(d.Client)
	logins, second, err := c.Logins(d.Client)
	if err != nil {
		return nil, err
	}
	store := c.AuthStore(d.Client)
	pages := adminui.New(adminui.Config{
		Reader: log, Cursors: cursors, Sessions: authn,
		Logins:         logins,
		AllowedOrigins: c.AllowedOrigins, SecureCookies: c.SessionCookieSecure, Events: store,
		MFA: second, MFARequiredForStaff: c.MFARequiredForStaff,
	})
	return adminapi.NewAuditQueryHandler(log, log, authn, cursors, pages), nil
}
