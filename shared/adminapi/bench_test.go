package adminapi

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/inmor/inmor-serverless/shared/audit"
	"github.com/inmor/inmor-serverless/shared/auth"
	"github.com/inmor/inmor-serverless/shared/dynamo"
)

// fakeDynamoDB answers the audit log reader's requests from memory, so a
// benchmark times only this project's code.
type fakeDynamoDB struct {
	items []map[string]types.AttributeValue
	count int
}

func (f *fakeDynamoDB) GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	return &dynamodb.GetItemOutput{Item: map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "count#"}, "n": &types.AttributeValueMemberN{Value: fmt.Sprint(f.count)},
	}}, nil
}

func (f *fakeDynamoDB) BatchGetItem(context.Context, *dynamodb.BatchGetItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	return &dynamodb.BatchGetItemOutput{}, nil
}

func (f *fakeDynamoDB) Query(_ context.Context, in *dynamodb.QueryInput, _ ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	n := min(int(*in.Limit), len(f.items))
	return &dynamodb.QueryOutput{Items: f.items[:n], Count: int32(n), ScannedCount: int32(n), LastEvaluatedKey: f.items[n-1]}, nil
}

// benchItems are index items as DynamoDB returns them: keys and a summary
// of an update with a small diff (about 700 bytes).
func benchItems(n int) []map[string]types.AttributeValue {
	items := make([]map[string]types.AttributeValue, n)
	for i := range items {
		user, tenant, endpoint, method, rid := "alice", "default", "/api/v1/trustmarks/7", "PUT", "req-123456"
		id := int64(7)
		code := 200
		e := audit.Entry{
			ID: int64(1000 - i), Timestamp: time.Date(2026, 3, 1, 12, 0, i, 0, time.UTC), UserID: &id, Username: &user,
			AuthMethod: auth.MethodAPIKey, Tenant: &tenant, RequestID: &rid, Action: audit.ActionUpdate, ResourceType: "TrustMark",
			ResourceID: &id, ResourceRepr: "https://rp.example.org", Endpoint: &endpoint, HTTPMethod: &method, ResponseCode: &code,
			Success: true, EventType: audit.EventTrustMarkUpdated,
			Diff: map[string]any{"additional_claims": map[string]any{"changed": map[string]any{"ref": map[string]any{"old": "a", "new": "b"}}}},
		}
		encoded, err := e.Encode()
		if err != nil {
			panic(err)
		}
		items[i] = map[string]types.AttributeValue{
			"pk":      &types.AttributeValueMemberS{Value: fmt.Sprintf("entry#%020d", e.ID)},
			"feed":    &types.AttributeValueMemberS{Value: "all"},
			"sort":    &types.AttributeValueMemberS{Value: audit.SortKey(&e)},
			"summary": &types.AttributeValueMemberS{Value: encoded.Summary},
		}
	}
	return items
}

func benchmarkAuditPage(b *testing.B, limit int) {
	fake := &fakeDynamoDB{items: benchItems(limit + 1), count: 5000}
	cursors, _ := audit.NewCursorCodec([]byte("bench"))
	admin := authn{p: auth.Principal{UserID: 1, Username: "admin", IsSuperuser: true, Scope: auth.ScopeAdmin, Tenant: "default"}}
	h := NewAuditQueryHandler(&dynamo.AuditLog{Client: fake, Table: "audit"}, nil, admin, cursors, stubPages())
	target := fmt.Sprintf("/api/v1/auditlog?limit=%d", limit)
	// The request log line is formatted as in Lambda, but not printed
	// among the results.
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}

// BenchmarkAuditLogPage20 times the query handler's own CPU for a page of 20.
func BenchmarkAuditLogPage20(b *testing.B) { benchmarkAuditPage(b, 20) }

// BenchmarkAuditLogPage100 times the query handler's own CPU for a page of 100.
func BenchmarkAuditLogPage100(b *testing.B) { benchmarkAuditPage(b, 100) }
