package localstack_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/inmor/inmor-serverless/shared/auth"
)

// TestFailedEntriesSayWhatWasAttempted: a duplicate create, a 422 and a
// session write refused by the CSRF check each leave one failed entry
// with the message answered, the request (secrets redacted) and the
// resource the body named, shown by the detail endpoint and found by q.
func TestFailedEntriesSayWhatWasAttempted(t *testing.T) {
	s := startStack(t)
	loadSubKeys(t)
	const dup = "https://example.org/tm/dup"
	mustStatus(t, call(t, s, http.MethodPost, "/api/v1/trustmarktypes", `{"tmtype":"`+dup+`"}`), http.StatusCreated)

	// A duplicate tmtype: 403 with the existing type.
	mustStatus(t, call(t, s, http.MethodPost, "/api/v1/trustmarktypes?source=cli&token=t0ken",
		`{"tmtype":"`+dup+`","valid_for":5,"password":"hunter2"}`), http.StatusForbidden)

	// A 422: a subordinate whose key carries its private part.
	const op = "https://op.example.org"
	private := ecJWK(t, subKeys.ec2, "k", true)
	body := subordinateBody(t, map[string]any{"entityid": op, "jwks": map[string]any{"keys": []any{private}}})
	mustStatus(t, call(t, s, http.MethodPost, "/api/v1/subordinates", mustJSON(t, body)), http.StatusUnprocessableEntity)

	// A session write without the CSRF header.
	b := newBrowser(t, s)
	mustStatus(t, b.do("POST", "/api/v1/auth/login", `{"username":"admin","password":"test-password"}`), http.StatusOK)
	const rp = "https://store.example.org"
	claims := `{"big":"` + strings.Repeat("x", 2000) + `","level":"gold"}`
	r := b.do("POST", "/api/v1/trustmarks", `{"tmt":1,"domain":"`+rp+`","additional_claims":`+claims+`}`)
	if r.Status != http.StatusForbidden || compactJSON(t, r.JSON(t)) != `{"detail":"CSRF check Failed: CSRF token missing."}` {
		t.Fatalf("CSRF refusal: %d %s", r.Status, r.Body)
	}

	settle(t, s)
	if p := listAudit(t, s, "?limit=1000"); p.Count != 5 || len(entriesOfType(p, "Session")) != 1 {
		t.Fatalf("%d entries, want the CREATE, three failed attempts and the session's login: %v", p.Count, p.Items)
	}
	created := listAudit(t, s, "?resource_type=TrustMarkType&success=true").Items[0]
	failed := listAudit(t, s, "?success=false")
	if failed.Count != 3 {
		t.Fatalf("%d failed entries, want 3", failed.Count)
	}
	detail := func(e map[string]any) map[string]any {
		t.Helper()
		r := call(t, s, http.MethodGet, fmt.Sprintf("/api/v1/auditlog/%.0f", e["id"]), "")
		mustStatus(t, r, http.StatusOK)
		return r.JSON(t)
	}
	// Newest first: the CSRF refusal, the 422, the duplicate.
	csrf, invalid, duplicate := detail(failed.Items[0]), detail(failed.Items[1]), detail(failed.Items[2])

	want := map[string]any{
		"resource_type": "TrustMarkType", "resource_repr": dup, "response_code": 403.0, "error": "TrustMarkType exists already.",
		"auth_method": "api_key", "action": "CREATE", "success": false,
		"request": map[string]any{
			"query": map[string]any{"source": "cli", "token": "[redacted]"},
			"body":  map[string]any{"tmtype": dup, "valid_for": 5.0, "password": "[redacted]"},
		},
	}
	assertFields(t, "duplicate", duplicate, want)

	key := map[string]any{}
	for k, v := range private {
		key[k] = v
	}
	key["d"] = "[redacted]"
	wantBody := map[string]any{}
	for k, v := range body {
		wantBody[k] = v
	}
	wantBody["jwks"] = map[string]any{"keys": []any{key}}
	assertFields(t, "422", invalid, map[string]any{
		"resource_type": "Subordinate", "resource_repr": op, "response_code": 422.0, "auth_method": "api_key",
		"request": map[string]any{"body": wantBody},
	})
	if e, _ := invalid["error"].(string); !strings.HasPrefix(e, "body.jwks: ") {
		t.Errorf("422 error %q", e)
	}

	assertFields(t, "CSRF refusal", csrf, map[string]any{
		"resource_type": "TrustMark", "resource_repr": rp, "response_code": 403.0, "auth_method": "session",
		"username": "admin", "tenant": "default", "error": "CSRF check Failed: CSRF token missing.",
		"request": map[string]any{"body": map[string]any{"tmt": 1.0, "domain": rp,
			"additional_claims": map[string]any{"big": "[omitted: 2002 bytes]", "level": "gold"}}},
	})
	for _, d := range []map[string]any{csrf, invalid, duplicate} {
		if strings.Contains(compactJSON(t, d), "hunter2") || strings.Contains(compactJSON(t, d), private["d"].(string)) ||
			strings.Contains(compactJSON(t, d), "t0ken") {
			t.Errorf("entry %v keeps a secret", d["id"])
		}
	}

	// q finds each by what it tried, or by its error.
	for q, wantIDs := range map[string][]any{
		"tm/dup":            {duplicate["id"], created["id"]},
		"OP.example":        {invalid["id"]},
		"store.example":     {csrf["id"]},
		"csrf check failed": {csrf["id"]},
	} {
		got := listAudit(t, s, "?q="+url.QueryEscape(q))
		var ids []any
		for _, e := range got.Items {
			ids = append(ids, e["id"])
		}
		if compactJSON(t, ids) != compactJSON(t, wantIDs) {
			t.Errorf("q=%s found %v, want %v", q, ids, wantIDs)
		}
	}
	if _, listed := failed.Items[0]["request"]; listed {
		t.Error("the list shows the request; only the detail should")
	}
	if failed.Items[0]["error"] != "CSRF check Failed: CSRF token missing." {
		t.Errorf("the list's error %v", failed.Items[0]["error"])
	}

	// The refused session write changed nothing; with the token it passes.
	mustStatus(t, b.do("GET", "/api/v1/trustmarks", ""), http.StatusOK)
	if r := b.do("POST", "/api/v1/trustmarktypes", `{"tmtype":"https://example.org/tm/s"}`, auth.CSRFHeader, b.cookie(auth.CSRFCookie)); r.Status != http.StatusCreated {
		t.Errorf("session write with the token: %d %s", r.Status, r.Body)
	}
}

// entriesOfType returns the entries of one resource type of a page.
func entriesOfType(p auditPage, resourceType string) []map[string]any {
	var out []map[string]any
	for _, e := range p.Items {
		if e["resource_type"] == resourceType {
			out = append(out, e)
		}
	}
	return out
}
