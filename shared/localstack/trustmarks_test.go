package localstack_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/inmor/inmor-serverless/shared/localstack"
)

const (
	memberType = "https://example.org/tm/member"
	rpDomain   = "https://rp.example.org"
)

// trustMarkCount is the count of GET /trustmarks.
func trustMarkCount(t *testing.T, s *localstack.Stack) float64 {
	t.Helper()
	r := call(t, s, http.MethodGet, "/api/v1/trustmarks", "")
	mustStatus(t, r, http.StatusOK)
	return r.JSON(t)["count"].(float64)
}

// getJSON answers GET path, which must be 200.
func getJSON(t *testing.T, s *localstack.Stack, path string) map[string]any {
	t.Helper()
	r := call(t, s, http.MethodGet, path, "")
	mustStatus(t, r, http.StatusOK)
	return r.JSON(t)
}

// assertMark verifies a trust mark JWT against the resource that holds it
// and the type's tmtype, and returns its claims.
func assertMark(t *testing.T, s *localstack.Stack, mark map[string]any, tmtype string) map[string]any {
	t.Helper()
	header, claims := verifyJWT(t, s, mark["mark"])
	assertHeader(t, s, header, "trust-mark+jwt")
	assertFields(t, "claim", claims, map[string]any{"iss": defaultIssuer, "sub": mark["domain"], "trust_mark_type": tmtype})
	assertTimes(t, claims, int64(mark["valid_for"].(float64)), mark["expire_at"])
	extra, _ := mark["additional_claims"].(map[string]any)
	for k, v := range extra {
		if compactJSON(t, claims[k]) != compactJSON(t, v) {
			t.Errorf("claim %s = %v, want the additional claim %v", k, claims[k], v)
		}
	}
	if len(claims) != 5+len(extra) {
		t.Errorf("claims %v: want iss, sub, iat, exp, trust_mark_type and the additional claims %v only", claims, extra)
	}
	return claims
}

func TestTrustMarkCreateIssuesASignedMark(t *testing.T) {
	s := startStack(t)
	tmt := createType(t, s, `{"tmtype":"`+memberType+`","valid_for":100,"renewal_time":10,"autorenew":false}`)
	if n := trustMarkCount(t, s); n != 0 {
		t.Fatalf("%v marks before any create", n)
	}
	cases := []struct {
		name string
		body map[string]any
		want map[string]any
	}{
		{
			name: "omitted values come from the type",
			body: map[string]any{"tmt": tmt, "domain": "https://rp1.example.org"},
			want: map[string]any{"autorenew": false, "valid_for": 100, "renewal_time": 10, "active": true, "additional_claims": nil},
		},
		{
			name: "given values and additional claims",
			body: map[string]any{"tmt": tmt, "domain": "https://rp2.example.org", "autorenew": true, "valid_for": 50, "renewal_time": 0,
				"additional_claims": map[string]any{"ref": "https://ref.example.org", "level": 3, "tags": []any{"a", "b"}, "logo": map[string]any{"uri": "https://logo"}}},
			want: map[string]any{"autorenew": true, "valid_for": 50, "renewal_time": 0, "active": true,
				"additional_claims": map[string]any{"ref": "https://ref.example.org", "level": 3, "tags": []any{"a", "b"}, "logo": map[string]any{"uri": "https://logo"}}},
		},
		{
			name: "the type's own maximum is allowed",
			body: map[string]any{"tmt": tmt, "domain": "https://rp3.example.org", "valid_for": 100, "renewal_time": 10},
			want: map[string]any{"autorenew": false, "valid_for": 100, "renewal_time": 10, "active": true, "additional_claims": nil},
		},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := created(t, s, "/api/v1/trustmarks", mustJSON(t, c.body))
			assertFields(t, "created", m, c.want)
			assertFields(t, "created", m, map[string]any{"id": i + 1, "tmt_id": tmt, "domain": c.body["domain"]})
			for _, f := range []string{"id", "tmt_id", "domain", "autorenew", "valid_for", "renewal_time", "active", "mark", "expire_at", "additional_claims"} {
				if _, ok := m[f]; !ok {
					t.Errorf("created mark has no %s: %v", f, m)
				}
			}
			assertMark(t, s, m, memberType)
			got := getJSON(t, s, fmt.Sprintf("/api/v1/trustmarks/%d", i+1))
			if compactJSON(t, got) != compactJSON(t, m) {
				t.Errorf("GET answers %v, create answered %v", got, m)
			}
			if n := trustMarkCount(t, s); n != float64(i+1) {
				t.Errorf("%v marks listed after %d creates", n, i+1)
			}
		})
	}
}

func TestTrustMarkCreateAndChangeFailures(t *testing.T) {
	s := startStack(t)
	tmt := createType(t, s, `{"tmtype":"`+memberType+`","valid_for":100,"renewal_time":10}`)
	inactive := createType(t, s, `{"tmtype":"https://example.org/tm/old"}`)
	mustStatus(t, call(t, s, http.MethodPut, fmt.Sprintf("/api/v1/trustmarktypes/%d", inactive), `{"active":false}`), http.StatusOK)
	existing := created(t, s, "/api/v1/trustmarks", mustJSON(t, map[string]any{"tmt": tmt, "domain": rpDomain}))
	log := newAuditCounter(t, s)

	create := func(fields map[string]any) string {
		body := map[string]any{"tmt": tmt, "domain": "https://new.example.org"}
		for k, v := range fields {
			if v == nil {
				delete(body, k)
			} else {
				body[k] = v
			}
		}
		return mustJSON(t, body)
	}
	cases := []struct {
		name, method, path, body string
		check                    func(t *testing.T, r response)
		resourceID               any
	}{
		{"unknown type", "POST", "/api/v1/trustmarks", create(map[string]any{"tmt": 99}), func(t *testing.T, r response) {
			assertAppError(t, r, 404, "TrustMarkType could not be found.", 99)
		}, nil},
		{"valid_for above the type's", "POST", "/api/v1/trustmarks", create(map[string]any{"valid_for": 101}), func(t *testing.T, r response) {
			assertMessage(t, r, 400, "valid_for is greater than allowed for the given TrustMarkType.")
		}, nil},
		{"renewal_time above the type's", "POST", "/api/v1/trustmarks", create(map[string]any{"renewal_time": 11}), func(t *testing.T, r response) {
			assertMessage(t, r, 400, "renewal_time is greater than allowed for the given TrustMarkType.")
		}, nil},
		{"inactive type", "POST", "/api/v1/trustmarks", create(map[string]any{"tmt": inactive}), func(t *testing.T, r response) {
			assertMessage(t, r, 400, "TrustMarkType is not active.")
		}, nil},
		{"existing (tmt, domain)", "POST", "/api/v1/trustmarks", create(map[string]any{"domain": rpDomain, "autorenew": false}), func(t *testing.T, r response) {
			mustStatus(t, r, 403)
			if got := compactJSON(t, r.JSON(t)); got != compactJSON(t, existing) {
				t.Errorf("403 body %s, want the existing mark %s", got, compactJSON(t, existing))
			}
		}, nil},
		{"missing tmt", "POST", "/api/v1/trustmarks", create(map[string]any{"tmt": nil}), func(t *testing.T, r response) { assertValidation(t, r, "tmt") }, nil},
		{"missing domain", "POST", "/api/v1/trustmarks", create(map[string]any{"domain": nil}), func(t *testing.T, r response) { assertValidation(t, r, "domain") }, nil},
		{"tmt not an integer", "POST", "/api/v1/trustmarks", create(map[string]any{"tmt": "one"}), func(t *testing.T, r response) { assertValidation(t, r, "tmt") }, nil},
		{"additional_claims not an object", "POST", "/api/v1/trustmarks", create(map[string]any{"additional_claims": []any{1}}), func(t *testing.T, r response) {
			assertValidation(t, r, "additional_claims")
		}, nil},
		{"additional claim with an empty name", "POST", "/api/v1/trustmarks", create(map[string]any{"additional_claims": map[string]any{"": 1}}), func(t *testing.T, r response) {
			assertValidation(t, r, "additional_claims")
		}, nil},
		{"bad JSON", "POST", "/api/v1/trustmarks", `{"tmt":`, func(t *testing.T, r response) { assertValidation(t, r, "") }, nil},
		{"renew of a missing mark", "POST", "/api/v1/trustmarks/42/renew", "", func(t *testing.T, r response) {
			assertAppError(t, r, 404, "TrustMark does not exist.", 42)
		}, 42.0},
		{"update of a missing mark", "PUT", "/api/v1/trustmarks/42", `{"active":false}`, func(t *testing.T, r response) {
			assertAppError(t, r, 404, "TrustMark does not exist.", 42)
		}, 42.0},
		{"update with a reserved claim", "PUT", fmt.Sprintf("/api/v1/trustmarks/%.0f", existing["id"]), `{"additional_claims":{"sub":"https://evil"}}`, func(t *testing.T, r response) {
			assertValidation(t, r, "additional_claims")
		}, existing["id"]},
		{"update with a bad type", "PUT", fmt.Sprintf("/api/v1/trustmarks/%.0f", existing["id"]), `{"active":"no"}`, func(t *testing.T, r response) {
			assertValidation(t, r, "active")
		}, existing["id"]},
	}
	for _, claim := range []string{"iss", "sub", "iat", "exp", "trust_mark_type"} {
		cases = append(cases, struct {
			name, method, path, body string
			check                    func(t *testing.T, r response)
			resourceID               any
		}{"additional claims set " + claim, "POST", "/api/v1/trustmarks", create(map[string]any{"additional_claims": map[string]any{claim: "x", "ok": 1}}),
			func(t *testing.T, r response) { assertValidation(t, r, "additional_claims") }, nil})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := call(t, s, c.method, c.path, c.body)
			c.check(t, r)
			action := "UPDATE"
			if c.path == "/api/v1/trustmarks" {
				action = "CREATE"
			}
			e := log.one(t)
			if e == nil {
				return
			}
			assertFailedEntry(t, e, "TrustMark", action, c.method, c.path, r.Status, c.resourceID)
			d := auditDetail(t, s, e)
			if d["snapshot_before"] != nil || d["snapshot_after"] != nil {
				t.Errorf("a failed entry has snapshots: %v", d)
			}
		})
	}

	t.Run("reads record nothing", func(t *testing.T) {
		assertAppError(t, call(t, s, http.MethodGet, "/api/v1/trustmarks/42", ""), 404, "TrustMark does not exist.", 42)
		assertValidation(t, call(t, s, http.MethodGet, "/api/v1/trustmarks/abc", ""), "")
		getJSON(t, s, "/api/v1/trustmarks")
		getJSON(t, s, fmt.Sprintf("/api/v1/trustmarks/%.0f", existing["id"]))
		log.none(t)
	})
	if got := getJSON(t, s, fmt.Sprintf("/api/v1/trustmarks/%.0f", existing["id"])); compactJSON(t, got) != compactJSON(t, existing) {
		t.Errorf("the refused requests changed the mark: %v, was %v", got, existing)
	}
	if n := trustMarkCount(t, s); n != 1 {
		t.Errorf("%v marks stored, want only the first", n)
	}
}

func TestTrustMarkListByDomain(t *testing.T) {
	s := startStack(t)
	t1 := createType(t, s, `{"tmtype":"https://example.org/tm/1"}`)
	t2 := createType(t, s, `{"tmtype":"https://example.org/tm/2"}`)
	const a, b = "https://a.example.org", "https://b.example.org"
	for _, m := range []map[string]any{{"tmt": t1, "domain": a}, {"tmt": t1, "domain": b}, {"tmt": t2, "domain": a}} {
		created(t, s, "/api/v1/trustmarks", mustJSON(t, m))
	}
	log := newAuditCounter(t, s)
	cases := []struct {
		name, query, domain string
		count               int
		ids                 []float64
	}{
		{"one domain", "", a, 2, []float64{1, 3}},
		{"the other domain", "", b, 1, []float64{2}},
		{"empty lists all", "", "", 3, []float64{1, 2, 3}},
		{"unknown domain", "", "https://none.example.org", 0, []float64{}},
		{"paginated", "?limit=1&offset=1", a, 2, []float64{3}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := call(t, s, http.MethodPost, "/api/v1/trustmarks/list"+c.query, mustJSON(t, map[string]any{"domain": c.domain}))
			mustStatus(t, r, http.StatusOK)
			page := r.JSON(t)
			items, ok := page["items"].([]any)
			if !ok || page["count"] != float64(c.count) {
				t.Fatalf("page %s, want count %d and an items array", r.Body, c.count)
			}
			ids := []float64{}
			for _, it := range items {
				m := it.(map[string]any)
				ids = append(ids, m["id"].(float64))
				if c.domain != "" && m["domain"] != c.domain {
					t.Errorf("listed a mark of %v", m["domain"])
				}
			}
			if compactJSON(t, ids) != compactJSON(t, c.ids) {
				t.Errorf("ids %v, want %v", ids, c.ids)
			}
		})
	}
	for name, body := range map[string]string{"no domain": `{}`, "domain not a string": `{"domain":5}`, "bad JSON": `{"domain":`, "not an object": `["x"]`} {
		t.Run(name, func(t *testing.T) {
			assertValidation(t, call(t, s, http.MethodPost, "/api/v1/trustmarks/list", body), "")
		})
	}
	log.none(t)
}

func TestTrustMarkRenew(t *testing.T) {
	s := startStack(t)
	tmt := createType(t, s, `{"tmtype":"`+memberType+`","valid_for":100}`)
	first := created(t, s, "/api/v1/trustmarks", mustJSON(t, map[string]any{"tmt": tmt, "domain": rpDomain, "valid_for": 10, "additional_claims": map[string]any{"ref": "https://ref"}}))
	before := assertMark(t, s, first, memberType)
	time.Sleep(1100 * time.Millisecond)

	r := call(t, s, http.MethodPost, "/api/v1/trustmarks/1/renew", "")
	mustStatus(t, r, http.StatusOK)
	renewed := r.JSON(t)
	if renewed["mark"] == first["mark"] {
		t.Fatal("renew answered the old mark")
	}
	after := assertMark(t, s, renewed, memberType) // the mark's own valid_for (10 h), not the type's
	if intClaim(t, after, "iat") <= intClaim(t, before, "iat") || intClaim(t, after, "exp") <= intClaim(t, before, "exp") {
		t.Errorf("renewed iat/exp %v/%v, before %v/%v", after["iat"], after["exp"], before["iat"], before["exp"])
	}
	for _, f := range []string{"id", "tmt_id", "domain", "autorenew", "valid_for", "renewal_time", "active", "additional_claims"} {
		if compactJSON(t, renewed[f]) != compactJSON(t, first[f]) {
			t.Errorf("renew changed %s: %v -> %v", f, first[f], renewed[f])
		}
	}
	if got := getJSON(t, s, "/api/v1/trustmarks/1"); compactJSON(t, got) != compactJSON(t, renewed) {
		t.Errorf("GET answers %v, renew answered %v", got, renewed)
	}

	mustStatus(t, call(t, s, http.MethodPut, "/api/v1/trustmarks/1", `{"active":false}`), http.StatusOK)
	log := newAuditCounter(t, s)
	assertAppError(t, call(t, s, http.MethodPost, "/api/v1/trustmarks/1/renew", ""), 400, "Cannot renew an inactive TrustMark.", 1)
	if e := log.one(t); e != nil {
		assertFailedEntry(t, e, "TrustMark", "UPDATE", "POST", "/api/v1/trustmarks/1/renew", 400, 1.0)
	}
	got := getJSON(t, s, "/api/v1/trustmarks/1")
	if got["active"] != false || got["mark"] != nil || got["expire_at"] != nil {
		t.Errorf("renew of a revoked mark changed it: %v", got)
	}
	assertAppError(t, call(t, s, http.MethodPost, "/api/v1/trustmarks/7/renew", ""), 404, "TrustMark does not exist.", 7)
	if e := log.one(t); e != nil {
		assertFailedEntry(t, e, "TrustMark", "UPDATE", "POST", "/api/v1/trustmarks/7/renew", 404, 7.0)
	}
}

func TestTrustMarkUpdate(t *testing.T) {
	s := startStack(t)
	tmt := createType(t, s, `{"tmtype":"`+memberType+`"}`)
	current := created(t, s, "/api/v1/trustmarks", mustJSON(t, map[string]any{"tmt": tmt, "domain": rpDomain, "additional_claims": map[string]any{"ref": "https://ref/1"}}))
	seen := map[any]bool{current["mark"]: true}
	put := func(t *testing.T, body string) map[string]any {
		t.Helper()
		r := call(t, s, http.MethodPut, "/api/v1/trustmarks/1", body)
		mustStatus(t, r, http.StatusOK)
		m := r.JSON(t)
		if got := getJSON(t, s, "/api/v1/trustmarks/1"); compactJSON(t, got) != compactJSON(t, m) {
			t.Errorf("GET answers %v, PUT answered %v", got, m)
		}
		return m
	}
	steps := []struct {
		name, body string
		want       map[string]any
		// resign: a new mark is issued; revoked: the mark is null.
		resign, revoked bool
	}{
		{name: "omitted additional_claims are kept", body: `{"autorenew":false}`,
			want: map[string]any{"autorenew": false, "additional_claims": map[string]any{"ref": "https://ref/1"}}},
		{name: "changed additional_claims re-sign", body: `{"additional_claims":{"ref":"https://ref/2","level":2}}`, resign: true,
			want: map[string]any{"autorenew": false, "additional_claims": map[string]any{"ref": "https://ref/2", "level": 2}}},
		{name: "explicit null clears them", body: `{"additional_claims":null}`, resign: true,
			want: map[string]any{"additional_claims": nil}},
		{name: "active=false revokes", body: `{"active":false}`, revoked: true,
			want: map[string]any{"active": false, "mark": nil, "expire_at": nil}},
		{name: "claims of a revoked mark change without a mark", body: `{"additional_claims":{"ref":"https://ref/3"}}`, revoked: true,
			want: map[string]any{"active": false, "mark": nil, "additional_claims": map[string]any{"ref": "https://ref/3"}}},
		{name: "active=true issues a new mark", body: `{"active":true}`, resign: true,
			want: map[string]any{"active": true, "autorenew": false, "additional_claims": map[string]any{"ref": "https://ref/3"}}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			prev := current
			m := put(t, st.body)
			current = m
			assertFields(t, "updated", m, st.want)
			for _, f := range []string{"id", "tmt_id", "domain", "valid_for", "renewal_time"} {
				if compactJSON(t, m[f]) != compactJSON(t, prev[f]) {
					t.Errorf("%s changed: %v -> %v", f, prev[f], m[f])
				}
			}
			switch {
			case st.revoked:
				if m["mark"] != nil || m["expire_at"] != nil {
					t.Errorf("revoked mark has mark %v expire_at %v", m["mark"], m["expire_at"])
				}
			case st.resign:
				if seen[m["mark"]] {
					t.Errorf("mark was not re-signed: %v", m["mark"])
				}
				seen[m["mark"]] = true
				assertMark(t, s, m, memberType)
			default:
				if m["mark"] != prev["mark"] || m["expire_at"] != prev["expire_at"] {
					t.Errorf("mark changed though nothing signed changed: %v -> %v", prev["mark"], m["mark"])
				}
				assertMark(t, s, m, memberType)
			}
		})
	}

	t.Run("an empty PUT writes nothing", func(t *testing.T) {
		log := newAuditCounter(t, s)
		m := put(t, `{}`)
		if compactJSON(t, m) != compactJSON(t, current) {
			t.Errorf("PUT {} answered %v, want the unchanged %v", m, current)
		}
		log.none(t)
	})
}

func TestConcurrentIdenticalTrustMarkCreatesMakeOneMark(t *testing.T) {
	s := startStack(t)
	tmt := createType(t, s, `{"tmtype":"`+memberType+`"}`)
	log := newAuditCounter(t, s)
	const n = 8
	statuses := make([]int, n)
	ids := make([]any, n)
	var wg sync.WaitGroup
	body := mustJSON(t, map[string]any{"tmt": tmt, "domain": rpDomain})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r := call(t, s, http.MethodPost, "/api/v1/trustmarks", body)
			statuses[i] = r.Status
			ids[i] = r.JSON(t)["id"]
		}(i)
	}
	wg.Wait()
	createdN := 0
	for i, st := range statuses {
		switch st {
		case http.StatusCreated:
			createdN++
		case http.StatusForbidden:
		default:
			t.Errorf("request %d: status %d", i, st)
		}
		if ids[i] != ids[0] {
			t.Errorf("request %d answered id %v, request 0 id %v", i, ids[i], ids[0])
		}
	}
	if createdN != 1 {
		t.Fatalf("%d creates succeeded, want exactly 1 (%v)", createdN, statuses)
	}
	if c := trustMarkCount(t, s); c != 1 {
		t.Errorf("%v marks stored, want 1", c)
	}
	p := settle(t, s)
	if p.Count != log.count+n {
		t.Fatalf("%d new entries, want one CREATE and %d failed attempts", p.Count-log.count, n-1)
	}
	successes := 0
	for _, e := range p.Items[:n] {
		if e["success"] == true {
			successes++
			if e["event_type"] != "trustmark_issued" || e["resource_id"] != ids[0] {
				t.Errorf("success entry %v", e)
			}
		} else {
			assertFailedEntry(t, e, "TrustMark", "CREATE", "POST", "/api/v1/trustmarks", 403, nil)
		}
	}
	if successes != 1 {
		t.Errorf("%d successful entries, want 1", successes)
	}
}

// TestADeactivatedTypeIssuesNoNewMarks: renewing, or re-activating, a mark
// of a deactivated type is refused like creating one; revoking still works.
func TestADeactivatedTypeIssuesNoNewMarks(t *testing.T) {
	s := startStack(t)
	tmt := createType(t, s, `{"tmtype":"https://example.org/tm/paused"}`)
	created(t, s, "/api/v1/trustmarks", fmt.Sprintf(`{"tmt":%d,"domain":"https://rp.example.org"}`, tmt))
	mustStatus(t, call(t, s, http.MethodPut, fmt.Sprintf("/api/v1/trustmarktypes/%d", tmt), `{"active":false}`), http.StatusOK)
	assertAppError(t, call(t, s, http.MethodPost, "/api/v1/trustmarks/1/renew", ""), http.StatusBadRequest, "TrustMarkType is not active.", 1)
	mustStatus(t, call(t, s, http.MethodPut, "/api/v1/trustmarks/1", `{"active":false}`), http.StatusOK)
	assertAppError(t, call(t, s, http.MethodPut, "/api/v1/trustmarks/1", `{"active":true}`), http.StatusBadRequest, "TrustMarkType is not active.", 1)
	if got := getJSON(t, s, "/api/v1/trustmarks/1"); got["active"] != false || got["mark"] != nil {
		t.Errorf("the refused re-activation changed the mark: %v", got)
	}
}

// TestSubordinateValidForErrorNamesTheSubordinate: the 400 of an update
// carries the id asked for, as Inmor's do.
func TestSubordinateValidForErrorNamesTheSubordinate(t *testing.T) {
	s := startStack(t)
	created(t, s, "/api/v1/subordinates", mustJSON(t, subordinateBody(t, nil)))
	update := subordinateBody(t, map[string]any{"entityid": nil, "valid_for": 9000})
	assertAppError(t, call(t, s, http.MethodPost, "/api/v1/subordinates/1", mustJSON(t, update)), http.StatusBadRequest,
		"valid_for is greater than allowed by system default 8760.", 1)
	assertAppError(t, call(t, s, http.MethodPost, "/api/v1/subordinates", mustJSON(t, subordinateBody(t, map[string]any{"valid_for": 9000}))), http.StatusBadRequest,
		"valid_for is greater than allowed by system default 8760.", 0)
}
