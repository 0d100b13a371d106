// Package lambdas builds the handler of each Lambda function from its
// configuration. The function binaries and the local stack both call it, so
// the local stack runs exactly what Lambda runs.
package lambdas

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/inmor/inmor-serverless/shared/api"
	"github.com/inmor/inmor-serverless/shared/auditstream"
	"github.com/inmor/inmor-serverless/shared/auth"
	"github.com/inmor/inmor-serverless/shared/dynamo"
	"github.com/inmor/inmor-serverless/shared/resource"
	"github.com/inmor/inmor-serverless/shared/signing"
	"github.com/inmor/inmor-serverless/shared/tables"
)

// DefaultEntityID is the trust anchor's entity id when TA_ENTITY_ID is unset.
const DefaultEntityID = "https://localhost:8080"

// Config is what the functions read from their environment.
type Config struct {
	ResourcesTable string
	AuditTable     string
	AuthTable      string
	// EntityID (TA_ENTITY_ID) issues subordinate statements.
	EntityID string
	// TrustMarkIssuer (TRUSTMARK_ISSUER, default EntityID) issues trust marks.
	TrustMarkIssuer string
}

// ConfigFromEnv reads the configuration, with the local defaults.
func ConfigFromEnv(getenv func(string) string) Config {
	c := Config{
		ResourcesTable:  tables.Resources.Name(getenv),
		AuditTable:      tables.Audit.Name(getenv),
		AuthTable:       tables.Auth.Name(getenv),
		EntityID:        getenv("TA_ENTITY_ID"),
		TrustMarkIssuer: getenv("TRUSTMARK_ISSUER"),
	}
	if c.EntityID == "" {
		c.EntityID = DefaultEntityID
	}
	if c.TrustMarkIssuer == "" {
		c.TrustMarkIssuer = c.EntityID
	}
	return c
}

// Signer is the signer the environment configures: AWS KMS when
// SIGNING_KMS_KEY_ID is set, else the private JWK in SIGNING_KEY_FILE.
func Signer(ctx context.Context, getenv func(string) string, cfg aws.Config) (signing.Signer, error) {
	return signing.NewFromEnv(ctx, getenv, func() (signing.KMSAPI, error) { return kms.NewFromConfig(cfg), nil })
}

func (c Config) authenticator(client *dynamodb.Client) auth.Authenticator {
	return auth.Authenticator{Store: &dynamo.Auth{Client: client, Table: c.AuthTable}}
}

func (c Config) resources(client *dynamodb.Client) *dynamo.Resources {
	return &dynamo.Resources{Client: client, Table: c.ResourcesTable}
}

// TrustMarkTypes is the trustmarktypes function's HTTP handler.
func TrustMarkTypes(client *dynamodb.Client, c Config) http.Handler {
	store := c.resources(client)
	return api.NewTrustMarkTypesHandler(resource.TrustMarkTypes{Store: store}, c.authenticator(client), store)
}

// TrustMarks is the trustmarks function's HTTP handler.
func TrustMarks(client *dynamodb.Client, c Config, signer signing.Signer) http.Handler {
	store := c.resources(client)
	svc := resource.TrustMarks{Store: store, Types: store, Signer: signer, Issuer: c.TrustMarkIssuer}
	return api.NewTrustMarksHandler(svc, c.authenticator(client), store)
}

// Subordinates is the subordinates function's HTTP handler.
func Subordinates(client *dynamodb.Client, c Config, signer signing.Signer) http.Handler {
	store := c.resources(client)
	svc := resource.Subordinates{Store: store, Signer: signer, EntityID: c.EntityID}
	return api.NewSubordinatesHandler(svc, c.authenticator(client), store)
}

// AuditQuery is the auditquery function's HTTP handler.
func AuditQuery(client *dynamodb.Client, c Config) http.Handler {
	return api.NewAuditQueryHandler(&dynamo.AuditLog{Client: client, Table: c.AuditTable}, c.authenticator(client))
}

// Audit is the audit function's stream handler.
func Audit(client *dynamodb.Client, c Config, logger *slog.Logger) auditstream.Handler {
	return auditstream.Handler{Journal: &dynamo.Journal{Client: client, Table: c.AuditTable}, Logger: logger}
}
