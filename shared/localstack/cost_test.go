package localstack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/inmor/inmor-serverless/shared/app"
	appaudit "github.com/inmor/inmor-serverless/shared/app/audit"
	"github.com/inmor/inmor-serverless/shared/audit"
	"github.com/inmor/inmor-serverless/shared/auditstream"
	"github.com/inmor/inmor-serverless/shared/auth"
	"github.com/inmor/inmor-serverless/shared/dynamo"
	"github.com/inmor/inmor-serverless/shared/dynamotest"
	"github.com/inmor/inmor-serverless/shared/localstack"
	"github.com/inmor/inmor-serverless/shared/resource"
)

// meteredStack starts a stack whose API functions count their DynamoDB
// requests, leaving out the auth table's (authentication lookups).
func meteredStack(t *testing.T, configure ...func(*localstack.Options)) (*localstack.Stack, *dynamo.Meter) {
	t.Helper()
	var meter *dynamo.Meter
	s := startStack(t, append([]func(*localstack.Options){func(o *localstack.Options) {
		meter = dynamo.NewMeter(app.ConfigFromEnv(o.Getenv).AuthTable)
		o.DynamoDBOptions = []func(*dynamodb.Options){meter.Option()}
	}}, configure...)...)
	return s, meter
}

func TestCostOfWrites(t *testing.T) {
	s, meter := meteredStack(t)
	meter.Reset()
	mustStatus(t, call(t, s, http.MethodPost, "/api/v1/trustmarktypes", `{"tmtype":"`+tmtype+`"}`), http.StatusCreated)
	create := meter.Usage()
	meter.Reset()
	mustStatus(t, call(t, s, http.MethodPut, "/api/v1/trustmarktypes/1", `{"active":false}`), http.StatusOK)
	update := meter.Usage()
	t.Logf("create: %d requests %v; update: %d requests %v", create.Requests, create.ByOperation, update.Requests, update.ByOperation)
	if create.Requests > 2 {
		t.Errorf("create made %d DynamoDB requests, want at most 2: %v", create.Requests, create.ByOperation)
	}
	if update.Requests > 3 {
		t.Errorf("update made %d DynamoDB requests, want at most 3: %v", update.Requests, update.ByOperation)
	}
}

func TestCostOfAuditPerRecord(t *testing.T) {
	meter := dynamo.NewMeter()
	var stats []int
	s := startStack(t, func(o *localstack.Options) {
		o.ManualPolling = true
		cfg := app.ConfigFromEnv(o.Getenv)
		client := dynamo.NewClient(dynamo.LocalConfig(dynamotest.Endpoint()), meter.Option())
		o.Audit = func(built localstack.StreamHandler) localstack.StreamHandler {
			handler := built.(auditstream.Handler)
			cfg.AttributionKey = handler.AttributionKey
			d := app.Deps{Client: client, Config: cfg, LogSigner: handler.Journal.(*dynamo.Journal).Signer, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
			return countingAudit{appaudit.New(d), &stats}
		}
	})
	// Ten changes of every kind: types, marks (issue, revoke) and
	// subordinates (register, update), plus one failed attempt.
	const changes = 10
	mustStatus(t, call(t, s, http.MethodPost, "/api/v1/trustmarktypes", `{"tmtype":"https://example.org/tm/1"}`), http.StatusCreated)
	mustStatus(t, call(t, s, http.MethodPost, "/api/v1/trustmarktypes", `{"tmtype":"https://example.org/tm/2"}`), http.StatusCreated)
	mustStatus(t, call(t, s, http.MethodPost, "/api/v1/trustmarks", `{"tmt":1,"domain":"https://rp1.example.org"}`), http.StatusCreated)
	mustStatus(t, call(t, s, http.MethodPost, "/api/v1/trustmarks", `{"tmt":2,"domain":"https://rp1.example.org"}`), http.StatusCreated)
	mustStatus(t, call(t, s, http.MethodPut, "/api/v1/trustmarks/1", `{"active":false}`), http.StatusOK)
	mustStatus(t, call(t, s, http.MethodPut, "/api/v1/trustmarks/2", `{"additional_claims":{"ref":"x"}}`), http.StatusOK)
	sub := `{"entityid":"https://rp1.example.org","metadata":{},"forced_metadata":{},"jwks":` + sampleJWKS + `}`
	mustStatus(t, call(t, s, http.MethodPost, "/api/v1/subordinates", sub), http.StatusCreated)
	mustStatus(t, call(t, s, http.MethodPost, "/api/v1/subordinates/1", `{"metadata":{"a":1},"forced_metadata":{},"jwks":`+sampleJWKS+`}`), http.StatusOK)
	mustStatus(t, call(t, s, http.MethodPost, "/api/v1/subordinates/1/renew", ``), http.StatusOK)
	mustStatus(t, call(t, s, http.MethodPost, "/api/v1/subordinates", sub), http.StatusForbidden)
	if n, err := s.Poller.PollOnce(context.Background()); err != nil || n == 0 {
		t.Fatalf("poll: %d records, %v", n, err)
	}
	// The auth table's stream's batch (the key's last use) appends nothing.
	if len(stats) == 0 || stats[0] != changes || slices.ContainsFunc(stats[1:], func(n int) bool { return n != 0 }) {
		t.Fatalf("batches appended %v, want one batch of %d entries", stats, changes)
	}
	u := meter.Usage()
	perRecord := float64(u.Requests) / changes
	t.Logf("audit: %d requests for %d changes (%.2f per record) %v", u.Requests, changes, perRecord, u.ByOperation)
	if perRecord > 3 {
		t.Errorf("audit made %.2f requests per record, want at most 3", perRecord)
	}
}

// sampleJWKS is a public key set for subordinates.
const sampleJWKS = `{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}`

// countingAudit records how many entries each batch appended.
type countingAudit struct {
	handler  auditstream.Handler
	appended *[]int
}

func (c countingAudit) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	resp, stats, err := c.handler.Process(ctx, payload)
	if err != nil {
		return nil, err
	}
	*c.appended = append(*c.appended, stats.Appended)
	return json.Marshal(resp)
}

// syntheticEntries makes n varied entries: three resource types, every
// action, auth methods, two tenants, two users, some failures.
func syntheticEntries(n int) []*audit.Entry {
	types := []string{string(resource.TypeTrustMarkType), string(resource.TypeTrustMark), string(resource.TypeSubordinate)}
	events := map[string]string{
		string(resource.TypeTrustMarkType): audit.EventTrustMarkTypeUpdated,
		string(resource.TypeTrustMark):     audit.EventTrustMarkRenewed,
		string(resource.TypeSubordinate):   audit.EventMetadataUpdate,
	}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	entries := make([]*audit.Entry, n)
	for i := range entries {
		rt := types[i%3]
		tenant, user := "default", "alice"
		if i%4 == 0 {
			tenant, user = "acme", "bob"
		}
		id := int64(i%10 + 1)
		e := &audit.Entry{
			Timestamp: start.Add(time.Duration(i) * time.Minute), AuthMethod: auth.MethodAPIKey, Tenant: &tenant, Username: &user,
			Action: audit.ActionUpdate, ResourceType: rt, ResourceID: &id, ResourceRepr: fmt.Sprintf("https://example.org/%d", i),
			Success: true, EventType: events[rt], Diff: map[string]any{}, SourceEventID: fmt.Sprintf("import-%d", i),
		}
		switch {
		case i%10 == 3:
			e.Success, e.EventType, e.Diff = false, "", nil
		case i%10 == 7:
			e.AuthMethod, e.Username, e.Tenant = audit.AuthOutOfBand, nil, nil
		case i%5 == 1:
			e.AuthMethod = auth.MethodSession
		}
		entries[i] = e
	}
	return entries
}

// TestCostOfAuditLogPages: a page costs the same at two table sizes, 10
// times apart: at most 2 requests and limit+1 items (the count read from a
// counter) for no filter, any one equality filter, and one resource's
// history; a cursor page likewise; combined filters examine a bounded number
// of items and say when their count is an upper bound.
func TestCostOfAuditLogPages(t *testing.T) {
	for _, size := range []int{200, 2000} {
		t.Run(fmt.Sprintf("%d entries", size), func(t *testing.T) {
			allowInconsistentLog(t, "it imports synthetic entries of resources that do not exist")
			s, meter := meteredStack(t)
			journal := &dynamo.Journal{Client: dynamo.NewClient(dynamo.LocalConfig(dynamotest.Endpoint())), Table: s.Config.AuditTable}
			if err := journal.Import(context.Background(), syntheticEntries(size)); err != nil {
				t.Fatal(err)
			}
			cheap := []string{
				"", "resource_type=TrustMark", "action=UPDATE", "event_type=metadata_update", "auth_method=session",
				"tenant=acme", "success=false", "success=true", "username=bob", "resource_type=Subordinate&resource_id=3",
			}
			for _, filter := range cheap {
				meter.Reset()
				page := auditQuery(t, s, "?limit=20&"+filter)
				u := meter.Usage()
				t.Logf("%s: %d requests, %d items read, count %d (exact %v)", filter, u.Requests, u.ItemsRead, page.Count, page.CountExact)
				if !page.CountExact || len(page.Items) != min(20, page.Count) || (page.NextCursor != nil) != (page.Count > 20) {
					t.Errorf("%s: %d items, count %d exact %v, next %v", filter, len(page.Items), page.Count, page.CountExact, page.NextCursor)
				}
				if u.Requests > 2 || u.ItemsRead > 21 {
					t.Errorf("%s: %d requests reading %d items, want at most 2 and 21", filter, u.Requests, u.ItemsRead)
				}
				if page.NextCursor == nil {
					continue
				}
				meter.Reset()
				next := auditQuery(t, s, "?limit=20&"+filter+"&cursor="+url.QueryEscape(*page.NextCursor))
				u = meter.Usage()
				if u.Requests > 2 || u.ItemsRead > 21 || len(next.Items) == 0 || next.Count != page.Count {
					t.Errorf("%s, page 2: %d requests reading %d items, %d items, count %d", filter, u.Requests, u.ItemsRead, len(next.Items), next.Count)
				}
			}
			for _, filter := range []string{"resource_type=TrustMark&tenant=acme&success=true", "q=example.org/1", "username=bob&action=UPDATE", "since=2026-01-01T10:00:00Z&resource_type=Subordinate"} {
				meter.Reset()
				page := auditQuery(t, s, "?limit=20&"+filter)
				u := meter.Usage()
				t.Logf("%s: %d requests, %d items read, %d items, count %d (exact %v)", filter, u.Requests, u.ItemsRead, len(page.Items), page.Count, page.CountExact)
				if u.ItemsRead > dynamo.MaxExaminedPerPage+30 {
					t.Errorf("%s examined %d items, more than the bound %d", filter, u.ItemsRead, dynamo.MaxExaminedPerPage)
				}
			}
		})
	}
}

// auditList is a page of the audit log with its paging fields.
type auditList struct {
	Items      []map[string]any `json:"items"`
	Count      int              `json:"count"`
	CountExact bool             `json:"count_exact"`
	NextCursor *string          `json:"next_cursor"`
}

func auditQuery(t *testing.T, s *localstack.Stack, query string) auditList {
	t.Helper()
	r := call(t, s, http.MethodGet, "/api/v1/auditlog"+query, "")
	mustStatus(t, r, http.StatusOK)
	var p auditList
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// countingSigner counts signatures.
type countingSigner struct {
	inner resource.Signer
	n     int
}

func (c *countingSigner) Sign(ctx context.Context, typ string, claims map[string]any) (string, error) {
	c.n++
	return c.inner.Sign(ctx, typ, claims)
}

func TestCostOfIssuingATrustMark(t *testing.T) {
	s, _ := meteredStack(t)
	mustStatus(t, call(t, s, http.MethodPost, "/api/v1/trustmarktypes", `{"tmtype":"`+tmtype+`"}`), http.StatusCreated)
	meter := dynamo.NewMeter()
	store := &dynamo.Resources{Client: dynamo.NewClient(dynamo.LocalConfig(dynamotest.Endpoint()), meter.Option()), Table: s.Config.ResourcesTable}
	signer := &countingSigner{inner: s.Signer}
	svc := resource.TrustMarks{Store: store, Types: store, Signer: signer, Issuer: "https://ta.example.org"}
	ctx := context.Background()
	for i, domain := range []string{"https://rp1.example.org", "https://rp2.example.org"} {
		meter.Reset()
		signer.n = 0
		a := resource.Attribution{UserID: 1, Username: "admin", AuthMethod: auth.MethodAPIKey, Tenant: auth.DefaultTenant, RequestID: fmt.Sprintf("cost-%d", i)}
		if _, err := svc.Create(ctx, resource.NewTrustMark{TMTID: 1, Domain: domain}, a); err != nil {
			t.Fatal(err)
		}
		u := meter.Usage()
		t.Logf("issue trust mark %d: %d requests %v, %d signature(s)", i+1, u.Requests, u.ByOperation, signer.n)
		if u.Requests > 3 || signer.n != 1 {
			t.Errorf("issuing made %d requests and %d signatures, want at most 3 and exactly 1", u.Requests, signer.n)
		}
	}
}

// TestCountIsExactWhenTheResultEndsOnThePage: a filter no counter serves
// gives an upper bound while more may follow, and the exact count as soon
// as its results end on the page, by offset or by cursor.
func TestCountIsExactWhenTheResultEndsOnThePage(t *testing.T) {
	allowInconsistentLog(t, "it imports synthetic entries of resources that do not exist")
	s, _ := meteredStack(t)
	journal := &dynamo.Journal{Client: dynamo.NewClient(dynamo.LocalConfig(dynamotest.Endpoint())), Table: s.Config.AuditTable}
	if err := journal.Import(context.Background(), syntheticEntries(200)); err != nil {
		t.Fatal(err)
	}
	if p := auditQuery(t, s, "?until=2000-01-01T00:00:00Z"); len(p.Items) != 0 || p.Count != 0 || !p.CountExact || p.NextCursor != nil {
		t.Errorf("nothing before 2000: %d items, count %d exact %v", len(p.Items), p.Count, p.CountExact)
	}
	// resource_type=TrustMark and tenant=acme: i%3 == 1 and i%4 == 0, 17 of
	// the 200 entries; the acme index holds 50, more than a first page reads.
	const combined = "resource_type=TrustMark&tenant=acme"
	first := auditQuery(t, s, "?limit=3&"+combined)
	if len(first.Items) != 3 || first.CountExact || first.Count < 17 || first.NextCursor == nil {
		t.Fatalf("first page: %d items, count %d exact %v", len(first.Items), first.Count, first.CountExact)
	}
	cursor, pages, seen := first.NextCursor, 1, 3
	for cursor != nil {
		p := auditQuery(t, s, "?limit=5&"+combined+"&cursor="+url.QueryEscape(*cursor))
		cursor, pages, seen = p.NextCursor, pages+1, seen+len(p.Items)
		if cursor == nil && (p.Count != 17 || !p.CountExact) {
			t.Errorf("last page by cursor: count %d exact %v, want 17, exact", p.Count, p.CountExact)
		}
		if pages > 10 {
			t.Fatal("the cursors do not end")
		}
	}
	if seen != 17 {
		t.Errorf("the cursors gave %d entries, want 17", seen)
	}
	if p := auditQuery(t, s, "?limit=3&offset=15&"+combined); len(p.Items) != 2 || p.Count != 17 || !p.CountExact || p.NextCursor != nil {
		t.Errorf("last page by offset: %d items, count %d exact %v", len(p.Items), p.Count, p.CountExact)
	}
}
