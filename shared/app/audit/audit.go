// Package audit builds the audit function (the resources table's stream to
// the audit log) and registers it with app.
package audit

import (
	"github.com/inmor/inmor-serverless/shared/app"
	"github.com/inmor/inmor-serverless/shared/auditstream"
	"github.com/inmor/inmor-serverless/shared/dynamo"
	"github.com/inmor/inmor-serverless/shared/function"
)

func init() {
	app.Register(function.Audit, func(d app.Deps) (app.Handler, error) { return app.Handler{Stream: New(d)}, nil }, nil)
}

// New is the function's stream handler. It counts failed attempts and
// keeps dead-letter records in the audit table, as it keeps the log, and
// signs a checkpoint of the log after each batch (at most one a second);
// `inmorctl audit dlq replay` replays them with this same handler.
func New(d app.Deps) auditstream.Handler {
	return auditstream.Handler{
		Journal:        &dynamo.Journal{Client: d.Client, Table: d.Config.AuditTable, Signer: d.LogSigner},
		AttributionKey: d.Config.AttributionKey,
		StreamARN:      d.Config.StreamARN,
		DeadLetters:    &dynamo.DeadLetters{Client: d.Client, Table: d.Config.AuditTable},
		Logger:         d.Logger,
		Metrics:        d.Metrics,
	}
}
