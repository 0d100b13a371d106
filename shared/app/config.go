package app

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/inmor/inmor-serverless/shared/audit"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/inmor/inmor-serverless/shared/auth"
	"github.com/inmor/inmor-serverless/shared/dynamo"
	"github.com/inmor/inmor-serverless/shared/mfa"
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
	// MFAKey seals the TOTP secrets (MFA_KEY, or the file MFA_KEY_FILE;
	// the functions that serve second factors need it), read by
	// MFAKey.FromEnv.
	MFAKey []byte
	// AttributionKey signs the attribution of every write (API functions)
	// and proves it (audit function): see audit.AttributionMAC. It is
	// read by AttributionKey.FromEnv.
	AttributionKey []byte
	// StreamARN (RESOURCES_STREAM_ARN) is the resources table's stream: the
	// audit function handles no record of another.
	StreamARN string
	// Server holds the settings of the entity configuration, as given;
	// ServerConfig reads them.
	Server ServerSettings
	// EventsTTLHours (SUBORDINATE_EVENTS_TTL_HOURS, default 24) is how long
	// a Subordinate Events statement is valid; EventsInformationURI
	// (SUBORDINATE_EVENTS_INFORMATION_URI) the template of each event's
	// information_uri ({sub}, {entry}). EventsTTL reads the first.
	EventsTTLHours       string
	EventsInformationURI string
	// EntityConfigurationCheck (ENTITY_CONFIGURATION_CHECK) turns the
	// check of subordinates' entity configurations on (the default) or off;
	// CheckEntityConfigurations reads it.
	EntityConfigurationCheck string
	// AuthStreamARN (AUTH_STREAM_ARN) is the auth table's stream, whose
	// records the audit function handles too.
	AuthStreamARN string
	// MFARequiredForStaff (MFA_REQUIRED_FOR_STAFF=true; default false)
	// refuses staff sessions opened without a second factor.
	MFARequiredForStaff bool
	// WebAuthnRPID (WEBAUTHN_RP_ID) is the WebAuthn relying party id; by
	// default the host the request came to (see mfa.RPOf).
	WebAuthnRPID string
}

// EnvEntityConfigurationCheck names the switch of the entity configuration
// check: on (the default; unset in AWS) or off (the local stack's default,
// whose made-up entity ids do not resolve).
const EnvEntityConfigurationCheck = "ENTITY_CONFIGURATION_CHECK"

// CheckEntityConfigurations reports whether the subordinates function
// fetches and verifies entity configurations; an error names the variable
// when it is neither on nor off.
func (c Config) CheckEntityConfigurations() (bool, error) {
	switch strings.ToLower(strings.TrimSpace(c.EntityConfigurationCheck)) {
	case "", "on":
		return true, nil
	case "off":
		return false, nil
	}
	return false, fmt.Errorf("%s: want on or off, got %q", EnvEntityConfigurationCheck, c.EntityConfigurationCheck)
}

// maxEventsTTLHours bounds SUBORDINATE_EVENTS_TTL_HOURS at a week.
const maxEventsTTLHours = 168

// EventsTTL is the lifetime of a Subordinate Events statement; an error
// names the variable when it is malformed.
func (c Config) EventsTTL() (time.Duration, error) {
	s := strings.TrimSpace(c.EventsTTLHours)
	if s == "" {
		return 24 * time.Hour, nil
	}
	hours, err := strconv.Atoi(s)
	if err != nil || hours < 1 || hours > maxEventsTTLHours {
		return 0, fmt.Errorf("SUBORDINATE_EVENTS_TTL_HOURS: want whole hours from 1 to %d, got %q", maxEventsTTLHours, s)
	}
	return time.Duration(hours) * time.Hour, nil
}

// ServerSettings are the optional settings of the trust anchor's entity
// configuration, as the environment gives them.
type ServerSettings struct {
	// AuthorityHints (TA_AUTHORITY_HINTS, comma-separated entity ids) make
	// the trust anchor an intermediate.
	AuthorityHints string
	// TrustMarks (TA_TRUST_MARKS, a JSON array) are trust marks issued to
	// the trust anchor itself.
	TrustMarks string
	// TrustMarkIssuers (TA_TRUST_MARK_ISSUERS, a JSON object of trust mark
	// type to a list of issuer entity ids) are the external issuers trusted.
	TrustMarkIssuers string
	// ExpiryHours (TA_SERVER_EXPIRY_HOURS, default 8760) is how long the
	// entity configuration is valid.
	ExpiryHours string
}

// maxServerExpiryHours bounds TA_SERVER_EXPIRY_HOURS at ten years.
const maxServerExpiryHours = 87600

// ServerConfig reads the entity configuration's settings; an error names
// the variable that is malformed.
func (c Config) ServerConfig() (resource.ServerConfig, error) {
	sc := resource.ServerConfig{EntityID: c.EntityID, TrustMarkIssuer: c.TrustMarkIssuer, Expiry: resource.DefaultServerExpiry}
	for _, hint := range strings.Split(c.Server.AuthorityHints, ",") {
		if hint = strings.TrimSpace(hint); hint != "" {
			if err := resource.CheckEntityID("TA_AUTHORITY_HINTS", hint); err != nil {
				return sc, fmt.Errorf("TA_AUTHORITY_HINTS: %q is not an entity id", hint)
			}
			sc.AuthorityHints = append(sc.AuthorityHints, hint)
		}
	}
	if s := strings.TrimSpace(c.Server.TrustMarks); s != "" {
		d := json.NewDecoder(strings.NewReader(s))
		d.UseNumber()
		if err := d.Decode(&sc.TrustMarks); err != nil {
			return sc, fmt.Errorf("TA_TRUST_MARKS: want a JSON array of trust marks: %w", err)
		}
	}
	if s := strings.TrimSpace(c.Server.TrustMarkIssuers); s != "" {
		if err := json.Unmarshal([]byte(s), &sc.TrustMarkIssuers); err != nil {
			return sc, fmt.Errorf("TA_TRUST_MARK_ISSUERS: want a JSON object of trust mark type to issuer entity ids: %w", err)
		}
	}
	if s := strings.TrimSpace(c.Server.ExpiryHours); s != "" {
		hours, err := strconv.Atoi(s)
		if err != nil || hours < 1 || hours > maxServerExpiryHours {
			return sc, fmt.Errorf("TA_SERVER_EXPIRY_HOURS: want whole hours from 1 to %d, got %q", maxServerExpiryHours, s)
		}
		sc.Expiry = time.Duration(hours) * time.Hour
	}
	return sc, nil
}

// Names of the attribution key's variables: ATTRIBUTION_KEY holds the key
// itself (at least 32 bytes; in AWS a generated Secrets Manager secret),
// ATTRIBUTION_KEY_FILE names a file of it (the local stack's).
const (
	EnvAttributionKey     = "ATTRIBUTION_KEY"
	EnvAttributionKeyFile = "ATTRIBUTION_KEY_FILE"
)

// Names of the MFA key's variables, as the attribution key's: the key
// that seals TOTP secrets (mfa.SecretBox), given only to the functions
// that serve second factors (auth and auditquery).
const (
	EnvMFAKey     = "MFA_KEY"
	EnvMFAKeyFile = "MFA_KEY_FILE"
)

// SecretKey is a key the functions read from their environment: the value
// itself (Env), else a file of Size random bytes in base64 (FileEnv).
type SecretKey struct {
	Name    string
	Env     string
	FileEnv string
	Size    int
}

// Keys of the functions.
var (
	AttributionKey = SecretKey{Name: "attribution key", Env: EnvAttributionKey, FileEnv: EnvAttributionKeyFile, Size: audit.AttributionKeySize}
	MFAKey         = SecretKey{Name: "MFA key", Env: EnvMFAKey, FileEnv: EnvMFAKeyFile, Size: mfa.MinKeySize}
)

// Load reads the key from a file (LoadOrGenerate writes one).
func (k SecretKey) Load(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) != k.Size {
		return nil, fmt.Errorf("%s file %s: want %d bytes in base64", k.Name, path, k.Size)
	}
	return key, nil
}

// FromEnv reads the key: the variable Env, else the file FileEnv names;
// nil when neither is set.
func (k SecretKey) FromEnv(getenv func(string) string) ([]byte, error) {
	if key := getenv(k.Env); key != "" {
		if len(key) < k.Size {
			return nil, fmt.Errorf("%s: want at least %d bytes", k.Env, k.Size)
		}
		return []byte(key), nil
	}
	path := getenv(k.FileEnv)
	if path == "" {
		return nil, nil
	}
	return k.Load(path)
}

// LoadOrGenerate reads the key file, first writing a new random key there
// (mode 0600) when there is none.
func (k SecretKey) LoadOrGenerate(path string) (key []byte, generated bool, err error) {
	key, err = k.Load(path)
	if !errors.Is(err, os.ErrNotExist) {
		return key, false, err
	}
	key = make([]byte, k.Size)
	if _, err := rand.Read(key); err != nil {
		return nil, false, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, false, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, false, err
	}
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n"); err != nil {
		f.Close()
		return nil, false, err
	}
	return key, true, f.Close()
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
	c.StreamARN = getenv("RESOURCES_STREAM_ARN")
	c.EventsTTLHours, c.EventsInformationURI = getenv("SUBORDINATE_EVENTS_TTL_HOURS"), getenv("SUBORDINATE_EVENTS_INFORMATION_URI")
	c.EntityConfigurationCheck = getenv(EnvEntityConfigurationCheck)
	c.MFARequiredForStaff = strings.EqualFold(strings.TrimSpace(getenv(EnvMFARequiredForStaff)), "true")
	c.WebAuthnRPID = strings.TrimSpace(getenv(mfa.EnvWebAuthnRPID))
	c.Server = ServerSettings{
		AuthorityHints: getenv("TA_AUTHORITY_HINTS"), TrustMarks: getenv("TA_TRUST_MARKS"),
		TrustMarkIssuers: getenv("TA_TRUST_MARK_ISSUERS"), ExpiryHours: getenv("TA_SERVER_EXPIRY_HOURS"),
	}
	c.AuthStreamARN = getenv("AUTH_STREAM_ARN")
	return c
}

// AuthStore is the auth table; it signs the session events it records.
func (c Config) AuthStore(client *dynamodb.Client) *dynamo.Auth {
	return &dynamo.Auth{Client: client, Table: c.AuthTable, AttributionKey: c.AttributionKey}
}

// Authenticator authenticates API keys and sessions. Build it once per
// function instance, so its key cache serves the instance's requests.
func (c Config) Authenticator(client *dynamodb.Client) *auth.Authenticator {
	store := c.AuthStore(client)
	return &auth.Authenticator{
		Store: store, Sessions: store, Touch: store, Cache: auth.NewKeyCache(KeyCacheTTL), AllowedOrigins: c.AllowedOrigins,
		RequireSecondFactorForStaff: c.MFARequiredForStaff,
	}
}

// Resources is the resources table.
func (c Config) Resources(client *dynamodb.Client) *dynamo.Resources {
	return &dynamo.Resources{Client: client, Table: c.ResourcesTable, AttributionKey: c.AttributionKey}
}
