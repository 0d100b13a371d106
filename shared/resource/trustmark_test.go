package resource

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/inmor/inmor-serverless/shared/apperr"
)

// memTrustMarks is an in-memory TrustMarkStore and TrustMarkTypeStore.
type memTrustMarks struct {
	types map[int64]TrustMarkType
	marks map[int64]TrustMark
	// staleOnce makes the next replace lose a race.
	staleOnce bool
}

func (m *memTrustMarks) CreateTrustMark(_ context.Context, t TrustMark, _ Attribution) (TrustMark, error) {
	for _, x := range m.marks {
		if x.TMTID == t.TMTID && x.Domain == t.Domain {
			return x, apperr.E(apperr.Exists)
		}
	}
	t.ID, t.Version = int64(len(m.marks)+1), 1
	m.marks[t.ID] = t
	return t, nil
}

func (m *memTrustMarks) TrustMark(_ context.Context, id int64) (TrustMark, error) {
	t, ok := m.marks[id]
	if !ok {
		return t, apperr.E(apperr.NotFound)
	}
	return t, nil
}

func (m *memTrustMarks) TrustMarks(context.Context, *string, Page) ([]TrustMark, int, error) {
	return nil, 0, nil
}

func (m *memTrustMarks) ReplaceTrustMark(_ context.Context, t TrustMark, _ Attribution) (TrustMark, error) {
	if m.staleOnce {
		m.staleOnce = false
		return t, apperr.E(apperr.Stale)
	}
	if m.marks[t.ID].Version != t.Version {
		return t, apperr.E(apperr.Stale)
	}
	t.Version++
	m.marks[t.ID] = t
	return t, nil
}

func (m *memTrustMarks) CreateTrustMarkType(context.Context, TrustMarkType, Attribution) (TrustMarkType, error) {
	return TrustMarkType{}, nil
}

func (m *memTrustMarks) TrustMarkType(_ context.Context, id int64) (TrustMarkType, error) {
	t, ok := m.types[id]
	if !ok {
		return t, apperr.E(apperr.NotFound)
	}
	return t, nil
}

func (m *memTrustMarks) TrustMarkTypeByTMType(context.Context, string) (TrustMarkType, error) {
	return TrustMarkType{}, apperr.E(apperr.NotFound)
}

func (m *memTrustMarks) TrustMarkTypes(context.Context, Page) ([]TrustMarkType, int, error) {
	return nil, 0, nil
}

func (m *memTrustMarks) ReplaceTrustMarkType(_ context.Context, t TrustMarkType, _ Attribution) (TrustMarkType, error) {
	return t, nil
}

// countingSigner returns a distinct fake token per signature and keeps the claims.
type countingSigner struct{ claims []map[string]any }

func (s *countingSigner) Sign(_ context.Context, typ string, claims map[string]any) (string, error) {
	s.claims = append(s.claims, claims)
	return fmt.Sprintf("%s.%d", typ, len(s.claims)), nil
}

func trustMarkService() (TrustMarks, *memTrustMarks, *countingSigner) {
	store := &memTrustMarks{
		types: map[int64]TrustMarkType{1: {ID: 1, TMType: "https://tm.example/member", Autorenew: true, ValidFor: 100, RenewalTime: 10, Active: true}},
		marks: map[int64]TrustMark{},
	}
	signer := &countingSigner{}
	now := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	return TrustMarks{Store: store, Types: store, Signer: signer, Issuer: "https://ta.example", Now: func() time.Time { return now }}, store, signer
}

func TestTrustMarkCreateRules(t *testing.T) {
	svc, store, signer := trustMarkService()
	ctx := context.Background()
	long, long2 := int64(101), int64(11)
	cases := []struct {
		name string
		in   NewTrustMark
		kind apperr.Kind
		msg  string
	}{
		{"unknown type", NewTrustMark{TMTID: 9, Domain: "https://rp.example"}, apperr.NotFound, msgTrustMarkTypeNotFound},
		{"valid_for above the type's", NewTrustMark{TMTID: 1, Domain: "https://rp.example", ValidFor: &long}, apperr.Invalid, msgValidForTooLong},
		{"renewal_time above the type's", NewTrustMark{TMTID: 1, Domain: "https://rp.example", RenewalTime: &long2}, apperr.Invalid, msgRenewalTooLong},
		{"reserved claim", NewTrustMark{TMTID: 1, Domain: "https://rp.example", AdditionalClaims: map[string]any{"sub": "x"}}, apperr.Unprocessable, ""},
	}
	for _, c := range cases {
		_, err := svc.Create(ctx, c.in, Attribution{})
		var ae *apperr.Error
		if !errors.As(err, &ae) || ae.Kind != c.kind || (c.msg != "" && ae.Message != c.msg) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	m, err := svc.Create(ctx, NewTrustMark{TMTID: 1, Domain: "https://rp", AdditionalClaims: map[string]any{"ref": "x"}}, Attribution{})
	if err != nil || m.ValidFor != 100 || m.RenewalTime != 10 || !m.Autorenew || m.Mark == nil {
		t.Fatalf("create with the type's defaults: %+v %v", m, err)
	}
	c := signer.claims[0]
	if c["sub"] != "https://rp" || c["iss"] != "https://ta.example" || c["trust_mark_type"] != "https://tm.example/member" ||
		c["exp"].(int64)-c["iat"].(int64) != 100*3600 || c["ref"] != "x" {
		t.Errorf("claims %v", c)
	}
	_, err = svc.Create(ctx, NewTrustMark{TMTID: 1, Domain: "https://rp"}, Attribution{})
	var ae *apperr.Error
	if !errors.As(err, &ae) || ae.Kind != apperr.Exists || ae.Existing.(TrustMark).ID != m.ID {
		t.Errorf("duplicate: %v", err)
	}
	tmt := store.types[1]
	tmt.Active = false
	store.types[1] = tmt
	if _, err := svc.Create(ctx, NewTrustMark{TMTID: 1, Domain: "https://other"}, Attribution{}); !errors.As(err, &ae) || ae.Message != msgTypeNotActive {
		t.Errorf("inactive type: %v", err)
	}
}

func TestTrustMarkUpdateSemantics(t *testing.T) {
	svc, store, signer := trustMarkService()
	ctx := context.Background()
	m, _ := svc.Create(ctx, NewTrustMark{TMTID: 1, Domain: "https://rp", AdditionalClaims: map[string]any{"ref": "x"}}, Attribution{})
	no, yes := false, true

	// An omitted additional_claims is kept; nothing is re-signed.
	got, err := svc.Update(ctx, m.ID, TrustMarkChanges{Autorenew: &no}, Attribution{})
	if err != nil || got.AdditionalClaims["ref"] != "x" || *got.Mark != *m.Mark || len(signer.claims) != 1 {
		t.Fatalf("omitted claims: %+v %v", got, err)
	}
	// Changed claims re-sign; null clears them and re-signs.
	got, _ = svc.Update(ctx, m.ID, TrustMarkChanges{SetAdditionalClaims: true, AdditionalClaims: map[string]any{"ref": "y"}}, Attribution{})
	if len(signer.claims) != 2 || signer.claims[1]["ref"] != "y" || *got.Mark == *m.Mark {
		t.Errorf("changed claims: %+v", got)
	}
	got, _ = svc.Update(ctx, m.ID, TrustMarkChanges{SetAdditionalClaims: true}, Attribution{})
	if got.AdditionalClaims != nil || len(signer.claims) != 3 || signer.claims[2]["ref"] != nil {
		t.Errorf("cleared claims: %+v", got)
	}
	// Revoking nulls the mark; renewing then is refused; re-activating issues a new one.
	got, _ = svc.Update(ctx, m.ID, TrustMarkChanges{Active: &no}, Attribution{})
	if got.Mark != nil || got.ExpireAt != nil {
		t.Errorf("revoked: %+v", got)
	}
	var ae *apperr.Error
	if _, err := svc.Renew(ctx, m.ID, Attribution{}); !errors.As(err, &ae) || ae.Message != msgRenewInactiveMark {
		t.Errorf("renew of a revoked mark: %v", err)
	}
	if store.marks[m.ID].Mark != nil {
		t.Error("the refused renew un-revoked the mark")
	}
	store.staleOnce = true // the re-activation loses a race once and is retried
	got, err = svc.Update(ctx, m.ID, TrustMarkChanges{Active: &yes}, Attribution{})
	if err != nil || got.Mark == nil || len(signer.claims) != 5 {
		t.Errorf("re-activated: %+v %v (%d signatures)", got, err, len(signer.claims))
	}
	// Nothing given: nothing written.
	before := store.marks[m.ID].Version
	if _, err := svc.Update(ctx, m.ID, TrustMarkChanges{}, Attribution{}); err != nil || store.marks[m.ID].Version != before {
		t.Errorf("an empty update wrote: %v", err)
	}
	if _, err := svc.Update(ctx, 99, TrustMarkChanges{Active: &yes}, Attribution{}); !errors.As(err, &ae) || ae.Kind != apperr.NotFound || ae.ID != 99 {
		t.Errorf("missing mark: %v", err)
	}
}
