package resource

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/inmor/inmor-serverless/shared/apperr"
	"github.com/inmor/inmor-serverless/shared/jwk"
)

// Subordinate is an entity registered under the trust anchor, with the
// subordinate statement the trust anchor signs about it.
type Subordinate struct {
	ID                 int64          `json:"id"`
	EntityID           string         `json:"entityid"`
	Metadata           map[string]any `json:"metadata"`
	ForcedMetadata     map[string]any `json:"forced_metadata"`
	JWKS               map[string]any `json:"jwks"`
	RequiredTrustmarks *string        `json:"required_trustmarks"`
	ValidFor           int64          `json:"valid_for"`
	// ExpireAt is the statement's exp; nil while inactive.
	ExpireAt  *Expiry `json:"expire_at"`
	Autorenew bool    `json:"autorenew"`
	Active    bool    `json:"active"`
	// Suspended tells a suspension (a temporary deactivation) from a
	// revocation; only an inactive subordinate is suspended. Shown (and
	// stored) only when true, so existing subordinates read as before.
	Suspended        bool           `json:"suspended,omitempty"`
	AdditionalClaims map[string]any `json:"additional_claims"`
	// Statement is the signed subordinate statement: stored, not shown.
	Statement *string   `json:"-"`
	Added     time.Time `json:"-"`
	Version   int64     `json:"-"`
}

// Subordinate bounds and defaults.
const (
	// MaxSubordinateValidFor is the system default maximum of valid_for (hours).
	MaxSubordinateValidFor = 8760
	// EntityStatementJWTType is the typ header of subordinate statements.
	EntityStatementJWTType = "entity-statement+jwt"
)

// subordinateReserved are the claims additional claims may not set.
var subordinateReserved = []string{"iss", "sub", "iat", "exp", "metadata", "jwks"}

// NewSubordinate is a create request: the entity id and the first values
// (optional fields not given take their defaults).
type NewSubordinate struct {
	EntityID string
	SubordinateChanges
}

// SubordinateChanges is an update request: metadata, forced_metadata and
// jwks replace the current ones; nil optional fields keep their values.
type SubordinateChanges struct {
	Metadata            map[string]any
	ForcedMetadata      map[string]any
	JWKS                map[string]any
	SetRequired         bool
	RequiredTrustmarks  *string
	ValidFor            *int64
	Autorenew           *bool
	Active              *bool
	Suspended           *bool
	SetAdditionalClaims bool
	AdditionalClaims    map[string]any
}

// SubordinateStore persists subordinates.
type SubordinateStore interface {
	// CreateSubordinate assigns an id and stores s, unless its entityid is
	// taken: then it returns the holder and an Exists error.
	CreateSubordinate(ctx context.Context, s Subordinate, a Attribution) (Subordinate, error)
	// Subordinate returns the subordinate with that id, or a NotFound error.
	Subordinate(ctx context.Context, id int64) (Subordinate, error)
	// Subordinates returns one page ordered by id, and the total.
	Subordinates(ctx context.Context, p Page) ([]Subordinate, int, error)
	// ReplaceSubordinate stores s if the stored version is still s.Version.
	ReplaceSubordinate(ctx context.Context, s Subordinate, a Attribution) (Subordinate, error)
}

// EntityConfigurations fetch and verify the entity configurations of
// subordinates (package entityconfig).
type EntityConfigurations interface {
	// Fetch fetches entityID's entity configuration
	// (<entityID>/.well-known/openid-federation), verifies it with keys (a
	// JWK Set), or with its own jwks when keys is nil, and returns its
	// claims. A failure is an Invalid error whose message says what failed.
	Fetch(ctx context.Context, entityID string, keys map[string]any) (map[string]any, error)
}

// Messages of Subordinate errors (Inmor's).
const (
	msgNotInAuthorityHints   = "TA domain %s is not in the authority_hints of the entity configuration."
	msgFetchingOff           = "Fetching entity configurations is turned off on this server (ENTITY_CONFIGURATION_CHECK=off)."
	msgSubordinateNotFound   = "Subordinate could not be found."
	msgSubordinateValidFor   = "valid_for is greater than allowed by system default 8760."
	msgRenewInactiveSub      = "Cannot renew an inactive subordinate."
	msgSubordinateConcurrent = "Subordinate is being changed concurrently; retry."
	msgSuspendedActive       = "suspended requires active=false: only an inactive subordinate is suspended"
)

// Subordinates applies the Subordinate rules and signs the statements.
type Subordinates struct {
	Store  SubordinateStore
	Signer Signer
	// EntityID is the trust anchor's entity id, the iss of statements.
	EntityID string
	// Configurations checks a subordinate's entity configuration whenever
	// its statement is signed (create, update, renew); nil: no check, and
	// FetchConfiguration refuses (ENTITY_CONFIGURATION_CHECK=off).
	Configurations EntityConfigurations
	// Now returns the current time; time.Now when nil.
	Now func() time.Time
}

func (s Subordinates) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// checkSubordinate validates the free-form fields: storable JSON within
// bounds, public keys that parse, valid_for within the system default.
func checkSubordinate(sub Subordinate) error {
	if err := jwk.ValidateSet(sub.JWKS); err != nil {
		return apperr.InvalidField("jwks", err.Error())
	}
	total := 0
	for field, v := range map[string]map[string]any{
		"metadata": sub.Metadata, "forced_metadata": sub.ForcedMetadata, "jwks": sub.JWKS,
	} {
		if err := CheckStorable(v); err != nil {
			return apperr.InvalidField(field, err.Error())
		}
		total += JSONSize(v)
	}
	if err := checkClaims("additional_claims", sub.AdditionalClaims, subordinateReserved, MaxFreeFormBytes); err != nil {
		return err
	}
	if total+JSONSize(sub.AdditionalClaims) > MaxFreeFormBytes {
		return apperr.InvalidField("metadata", fmt.Sprintf("metadata, forced_metadata, jwks and additional_claims may hold at most %d bytes of JSON together", MaxFreeFormBytes))
	}
	if sub.Active && sub.Suspended {
		return apperr.InvalidField("suspended", msgSuspendedActive)
	}
	if sub.ValidFor > MaxSubordinateValidFor {
		return apperr.New(apperr.Invalid, sub.ID, msgSubordinateValidFor) // the id asked for: 0 on create
	}
	return nil
}

// sign issues a fresh statement: iat now, exp valid_for hours later.
func (s Subordinates) sign(ctx context.Context, sub *Subordinate) error {
	iat := s.now().Unix()
	exp := iat + sub.ValidFor*3600
	claims := make(map[string]any, len(sub.AdditionalClaims)+6)
	for k, v := range sub.AdditionalClaims {
		claims[k] = v
	}
	claims["iss"], claims["sub"], claims["iat"], claims["exp"] = s.EntityID, sub.EntityID, iat, exp
	claims["metadata"], claims["jwks"] = sub.ForcedMetadata, sub.JWKS
	jwt, err := s.Signer.Sign(ctx, EntityStatementJWTType, claims)
	if err != nil {
		return fmt.Errorf("sign subordinate statement: %w", err)
	}
	sub.Statement, sub.ExpireAt = &jwt, ExpiryAt(exp)
	return nil
}

// configuration fetches entityID's entity configuration, verifies it with
// keys and requires the trust anchor in its authority_hints; it returns
// nil claims when the check is off. Errors name the subordinate id.
func (s Subordinates) configuration(ctx context.Context, id int64, entityID string, keys map[string]any) (map[string]any, error) {
	if s.Configurations == nil {
		return nil, nil
	}
	claims, err := s.Configurations.Fetch(ctx, entityID, keys)
	if err != nil {
		if apperr.Is(apperr.Invalid, err) {
			return nil, apperr.E(apperr.Invalid, err, apperr.MessageOf(err), id)
		}
		return nil, err
	}
	hints, _ := claims["authority_hints"].([]any)
	if !slices.Contains(hints, any(s.EntityID)) {
		return nil, apperr.New(apperr.Invalid, id, fmt.Sprintf(msgNotInAuthorityHints, s.EntityID))
	}
	return claims, nil
}

// applyTo copies a request's fields onto sub; optional fields only when
// given.
func (in SubordinateChanges) applyTo(sub *Subordinate) {
	sub.Metadata, sub.ForcedMetadata, sub.JWKS = in.Metadata, in.ForcedMetadata, in.JWKS
	if in.SetRequired {
		sub.RequiredTrustmarks = in.RequiredTrustmarks
	}
	if in.ValidFor != nil {
		sub.ValidFor = *in.ValidFor
	}
	if in.Autorenew != nil {
		sub.Autorenew = *in.Autorenew
	}
	if in.Active != nil {
		sub.Active = *in.Active
	}
	if in.Suspended != nil {
		sub.Suspended = *in.Suspended
	}
	if sub.Active && (in.Suspended == nil || !*in.Suspended) {
		sub.Suspended = false // re-activated: no longer suspended
	}
	if in.SetAdditionalClaims {
		sub.AdditionalClaims = in.AdditionalClaims
	}
}

// settle signs an active subordinate's statement, or clears an inactive one's.
func (s Subordinates) settle(ctx context.Context, sub *Subordinate) error {
	if !sub.Active {
		sub.Statement, sub.ExpireAt = nil, nil
		return nil
	}
	return s.sign(ctx, sub)
}

// Create registers a subordinate and signs its statement. An existing
// entityid answers a Conflict holding the existing subordinate.
func (s Subordinates) Create(ctx context.Context, in NewSubordinate, a Attribution) (Subordinate, error) {
	if err := CheckEntityID("entityid", in.EntityID); err != nil {
		return Subordinate{}, err
	}
	sub := Subordinate{EntityID: in.EntityID, ValidFor: MaxSubordinateValidFor, Autorenew: true, Active: true}
	in.applyTo(&sub)
	if err := checkSubordinate(sub); err != nil {
		return Subordinate{}, err
	}
	if sub.Active {
		if _, err := s.configuration(ctx, 0, sub.EntityID, sub.JWKS); err != nil {
			return Subordinate{}, err
		}
	}
	if err := s.settle(ctx, &sub); err != nil {
		return Subordinate{}, err
	}
	now := s.now()
	sub.Added = now
	a.Operation, a.ResponseCode, a.CommittedAt = OpCreate, 201, now
	created, err := s.Store.CreateSubordinate(ctx, sub, a)
	if apperr.Is(apperr.Exists, err) {
		return Subordinate{}, &apperr.Error{Kind: apperr.Exists, Message: "Subordinate exists already.", Existing: created}
	}
	return created, err
}

// Get returns the subordinate with that id.
func (s Subordinates) Get(ctx context.Context, id int64) (Subordinate, error) {
	sub, err := s.Store.Subordinate(ctx, id)
	if apperr.Is(apperr.NotFound, err) {
		return sub, apperr.New(apperr.NotFound, id, msgSubordinateNotFound)
	}
	return sub, err
}

// List returns one page of subordinates ordered by id, and the total.
func (s Subordinates) List(ctx context.Context, p Page) ([]Subordinate, int, error) {
	return s.Store.Subordinates(ctx, p)
}

// Update replaces metadata, forced_metadata and jwks, and the optional
// fields that are given, then re-signs the statement of an active
// subordinate, whose entity configuration must verify with the new jwks.
func (s Subordinates) Update(ctx context.Context, id int64, c SubordinateChanges, a Attribution) (Subordinate, error) {
	return s.change(ctx, id, a, OpUpdate, func(sub *Subordinate) error {
		c.applyTo(sub)
		if err := checkSubordinate(*sub); err != nil {
			return err
		}
		if !sub.Active {
			return nil // a revocation or suspension never waits on the entity
		}
		_, err := s.configuration(ctx, id, sub.EntityID, sub.JWKS)
		return err
	})
}

// Renew re-signs an active subordinate's statement with a new iat and exp.
// Its entity configuration must verify with the stored jwks; its jwks and
// metadata then replace the stored ones, and the statement carries them.
func (s Subordinates) Renew(ctx context.Context, id int64, a Attribution) (Subordinate, error) {
	return s.change(ctx, id, a, OpRenew, func(sub *Subordinate) error {
		if !sub.Active {
			return apperr.New(apperr.Invalid, id, msgRenewInactiveSub)
		}
		claims, err := s.configuration(ctx, id, sub.EntityID, sub.JWKS)
		if err != nil || claims == nil {
			return err
		}
		if keys, ok := claims["jwks"].(map[string]any); ok {
			sub.JWKS = keys
		}
		if metadata, ok := claims["metadata"].(map[string]any); ok {
			sub.Metadata = metadata
		}
		return checkSubordinate(*sub)
	})
}

// FetchedConfiguration is what POST /subordinates/fetch-config answers:
// parts of a self-verified entity configuration (Inmor's fields; metadata
// {} and the others null when absent).
type FetchedConfiguration struct {
	Metadata       map[string]any `json:"metadata"`
	JWKS           map[string]any `json:"jwks"`
	JWKSURI        *string        `json:"jwks_uri"`
	AuthorityHints []any          `json:"authority_hints"`
	TrustMarks     []any          `json:"trust_marks"`
}

// FetchConfiguration fetches the entity configuration of url (an entity
// id) and verifies it with its own jwks.
func (s Subordinates) FetchConfiguration(ctx context.Context, url string) (FetchedConfiguration, error) {
	if err := CheckEntityID("url", url); err != nil {
		return FetchedConfiguration{}, err
	}
	if s.Configurations == nil {
		return FetchedConfiguration{}, apperr.New(apperr.Invalid, 0, msgFetchingOff)
	}
	claims, err := s.Configurations.Fetch(ctx, url, nil)
	if err != nil {
		return FetchedConfiguration{}, err
	}
	out := FetchedConfiguration{Metadata: map[string]any{}}
	if m, ok := claims["metadata"].(map[string]any); ok {
		out.Metadata = m
	}
	out.JWKS, _ = claims["jwks"].(map[string]any)
	if u, ok := claims["jwks_uri"].(string); ok {
		out.JWKSURI = &u
	}
	out.AuthorityHints, _ = claims["authority_hints"].([]any)
	out.TrustMarks, _ = claims["trust_marks"].([]any)
	return out, nil
}

// change reads a subordinate, edits it, re-signs it and stores it
// conditionally, retrying lost races.
func (s Subordinates) change(ctx context.Context, id int64, a Attribution, op Operation, edit func(*Subordinate) error) (Subordinate, error) {
	return retryStale(id, msgSubordinateNotFound, msgSubordinateConcurrent, func() (Subordinate, error) {
		sub, err := s.Get(ctx, id)
		if err != nil {
			return sub, err
		}
		if err := edit(&sub); err != nil {
			return Subordinate{}, err
		}
		if err := s.settle(ctx, &sub); err != nil {
			return Subordinate{}, err
		}
		a.Operation, a.ResponseCode, a.CommittedAt = op, 200, s.now()
		return s.Store.ReplaceSubordinate(ctx, sub, a)
	})
}
