package httpapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
)

// decodeJSON decodes a response body, failing the test when it is not JSON.
func decodeJSON(t *testing.T, rec *httptest.ResponseRecorder) any {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var v any
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, rec.Body.String())
	}
	return v
}

// echo answers which route matched and the path parameters it saw.
func echo(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, map[string]string{"route": name, "id": r.PathValue("id"), "name": r.PathValue("name")})
	})
}

func testRouter() *Router {
	rt := &Router{}
	rt.Handle("GET", "/x", echo("GET /x"))
	rt.Handle("POST", "/x", echo("POST /x"))
	rt.Handle("GET", "/x/", echo("GET /x/"))
	rt.Handle("GET", "/items/{id}", echo("GET /items/{id}"))
	rt.Handle("PUT", "/items/{id}", echo("PUT /items/{id}"))
	rt.Handle("GET", "/items/{id}/sub/{name}", echo("GET /items/{id}/sub/{name}"))
	rt.Handle("POST", "/items/{id}/renew", echo("POST /items/{id}/renew"))
	return rt
}

// TestRouter specifies dispatch: by method and path, parameters in
// r.PathValue, JSON 404 and 405 (with Allow), trailing slash significant.
func TestRouter(t *testing.T) {
	cases := []struct {
		method, path string
		status       int
		body         map[string]any
		allow        string
	}{
		{"GET", "/x", 200, map[string]any{"route": "GET /x", "id": "", "name": ""}, ""},
		{"POST", "/x", 200, map[string]any{"route": "POST /x", "id": "", "name": ""}, ""},
		{"GET", "/x/", 200, map[string]any{"route": "GET /x/", "id": "", "name": ""}, ""},
		{"POST", "/x/", 405, map[string]any{"detail": "Method Not Allowed"}, "GET"},
		{"DELETE", "/x", 405, map[string]any{"detail": "Method Not Allowed"}, "GET, POST"},
		{"HEAD", "/x", 405, nil, "GET, POST"},
		{"GET", "/x//", 404, map[string]any{"detail": "Not Found"}, ""},
		{"GET", "/nope", 404, map[string]any{"detail": "Not Found"}, ""},
		{"POST", "/nope", 404, map[string]any{"detail": "Not Found"}, ""},
		{"GET", "/", 404, map[string]any{"detail": "Not Found"}, ""},
		{"GET", "/items/42", 200, map[string]any{"route": "GET /items/{id}", "id": "42", "name": ""}, ""},
		{"PUT", "/items/abc", 200, map[string]any{"route": "PUT /items/{id}", "id": "abc", "name": ""}, ""},
		{"PATCH", "/items/42", 405, map[string]any{"detail": "Method Not Allowed"}, "GET, PUT"},
		{"GET", "/items/", 404, map[string]any{"detail": "Not Found"}, ""},
		{"GET", "/items", 404, map[string]any{"detail": "Not Found"}, ""},
		{"GET", "/items/42/", 404, map[string]any{"detail": "Not Found"}, ""},
		{"GET", "/items/42/sub/key%20one", 200, map[string]any{"route": "GET /items/{id}/sub/{name}", "id": "42", "name": "key one"}, ""},
		{"GET", "/items/42/sub/", 404, map[string]any{"detail": "Not Found"}, ""},
		{"POST", "/items/9/renew", 200, map[string]any{"route": "POST /items/{id}/renew", "id": "9", "name": ""}, ""},
		{"GET", "/items/9/renew", 405, map[string]any{"detail": "Method Not Allowed"}, "POST"},
	}
	rt := testRouter()
	for _, c := range cases {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			rt.ServeHTTP(rec, httptest.NewRequest(c.method, c.path, nil))
			if rec.Code != c.status {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, c.status, rec.Body)
			}
			if got := rec.Header().Get("Allow"); got != c.allow {
				t.Errorf("Allow = %q, want %q", got, c.allow)
			}
			if c.body == nil {
				return
			}
			if got := decodeJSON(t, rec); !reflect.DeepEqual(got, c.body) {
				t.Errorf("body = %v, want %v", got, c.body)
			}
		})
	}
}

// TestRouterFirstRegistrationWins: a later registration of the same method
// and pattern never shadows the first.
func TestRouterFirstRegistrationWins(t *testing.T) {
	rt := &Router{}
	rt.Handle("GET", "/a/{id}", echo("first"))
	rt.Handle("GET", "/a/{id}", echo("second"))
	rec := httptest.NewRecorder()
	rt.ServeHTTP(rec, httptest.NewRequest("GET", "/a/1", nil))
	if got := decodeJSON(t, rec).(map[string]any)["route"]; got != "first" {
		t.Errorf("route = %v, want first", got)
	}
}

// TestMatch specifies the pattern matcher on its own.
func TestMatch(t *testing.T) {
	cases := []struct {
		pattern, path string
		ok            bool
		params        map[string]string
	}{
		{"/a", "/a", true, nil},
		{"/a", "/a/", false, nil},
		{"/a/", "/a", false, nil},
		{"/a/{id}", "/a/1", true, map[string]string{"id": "1"}},
		{"/a/{id}", "/a/", false, nil},
		{"/a/{id}", "/a/1/2", false, nil},
		{"/a/{id}/b/{k}", "/a/1/b/x", true, map[string]string{"id": "1", "k": "x"}},
		{"/a/{id}/b", "/a/1/c", false, nil},
		{"/a/{}", "/a/{}", true, nil}, // "{}" is a literal segment, not a parameter
	}
	for _, c := range cases {
		t.Run(c.pattern+" "+c.path, func(t *testing.T) {
			params, ok := Match(c.pattern, c.path)
			if ok != c.ok || !reflect.DeepEqual(params, c.params) {
				t.Errorf("Match(%q, %q) = %v, %v; want %v, %v", c.pattern, c.path, params, ok, c.params, c.ok)
			}
		})
	}
}
