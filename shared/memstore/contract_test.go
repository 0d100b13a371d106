package memstore_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/inmor/inmor-serverless/shared/apperr"
	"github.com/inmor/inmor-serverless/shared/auth"
	"github.com/inmor/inmor-serverless/shared/dynamo"
	"github.com/inmor/inmor-serverless/shared/dynamotest"
	"github.com/inmor/inmor-serverless/shared/memstore"
	"github.com/inmor/inmor-serverless/shared/resource"
	"github.com/inmor/inmor-serverless/shared/tables"
)

func TestMain(m *testing.M) { dynamotest.Main(m) }

// stores is what the contract exercises: the resource stores and the auth
// stores, with the user and key writes the operator tool uses.
type stores interface {
	resource.TrustMarkTypeStore
	resource.TrustMarkStore
	resource.SubordinateStore
	resource.ServerStore
	auth.KeyStore
	auth.KeyToucher
	auth.SessionStore
	auth.LoginThrottle
	CreateUser(ctx context.Context, u auth.User) (auth.User, error)
	CreateAPIKey(ctx context.Context, k auth.APIKey) error
}

// dynamoStores joins the DynamoDB resource and auth stores (on moto).
type dynamoStores struct {
	*dynamo.Resources
	*dynamo.Auth
}

// TestContract: the in-memory store and the DynamoDB stores answer the
// same requests the same way, so tests on the former stand for the latter.
func TestContract(t *testing.T) {
	t.Run("memstore", func(t *testing.T) { contract(t, &memstore.Store{}) })
	t.Run("dynamo", func(t *testing.T) {
		ctx := context.Background()
		getenv := dynamotest.Getenv(t, nil)
		client := dynamo.NewClient(dynamo.LocalConfig(dynamotest.Endpoint()))
		if err := dynamo.CreateTables(ctx, client, getenv); err != nil {
			t.Fatal(err)
		}
		contract(t, dynamoStores{
			Resources: &dynamo.Resources{Client: client, Table: tables.Resources.Name(getenv)},
			Auth:      &dynamo.Auth{Client: client, Table: tables.Auth.Name(getenv)},
		})
	})
}

func contract(t *testing.T, s stores) {
	ctx := context.Background()
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	attribution := func(requestID string) resource.Attribution {
		return resource.Attribution{RequestID: requestID, Operation: resource.OpCreate, ResponseCode: 201, CommittedAt: now}
	}
	is := func(kind apperr.Kind, err error, what string) {
		t.Helper()
		if !apperr.Is(kind, err) {
			t.Errorf("%s: %v, want a %v error", what, err, kind)
		}
	}

	t.Run("trust mark types", func(t *testing.T) {
		first, err := s.CreateTrustMarkType(ctx, resource.TrustMarkType{TMType: "https://tm/a", ValidFor: 10, Active: true, Added: now}, attribution("r1"))
		if err != nil || first.ID < 1 || first.Version != 1 {
			t.Fatalf("create: %+v %v", first, err)
		}
		second, err := s.CreateTrustMarkType(ctx, resource.TrustMarkType{TMType: "https://tm/b", Added: now}, attribution("r2"))
		if err != nil || second.ID <= first.ID {
			t.Fatalf("second create: %+v %v (ids grow)", second, err)
		}
		holder, err := s.CreateTrustMarkType(ctx, resource.TrustMarkType{TMType: "https://tm/a", Added: now}, attribution("r3"))
		is(apperr.Exists, err, "a taken tmtype")
		if holder.ID != first.ID {
			t.Errorf("a taken tmtype answers the holder %d, want %d", holder.ID, first.ID)
		}
		if got, err := s.TrustMarkType(ctx, first.ID); err != nil || got.TMType != "https://tm/a" || got.ValidFor != 10 || !got.Active || got.Version != 1 {
			t.Errorf("read: %+v %v", got, err)
		}
		if got, err := s.TrustMarkTypeByTMType(ctx, "https://tm/b"); err != nil || got.ID != second.ID {
			t.Errorf("read by tmtype: %+v %v", got, err)
		}
		_, err = s.TrustMarkType(ctx, 999)
		is(apperr.NotFound, err, "an unknown id")
		_, err = s.TrustMarkTypeByTMType(ctx, "https://tm/none")
		is(apperr.NotFound, err, "an unknown tmtype")

		update := first
		update.Active = false
		replaced, err := s.ReplaceTrustMarkType(ctx, update, attribution("r4"))
		if err != nil || replaced.Version != 2 || replaced.Active {
			t.Fatalf("replace: %+v %v", replaced, err)
		}
		update.ValidFor = 5 // still version 1: another request's write came first
		_, err = s.ReplaceTrustMarkType(ctx, update, attribution("r5"))
		is(apperr.Stale, err, "a replace of an older version")
		missing := update
		missing.ID = 999
		_, err = s.ReplaceTrustMarkType(ctx, missing, attribution("r6"))
		is(apperr.NotFound, err, "a replace of an unknown id")

		page, count, err := s.TrustMarkTypes(ctx, resource.Page{Limit: 1, Offset: 1})
		if err != nil || count != 2 || len(page) != 1 || page[0].ID != second.ID {
			t.Errorf("page 2 of 1: %+v count %d %v", page, count, err)
		}
		if page, count, err := s.TrustMarkTypes(ctx, resource.Page{Limit: 10, Offset: 5}); err != nil || count != 2 || len(page) != 0 {
			t.Errorf("a page past the end: %+v count %d %v", page, count, err)
		}
	})

	t.Run("trust marks", func(t *testing.T) {
		mark := func(tmtID int64, domain string) resource.TrustMark {
			return resource.TrustMark{TMTID: tmtID, Domain: domain, ValidFor: 1, Active: true, Added: now}
		}
		a, err := s.CreateTrustMark(ctx, mark(1, "https://rp.a"), attribution("m1"))
		if err != nil || a.Version != 1 {
			t.Fatalf("create: %+v %v", a, err)
		}
		if _, err := s.CreateTrustMark(ctx, mark(2, "https://rp.a"), attribution("m2")); err != nil {
			t.Fatalf("the same domain under another type: %v", err)
		}
		if _, err := s.CreateTrustMark(ctx, mark(1, "https://rp.b"), attribution("m3")); err != nil {
			t.Fatalf("another domain: %v", err)
		}
		holder, err := s.CreateTrustMark(ctx, mark(1, "https://rp.a"), attribution("m4"))
		is(apperr.Exists, err, "a taken type and domain")
		if holder.ID != a.ID {
			t.Errorf("holder %d, want %d", holder.ID, a.ID)
		}
		domain := "https://rp.a"
		if list, count, err := s.TrustMarks(ctx, &domain, resource.Page{Limit: 10}); err != nil || count != 2 || len(list) != 2 || list[0].ID != a.ID {
			t.Errorf("by domain: %+v count %d %v", list, count, err)
		}
		if _, count, err := s.TrustMarks(ctx, nil, resource.Page{Limit: 10}); err != nil || count != 3 {
			t.Errorf("all: count %d %v", count, err)
		}
		a.Active = false
		if got, err := s.ReplaceTrustMark(ctx, a, attribution("m5")); err != nil || got.Version != 2 {
			t.Errorf("replace: %+v %v", got, err)
		}
		_, err = s.TrustMark(ctx, 999)
		is(apperr.NotFound, err, "an unknown trust mark")
	})

	t.Run("subordinates", func(t *testing.T) {
		sub, err := s.CreateSubordinate(ctx, resource.Subordinate{EntityID: "https://rp.example", ValidFor: 1, Added: now,
			Metadata: map[string]any{"openid_relying_party": map[string]any{"client_name": "rp"}}}, attribution("s1"))
		if err != nil || sub.Version != 1 {
			t.Fatalf("create: %+v %v", sub, err)
		}
		holder, err := s.CreateSubordinate(ctx, resource.Subordinate{EntityID: "https://rp.example", Added: now}, attribution("s2"))
		is(apperr.Exists, err, "a taken entity id")
		if holder.ID != sub.ID {
			t.Errorf("holder %d, want %d", holder.ID, sub.ID)
		}
		got, err := s.Subordinate(ctx, sub.ID)
		if err != nil || got.EntityID != sub.EntityID || got.Metadata["openid_relying_party"].(map[string]any)["client_name"] != "rp" {
			t.Errorf("read: %+v %v", got, err)
		}
		sub.Active = true
		if got, err := s.ReplaceSubordinate(ctx, sub, attribution("s3")); err != nil || got.Version != 2 {
			t.Errorf("replace: %+v %v", got, err)
		}
		if list, count, err := s.Subordinates(ctx, resource.Page{Limit: 10}); err != nil || count != 1 || len(list) != 1 || !list[0].Active {
			t.Errorf("list: %+v count %d %v", list, count, err)
		}
	})

	t.Run("the trust anchor's statements", func(t *testing.T) {
		_, err := s.ServerEntity(ctx)
		is(apperr.NotFound, err, "an entity configuration never signed")
		_, err = s.HistoricalKeys(ctx)
		is(apperr.NotFound, err, "historical keys never retired")
		entity := resource.ServerEntity{EntityID: "https://ta.example", Statement: "a.b.c", Added: now,
			Claims: map[string]any{"iss": "https://ta.example", "exp": int64(7)}}
		first, err := s.PutServerEntity(ctx, entity, attribution("e1"))
		if err != nil || first.Version != 1 {
			t.Fatalf("first put: %+v %v", first, err)
		}
		_, err = s.PutServerEntity(ctx, entity, attribution("e2"))
		is(apperr.Stale, err, "a second first put (another request created it meanwhile)")
		first.Statement = "d.e.f"
		if second, err := s.PutServerEntity(ctx, first, attribution("e3")); err != nil || second.Version != 2 {
			t.Errorf("replace: %+v %v", second, err)
		}
		_, err = s.PutServerEntity(ctx, first, attribution("e4"))
		is(apperr.Stale, err, "a replace of an older version")
		if got, err := s.ServerEntity(ctx); err != nil || got.Statement != "d.e.f" || got.Version != 2 || got.EntityID != "https://ta.example" {
			t.Errorf("read: %+v %v", got, err)
		}

		keys := resource.HistoricalKeys{EntityID: "https://ta.example", Added: now,
			Keys: []map[string]any{{"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "exp": int64(9)}}}
		h, err := s.PutHistoricalKeys(ctx, keys, attribution("h1"))
		if err != nil || h.Version != 1 {
			t.Fatalf("historical keys: %+v %v", h, err)
		}
		got, err := s.HistoricalKeys(ctx)
		if err != nil || len(got.Keys) != 1 || got.Keys[0]["x"] != keys.Keys[0]["x"] || got.Statement != nil {
			t.Errorf("read historical keys: %+v %v", got, err)
		}

		if _, err := s.CreateTrustMarkType(ctx, resource.TrustMarkType{TMType: "https://tm/active", Active: true, Added: now}, attribution("t9")); err != nil {
			t.Fatal(err)
		}
		active, err := s.ActiveTrustMarkTypes(ctx)
		if err != nil || !slices.Equal(active, []string{"https://tm/active"}) {
			t.Errorf("active types: %v %v, want only tm/active (tm/a was deactivated, tm/b never active)", active, err)
		}
	})

	t.Run("users, keys and sessions", func(t *testing.T) {
		alice, err := s.CreateUser(ctx, auth.User{Username: "alice", IsStaff: true, IsActive: true, PasswordHash: "h", DateJoined: now})
		if err != nil || alice.ID < 1 {
			t.Fatalf("create user: %+v %v", alice, err)
		}
		_, err = s.CreateUser(ctx, auth.User{Username: "alice", DateJoined: now})
		is(apperr.Exists, err, "a taken username")
		if got, err := s.UserByUsername(ctx, "alice"); err != nil || got.ID != alice.ID || !got.IsStaff || got.PasswordHash != "h" {
			t.Errorf("read user: %+v %v", got, err)
		}
		_, err = s.UserByUsername(ctx, "bob")
		is(apperr.NotFound, err, "an unknown user")

		expires := now.Add(time.Hour)
		key := auth.APIKey{Hash: "hash-1", Prefix: "p", Name: "ci", Username: "alice", UserID: alice.ID, Tenant: "acme", IsActive: true, CreatedAt: now, ExpiresAt: &expires}
		if err := s.CreateAPIKey(ctx, key); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateAPIKey(ctx, key); err != nil {
			t.Errorf("the same key stored again (a retried write): %v", err)
		}
		other := key
		other.Name = "another"
		is(apperr.Exists, s.CreateAPIKey(ctx, other), "another key with a stored hash")
		if err := s.TouchAPIKey(ctx, key.Hash, now, now.Add(-time.Minute)); err != nil {
			t.Fatal(err)
		}
		got, err := s.APIKeyByHash(ctx, key.Hash)
		if err != nil || got.Tenant != "acme" || got.ExpiresAt == nil || !got.ExpiresAt.Equal(expires) || got.LastUsedAt == nil || !got.LastUsedAt.Equal(now) {
			t.Errorf("read key: %+v %v", got, err)
		}
		if err := s.TouchAPIKey(ctx, key.Hash, now.Add(time.Second), now.Add(-time.Minute)); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.APIKeyByHash(ctx, key.Hash); got.LastUsedAt == nil || !got.LastUsedAt.Equal(now) {
			t.Errorf("a touch within the interval moved last use to %v", got.LastUsedAt)
		}

		session := auth.Session{Hash: "session-1", Username: "alice", UserID: alice.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := s.CreateSession(ctx, session); err != nil {
			t.Fatal(err)
		}
		if got, err := s.SessionByHash(ctx, session.Hash); err != nil || got.Username != "alice" || !got.ExpiresAt.Equal(session.ExpiresAt) {
			t.Errorf("read session: %+v %v", got, err)
		}
		if err := s.DeleteSession(ctx, session.Hash); err != nil {
			t.Fatal(err)
		}
		_, err = s.SessionByHash(ctx, session.Hash)
		is(apperr.NotFound, err, "a deleted session")
	})

	t.Run("login failures", func(t *testing.T) {
		window := 15 * time.Minute
		for i := range 3 {
			if err := s.RecordLoginFailure(ctx, "carol", now.Add(time.Duration(i)*time.Second), window); err != nil {
				t.Fatal(err)
			}
		}
		count, end, err := s.LoginFailures(ctx, "carol")
		if err != nil || count != 3 || !end.Equal(now.Add(window)) {
			t.Errorf("failures %d until %v, %v; want 3 until %v", count, end, err, now.Add(window))
		}
		if err := s.RecordLoginFailure(ctx, "carol", now.Add(window), window); err != nil {
			t.Fatal(err)
		}
		if count, end, _ := s.LoginFailures(ctx, "carol"); count != 1 || !end.Equal(now.Add(2*window)) {
			t.Errorf("after the window: %d until %v, want 1 until %v", count, end, now.Add(2*window))
		}
		if err := s.ClearLoginFailures(ctx, "carol"); err != nil {
			t.Fatal(err)
		}
		if count, _, err := s.LoginFailures(ctx, "carol"); err != nil || count != 0 {
			t.Errorf("after clearing: %d, %v", count, err)
		}
	})
}
