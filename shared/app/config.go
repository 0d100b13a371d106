package app

import (
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/inmor/inmor-serverless/shared/auth"
	"github.com/inmor/inmor-serverless/shared/dynamo"
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

// AuthStore is the auth table.
func (c Config) AuthStore(client *dynamodb.Client) *dynamo.Auth {
	return &dynamo.Auth{Client: client, Table: c.AuthTable}
}

// Authenticator authenticates API keys and sessions. Build it once per
// function instance, so its key cache serves the instance's requests.
func (c Config) Authenticator(client *dynamodb.Client) *auth.Authenticator {
	store := c.AuthStore(client)
	return &auth.Authenticator{
		Store: store, Sessions: store, Touch: store, Cache: auth.NewKeyCache(KeyCacheTTL), AllowedOrigins: c.AllowedOrigins,
	}
}

// Resources is the resources table.
func (c Config) Resources(client *dynamodb.Client) *dynamo.Resources {
	return &dynamo.Resources{Client: client, Table: c.ResourcesTable}
}
