package adminapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/inmor/inmor-serverless/shared/memstore"
	"github.com/inmor/inmor-serverless/shared/mfa"
	"github.com/inmor/inmor-serverless/shared/signing"

	"github.com/inmor/inmor-serverless/shared/function"

	"github.com/inmor/inmor-serverless/shared/apperr"
	"github.com/inmor/inmor-serverless/shared/audit"
	"github.com/inmor/inmor-serverless/shared/auth"
	"github.com/inmor/inmor-serverless/shared/fedevents"
	"github.com/inmor/inmor-serverless/shared/resource"
)

// --- fakes -----------------------------------------------------------------

var testCursors, _ = audit.NewCursorCodec([]byte("test"))

// fakeReader is an in-memory audit.Reader that records its queries.
type fakeReader struct {
	entries map[int64]json.RawMessage
	queries []audit.Query
}

func (r *fakeReader) List(_ context.Context, q audit.Query) (audit.Page, error) {
	r.queries = append(r.queries, q)
	return audit.Page{Items: []json.RawMessage{}, CountExact: true}, nil
}

func (r *fakeReader) Get(_ context.Context, id int64) (json.RawMessage, error) {
	if e, ok := r.entries[id]; ok {
		return e, nil
	}
	return nil, apperr.E(apperr.NotFound)
}

// authn authenticates every request as p, or fails with err.
type authn struct {
	p   auth.Principal
	err error
}

func (a authn) Authenticate(*http.Request) (auth.Principal, error) { return a.p, a.err }

var nobody = authn{err: apperr.E(apperr.Unauthorized)}

// stubPages answers every page of the admin view with a small HTML page
// naming its operation (package adminui serves the real ones).
func stubPages() Pages {
	pages := Pages{}
	for _, r := range Routes {
		if r.Page {
			id := r.OperationID
			pages[id] = func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				_, _ = w.Write([]byte("<p>" + id + "</p>"))
			}
		}
	}
	return pages
}

// testSigner signs with a key generated once for the package's tests.
var testSigner = sync.OnceValue(func() resource.PublishingSigner {
	dir, err := os.MkdirTemp("", "adminapi-test")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	signer, err := signing.GenerateLocalFile(filepath.Join(dir, "key.json"))
	if err != nil {
		panic(err)
	}
	return signer
})

func handlers(a authn) (map[string]http.Handler, *memstore.Store, *fakeReader) {
	store, reader := &memstore.Store{}, &fakeReader{entries: map[int64]json.RawMessage{}}
	return map[string]http.Handler{
		function.TrustMarkTypes: NewTrustMarkTypesHandler(resource.TrustMarkTypes{Store: store}, a, store),
		function.TrustMarks: NewTrustMarksHandler(resource.TrustMarks{Store: store, Types: store, Signer: testSigner(), Issuer: "https://ta.example"},
			a, store),
		function.Subordinates: NewSubordinatesHandler(resource.Subordinates{Store: store, Signer: testSigner(), EntityID: "https://ta.example"},
			resource.Server{Store: store, Signer: testSigner(), Config: resource.ServerConfig{EntityID: "https://ta.example", TrustMarkIssuer: "https://ta.example"}},
			a, store),
		function.AuditQuery: NewAuditQueryHandler(reader, nil, a, testCursors, stubPages()),
		// Without stores: these tests reach no route that reads them.
		function.Federation: NewFederationHandler(fedevents.Publisher{}),
		function.Auth:       NewAuthHandler(auth.Logins{}, nil, &auth.Authenticator{}, SessionConfig{MFA: &mfa.Service{}}),
	}, store, reader
}

func serve(h http.Handler, method, target, body string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, strings.NewReader(body)))
	return rec
}

func decode(t *testing.T, rec *httptest.ResponseRecorder) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, rec.Body)
	}
	return v
}

var pathParam = regexp.MustCompile(`\{([^}]+)\}`)

// concrete fills a route's path parameters.
func concrete(path string) string { return pathParam.ReplaceAllString(path, "1") }

// --- the route table --------------------------------------------------------

// TestRoutesAreUnique: no two routes share a route key or an operation id.
func TestRoutesAreUnique(t *testing.T) {
	keys, ops := map[string]bool{}, map[string]bool{}
	for _, r := range Routes {
		if keys[r.Key()] {
			t.Errorf("route key %q appears twice", r.Key())
		}
		keys[r.Key()] = true
		if ops[r.OperationID] {
			t.Errorf("operation id %q appears twice", r.OperationID)
		}
		ops[r.OperationID] = true
		if r.Page {
			if r.Path != AdminPath && !strings.HasPrefix(r.Path, AdminPath+"/") || r.Function != function.AuditQuery || r.Public {
				t.Errorf("page %s must be under %s, served by %s, and not Public (it checks the session itself)", r.Key(), AdminPath, function.AuditQuery)
			}
		} else if r.Function == function.Federation {
			// The federation endpoints are public, at the origin's root.
			if !r.Public || strings.HasPrefix(r.Path, BasePath+"/") {
				t.Errorf("federation route %s must be public and outside %s", r.Key(), BasePath)
			}
		} else if !strings.HasPrefix(r.Path, BasePath+"/") {
			t.Errorf("route %s is not under %s", r.Key(), BasePath)
		}
	}
	if got := (Route{Method: "GET", Path: "/api/v1/auditlog"}).Key(); got != "GET /api/v1/auditlog" {
		t.Errorf("Key() = %q", got)
	}
}

// openAPIDoc is the OpenAPI document as a client reads it.
func openAPIDoc(t *testing.T) map[string]any {
	t.Helper()
	b, err := json.Marshal(OpenAPI())
	if err != nil {
		t.Fatalf("OpenAPI() does not encode: %v", err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// TestOpenAPIDescribesEveryRoute: one operation per API route and no other
// (the admin view's HTML pages are no part of the JSON API), with the
// route's operation id, parameters, body and responses.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	doc := openAPIDoc(t)
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.") {
		t.Errorf("openapi = %v, want 3.x", doc["openapi"])
	}
	paths, _ := doc["paths"].(map[string]any)
	documented := 0
	for path, item := range paths {
		for method := range item.(map[string]any) {
			documented++
			found := false
			for _, r := range Routes {
				found = found || (!r.Page && r.Path == path && strings.ToLower(r.Method) == method)
			}
			if !found {
				t.Errorf("OpenAPI documents %s %s, which no route serves", method, path)
			}
		}
	}
	apiRoutes := 0
	for _, r := range Routes {
		if !r.Page {
			apiRoutes++
		}
	}
	if documented != apiRoutes {
		t.Errorf("OpenAPI documents %d operations, the route table has %d API routes", documented, apiRoutes)
	}
	for _, r := range Routes {
		if r.Page {
			if _, ok := paths[r.Path]; ok {
				t.Errorf("OpenAPI documents the page %s", r.Path)
			}
			continue
		}
		t.Run(r.Key(), func(t *testing.T) {
			item, _ := paths[r.Path].(map[string]any)
			op, _ := item[strings.ToLower(r.Method)].(map[string]any)
			if op == nil {
				t.Fatalf("OpenAPI has no operation for %s", r.Key())
			}
			if op["operationId"] != r.OperationID {
				t.Errorf("operationId = %v, want %s", op["operationId"], r.OperationID)
			}
			// Parameters: exactly the route's, and every {name} of the path.
			type param struct{ name, in string }
			var got, want []param
			params, _ := op["parameters"].([]any)
			for _, p := range params {
				pm := p.(map[string]any)
				got = append(got, param{pm["name"].(string), pm["in"].(string)})
				if pm["in"] == "path" && pm["required"] != true {
					t.Errorf("path parameter %v is not required", pm["name"])
				}
				if _, ok := pm["schema"].(map[string]any)["type"]; !ok {
					t.Errorf("parameter %v has no schema type", pm["name"])
				}
			}
			for _, p := range r.Params {
				want = append(want, param{p.Name, p.In})
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("parameters = %v, want %v", got, want)
			}
			for _, m := range pathParam.FindAllStringSubmatch(r.Path, -1) {
				if !slices.Contains(got, param{m[1], "path"}) {
					t.Errorf("path parameter {%s} is not declared", m[1])
				}
			}
			for _, p := range got {
				if p.in == "path" && !strings.Contains(r.Path, "{"+p.name+"}") {
					t.Errorf("path parameter %s is not in the path %s", p.name, r.Path)
				}
			}
			// Responses: exactly the route's statuses.
			responses, _ := op["responses"].(map[string]any)
			var gotCodes, wantCodes []string
			for code := range responses {
				gotCodes = append(gotCodes, code)
			}
			for code := range r.Responses {
				wantCodes = append(wantCodes, strconv.Itoa(code))
			}
			sort.Strings(gotCodes)
			sort.Strings(wantCodes)
			if !slices.Equal(gotCodes, wantCodes) || len(gotCodes) == 0 {
				t.Errorf("responses = %v, want %v", gotCodes, wantCodes)
			}
			hasSuccess := false
			for _, code := range gotCodes {
				hasSuccess = hasSuccess || code[0] == '2'
			}
			if !hasSuccess {
				t.Errorf("no 2xx response documented")
			}
			// Authentication.
			_, secured := op["security"]
			if secured == r.Public {
				t.Errorf("security present = %v for a route with Public = %v", secured, r.Public)
			}
			if !r.Public {
				if _, ok := responses["401"]; !ok {
					t.Errorf("an authenticated route must document 401")
				}
			}
			// Body.
			_, hasBody := op["requestBody"]
			if hasBody != (r.Body != "") {
				t.Errorf("requestBody present = %v, route body %q", hasBody, r.Body)
			}
		})
	}
}

// TestOpenAPIRefsResolve: every $ref names a component schema.
func TestOpenAPIRefsResolve(t *testing.T) {
	doc := openAPIDoc(t)
	schemas, _ := doc["components"].(map[string]any)["schemas"].(map[string]any)
	if len(schemas) == 0 {
		t.Fatal("no component schemas")
	}
	refs := 0
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if k == "$ref" {
					refs++
					ref, _ := e.(string)
					name, ok := strings.CutPrefix(ref, "#/components/schemas/")
					if _, exists := schemas[name]; !ok || !exists {
						t.Errorf("%s: $ref %q does not resolve", path, ref)
					}
					continue
				}
				walk(path+"/"+k, e)
			}
		case []any:
			for i, e := range x {
				walk(path+"/"+strconv.Itoa(i), e)
			}
		}
	}
	walk("#", doc)
	if refs == 0 {
		t.Error("the document has no $ref at all")
	}
	// The schema names routes use are components too.
	for _, r := range Routes {
		for code, name := range r.Responses {
			if _, ok := schemas[name]; name != "" && !ok {
				t.Errorf("%s response %d names unknown schema %q", r.Key(), code, name)
			}
		}
		if _, ok := schemas[r.Body]; r.Body != "" && !ok {
			t.Errorf("%s body names unknown schema %q", r.Key(), r.Body)
		}
	}
}

// --- the function handlers --------------------------------------------------

// TestHandlersConstruct: each function's handler has a handler for each of
// its routes (newFunctionHandler panics otherwise).
func TestHandlersConstruct(t *testing.T) {
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("constructing the handlers panicked: %v", r)
		}
	}()
	if NewTrustMarkTypesHandler(resource.TrustMarkTypes{}, nobody, &memstore.Store{}) == nil || NewAuditQueryHandler(nil, nil, nobody, testCursors, stubPages()) == nil ||
		NewTrustMarksHandler(resource.TrustMarks{}, nobody, &memstore.Store{}) == nil || NewSubordinatesHandler(resource.Subordinates{}, resource.Server{}, nobody, &memstore.Store{}) == nil {
		t.Error("a constructor returned nil")
	}
}

// TestEveryRouteIsServed: each route, sent to its function's handler,
// reaches the route's handler (not the router's own 404/405): 401 without
// credentials, or 200 for the public OpenAPI document.
func TestEveryRouteIsServed(t *testing.T) {
	hs, _, _ := handlers(nobody)
	for _, r := range Routes {
		t.Run(r.Key(), func(t *testing.T) {
			h := hs[r.Function]
			if h == nil {
				t.Fatalf("no handler for function %q", r.Function)
			}
			rec := serve(h, r.Method, concrete(r.Path), "")
			if rec.Code == 404 || rec.Code == 405 {
				t.Fatalf("%s %s answered %d: the router does not know the route", r.Method, concrete(r.Path), rec.Code)
			}
			if r.Page {
				// Pages check the session themselves: the router hands
				// them every request.
				if rec.Code != 200 || rec.Body.String() != "<p>"+r.OperationID+"</p>" {
					t.Errorf("page answered %d %s, want its own handler", rec.Code, rec.Body)
				}
				return
			}
			if r.Public {
				// Without a body or a session: login fails validation, me
				// has no session, the events want a sub; the others answer.
				want := map[string]int{"login": 422, "me": 401, "getSubordinateEvents": 400, "postSubordinateEvents": 400,
					"loginMFA": 422, "mfaStatus": 401, "beginTOTP": 401, "confirmTOTP": 401, "removeTOTP": 401, "regenerateRecoveryCodes": 401,
					"loginWebAuthn": 422, "reauthenticate": 401, "beginWebAuthn": 401, "finishWebAuthn": 401, "removeWebAuthn": 401}[r.OperationID]
				if want == 0 {
					want = 200
				}
				if rec.Code != want {
					t.Errorf("public route answered %d, want %d: %s", rec.Code, want, rec.Body)
				}
				return
			}
			if rec.Code != 401 || !reflect.DeepEqual(decode(t, rec), map[string]any{"detail": "Unauthorized"}) {
				t.Errorf("unauthenticated call answered %d %s, want 401 {\"detail\": \"Unauthorized\"}", rec.Code, rec.Body)
			}
		})
	}
}

// TestOpenAPIRoute serves the document generated from the route table.
func TestOpenAPIRoute(t *testing.T) {
	hs, _, _ := handlers(nobody)
	rec := serve(hs[function.AuditQuery], "GET", BasePath+"/openapi.json", "")
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("openapi.json: %d %s", rec.Code, rec.Header())
	}
	if got := decode(t, rec); !reflect.DeepEqual(got, any(openAPIDoc(t))) {
		t.Error("the served document differs from OpenAPI()")
	}
}

// TestFunctionsServeOnlyTheirRoutes: a function answers 404 for the routes of
// another, and 405 for write methods on its read-only paths (the audit log is
// read-only).
func TestFunctionsServeOnlyTheirRoutes(t *testing.T) {
	hs, _, _ := handlers(nobody)
	cases := []struct {
		function, method, path string
		status                 int
		allow                  string
	}{
		{function.TrustMarkTypes, "GET", BasePath + "/auditlog", 404, ""},
		{function.TrustMarkTypes, "GET", BasePath + "/openapi.json", 404, ""},
		{function.AuditQuery, "GET", BasePath + "/trustmarktypes", 404, ""},
		{function.AuditQuery, "POST", BasePath + "/auditlog", 405, "GET"},
		{function.AuditQuery, "DELETE", BasePath + "/auditlog", 405, "GET"},
		{function.AuditQuery, "PUT", BasePath + "/auditlog/1", 405, "GET"},
		{function.AuditQuery, "PATCH", BasePath + "/auditlog/1", 405, "GET"},
		{function.AuditQuery, "DELETE", BasePath + "/auditlog/1", 405, "GET"},
		{function.AuditQuery, "POST", AdminAuditLogPath, 405, "GET"},
		{function.AuditQuery, "DELETE", AdminAuditLogPath + "1/change/", 405, "GET"},
		{function.AuditQuery, "PUT", AdminAuditLogPath + "1/change/", 405, "GET"},
		{function.AuditQuery, "PATCH", AdminAuditLogPath, 405, "GET"},
		{function.AuditQuery, "DELETE", AdminPath + "/login/", 405, "GET, POST"},
		{function.TrustMarkTypes, "GET", AdminAuditLogPath, 404, ""},
		{function.TrustMarkTypes, "DELETE", BasePath + "/trustmarktypes/1", 405, "GET, PUT"},
		{function.TrustMarkTypes, "GET", BasePath + "/trustmarktypes/1/", 404, ""},
	}
	for _, c := range cases {
		t.Run(c.function+" "+c.method+" "+c.path, func(t *testing.T) {
			rec := serve(hs[c.function], c.method, c.path, "")
			if rec.Code != c.status || rec.Header().Get("Allow") != c.allow {
				t.Errorf("%d Allow %q, want %d Allow %q", rec.Code, rec.Header().Get("Allow"), c.status, c.allow)
			}
		})
	}
}

// TestTrustMarkTypeRoutes exercises the TrustMarkType handlers end to end on
// an in-memory store.
func TestTrustMarkTypeRoutes(t *testing.T) {
	admin := authn{p: auth.Principal{UserID: 1, Username: "alice", IsStaff: true, AuthMethod: auth.MethodAPIKey, APIKeyName: "ci", Tenant: "acme", Scope: auth.ScopeAdmin}}
	hs, store, _ := handlers(admin)
	h := hs[function.TrustMarkTypes]
	steps := []struct {
		name, method, target, body string
		status                     int
		want                       any
	}{
		{"create with defaults", "POST", "/api/v1/trustmarktypes", `{"tmtype": "https://tm/a"}`, 201,
			map[string]any{"id": 1.0, "tmtype": "https://tm/a", "autorenew": true, "valid_for": 8760.0, "renewal_time": 48.0, "active": true}},
		{"create an existing tmtype answers 403 with the existing type, whatever the fields", "POST", "/api/v1/trustmarktypes",
			`{"tmtype": "https://tm/a", "valid_for": 5, "active": false}`, 403,
			map[string]any{"id": 1.0, "tmtype": "https://tm/a", "autorenew": true, "valid_for": 8760.0, "renewal_time": 48.0, "active": true}},
		{"create without tmtype", "POST", "/api/v1/trustmarktypes", `{}`, 422,
			map[string]any{"detail": []any{map[string]any{"loc": []any{"body", "tmtype"}, "msg": "Field required", "type": "missing"}}}},
		{"create with bad JSON", "POST", "/api/v1/trustmarktypes", `{`, 422, nil},
		{"get", "GET", "/api/v1/trustmarktypes/1", "", 200,
			map[string]any{"id": 1.0, "tmtype": "https://tm/a", "autorenew": true, "valid_for": 8760.0, "renewal_time": 48.0, "active": true}},
		{"get unknown", "GET", "/api/v1/trustmarktypes/99", "", 404, map[string]any{"message": "TrustMarkType could not be found.", "id": 99.0}},
		{"get with a non-numeric id", "GET", "/api/v1/trustmarktypes/abc", "", 422, nil},
		{"get with id 0", "GET", "/api/v1/trustmarktypes/0", "", 422, nil},
		{"get by tmtype in the query", "GET", "/api/v1/trustmarktypes/?tmtype=https://tm/a", "", 200, nil},
		{"get by tmtype in a JSON body (Inmor clients)", "GET", "/api/v1/trustmarktypes/", `{"tmtype": "https://tm/a"}`, 200, nil},
		{"get by unknown tmtype", "GET", "/api/v1/trustmarktypes/?tmtype=https://tm/zz", "", 404,
			map[string]any{"message": "TrustMarkType could not be found.", "id": 0.0}},
		{"update", "PUT", "/api/v1/trustmarktypes/1", `{"active": false, "valid_for": 24}`, 200,
			map[string]any{"id": 1.0, "tmtype": "https://tm/a", "autorenew": true, "valid_for": 24.0, "renewal_time": 48.0, "active": false}},
		{"update out of range", "PUT", "/api/v1/trustmarktypes/1", `{"renewal_time": -1}`, 422, nil},
		{"update unknown", "PUT", "/api/v1/trustmarktypes/99", `{"active": true}`, 404,
			map[string]any{"message": "TrustMarkType could not be found.", "id": 99.0}},
		{"list", "GET", "/api/v1/trustmarktypes?limit=10", "", 200, nil},
		{"list with limit over the maximum", "GET", "/api/v1/trustmarktypes?limit=1001", "", 422, nil},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			rec := serve(h, s.method, s.target, s.body)
			if rec.Code != s.status {
				t.Fatalf("%s %s: %d %s, want %d", s.method, s.target, rec.Code, rec.Body, s.status)
			}
			if s.want != nil {
				if got := decode(t, rec); !reflect.DeepEqual(got, s.want) {
					t.Errorf("body = %s, want %v", rec.Body, s.want)
				}
			}
		})
	}
	// Writes carry who made them and how.
	if len(store.Attributions()) != 2 {
		t.Fatalf("store saw %d writes, want 2 (create, update)", len(store.Attributions()))
	}
	a := store.Attributions()[1]
	if a.Username != "alice" || a.AuthMethod != auth.MethodAPIKey || a.Tenant != "acme" || a.APIKeyName != "ci" ||
		a.Path != "/api/v1/trustmarktypes/1" || a.Method != "PUT" || a.Operation != resource.OpUpdate || a.ResponseCode != 200 {
		t.Errorf("update attribution = %+v", a)
	}
}

// TestKeyScope: an audit:read key may only read the audit log (and use
// /auth/*); anything else is 403 {"detail": "Forbidden"}.
func TestKeyScope(t *testing.T) {
	reader := authn{p: auth.Principal{UserID: 1, Username: "auditor", AuthMethod: auth.MethodAPIKey, Tenant: "acme", Scope: auth.ScopeAuditRead}}
	cases := []struct {
		function, method, target, body string
		status                         int
	}{
		{function.AuditQuery, "GET", "/api/v1/auditlog", "", 200},
		{function.AuditQuery, "GET", "/api/v1/auditlog/5", "", 404},
		{function.TrustMarkTypes, "POST", "/api/v1/trustmarktypes", `{"tmtype": "https://tm/x"}`, 403},
		{function.TrustMarkTypes, "GET", "/api/v1/trustmarktypes", "", 403},
	}
	for _, c := range cases {
		t.Run(c.method+" "+c.target, func(t *testing.T) {
			hs, store, _ := handlers(reader)
			rec := serve(hs[c.function], c.method, c.target, c.body)
			if rec.Code != c.status {
				t.Errorf("audit:read key: %s %s answered %d %s, want %d (store writes: %d)",
					c.method, c.target, rec.Code, rec.Body, c.status, len(store.Attributions()))
			}
		})
	}
}

// TestAuditLogVisibility: a superuser sees every tenant; anyone else only
// their own.
func TestAuditLogVisibility(t *testing.T) {
	entry := func(tenant string) json.RawMessage {
		if tenant == "" {
			return json.RawMessage(`{"id": 1, "tenant": null, "snapshot_before": null, "snapshot_after": null}`)
		}
		return json.RawMessage(`{"id": 1, "tenant": "` + tenant + `", "snapshot_before": null, "snapshot_after": null}`)
	}
	cases := []struct {
		name        string
		principal   auth.Principal
		wantFilter  string // the tenant the list is restricted to
		entryTenant string
		wantGet     int
	}{
		{name: "superuser sees its own tenant's entry", principal: auth.Principal{Scope: auth.ScopeAuditRead, IsSuperuser: true, Tenant: "acme"}, wantFilter: "", entryTenant: "acme", wantGet: 200},
		{name: "superuser sees another tenant's entry", principal: auth.Principal{Scope: auth.ScopeAuditRead, IsSuperuser: true, Tenant: "acme"}, wantFilter: "", entryTenant: "other", wantGet: 200},
		{name: "superuser sees an out-of-band entry", principal: auth.Principal{Scope: auth.ScopeAuditRead, IsSuperuser: true, Tenant: "acme"}, wantFilter: "", entryTenant: "", wantGet: 200},
		{name: "user sees its tenant's entry", principal: auth.Principal{Scope: auth.ScopeAuditRead, Tenant: "acme"}, wantFilter: "acme", entryTenant: "acme", wantGet: 200},
		{name: "another tenant's entry does not exist for a user", principal: auth.Principal{Scope: auth.ScopeAuditRead, Tenant: "acme"}, wantFilter: "acme", entryTenant: "other", wantGet: 404},
		{name: "an entry without tenant does not exist for a user", principal: auth.Principal{Scope: auth.ScopeAuditRead, Tenant: "acme"}, wantFilter: "acme", entryTenant: "", wantGet: 404},
		{name: "a user whose tenant is empty does not see every tenant", principal: auth.Principal{Scope: auth.ScopeAuditRead, Tenant: ""}, wantFilter: auth.DefaultTenant, entryTenant: "other", wantGet: 404},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hs, _, reader := handlers(authn{p: c.principal})
			reader.entries[1] = entry(c.entryTenant)
			h := hs[function.AuditQuery]
			rec := serve(h, "GET", "/api/v1/auditlog?resource_type=TrustMarkType&action=UPDATE&limit=7&offset=2", "")
			if rec.Code != 200 || len(reader.queries) != 1 {
				t.Fatalf("list: %d %s", rec.Code, rec.Body)
			}
			q := reader.queries[0]
			want := audit.Query{Filter: audit.Filter{ResourceType: "TrustMarkType", Action: "UPDATE", Tenant: c.wantFilter}, Limit: 7, Offset: 2}
			if !reflect.DeepEqual(q, want) {
				t.Errorf("query = %+v, want %+v", q, want)
			}
			rec = serve(h, "GET", "/api/v1/auditlog/1", "")
			if rec.Code != c.wantGet {
				t.Errorf("get: %d %s, want %d", rec.Code, rec.Body, c.wantGet)
			}
			if c.wantGet == 404 && !reflect.DeepEqual(decode(t, rec), map[string]any{"message": "Audit log entry not found.", "id": 1.0}) {
				t.Errorf("get: body %s", rec.Body)
			}
		})
	}
}

// TestAuditLogQueryValidation: bad filters and pages are 422, never ignored.
func TestAuditLogQueryValidation(t *testing.T) {
	hs, _, reader := handlers(authn{p: auth.Principal{IsSuperuser: true, Scope: auth.ScopeAdmin}})
	for _, q := range []string{
		"limit=0", "limit=1001", "offset=-1", "offset=10001", "resource_type=Foo", "action=update", "event_type=nope", "limit=x",
		"auth_method=password", "success=yes", "since=yesterday", "until=2026-13-01", "resource_id=5", "resource_id=x&resource_type=TrustMark",
		"cursor=forged.cursor", "cursor=abc&offset=5", "q=" + strings.Repeat("x", 201), "username=" + strings.Repeat("u", 151),
	} {
		t.Run(q, func(t *testing.T) {
			rec := serve(hs[function.AuditQuery], "GET", "/api/v1/auditlog?"+q, "")
			if rec.Code != 422 {
				t.Errorf("%s: %d %s, want 422", q, rec.Code, rec.Body)
			}
		})
	}
	if len(reader.queries) != 0 {
		t.Errorf("the reader was queried %d times with invalid parameters", len(reader.queries))
	}
	rec := serve(hs[function.AuditQuery], "GET", "/api/v1/auditlog", "")
	if rec.Code != 200 || !reflect.DeepEqual(decode(t, rec), map[string]any{"items": []any{}, "count": 0.0, "count_exact": true, "next_cursor": nil}) {
		t.Errorf("empty list: %d %s", rec.Code, rec.Body)
	}
}

// TestREADMERouteTable: the README's table of routes lists every API route
// of the route table (method, path under /api/v1, function, caller) and
// nothing else.
func TestREADMERouteTable(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `([A-Z]+)` \\| `(/[^`]*)` \\| ([a-z]+) \\| ([a-z ]+) \\|$")
	documented := map[string]bool{}
	for _, m := range row.FindAllStringSubmatch(string(readme), -1) {
		documented[strings.Join(m[1:], " ")] = true
	}
	for _, r := range Routes {
		if r.Page {
			continue
		}
		caller := "staff"
		switch {
		case r.Public:
			caller = "anyone"
		case r.AuditRead:
			caller = "any user"
		}
		key := strings.Join([]string{r.Method, strings.TrimPrefix(r.Path, BasePath), r.Function, caller}, " ")
		if !documented[key] {
			t.Errorf("the README's route table lacks %q", key)
		}
		delete(documented, key)
	}
	for key := range documented {
		t.Errorf("the README's route table lists %q, which is not served", key)
	}
}
