// Package audit builds the audit function (the resources table's stream to
// the audit log) and registers it with app.
package audit

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/inmor/inmor-serverless/shared/app"
	"github.com/inmor/inmor-serverless/shared/archive"
	"github.com/inmor/inmor-serverless/shared/auditstream"
	"github.com/inmor/inmor-serverless/shared/dynamo"
	"github.com/inmor/inmor-serverless/shared/function"
	"github.com/inmor/inmor-serverless/shared/integrity"
	"github.com/inmor/inmor-serverless/shared/signing"
)

func init() {
	app.Register(function.Audit, func(d app.Deps) (app.Handler, error) { return app.Handler{Stream: New(d)}, nil }, nil)
	app.RegisterCheckpoints(function.Audit, CheckpointsFromEnv)
}

// CheckpointsFromEnv makes what signs and keeps the log's checkpoints: the
// AWS KMS Ed25519 key AUDIT_LOG_KMS_KEY_ID, else the key file
// AUDIT_LOG_KEY_FILE (the local stack's), and the S3 bucket
// AUDIT_CHECKPOINT_BUCKET for their copies; each nil when unset. Only the
// audit function's binary links these KMS and S3 clients.
func CheckpointsFromEnv(ctx context.Context, cfg aws.Config, getenv func(string) string) (app.Checkpoints, error) {
	var c app.Checkpoints
	if bucket := getenv(archive.EnvBucket); bucket != "" {
		// Path-style addressing when an endpoint is given (moto, locally).
		client := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = cfg.BaseEndpoint != nil })
		c.Archive = &archive.S3{Client: client, Bucket: bucket}
	}
	if keyID := getenv(signing.EnvLogKMSKeyID); keyID != "" {
		signer, err := signing.NewKMSNoteSigner(ctx, kms.NewFromConfig(cfg), keyID, integrity.DefaultOrigin)
		if err != nil {
			return c, err
		}
		c.Signer = signer
	} else if path := getenv(integrity.EnvKeyFile); path != "" {
		k, err := integrity.LoadKeyFile(path)
		if err != nil {
			return c, err
		}
		c.Signer = k.Signer
	}
	return c, nil
}

// New is the function's stream handler. It counts failed attempts and
// keeps dead-letter records in the audit table, as it keeps the log, and
// signs a checkpoint of the log after each batch (at most one a second);
// `inmorctl audit dlq replay` replays them with this same handler.
func New(d app.Deps) auditstream.Handler {
	return auditstream.Handler{
		Journal:        &dynamo.Journal{Client: d.Client, Table: d.Config.AuditTable, Signer: d.LogSigner, Archive: d.CheckpointArchive},
		DeadLetters:    &dynamo.DeadLetters{Client: d.Client, Table: d.Config.AuditTable},
		AttributionKey: d.Config.AttributionKey,
		StreamARN:      d.Config.StreamARN,
		AuthStreamARN:  d.Config.AuthStreamARN,
		Logger:         d.Logger,
		Metrics:        d.Metrics,
	}
}
