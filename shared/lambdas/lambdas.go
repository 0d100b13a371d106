// Package lambdas builds the handler of each Lambda function from its
// configuration. The function binaries and the local stack both call it, so
// the local stack runs exactly what Lambda runs.
package lambdas

import (
	"log/slog"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/inmor/inmor-serverless/shared/api"
	"github.com/inmor/inmor-serverless/shared/auditstream"
	"github.com/inmor/inmor-serverless/shared/auth"
	"github.com/inmor/inmor-serverless/shared/dynamo"
	"github.com/inmor/inmor-serverless/shared/resource"
	"github.com/inmor/inmor-serverless/shared/tables"
)

// Config is what the functions read from their environment.
type Config struct {
	ResourcesTable string
	AuditTable     string
	AuthTable      string
}

// ConfigFromEnv reads the table names, with the local defaults.
func ConfigFromEnv(getenv func(string) string) Config {
	return Config{
		ResourcesTable: tables.Resources.Name(getenv),
		AuditTable:     tables.Audit.Name(getenv),
		AuthTable:      tables.Auth.Name(getenv),
	}
}

func (c Config) authenticator(client *dynamodb.Client) auth.Authenticator {
	return auth.Authenticator{Store: &dynamo.Auth{Client: client, Table: c.AuthTable}}
}

// TrustMarkTypes is the trustmarktypes function's HTTP handler.
func TrustMarkTypes(client *dynamodb.Client, c Config) http.Handler {
	store := &dynamo.Resources{Client: client, Table: c.ResourcesTable}
	return api.NewTrustMarkTypesHandler(resource.TrustMarkTypes{Store: store}, c.authenticator(client), store)
}

// AuditQuery is the auditquery function's HTTP handler.
func AuditQuery(client *dynamodb.Client, c Config) http.Handler {
	return api.NewAuditQueryHandler(&dynamo.AuditLog{Client: client, Table: c.AuditTable}, c.authenticator(client))
}

// Audit is the audit function's stream handler.
func Audit(client *dynamodb.Client, c Config, logger *slog.Logger) auditstream.Handler {
	return auditstream.Handler{Journal: &dynamo.Journal{Client: client, Table: c.AuditTable}, Logger: logger}
}
