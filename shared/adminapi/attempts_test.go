package adminapi

import (
	"net/http"
	"testing"

	"github.com/inmor/inmor-serverless/shared/memstore"

	"github.com/inmor/inmor-serverless/shared/function"

	"github.com/inmor/inmor-serverless/shared/auth"
	"github.com/inmor/inmor-serverless/shared/resource"
)

// TestFailedWritesAreRecordedAsAttempts: every state-changing request of an
// identified caller that fails leaves one attempt; successes, reads and
// unauthenticated requests leave none.
func TestFailedWritesAreRecordedAsAttempts(t *testing.T) {
	admin := authn{p: auth.Principal{UserID: 7, Username: "alice", IsStaff: true, AuthMethod: auth.MethodAPIKey, Tenant: "acme", Scope: auth.ScopeAdmin}}
	reader := authn{p: auth.Principal{UserID: 8, Username: "bob", AuthMethod: auth.MethodAPIKey, Tenant: "acme", Scope: auth.ScopeAuditRead}}
	cases := []struct {
		name                 string
		caller               authn
		method, target, body string
		status               int
		attempt              *resource.Attempt // nil: none recorded
	}{
		{"created", admin, "POST", "/api/v1/trustmarktypes", `{"tmtype":"https://x"}`, 201, nil},
		{"invalid create", admin, "POST", "/api/v1/trustmarktypes", `{"valid_for":0}`, 422,
			&resource.Attempt{ResourceType: resource.TypeTrustMarkType, Attribution: resource.Attribution{Operation: resource.OpCreate, ResponseCode: 422}}},
		{"update of a missing type", admin, "PUT", "/api/v1/trustmarktypes/42", `{"active":false}`, 404,
			&resource.Attempt{ResourceType: resource.TypeTrustMarkType, ResourceID: 42, Attribution: resource.Attribution{Operation: resource.OpUpdate, ResponseCode: 404}}},
		{"update with a bad id", admin, "PUT", "/api/v1/trustmarktypes/x", `{"active":false}`, 422,
			&resource.Attempt{ResourceType: resource.TypeTrustMarkType, Attribution: resource.Attribution{Operation: resource.OpUpdate, ResponseCode: 422}}},
		{"scope forbids", reader, "POST", "/api/v1/trustmarktypes", `{"tmtype":"https://y"}`, 403,
			&resource.Attempt{ResourceType: resource.TypeTrustMarkType, Attribution: resource.Attribution{Operation: resource.OpCreate, ResponseCode: 403}}},
		{"unauthenticated", nobody, "POST", "/api/v1/trustmarktypes", `{"tmtype":"https://z"}`, 401, nil},
		{"failed read", admin, "GET", "/api/v1/trustmarktypes/99", "", 404, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hs, store, _ := handlers(c.caller)
			rec := serve(hs[function.TrustMarkTypes], c.method, c.target, c.body)
			if rec.Code != c.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, c.status, rec.Body)
			}
			if c.attempt == nil {
				if len(store.Attempts()) != 0 {
					t.Fatalf("recorded %+v, want nothing", store.Attempts())
				}
				return
			}
			if len(store.Attempts()) != 1 {
				t.Fatalf("recorded %d attempts, want 1", len(store.Attempts()))
			}
			got := store.Attempts()[0]
			if got.ResourceType != c.attempt.ResourceType || got.ResourceID != c.attempt.ResourceID ||
				got.Attribution.Operation != c.attempt.Attribution.Operation || got.Attribution.ResponseCode != c.attempt.Attribution.ResponseCode {
				t.Errorf("attempt %+v, want %+v", got, *c.attempt)
			}
			if got.Attribution.Username != c.caller.p.Username || got.Attribution.Path != c.target || got.Attribution.Method != c.method ||
				got.RequestID == "" || got.Attribution.CommittedAt.IsZero() {
				t.Errorf("attempt attribution %+v", got.Attribution)
			}
		})
	}
}

// TestAPanicIsAnswered500AndRecorded: a handler that panics answers 500
// without leaking the panic, and the failure is recorded.
func TestAPanicIsAnswered500AndRecorded(t *testing.T) {
	store := &memstore.Store{}
	route := Route{Method: "POST", Path: "/p", Operation: resource.OpCreate, ResourceType: resource.TypeSubordinate}
	h := recordFailures(store, route, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }))
	rec := serve(h, "POST", "/p", "{}")
	if rec.Code != 500 || rec.Body.String() != `{"detail":"Internal server error"}` {
		t.Errorf("answer %d %s", rec.Code, rec.Body)
	}
	if len(store.Attempts()) != 1 || store.Attempts()[0].Attribution.ResponseCode != 500 || store.Attempts()[0].ResourceType != resource.TypeSubordinate {
		t.Errorf("attempts %+v", store.Attempts())
	}
}
