// Package audit builds the audit function (the resources table's stream to
// the audit log) and registers it with app.
package audit

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"golang.org/x/mod/sumdb/note"

	"github.com/inmor/inmor-serverless/shared/app"
	"github.com/inmor/inmor-serverless/shared/auditstream"
	"github.com/inmor/inmor-serverless/shared/dynamo"
	"github.com/inmor/inmor-serverless/shared/function"
	"github.com/inmor/inmor-serverless/shared/integrity"
	"github.com/inmor/inmor-serverless/shared/signing"
)

func init() {
	app.Register(function.Audit, func(d app.Deps) (app.Handler, error) { return app.Handler{Stream: New(d)}, nil }, nil)
	app.RegisterLogSigner(function.Audit, LogSignerFromEnv)
}

// LogSignerFromEnv makes the signer of the log's checkpoints: the AWS KMS
// Ed25519 key AUDIT_LOG_KMS_KEY_ID, else the key file AUDIT_LOG_KEY_FILE
// (the local stack's); nil when neither is set. Only the audit function's
// binary links this KMS client.
func LogSignerFromEnv(ctx context.Context, cfg aws.Config, getenv func(string) string) (note.Signer, error) {
	if keyID := getenv(signing.EnvLogKMSKeyID); keyID != "" {
		return signing.NewKMSNoteSigner(ctx, kms.NewFromConfig(cfg), keyID, integrity.DefaultOrigin)
	}
	if path := getenv(integrity.EnvKeyFile); path != "" {
		k, err := integrity.LoadKeyFile(path)
		return k.Signer, err
	}
	return nil, nil
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
