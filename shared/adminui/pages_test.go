package adminui_test

import (
	"encoding/json"
	"html"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/inmor/inmor-serverless/shared/audit"
)

func boolPtr(b bool) *bool { return &b }

// TestListAppliesFilters: the list reads its filters exactly as the API
// does (the same parsing, the same tenant visibility) and shows which are
// active.
func TestListAppliesFilters(t *testing.T) {
	cases := []struct {
		name, user, query string
		want              audit.Filter
		// nothing: a tenant the user may not see; the reader is not asked.
		nothing bool
	}{
		{name: "no filter: a superuser sees every tenant", user: "root", want: audit.Filter{}},
		{name: "no filter: a staff user sees the session's tenant", user: "auditor", want: audit.Filter{Tenant: "default"}},
		{name: "every filter and the search", user: "root",
			query: "action=UPDATE&resource_type=Subordinate&auth_method=api_key&tenant=acme&success=false&event_type=revocation&username=bob&q=Example&since=2026-03-01&until=2026-04-01T00:00:00Z",
			want: audit.Filter{Action: "UPDATE", ResourceType: "Subordinate", AuthMethod: "api_key", Tenant: "acme", Success: boolPtr(false),
				EventType: "revocation", Username: "bob", Q: "Example",
				Since: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)}},
		{name: "one resource's history", user: "auditor", query: "resource_type=TrustMark&resource_id=7",
			want: audit.Filter{ResourceType: "TrustMark", ResourceID: 7, Tenant: "default"}},
		{name: "a staff user's own tenant", user: "auditor", query: "tenant=default&success=true", want: audit.Filter{Tenant: "default", Success: boolPtr(true)}},
		{name: "another tenant shows a staff user nothing", user: "auditor", query: "tenant=acme", nothing: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newSite(t, testEntry(1, nil))
			session := s.session(c.user)
			body := mustCode(t, s.get(listPath+"?"+c.query, session), 200)
			if c.nothing {
				if s.reader.queryCount() != 0 {
					t.Errorf("the reader was asked for a tenant the user may not see: %+v", s.reader.lastQuery(t))
				}
				mustContain(t, body, "0 entries", "No audit log entries match.")
				return
			}
			page := s.reader.lastQuery(t)
			if want := (audit.Query{Filter: c.want, Limit: 100}); !reflect.DeepEqual(page, want) {
				t.Errorf("query %+v, want %+v", page, want)
			}
			// The API, asked the same with the same session, asks the same.
			mustCode(t, s.get("/api/v1/auditlog?"+c.query, session), 200)
			if api := s.reader.lastQuery(t); !reflect.DeepEqual(api, page) {
				t.Errorf("the API's query %+v differs from the page's %+v", api, page)
			}
		})
	}

	t.Run("active filters are marked, kept by the search box, and removable", func(t *testing.T) {
		s := newSite(t, testEntry(1, map[string]any{"tenant": "beta"}))
		body := mustCode(t, s.get(listPath+"?action=UPDATE&tenant=acme&success=false&event_type=revocation&q=Example", s.session("root")), 200)
		selected := regexp.MustCompile(`<li class="selected"><a href="([^"]*)" aria-current="true">([^<]*)</a></li>`).FindAllStringSubmatch(body, -1)
		var labels []string
		for _, m := range selected {
			labels = append(labels, m[2])
		}
		// action, resource type, auth method, tenant, success, event type
		if want := []string{"UPDATE", "All", "All", "acme", "No", "revocation"}; !reflect.DeepEqual(labels, want) {
			t.Errorf("selected choices %q, want %q", labels, want)
		}
		mustContain(t, body,
			// A choice keeps the other filters and the search, and starts at the first page.
			`<a href="/admin/auditlog/auditlogentry/?action=CREATE&amp;event_type=revocation&amp;q=Example&amp;success=false&amp;tenant=acme">CREATE</a>`,
			`<a href="/admin/auditlog/auditlogentry/?action=UPDATE&amp;event_type=revocation&amp;q=Example&amp;success=false">All</a>`,
			// Tenants offered: the default, the one filtered on, those on the page.
			`>default</a>`, `>beta</a>`,
			`<label for="id_tenant">Other tenant</label>`,
			// The search box keeps the filters.
			`<label for="searchbar">Search</label>`,
			`<input type="search" id="searchbar" name="q" value="Example"`,
			`<input type="hidden" name="action" value="UPDATE">`, `<input type="hidden" name="tenant" value="acme">`,
			`Action: <strong>UPDATE</strong>`, `Success: <strong>No</strong>`,
			`<a href="/admin/auditlog/auditlogentry/?action=UPDATE&amp;event_type=revocation&amp;success=false&amp;tenant=acme" class="remove"`,
			`<a href="/admin/auditlog/auditlogentry/" class="clear-all">Clear all filters</a>`,
			`matching “Example”`)
		search := regexp.MustCompile(`(?s)<form [^>]*class="search-form".*?</form>`).FindString(body)
		if search == "" || strings.Contains(search, `type="hidden" name="q"`) {
			t.Errorf("search form %q: want one that does not keep the old search", search)
		}
	})

	t.Run("a staff user is told which tenant they see, and gets no tenant filter", func(t *testing.T) {
		s := newSite(t, testEntry(1, nil))
		body := mustCode(t, s.get(listPath, s.session("auditor")), 200)
		mustContain(t, body, "You see the entries of tenant <strong>default</strong> only.")
		mustNotContain(t, body, "By tenant", `id="id_tenant"`)
	})
}

// TestListRendersEntries: the Django admin's columns, newest first as the
// reader returns them, times in UTC, nulls as dashes, cursor paging with the
// total.
func TestListRendersEntries(t *testing.T) {
	s := newSite(t,
		testEntry(3, map[string]any{"action": "CREATE", "resource_id": nil, "resource_repr": "", "response_code": 422, "success": false, "event_type": nil}),
		testEntry(2, map[string]any{"user_id": nil, "username": nil, "auth_method": "out_of_band", "api_key_name": nil, "tenant": nil,
			"ip_address": nil, "user_agent": nil, "request_id": nil, "endpoint": nil, "http_method": nil, "response_code": nil, "action": "DELETE", "event_type": "revocation"}),
		testEntry(1, nil),
	)
	s.reader.next = &audit.Position{Index: "by_feed", Key: map[string]string{"pk": "entry#1"}, Count: 3, CountExact: true}
	session := s.session("root")
	body := mustCode(t, s.get(listPath+"?action=UPDATE", session), 200)

	var columns []string
	for _, m := range regexp.MustCompile(`<th scope="col">([^<]*)</th>`).FindAllStringSubmatch(body, -1) {
		columns = append(columns, m[1])
	}
	if want := []string{"Timestamp", "User", "Auth method", "Tenant", "Action", "Resource type", "Resource", "Response code", "Event type"}; !reflect.DeepEqual(columns, want) {
		t.Errorf("columns %q, want %q", columns, want)
	}
	var ids []string
	for _, m := range regexp.MustCompile(`<a href="/admin/auditlog/auditlogentry/(\d+)/change/\?_changelist_filters=action%3DUPDATE">`).FindAllStringSubmatch(body, -1) {
		ids = append(ids, m[1])
	}
	if want := []string{"3", "2", "1"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("entries %q, want %q (the reader's order, newest first), each linking to its page with the list's filters", ids, want)
	}
	mustContain(t, body,
		`<time datetime="2026-03-01T12:00:01.123456Z">2026-03-01 12:00:01 UTC</time>`,
		`3 entries, showing 3`,
		`<span class="badge action action-DELETE">DELETE</span>`,
		`<span class="null" title="no user: out of band">—</span>`, `out_of_band`,
		`<span class="status status-failed">422</span>`, `<span class="status status-ok">200</span>`,
		`root<span class="sub">key ci</span>`,
		`<span class="repr">https://rp.example.org</span><span class="sub">#3</span>`,
		`<caption id="results-caption">Audit log entries, newest first; times in UTC</caption>`,
		`<th scope="row" class="nowrap">`,
		`role="region" aria-labelledby="results-caption" tabindex="0"`)
	mustNotContain(t, body, "First page")

	next := regexp.MustCompile(`<a href="([^"]*)" class="button" rel="next">Next page »</a>`).FindStringSubmatch(body)
	if next == nil {
		t.Fatal("no link to the next page")
	}
	target := html.UnescapeString(next[1])
	u, _ := url.Parse(target)
	if u.Query().Get("action") != "UPDATE" || u.Query().Get("cursor") == "" {
		t.Fatalf("next page %q: want the filters and a cursor", target)
	}
	body = mustCode(t, s.get(target, session), 200)
	q := s.reader.lastQuery(t)
	if q.After == nil || q.After.Index != "by_feed" || q.Filter.Action != "UPDATE" {
		t.Errorf("the next page asked %+v, want the cursor's position and the same filter", q)
	}
	mustContain(t, body, `<a href="/admin/auditlog/auditlogentry/?action=UPDATE" class="button">« First page</a>`)

	// A cursor made for other filters is refused, as by the API.
	other := strings.Replace(target, "action=UPDATE", "action=CREATE", 1)
	mustContain(t, mustCode(t, s.get(other, session), 400), "Invalid cursor")
}

// TestListRefusesBadParameters: a bad filter is a 400 page that names it;
// the reader is not asked.
func TestListRefusesBadParameters(t *testing.T) {
	s := newSite(t, testEntry(1, nil))
	session := s.session("root")
	for query, message := range map[string]string{
		"action=update":                 "Action: Input should be one of",
		"success=yes":                   "Success: Input should be a valid boolean",
		"resource_id=5":                 "Resource id: resource_id needs resource_type",
		"since=yesterday":               "Since: Input should be a valid datetime",
		"limit=0":                       "limit: Input should be greater than or equal to 1",
		"cursor=forged.value":           "cursor: Invalid cursor",
		"q=" + strings.Repeat("x", 201): "Search: String should have at most 200 characters",
	} {
		t.Run(query, func(t *testing.T) {
			body := mustCode(t, s.get(listPath+"?"+query, session), 400)
			mustContain(t, body, "Some parameters are not valid:", html.EscapeString(message), "No audit log entries match.")
		})
	}
	if n := s.reader.queryCount(); n != 0 {
		t.Errorf("the reader was asked %d times", n)
	}
}

// TestEntryPage: every field, the diff as rows of old and new values with
// added and removed keys marked, both snapshots as formatted JSON, and
// links back to the list and to the resource's history.
func TestEntryPage(t *testing.T) {
	diff := map[string]any{
		"active":              map[string]any{"old": true, "new": false},
		"required_trustmarks": map[string]any{"old": nil, "new": "https://tm.example.org"},
		"valid_for":           map[string]any{"old": 24, "new": nil},
		"metadata": map[string]any{
			"added":   map[string]any{"k3": "v3"},
			"removed": map[string]any{"k2": map[string]any{"deep": []any{1, 2}}},
			"changed": map[string]any{"k1": map[string]any{"old": "a", "new": "b"}},
		},
	}
	s := newSite(t,
		testEntry(1, map[string]any{"diff": diff,
			"snapshot_before": json.RawMessage(`{"id": 3, "price": 1.50, "metadata": {"k1": "a", "k2": {"deep": [1, 2]}}, "active": true}`),
			"snapshot_after":  json.RawMessage(`{"id": 3, "price": 1.50, "metadata": {"k1": "b", "k3": "v3"}, "active": false}`)}),
		testEntry(2, map[string]any{"action": "CREATE", "event_type": "registration", "snapshot_after": map[string]any{"id": 3}}),
		testEntry(3, map[string]any{"resource_id": nil, "success": false, "response_code": 422, "event_type": nil,
			"error": "body.valid_for: Input should be a valid integer", "diff": nil,
			"request": json.RawMessage(`{"body": {"entityid": "https://rp.example.org", "password": "[redacted]", "valid_for": "x"}}`)}),
		testEntry(4, map[string]any{"diff": map[string]any{}}),
		testEntry(5, map[string]any{"tenant": "acme"}),
	)
	root := s.session("root")
	body := mustCode(t, s.get(listPath+"1/change/?_changelist_filters="+url.QueryEscape("action=UPDATE&q=rp&cursor=abc&evil=1"), root), 200)

	for _, f := range [][2]string{
		{"ID", "1"}, {"User", "root"}, {"User id", "1"}, {"Auth method", "api_key"}, {"API key name", "ci"}, {"Tenant", "default"},
		{"IP address", `<span class="mono">203.0.113.9</span>`}, {"User agent", "inmor-client/1.0"}, {"Request id", `<span class="mono">req-b</span>`},
		{"Action", "UPDATE"}, {"Resource type", "Subordinate"}, {"Resource id", "3"}, {"Resource", `<span class="mono">https://rp.example.org</span>`},
		{"Endpoint", `<span class="mono">/api/v1/subordinates/3</span>`}, {"HTTP method", "POST"}, {"Response code", "200"}, {"Success", "Yes"},
		{"Event type", "metadata_update"},
		{"Timestamp", `<time datetime="2026-03-01T12:00:01.123456Z">2026-03-01 12:00:01.123456 UTC</time>`},
	} {
		mustContain(t, body, `<th scope="row">`+f[0]+"</th>\n        <td>"+f[1]+"</td>")
	}

	type row struct{ change, field string }
	var rows []row
	for _, m := range regexp.MustCompile(`<tr class="change change-(\w+)">\s*<th scope="row"><code>([^<]+)</code>`).FindAllStringSubmatch(body, -1) {
		rows = append(rows, row{m[1], m[2]})
	}
	want := []row{
		{"changed", "active"}, {"added", "metadata.k3"}, {"removed", "metadata.k2"}, {"changed", "metadata.k1"},
		{"added", "required_trustmarks"}, {"removed", "valid_for"},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("diff rows %v, want %v", rows, want)
	}
	mustContain(t, body,
		`<th scope="col">Old value</th>`, `<th scope="col">New value</th>`,
		`<span class="badge change-badge change-added">added</span>`,
		`<td class="old"><pre>true</pre></td>`+"\n          "+`<td class="new"><pre>false</pre></td>`,
		`<td class="old"><span class="null">—</span></td>`+"\n          "+`<td class="new"><pre>&#34;v3&#34;</pre></td>`,
		"<td class=\"old\"><pre>{\n  &#34;deep&#34;: [\n    1,\n    2\n  ]\n}</pre></td>",
		// Snapshots: keys sorted, two-space indents, numbers as written.
		"<figcaption>Before</figcaption>\n      <pre class=\"json\" tabindex=\"0\">{\n  &#34;active&#34;: true,\n  &#34;id&#34;: 3,\n  &#34;metadata&#34;: {\n    &#34;k1&#34;: &#34;a&#34;,",
		`&#34;price&#34;: 1.50`,
		"<figcaption>After</figcaption>",
		// Links: back to the list it came from (known parameters only), the resource's history, the user's entries.
		`<a href="/admin/auditlog/auditlogentry/?action=UPDATE&amp;cursor=abc&amp;q=rp" class="button">← Back to the list</a>`,
		`<a href="/admin/auditlog/auditlogentry/?resource_id=3&amp;resource_type=Subordinate" class="button">History of Subordinate #3</a>`,
		`<a href="/admin/auditlog/auditlogentry/?username=root" class="button">Entries by root</a>`,
		`UPDATE of Subordinate #3`, `<span class="status status-ok">succeeded</span>`)

	notes := map[string]string{
		"2": "A creation has no diff: the snapshot after shows what was created.",
		"3": "The request failed and changed nothing.",
		"4": "The update changed no field.",
	}
	for id, note := range notes {
		body := mustCode(t, s.get(listPath+id+"/change/", root), 200)
		mustContain(t, body, `<p class="note">`+note+`</p>`)
	}
	mustContain(t, s.get(listPath+"2/change/", root).Body.String(), "<figcaption>Before</figcaption>\n      <p class=\"note\">None.</p>")
	failed := s.get(listPath+"3/change/", root).Body.String()
	mustNotContain(t, failed, "History of")
	mustContain(t, failed, `<span class="status status-failed">failed</span>`, `<a href="/admin/auditlog/auditlogentry/" class="button">← Back to the list</a>`,
		`<th scope="row">Error</th>`+"\n        <td>body.valid_for: Input should be a valid integer</td>",
		`<h2 id="request-heading">Request</h2>`,
		"<pre class=\"json\" tabindex=\"0\">{\n  &#34;body&#34;: {\n    &#34;entityid&#34;: &#34;https://rp.example.org&#34;,\n    &#34;password&#34;: &#34;[redacted]&#34;,")
	mustNotContain(t, body, `id="request-heading"`) // a change has no request
	mustContain(t, body, `<th scope="row">Error</th>`+"\n        <td><span class=\"null\">—</span></td>")

	// Tenant visibility, as in the API: another tenant's entry does not exist for a staff user.
	auditor := s.session("auditor")
	mustCode(t, s.get(listPath+"5/change/", root), 200)
	for _, target := range []string{listPath + "5/change/", listPath + "99/change/", listPath + "0/change/", listPath + "abc/change/", listPath + "-1/change/"} {
		mustContain(t, mustCode(t, s.get(target, auditor), 404), "Audit log entry not found.")
	}
}

// TestEscaping: what came from requests (resource names, metadata, user
// agents, tenants, the search) is shown as text, never as markup.
func TestEscaping(t *testing.T) {
	const xss = `<script>alert(1)</script>`
	const attr = `"><script>alert(1)</script>`
	s := newSite(t, testEntry(1, map[string]any{
		"resource_repr": "https://x.example.org/" + xss, "username": "bob" + xss, "user_agent": xss, "tenant": attr,
		"endpoint": "/api/v1/subordinates/" + xss, "api_key_name": attr,
		"diff":            map[string]any{"metadata": map[string]any{"changed": map[string]any{"name" + xss: map[string]any{"old": xss, "new": "ok"}}}},
		"snapshot_before": map[string]any{"metadata": map[string]any{"name" + xss: xss}, "entityid": "https://x.example.org/" + xss},
		"snapshot_after":  map[string]any{"metadata": map[string]any{"name" + xss: "ok"}},
		"error":           "TrustMarkType exists already." + xss,
		"request":         map[string]any{"body": map[string]any{"tmtype": xss}},
	}))
	session := s.session("root")
	pages := map[string]string{
		"list":   listPath + "?q=" + url.QueryEscape(xss) + "&username=" + url.QueryEscape(attr),
		"entry":  listPath + "1/change/?_changelist_filters=" + url.QueryEscape("q="+attr),
		"tenant": listPath + "?tenant=" + url.QueryEscape(attr),
	}
	for name, target := range pages {
		t.Run(name, func(t *testing.T) {
			body := mustCode(t, s.get(target, session), 200)
			mustNotContain(t, body, "<script", "alert(1)</")
			mustContain(t, body, "&lt;script&gt;alert(1)&lt;/script&gt;")
		})
	}
	entry := s.get(pages["entry"], session).Body.String()
	mustContain(t, entry,
		`<td>TrustMarkType exists already.&lt;script&gt;alert(1)&lt;/script&gt;</td>`,
		`&#34;tmtype&#34;: &#34;&lt;script&gt;alert(1)&lt;/script&gt;&#34;`,
		`<code>metadata.name&lt;script&gt;alert(1)&lt;/script&gt;</code>`,
		`<pre>&#34;&lt;script&gt;alert(1)&lt;/script&gt;&#34;</pre>`,
		`&#34;name&lt;script&gt;alert(1)&lt;/script&gt;&#34;: &#34;&lt;script&gt;alert(1)&lt;/script&gt;&#34;`)
}
