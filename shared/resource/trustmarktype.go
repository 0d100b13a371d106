package resource

import (
	"context"
	"time"

	"github.com/inmor/inmor-serverless/shared/apperr"
)

// Defaults and bounds of TrustMarkType fields, in hours.
const (
	DefaultValidFor    = 8760
	DefaultRenewalTime = 48
	// MaxHours bounds valid_for and renewal_time (100 years) so that expiry
	// times can never overflow.
	MaxHours = 876000
	// MaxURLLength bounds identifiers such as tmtype.
	MaxURLLength = 2048
)

// TrustMarkType is a kind of trust mark the trust anchor issues.
type TrustMarkType struct {
	ID          int64  `json:"id"`
	TMType      string `json:"tmtype"`
	Autorenew   bool   `json:"autorenew"`
	ValidFor    int64  `json:"valid_for"`
	RenewalTime int64  `json:"renewal_time"`
	Active      bool   `json:"active"`
	// Added is the creation time; Version counts writes. Neither is shown by the API.
	Added   time.Time `json:"-"`
	Version int64     `json:"-"`
}

// NewTrustMarkType is a create request, defaults applied.
type NewTrustMarkType struct {
	TMType      string
	Autorenew   bool
	ValidFor    int64
	RenewalTime int64
	Active      bool
}

// TrustMarkTypeChanges are the updatable fields; nil means "leave as is".
type TrustMarkTypeChanges struct {
	Autorenew   *bool
	ValidFor    *int64
	RenewalTime *int64
	Active      *bool
}

// Empty reports whether no field is given.
func (c TrustMarkTypeChanges) Empty() bool {
	return c.Autorenew == nil && c.ValidFor == nil && c.RenewalTime == nil && c.Active == nil
}

func (c TrustMarkTypeChanges) applyTo(t *TrustMarkType) {
	if c.Autorenew != nil {
		t.Autorenew = *c.Autorenew
	}
	if c.ValidFor != nil {
		t.ValidFor = *c.ValidFor
	}
	if c.RenewalTime != nil {
		t.RenewalTime = *c.RenewalTime
	}
	if c.Active != nil {
		t.Active = *c.Active
	}
}

// TrustMarkTypeStore persists trust mark types.
type TrustMarkTypeStore interface {
	// CreateTrustMarkType assigns an id and stores t with its attribution,
	// unless its tmtype is taken: then it returns the holder and an Exists error.
	CreateTrustMarkType(ctx context.Context, t TrustMarkType, a Attribution) (TrustMarkType, error)
	// TrustMarkType returns the type with that id, or a NotFound error.
	TrustMarkType(ctx context.Context, id int64) (TrustMarkType, error)
	// TrustMarkTypeByTMType returns the type with that tmtype, or a NotFound error.
	TrustMarkTypeByTMType(ctx context.Context, tmtype string) (TrustMarkType, error)
	// TrustMarkTypes returns one page ordered by id, and the total count.
	TrustMarkTypes(ctx context.Context, p Page) ([]TrustMarkType, int, error)
	// ReplaceTrustMarkType stores t if the stored version is still t.Version,
	// and returns it with its new version; else a Stale error.
	ReplaceTrustMarkType(ctx context.Context, t TrustMarkType, a Attribution) (TrustMarkType, error)
}

// Messages of TrustMarkType errors (Inmor's).
const msgTrustMarkTypeNotFound = "TrustMarkType could not be found."

// TrustMarkTypes applies the TrustMarkType rules.
type TrustMarkTypes struct {
	Store TrustMarkTypeStore
	// Now returns the current time; time.Now when nil.
	Now func() time.Time
}

// Create stores a new type. When its tmtype exists already, it returns a
// Conflict error holding the existing type, whatever the other fields.
func (s TrustMarkTypes) Create(ctx context.Context, in NewTrustMarkType, a Attribution) (TrustMarkType, error) {
	if err := CheckTrustMarkTypeID(in.TMType); err != nil {
		return TrustMarkType{}, err
	}
	now := s.now()
	t := TrustMarkType{TMType: in.TMType, Autorenew: in.Autorenew, ValidFor: in.ValidFor, RenewalTime: in.RenewalTime, Active: in.Active, Added: now}
	a.Operation, a.ResponseCode, a.CommittedAt = OpCreate, 201, now
	created, err := s.Store.CreateTrustMarkType(ctx, t, a)
	if apperr.Is(apperr.Exists, err) {
		return TrustMarkType{}, &apperr.Error{Kind: apperr.Exists, Message: "TrustMarkType exists already.", Existing: created}
	}
	return created, err
}

// Get returns the type with that id.
func (s TrustMarkTypes) Get(ctx context.Context, id int64) (TrustMarkType, error) {
	t, err := s.Store.TrustMarkType(ctx, id)
	if apperr.Is(apperr.NotFound, err) {
		return t, apperr.New(apperr.NotFound, id, msgTrustMarkTypeNotFound)
	}
	return t, err
}

// GetByTMType returns the type with that tmtype.
func (s TrustMarkTypes) GetByTMType(ctx context.Context, tmtype string) (TrustMarkType, error) {
	t, err := s.Store.TrustMarkTypeByTMType(ctx, tmtype)
	if apperr.Is(apperr.NotFound, err) {
		return t, apperr.New(apperr.NotFound, 0, msgTrustMarkTypeNotFound)
	}
	return t, err
}

// List returns one page of types ordered by id, and the total.
func (s TrustMarkTypes) List(ctx context.Context, p Page) ([]TrustMarkType, int, error) {
	return s.Store.TrustMarkTypes(ctx, p)
}

// Update applies the given fields. Nothing is written when none is given.
// A write that races another is retried on the fresh version.
func (s TrustMarkTypes) Update(ctx context.Context, id int64, c TrustMarkTypeChanges, a Attribution) (TrustMarkType, error) {
	return retryStale(id, msgTrustMarkTypeNotFound, "TrustMarkType is being changed concurrently; retry.", func() (TrustMarkType, error) {
		t, err := s.Get(ctx, id)
		if err != nil || c.Empty() {
			return t, err
		}
		c.applyTo(&t)
		a.Operation, a.ResponseCode, a.CommittedAt = OpUpdate, 200, s.now()
		return s.Store.ReplaceTrustMarkType(ctx, t, a)
	})
}

func (s TrustMarkTypes) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}
