package resource

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/inmor/inmor-serverless/shared/apperr"
	"github.com/inmor/inmor-serverless/shared/jwk"
)

// The trust anchor's own statements are singletons: one item each, id 1.
const (
	// ServerEntityID is the id of the ServerEntity item.
	ServerEntityID = 1
	// HistoricalKeysID is the id of the HistoricalKeys item.
	HistoricalKeysID = 1
)

// JWT types of the trust anchor's own statements.
const (
	// HistoricalKeysJWTType is the typ header of the historical keys JWT.
	HistoricalKeysJWTType = "jwk-set+jwt"
	// DefaultServerExpiry is how long the entity configuration is valid
	// (Inmor's SERVER_EXPIRY, 8760 hours).
	DefaultServerExpiry = 8760 * time.Hour
)

// FederationEndpoints are the federation_entity metadata of the trust
// anchor's entity configuration, by metadata name, as paths under its
// entity id (Inmor's FEDERATION_ENTITY).
var FederationEndpoints = []struct{ Name, Path string }{
	{"federation_fetch_endpoint", "/fetch"},
	{"federation_list_endpoint", "/list"},
	{"federation_resolve_endpoint", "/resolve"},
	{"federation_trust_mark_status_endpoint", "/trust_mark_status"},
	{"federation_trust_mark_list_endpoint", "/trust_mark_list"},
	{"federation_trust_mark_endpoint", "/trust_mark"},
	{"federation_historical_keys_endpoint", "/historical_keys"},
	{"federation_collection_endpoint", "/collection"},
	// OpenID Federation Subordinate Events, served by this system.
	{"federation_subordinate_events_endpoint", "/federation_subordinate_events_endpoint"},
}

// ServerEntity is the trust anchor's entity configuration as last signed.
type ServerEntity struct {
	// EntityID is the trust anchor's entity id (iss and sub).
	EntityID string
	// Statement is the signed entity-statement+jwt.
	Statement string
	// Claims are the statement's claims, stored so that the audit log's
	// snapshots and diff show what was signed.
	Claims  map[string]any
	Added   time.Time
	Version int64
}

// HistoricalKeys are the trust anchor's retired public keys and the
// jwk-set+jwt that publishes them.
type HistoricalKeys struct {
	// EntityID is the trust anchor's entity id (the JWT's iss).
	EntityID string
	// Keys are the retired public JWKs, each with exp (epoch seconds) and
	// optionally revoked {revoked_at, reason}.
	Keys []map[string]any
	// Statement is the last signed jwk-set+jwt, nil before the first.
	Statement *string
	// Claims are its claims, nil before the first.
	Claims  map[string]any
	Added   time.Time
	Version int64
}

// ServerStore persists the trust anchor's own statements. Each getter
// returns a NotFound error before the first write; each put creates the
// item when its Version is 0 and otherwise replaces it if the stored
// version is still Version (a Stale error if not).
type ServerStore interface {
	ServerEntity(ctx context.Context) (ServerEntity, error)
	PutServerEntity(ctx context.Context, e ServerEntity, a Attribution) (ServerEntity, error)
	HistoricalKeys(ctx context.Context) (HistoricalKeys, error)
	PutHistoricalKeys(ctx context.Context, h HistoricalKeys, a Attribution) (HistoricalKeys, error)
	// ActiveTrustMarkTypes returns the tmtype of every active TrustMarkType.
	ActiveTrustMarkTypes(ctx context.Context) ([]string, error)
}

// PublishingSigner signs with the trust anchor's key and gives its public
// key, which the entity configuration publishes.
type PublishingSigner interface {
	Signer
	PublicJWK(ctx context.Context) (map[string]any, error)
}

// ServerConfig is what the entity configuration says besides what the
// tables hold.
type ServerConfig struct {
	// EntityID is the trust anchor's entity id.
	EntityID string
	// TrustMarkIssuer is the iss of the trust marks it issues: listed as
	// an issuer of every active TrustMarkType.
	TrustMarkIssuer string
	// AuthorityHints are set when the trust anchor is an intermediate.
	AuthorityHints []string
	// TrustMarks are trust marks issued to the trust anchor itself.
	TrustMarks []any
	// TrustMarkIssuers are the external issuers trusted per trust mark
	// type; an explicit empty list means anyone may issue that type (the
	// trust anchor's own issuer is then not added).
	TrustMarkIssuers map[string][]string
	// Expiry is the statement's lifetime; DefaultServerExpiry when zero.
	Expiry time.Duration
}

// Messages of the server statements (Inmor's).
const (
	msgNoHistoricalKeys  = "No historical keys found with exp field"
	msgServerNotFound    = "The server's statement was removed while being changed; retry."
	msgServerConcurrent  = "The server's statement is being changed concurrently; retry."
	msgHistoricalCreated = "Historical keys JWT created with %d keys"
)

// Server signs and stores the trust anchor's own statements.
type Server struct {
	Store  ServerStore
	Signer PublishingSigner
	Config ServerConfig
	// Now returns the current time; time.Now when nil.
	Now func() time.Time
}

func (s Server) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// EntityConfigurationClaims returns the claims of a new entity
// configuration issued at iat.
func (s Server) EntityConfigurationClaims(ctx context.Context, iat time.Time) (map[string]any, error) {
	c := s.Config
	endpoints := make(map[string]any, len(FederationEndpoints))
	for _, e := range FederationEndpoints {
		endpoints[e.Name] = c.EntityID + e.Path
	}
	claims := map[string]any{
		"iss": c.EntityID, "sub": c.EntityID,
		"metadata": map[string]any{"federation_entity": endpoints},
	}
	if len(c.AuthorityHints) > 0 {
		claims["authority_hints"] = toAnyList(c.AuthorityHints)
	}
	if len(c.TrustMarks) > 0 {
		claims["trust_marks"] = c.TrustMarks
	}
	issuers, err := s.trustMarkIssuers(ctx)
	if err != nil {
		return nil, err
	}
	if len(issuers) > 0 {
		claims["trust_mark_issuers"] = issuers
	}
	expiry := c.Expiry
	if expiry <= 0 {
		expiry = DefaultServerExpiry
	}
	claims["iat"], claims["exp"] = iat.Unix(), iat.Add(expiry).Unix()
	key, err := s.Signer.PublicJWK(ctx)
	if err != nil {
		return nil, fmt.Errorf("the trust anchor's public key: %w", err)
	}
	claims["jwks"] = map[string]any{"keys": []any{key}}
	return claims, nil
}

// trustMarkIssuers returns the configured issuers with the trust anchor's
// own issuer added to every active TrustMarkType not explicitly open.
func (s Server) trustMarkIssuers(ctx context.Context) (map[string]any, error) {
	issuers := make(map[string][]string, len(s.Config.TrustMarkIssuers))
	for tmtype, list := range s.Config.TrustMarkIssuers {
		issuers[tmtype] = slices.Clone(list)
	}
	active, err := s.Store.ActiveTrustMarkTypes(ctx)
	if err != nil {
		return nil, err
	}
	for _, tmtype := range active {
		list, configured := s.Config.TrustMarkIssuers[tmtype]
		if configured && len(list) == 0 {
			continue // deliberately open to any issuer
		}
		if !slices.Contains(issuers[tmtype], s.Config.TrustMarkIssuer) {
			issuers[tmtype] = append(issuers[tmtype], s.Config.TrustMarkIssuer)
		}
	}
	out := make(map[string]any, len(issuers))
	for tmtype, list := range issuers {
		out[tmtype] = toAnyList(list)
	}
	return out, nil
}

func toAnyList(list []string) []any {
	out := make([]any, len(list))
	for i, s := range list {
		out[i] = s
	}
	return out
}

// SignEntityConfiguration signs a new entity configuration and stores it
// as the latest.
func (s Server) SignEntityConfiguration(ctx context.Context, a Attribution) (ServerEntity, error) {
	return retryStale(ServerEntityID, msgServerNotFound, msgServerConcurrent, func() (ServerEntity, error) {
		current, err := s.Store.ServerEntity(ctx)
		if err != nil && !apperr.Is(apperr.NotFound, err) {
			return ServerEntity{}, err
		}
		now := s.now()
		claims, err := s.EntityConfigurationClaims(ctx, now)
		if err != nil {
			return ServerEntity{}, err
		}
		jwt, err := s.Signer.Sign(ctx, EntityStatementJWTType, claims)
		if err != nil {
			return ServerEntity{}, fmt.Errorf("sign the entity configuration: %w", err)
		}
		next := ServerEntity{EntityID: s.Config.EntityID, Statement: jwt, Claims: claims, Added: current.Added, Version: current.Version}
		a.Operation, a.ResponseCode, a.CommittedAt = OpCreate, 201, now
		if current.Version == 0 {
			next.Added = now
		} else {
			a.Operation = OpUpdate
		}
		return s.Store.PutServerEntity(ctx, next, a)
	})
}

// SignHistoricalKeys signs the retired keys that have an exp into a
// jwk-set+jwt and stores it; a NotFound error when there are none.
func (s Server) SignHistoricalKeys(ctx context.Context, a Attribution) (HistoricalKeys, int, error) {
	var n int
	h, err := retryStale(HistoricalKeysID, msgServerNotFound, msgServerConcurrent, func() (HistoricalKeys, error) {
		h, err := s.Store.HistoricalKeys(ctx)
		if err != nil && !apperr.Is(apperr.NotFound, err) {
			return HistoricalKeys{}, err
		}
		keys := []any{}
		for _, k := range h.Keys {
			if _, ok := k["exp"]; ok {
				keys = append(keys, k)
			}
		}
		if len(keys) == 0 {
			return HistoricalKeys{}, apperr.New(apperr.NotFound, 0, msgNoHistoricalKeys)
		}
		n = len(keys)
		now := s.now()
		claims := map[string]any{"iss": s.Config.EntityID, "iat": now.Unix(), "keys": keys}
		jwt, err := s.Signer.Sign(ctx, HistoricalKeysJWTType, claims)
		if err != nil {
			return HistoricalKeys{}, fmt.Errorf("sign the historical keys: %w", err)
		}
		h.EntityID, h.Statement, h.Claims = s.Config.EntityID, &jwt, claims
		a.Operation, a.ResponseCode, a.CommittedAt = OpUpdate, 201, now
		return s.Store.PutHistoricalKeys(ctx, h, a)
	})
	return h, n, err
}

// keyThumbprint is the RFC 7638 thumbprint of a public JWK.
func keyThumbprint(key map[string]any) (string, error) {
	pub, err := jwk.ParsePublic(key)
	if err != nil {
		return "", err
	}
	return jwk.Thumbprint(pub)
}

// HistoricalKeysMessage is the answer to a signed historical keys JWT.
func HistoricalKeysMessage(n int) string { return fmt.Sprintf(msgHistoricalCreated, n) }

// Revocation says that a retired key was compromised or otherwise revoked.
type Revocation struct {
	// Reason is one of RevocationReasons, or "" for none.
	Reason string
	At     time.Time
}

// RevocationReasons are the reasons a key's revocation may give (Inmor's).
var RevocationReasons = []string{"unspecified", "compromised", "superseded"}

// RetireKey adds a public key to the retired keys (or replaces the entry
// of a key with the same thumbprint), valid until exp; revoked when rev
// is set. The key must be a public JWK.
func (s Server) RetireKey(ctx context.Context, key map[string]any, exp time.Time, rev *Revocation, a Attribution) (HistoricalKeys, error) {
	if rev != nil && rev.Reason != "" && !slices.Contains(RevocationReasons, rev.Reason) {
		return HistoricalKeys{}, apperr.InvalidField("revoked_reason", fmt.Sprintf("%q is not one of %s", rev.Reason, strings.Join(RevocationReasons, ", ")))
	}
	entry := make(map[string]any, len(key)+3)
	for k, v := range key {
		if k != "exp" && k != "revoked" {
			entry[k] = v
		}
	}
	thumbprint, err := keyThumbprint(entry)
	if err != nil {
		return HistoricalKeys{}, apperr.InvalidField("jwk", err.Error())
	}
	if _, ok := entry["kid"]; !ok {
		entry["kid"] = thumbprint
	}
	entry["exp"] = exp.Unix()
	if rev != nil {
		revoked := map[string]any{"revoked_at": rev.At.Unix()}
		if rev.Reason != "" {
			revoked["reason"] = rev.Reason
		}
		entry["revoked"] = revoked
	}
	return retryStale(HistoricalKeysID, msgServerNotFound, msgServerConcurrent, func() (HistoricalKeys, error) {
		h, err := s.Store.HistoricalKeys(ctx)
		if err != nil && !apperr.Is(apperr.NotFound, err) {
			return HistoricalKeys{}, err
		}
		now := s.now()
		a.Operation, a.ResponseCode, a.CommittedAt = OpUpdate, 0, now
		if h.Version == 0 {
			h.Added, h.EntityID, a.Operation = now, s.Config.EntityID, OpCreate
		}
		keys := make([]map[string]any, 0, len(h.Keys)+1)
		for _, k := range h.Keys {
			if t, err := keyThumbprint(k); err != nil || t != thumbprint {
				keys = append(keys, k)
			}
		}
		h.Keys = append(keys, entry)
		return s.Store.PutHistoricalKeys(ctx, h, a)
	})
}
