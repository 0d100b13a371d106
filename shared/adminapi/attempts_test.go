package adminapi

import (
	"net/http"
	"testing"

	"github.com/inmor/inmor-serverless/shared/memstore"

	"github.com/inmor/inmor-serverless/shared/function"

	"github.com/inmor/inmor-serverless/shared/apperr"
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

// TestAttemptsRecordWhatWasTried: an attempt carries the message answered,
// the request's query and body (redacted) and, when the request named no
// id, the resource its body names.
func TestAttemptsRecordWhatWasTried(t *testing.T) {
	admin := authn{p: auth.Principal{UserID: 7, Username: "alice", IsStaff: true, AuthMethod: auth.MethodAPIKey, Tenant: "acme", Scope: auth.ScopeAdmin}}
	hs, store, _ := handlers(admin)
	h := hs[function.TrustMarkTypes]
	if rec := serve(h, "POST", "/api/v1/trustmarktypes", `{"tmtype":"https://tm.example/dup"}`); rec.Code != 201 {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	cases := []struct {
		name, method, target, body string
		status                     int
		error, repr, request       string
	}{
		{"duplicate tmtype", "POST", "/api/v1/trustmarktypes?dry=1", `{"tmtype":"https://tm.example/dup","valid_for":10,"password":"hunter2"}`, 403,
			"TrustMarkType exists already.", "https://tm.example/dup",
			`{"body":{"password":"[redacted]","tmtype":"https://tm.example/dup","valid_for":10},"query":{"dry":"1"}}`},
		{"invalid field", "POST", "/api/v1/trustmarktypes", `{"tmtype":"https://tm.example/x","valid_for":"ten"}`, 422,
			"body.valid_for: Input should be a valid integer", "https://tm.example/x", `{"body":{"tmtype":"https://tm.example/x","valid_for":"ten"}}`},
		{"not JSON", "POST", "/api/v1/trustmarktypes", `tmtype=https://x&password=hunter2`, 422,
			"", "", `{"body":"[not JSON: 33 bytes]"}`},
		{"update by id names no repr", "PUT", "/api/v1/trustmarktypes/42", `{"active":false}`, 404,
			"TrustMarkType could not be found.", "", `{"body":{"active":false}}`},
		{"no body", "PUT", "/api/v1/trustmarktypes/43", ``, 404, "TrustMarkType could not be found.", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := len(store.Attempts())
			rec := serve(h, c.method, c.target, c.body)
			if rec.Code != c.status || len(store.Attempts()) != n+1 {
				t.Fatalf("status %d (want %d), %d attempts recorded: %s", rec.Code, c.status, len(store.Attempts())-n, rec.Body)
			}
			got := store.Attempts()[n]
			if c.error != "" && got.Error != c.error || got.Error == "" {
				t.Errorf("error %q, want %q", got.Error, c.error)
			}
			if got.ResourceRepr != c.repr || got.Request != c.request {
				t.Errorf("repr %q request %s\nwant %q %s", got.ResourceRepr, got.Request, c.repr, c.request)
			}
		})
	}
}

// TestCSRFRefusalIsRecorded: a session write refused by the CSRF check is
// answered as before (403, Inmor's body) and recorded as a failed attempt
// of the session's user, with the refusal as its error and the body it
// sent, which the handler never read.
func TestCSRFRefusalIsRecorded(t *testing.T) {
	session := auth.Principal{UserID: 9, Username: "carol", IsStaff: true, AuthMethod: auth.MethodSession, Tenant: "default", Scope: auth.ScopeAdmin}
	refused := authn{p: session, err: apperr.E(apperr.Op("auth.CheckCSRF"), apperr.CSRF, "CSRF token missing.")}
	hs, store, _ := handlers(refused)
	rec := serve(hs[function.Subordinates], "POST", "/api/v1/subordinates", `{"entityid":"https://rp.example","jwks":{"keys":[{"kty":"EC","d":"secret","x":"X"}]}}`)
	if rec.Code != 403 || rec.Body.String() != `{"detail":"CSRF check Failed: CSRF token missing."}` {
		t.Fatalf("answer %d %s", rec.Code, rec.Body)
	}
	if len(store.Attempts()) != 1 {
		t.Fatalf("%d attempts recorded, want 1", len(store.Attempts()))
	}
	got := store.Attempts()[0]
	if got.Attribution.Username != "carol" || got.Attribution.AuthMethod != auth.MethodSession || got.Attribution.ResponseCode != 403 ||
		got.Attribution.Operation != resource.OpCreate || got.ResourceType != resource.TypeSubordinate ||
		got.Error != "CSRF check Failed: CSRF token missing." || got.ResourceRepr != "https://rp.example" ||
		got.Request != `{"body":{"entityid":"https://rp.example","jwks":{"keys":[{"d":"[redacted]","kty":"EC","x":"X"}]}}}` {
		t.Errorf("attempt %+v", got)
	}
	t.Run("a refused read is not recorded", func(t *testing.T) {
		hs, store, _ := handlers(refused)
		serve(hs[function.Subordinates], "POST", "/api/v1/trustmarks/list", `{}`)
		serve(hs[function.TrustMarks], "POST", "/api/v1/trustmarks/list", `{}`)
		if len(store.Attempts()) != 0 {
			t.Errorf("recorded %+v", store.Attempts())
		}
	})
}
