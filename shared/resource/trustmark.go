package resource

import (
	"context"
	"fmt"
	"time"

	"github.com/inmor/inmor-serverless/shared/apperr"
)

// TrustMark is a signed statement that an entity (its domain) holds a trust
// mark of some TrustMarkType.
type TrustMark struct {
	ID          int64   `json:"id"`
	TMTID       int64   `json:"tmt_id"`
	Domain      string  `json:"domain"`
	Autorenew   bool    `json:"autorenew"`
	ValidFor    int64   `json:"valid_for"`
	RenewalTime int64   `json:"renewal_time"`
	Active      bool    `json:"active"`
	Mark        *string `json:"mark"`
	// ExpireAt is the mark's exp; nil while revoked.
	ExpireAt         *Expiry        `json:"expire_at"`
	AdditionalClaims map[string]any `json:"additional_claims"`
	Added            time.Time      `json:"-"`
	Version          int64          `json:"-"`
}

// TrustMarkJWTType is the typ header of trust marks.
const TrustMarkJWTType = "trust-mark+jwt"

// trustMarkReserved are the claims additional claims may not set.
var trustMarkReserved = []string{"iss", "sub", "iat", "exp", "trust_mark_type"}

// MaxAdditionalClaimsBytes bounds a trust mark's additional claims (JSON).
const MaxAdditionalClaimsBytes = 8 << 10

// NewTrustMark is a create request; nil fields come from the type.
type NewTrustMark struct {
	TMTID            int64
	Domain           string
	Autorenew        *bool
	ValidFor         *int64
	RenewalTime      *int64
	Active           *bool
	AdditionalClaims map[string]any
}

// TrustMarkChanges are the updatable fields; nil means "leave as is".
// SetAdditionalClaims tells an explicit value (null clears) from an omitted one.
type TrustMarkChanges struct {
	Autorenew           *bool
	Active              *bool
	SetAdditionalClaims bool
	AdditionalClaims    map[string]any
}

func (c TrustMarkChanges) empty() bool {
	return c.Autorenew == nil && c.Active == nil && !c.SetAdditionalClaims
}

// TrustMarkStore persists trust marks.
type TrustMarkStore interface {
	// CreateTrustMark assigns an id and stores t, unless (tmt_id, domain) is
	// taken: then it returns the holder and an Exists error.
	CreateTrustMark(ctx context.Context, t TrustMark, a Attribution) (TrustMark, error)
	// TrustMark returns the mark with that id, or a NotFound error.
	TrustMark(ctx context.Context, id int64) (TrustMark, error)
	// TrustMarks returns one page ordered by id, and the total; a non-nil
	// domain keeps only the marks for that domain.
	TrustMarks(ctx context.Context, domain *string, p Page) ([]TrustMark, int, error)
	// ReplaceTrustMark stores t if the stored version is still t.Version.
	ReplaceTrustMark(ctx context.Context, t TrustMark, a Attribution) (TrustMark, error)
}

// Messages of TrustMark errors (Inmor's).
const (
	msgTrustMarkNotFound   = "TrustMark does not exist."
	msgTypeNotActive       = "TrustMarkType is not active."
	msgValidForTooLong     = "valid_for is greater than allowed for the given TrustMarkType."
	msgRenewalTooLong      = "renewal_time is greater than allowed for the given TrustMarkType."
	msgRenewInactiveMark   = "Cannot renew an inactive TrustMark."
	msgTrustMarkConcurrent = "TrustMark is being changed concurrently; retry."
)

// TrustMarks applies the TrustMark rules and signs the marks.
type TrustMarks struct {
	Store  TrustMarkStore
	Types  TrustMarkTypeStore
	Signer Signer
	// Issuer is the iss of every mark.
	Issuer string
	// Now returns the current time; time.Now when nil.
	Now func() time.Time
}

func (s TrustMarks) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// checkClaims validates additional claims: storable, bounded, and not
// setting a reserved claim.
func checkClaims(field string, claims map[string]any, reserved []string, maxBytes int) error {
	if claims == nil {
		return nil
	}
	for _, name := range reserved {
		if _, set := claims[name]; set {
			return apperr.InvalidField(field, fmt.Sprintf("additional claims may not set %q", name))
		}
	}
	if err := CheckStorable(claims); err != nil {
		return apperr.InvalidField(field, err.Error())
	}
	if JSONSize(claims) > maxBytes {
		return apperr.InvalidField(field, fmt.Sprintf("at most %d bytes of JSON", maxBytes))
	}
	return nil
}

func (s TrustMarks) trustMarkType(ctx context.Context, id int64) (TrustMarkType, error) {
	tmt, err := s.Types.TrustMarkType(ctx, id)
	if apperr.Is(apperr.NotFound, err) {
		return tmt, apperr.New(apperr.NotFound, id, msgTrustMarkTypeNotFound)
	}
	return tmt, err
}

// sign issues a fresh mark for t: iat now, exp valid_for hours later.
func (s TrustMarks) sign(ctx context.Context, t *TrustMark, tmtype string) error {
	iat := s.now().Unix()
	exp := iat + t.ValidFor*3600
	claims := make(map[string]any, len(t.AdditionalClaims)+5)
	for k, v := range t.AdditionalClaims {
		claims[k] = v
	}
	claims["iss"], claims["sub"], claims["iat"], claims["exp"], claims["trust_mark_type"] = s.Issuer, t.Domain, iat, exp, tmtype
	jwt, err := s.Signer.Sign(ctx, TrustMarkJWTType, claims)
	if err != nil {
		return fmt.Errorf("sign trust mark: %w", err)
	}
	t.Mark, t.ExpireAt = &jwt, ExpiryAt(exp)
	return nil
}

// Create issues a new trust mark. Omitted values come from its type, which
// must exist and be active, and may not be exceeded. An existing
// (type, domain) answers a Conflict holding the existing mark.
func (s TrustMarks) Create(ctx context.Context, in NewTrustMark, a Attribution) (TrustMark, error) {
	if err := CheckEntityID("domain", in.Domain); err != nil {
		return TrustMark{}, err
	}
	tmt, err := s.trustMarkType(ctx, in.TMTID)
	if err != nil {
		return TrustMark{}, err
	}
	if !tmt.Active {
		return TrustMark{}, apperr.New(apperr.Invalid, in.TMTID, msgTypeNotActive)
	}
	t := TrustMark{
		TMTID: tmt.ID, Domain: in.Domain, Autorenew: orDefault(in.Autorenew, tmt.Autorenew),
		ValidFor: orDefault(in.ValidFor, tmt.ValidFor), RenewalTime: orDefault(in.RenewalTime, tmt.RenewalTime),
		Active: orDefault(in.Active, true), AdditionalClaims: in.AdditionalClaims,
	}
	switch {
	case t.ValidFor > tmt.ValidFor:
		return TrustMark{}, apperr.New(apperr.Invalid, 0, msgValidForTooLong)
	case t.RenewalTime > tmt.RenewalTime:
		return TrustMark{}, apperr.New(apperr.Invalid, 0, msgRenewalTooLong)
	}
	if err := checkClaims("additional_claims", t.AdditionalClaims, trustMarkReserved, MaxAdditionalClaimsBytes); err != nil {
		return TrustMark{}, err
	}
	if t.Active {
		if err := s.sign(ctx, &t, tmt.TMType); err != nil {
			return TrustMark{}, err
		}
	}
	now := s.now()
	t.Added = now
	a.Operation, a.ResponseCode, a.CommittedAt = OpCreate, 201, now
	created, err := s.Store.CreateTrustMark(ctx, t, a)
	if apperr.Is(apperr.Exists, err) {
		return TrustMark{}, &apperr.Error{Kind: apperr.Exists, Message: "TrustMark exists already.", Existing: created}
	}
	return created, err
}

// Get returns the mark with that id.
func (s TrustMarks) Get(ctx context.Context, id int64) (TrustMark, error) {
	t, err := s.Store.TrustMark(ctx, id)
	if apperr.Is(apperr.NotFound, err) {
		return t, apperr.New(apperr.NotFound, id, msgTrustMarkNotFound)
	}
	return t, err
}

// List returns one page of marks ordered by id, and the total; a non-nil
// domain keeps only the marks for it.
func (s TrustMarks) List(ctx context.Context, domain *string, p Page) ([]TrustMark, int, error) {
	return s.Store.TrustMarks(ctx, domain, p)
}

// Renew re-signs an active mark with a new iat and exp.
func (s TrustMarks) Renew(ctx context.Context, id int64, a Attribution) (TrustMark, error) {
	return s.change(ctx, id, a, OpRenew, func(t *TrustMark) (bool, bool, error) {
		if !t.Active {
			return false, false, apperr.New(apperr.Invalid, id, msgRenewInactiveMark)
		}
		return true, true, nil
	})
}

// Update applies the given fields: active=false revokes (the mark becomes
// null), active=true on a revoked mark issues a new one, and changed
// additional claims re-sign an active mark. Nothing is written when no field
// is given.
func (s TrustMarks) Update(ctx context.Context, id int64, c TrustMarkChanges, a Attribution) (TrustMark, error) {
	if c.SetAdditionalClaims {
		if err := checkClaims("additional_claims", c.AdditionalClaims, trustMarkReserved, MaxAdditionalClaimsBytes); err != nil {
			return TrustMark{}, err
		}
	}
	return s.change(ctx, id, a, OpUpdate, func(t *TrustMark) (bool, bool, error) {
		if c.empty() {
			return false, false, nil
		}
		wasActive, claimsChanged := t.Active, false
		if c.Autorenew != nil {
			t.Autorenew = *c.Autorenew
		}
		if c.Active != nil {
			t.Active = *c.Active
		}
		if c.SetAdditionalClaims {
			claimsChanged = !jsonEqual(c.AdditionalClaims, t.AdditionalClaims)
			t.AdditionalClaims = c.AdditionalClaims
		}
		if !t.Active {
			t.Mark, t.ExpireAt = nil, nil
		}
		return true, t.Active && (!wasActive || claimsChanged), nil
	})
}

// change reads a mark, lets edit change it (write: store it; sign: issue a
// new mark first) and stores it conditionally, retrying lost races.
func (s TrustMarks) change(ctx context.Context, id int64, a Attribution, op Operation, edit func(*TrustMark) (write, sign bool, err error)) (TrustMark, error) {
	return retryStale(id, msgTrustMarkNotFound, msgTrustMarkConcurrent, func() (TrustMark, error) {
		t, err := s.Get(ctx, id)
		if err != nil {
			return t, err
		}
		write, sign, err := edit(&t)
		if err != nil || !write {
			return t, err
		}
		if sign {
			tmt, err := s.trustMarkType(ctx, t.TMTID)
			if err != nil {
				return t, err
			}
			if !tmt.Active { // a deactivated type issues no new marks
				return TrustMark{}, apperr.New(apperr.Invalid, id, msgTypeNotActive)
			}
			if err := s.sign(ctx, &t, tmt.TMType); err != nil {
				return t, err
			}
		}
		a.Operation, a.ResponseCode, a.CommittedAt = op, 200, s.now()
		return s.Store.ReplaceTrustMark(ctx, t, a)
	})
}

func orDefault[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}
