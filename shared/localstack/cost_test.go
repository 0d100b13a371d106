package localstack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/inmor/inmor-serverless/shared/audit"
	"github.com/inmor/inmor-serverless/shared/auditstream"
	"github.com/inmor/inmor-serverless/shared/dynamo"
	"github.com/inmor/inmor-serverless/shared/dynamotest"
	"github.com/inmor/inmor-serverless/shared/lambdas"
	"github.com/inmor/inmor-serverless/shared/localstack"
	"github.com/inmor/inmor-serverless/shared/resource"
)

// meteredStack starts a stack whose API functions count their DynamoDB
// requests, leaving out the auth table's (authentication lookups).
func meteredStack(t *testing.T, configure ...func(*localstack.Options)) (*localstack.Stack, *dynamo.Meter) {
	t.Helper()
	var meter *dynamo.Meter
	s := startStack(t, append([]func(*localstack.Options){func(o *localstack.Options) {
		meter = dynamo.NewMeter(lambdas.ConfigFromEnv(o.Getenv).AuthTable)
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
		o.PollInterval = time.Hour
		cfg := lambdas.ConfigFromEnv(o.Getenv)
		client := dynamo.NewClient(dynamo.LocalConfig(dynamotest.Endpoint()), meter.Option())
		o.Audit = func(localstack.StreamHandler) localstack.StreamHandler {
			return countingAudit{lambdas.Audit(client, cfg, slog.New(slog.NewTextHandler(io.Discard, nil))), &stats}
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
	if len(stats) != 1 || stats[0] != changes {
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

func TestCostOfAuditLogPage(t *testing.T) {
	s, meter := meteredStack(t)
	journal := &dynamo.Journal{Client: dynamo.NewClient(dynamo.LocalConfig(dynamotest.Endpoint())), Table: s.Config.AuditTable}
	const entries = 200
	ctx := context.Background()
	tenant := "default"
	for i := 0; i < entries; i++ {
		e := audit.Entry{
			Timestamp: time.Now(), AuthMethod: "api_key", Tenant: &tenant, Action: audit.ActionUpdate,
			ResourceType: string(resource.TypeTrustMarkType), ResourceRepr: "https://example.org/tm", Success: true,
			EventType: audit.EventTrustMarkTypeUpdated, Diff: map[string]any{}, SourceEventID: fmt.Sprintf("event-%d", i),
		}
		if i%4 == 0 {
			e.ResourceType, e.EventType = string(resource.TypeTrustMark), audit.EventTrustMarkUpdated
		}
		if _, err := journal.Append(ctx, &e); err != nil {
			t.Fatal(err)
		}
	}
	for _, query := range []string{"?limit=20", "?limit=20&offset=20", "?limit=20&resource_type=TrustMark", "?limit=20&event_type=trustmarktype_updated", "?limit=20&action=UPDATE"} {
		meter.Reset()
		r := call(t, s, http.MethodGet, "/api/v1/auditlog"+query, "")
		mustStatus(t, r, http.StatusOK)
		u := meter.Usage()
		var page auditPage
		if err := json.Unmarshal(r.Body, &page); err != nil {
			t.Fatal(err)
		}
		t.Logf("GET /auditlog%s with %d entries: %d requests, %d items read, count %d", query, entries, u.Requests, u.ItemsRead, page.Count)
		if len(page.Items) != 20 {
			t.Errorf("%s: %d items, want 20", query, len(page.Items))
		}
		offset := 0
		if query == "?limit=20&offset=20" {
			offset = 20
		}
		if u.Requests > 2 || u.ItemsRead > 21+offset {
			t.Errorf("%s: %d requests reading %d items, want at most 2 requests and %d items", query, u.Requests, u.ItemsRead, 21+offset)
		}
	}
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
		if _, err := svc.Create(ctx, resource.NewTrustMark{TMTID: 1, Domain: domain}, resource.Attribution{Username: "admin"}); err != nil {
			t.Fatal(err)
		}
		u := meter.Usage()
		t.Logf("issue trust mark %d: %d requests %v, %d signature(s)", i+1, u.Requests, u.ByOperation, signer.n)
		if u.Requests > 3 || signer.n != 1 {
			t.Errorf("issuing made %d requests and %d signatures, want at most 3 and exactly 1", u.Requests, signer.n)
		}
	}
}
