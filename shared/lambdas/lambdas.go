// Package lambdas builds the handler of each Lambda function from its
// configuration. The function binaries and the local stack both call it, so
// the local stack runs exactly what Lambda runs.
package lambdas

import (
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/inmor/inmor-serverless/shared/adminui"
	"github.com/inmor/inmor-serverless/shared/api"
	"github.com/inmor/inmor-serverless/shared/audit"
	"github.com/inmor/inmor-serverless/shared/auditstream"
	"github.com/inmor/inmor-serverless/shared/auth"
	"github.com/inmor/inmor-serverless/shared/dynamo"
	"github.com/inmor/inmor-serverless/shared/resource"
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
	// AllowedOrigins (ALLOWED_ORIGINS, comma-separated) may send unsafe
	// session requests besides the API's own origin.
	AllowedOrigins []string
	// SessionCookieSecure (SESSION_COOKIE_SECURE, default true) marks
	// session cookies Secure; the local stack turns it off (plain HTTP).
	SessionCookieSecure bool
	// CursorKey (AUDIT_CURSOR_KEY) signs the audit log's cursors; every
	// instance must share it. Empty: a random key per process.
	CursorKey []byte
}

// KeyCacheTTL is how long a function instance reuses a key lookup; a revoked
// key stops working within it.
const KeyCacheTTL = 30 * time.Second

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
	for _, o := range strings.Split(getenv("ALLOWED_ORIGINS"), ",") {
		if o = strings.TrimSpace(o); o != "" {
			c.AllowedOrigins = append(c.AllowedOrigins, o)
		}
	}
	c.SessionCookieSecure = getenv("SESSION_COOKIE_SECURE") != "false"
	c.CursorKey = []byte(getenv("AUDIT_CURSOR_KEY"))
	return c
}

func (c Config) authStore(client *dynamodb.Client) *dynamo.Auth {
	return &dynamo.Auth{Client: client, Table: c.AuthTable}
}

// authenticator is built once per function instance, so its key cache
// serves the instance's requests.
func (c Config) authenticator(client *dynamodb.Client) *auth.Authenticator {
	store := c.authStore(client)
	return &auth.Authenticator{
		Store: store, Sessions: store, Touch: store, Cache: auth.NewKeyCache(KeyCacheTTL), AllowedOrigins: c.AllowedOrigins,
	}
}

// Auth is the auth function's HTTP handler.
func Auth(client *dynamodb.Client, c Config) http.Handler {
	store := c.authStore(client)
	logins := auth.Logins{Users: store, Sessions: store, Throttle: store}
	return api.NewAuthHandler(logins, store, c.authenticator(client), api.SessionConfig{Secure: c.SessionCookieSecure})
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
func TrustMarks(client *dynamodb.Client, c Config, signer resource.Signer) http.Handler {
	store := c.resources(client)
	svc := resource.TrustMarks{Store: store, Types: store, Signer: signer, Issuer: c.TrustMarkIssuer}
	return api.NewTrustMarksHandler(svc, c.authenticator(client), store)
}

// Subordinates is the subordinates function's HTTP handler.
func Subordinates(client *dynamodb.Client, c Config, signer resource.Signer) http.Handler {
	store := c.resources(client)
	svc := resource.Subordinates{Store: store, Signer: signer, EntityID: c.EntityID}
	return api.NewSubordinatesHandler(svc, c.authenticator(client), store)
}

// AuditQuery is the auditquery function's HTTP handler: the audit log API
// and the admin view, whose login opens the same sessions as the API's.
func AuditQuery(client *dynamodb.Client, c Config) (http.Handler, error) {
	cursors, err := audit.NewCursorCodec(c.CursorKey)
	if err != nil {
		return nil, err
	}
	log := &dynamo.AuditLog{Client: client, Table: c.AuditTable}
	authn := c.authenticator(client)
	store := c.authStore(client)
	pages := adminui.New(adminui.Config{
		Reader: log, Cursors: cursors, Sessions: authn,
		Logins:         auth.Logins{Users: store, Sessions: store, Throttle: store},
		AllowedOrigins: c.AllowedOrigins, SecureCookies: c.SessionCookieSecure,
	})
	return api.NewAuditQueryHandler(log, authn, cursors, pages), nil
}

// Audit is the audit function's stream handler. It counts failed attempts
// and keeps dead-letter records in the audit table, as it keeps the log;
// `inmorctl audit dlq replay` replays them with this same handler.
func Audit(client *dynamodb.Client, c Config, logger *slog.Logger) auditstream.Handler {
	return auditstream.Handler{
		Journal:     &dynamo.Journal{Client: client, Table: c.AuditTable},
		DeadLetters: &dynamo.DeadLetters{Client: client, Table: c.AuditTable},
		Logger:      logger,
	}
}
