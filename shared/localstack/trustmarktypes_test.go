package localstack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

const tmtype = "https://example.org/tm/basic"

func TestCreateIsAuditedWithAttribution(t *testing.T) {
	s := startStack(t)
	r := call(t, s, http.MethodPost, "/api/v1/trustmarktypes", `{"tmtype":"`+tmtype+`"}`)
	mustStatus(t, r, http.StatusCreated)
	created := r.JSON(t)
	want := map[string]any{"id": 1.0, "tmtype": tmtype, "autorenew": true, "valid_for": 8760.0, "renewal_time": 48.0, "active": true}
	if compactJSON(t, created) != compactJSON(t, want) {
		t.Fatalf("created %v, want %v", created, want)
	}

	page := waitForEntries(t, s, 1)
	e := page.Items[0]
	for field, want := range map[string]any{
		"id": 1.0, "user_id": 1.0, "username": "admin", "auth_method": "api_key", "api_key_name": "dev",
		"tenant": "default", "ip_address": "127.0.0.1", "user_agent": "localstack-test/1.0",
		"action": "CREATE", "resource_type": "TrustMarkType", "resource_id": 1.0, "resource_repr": tmtype,
		"endpoint": "/api/v1/trustmarktypes", "http_method": "POST", "response_code": 201.0,
		"success": true, "diff": nil, "event_type": "trustmarktype_created",
	} {
		if got := e[field]; compactJSON(t, got) != compactJSON(t, want) {
			t.Errorf("entry %s = %v, want %v", field, got, want)
		}
	}
	if _, listed := e["snapshot_after"]; listed {
		t.Error("the list shows snapshots; only the detail should")
	}
	if rid, _ := e["request_id"].(string); rid == "" {
		t.Error("entry has no request_id")
	}
	if ts, _ := e["timestamp"].(string); !strings.HasSuffix(ts, "Z") {
		t.Errorf("timestamp %q is not UTC with Z", ts)
	}

	detail := call(t, s, http.MethodGet, "/api/v1/auditlog/1", "")
	mustStatus(t, detail, http.StatusOK)
	d := detail.JSON(t)
	if d["snapshot_before"] != nil {
		t.Errorf("a CREATE has no snapshot_before, got %v", d["snapshot_before"])
	}
	after, _ := d["snapshot_after"].(map[string]any)
	for k, v := range want {
		if compactJSON(t, after[k]) != compactJSON(t, v) {
			t.Errorf("snapshot_after %s = %v, want %v", k, after[k], v)
		}
	}
	if _, ok := after["added"].(string); !ok {
		t.Errorf("snapshot_after has no added time: %v", after)
	}
	for _, internal := range []string{"pk", "sk", "version", "attribution"} {
		if _, leaked := after[internal]; leaked {
			t.Errorf("snapshot shows bookkeeping attribute %q", internal)
		}
	}
}

func TestDeactivationIsAuditedWithDiffAndSnapshots(t *testing.T) {
	s := startStack(t)
	mustStatus(t, call(t, s, http.MethodPost, "/api/v1/trustmarktypes", `{"tmtype":"`+tmtype+`"}`), http.StatusCreated)
	r := call(t, s, http.MethodPut, "/api/v1/trustmarktypes/1", `{"active": false}`)
	mustStatus(t, r, http.StatusOK)
	if r.JSON(t)["active"] != false {
		t.Fatalf("update did not deactivate: %s", r.Body)
	}
	page := waitForEntries(t, s, 2)
	latest := page.Items[0] // newest first
	if latest["event_type"] != "trustmarktype_deactivated" || latest["action"] != "UPDATE" || latest["http_method"] != "PUT" {
		t.Fatalf("latest entry %v", latest)
	}
	if got, want := compactJSON(t, latest["diff"]), `{"active":{"new":false,"old":true}}`; got != want {
		t.Errorf("diff %s, want %s", got, want)
	}
	d := call(t, s, http.MethodGet, fmt.Sprintf("/api/v1/auditlog/%.0f", latest["id"]), "").JSON(t)
	before, _ := d["snapshot_before"].(map[string]any)
	after, _ := d["snapshot_after"].(map[string]any)
	if before["active"] != true || after["active"] != false || before["tmtype"] != tmtype {
		t.Errorf("snapshots before %v after %v", before, after)
	}

	// Reactivating, then changing another field, is a plain update.
	mustStatus(t, call(t, s, http.MethodPut, "/api/v1/trustmarktypes/1", `{"active": true, "valid_for": 10}`), http.StatusOK)
	page = waitForEntries(t, s, 3)
	if page.Items[0]["event_type"] != "trustmarktype_updated" {
		t.Errorf("event type %v, want trustmarktype_updated", page.Items[0]["event_type"])
	}
}

func TestUpdateWithSameValuesIsAuditedWithEmptyDiff(t *testing.T) {
	s := startStack(t)
	mustStatus(t, call(t, s, http.MethodPost, "/api/v1/trustmarktypes", `{"tmtype":"`+tmtype+`"}`), http.StatusCreated)
	mustStatus(t, call(t, s, http.MethodPut, "/api/v1/trustmarktypes/1", `{"active": true}`), http.StatusOK)
	page := waitForEntries(t, s, 2)
	if got := compactJSON(t, page.Items[0]["diff"]); got != "{}" {
		t.Errorf("diff %s, want {}", got)
	}
	// A PUT without any field writes nothing and so records nothing.
	mustStatus(t, call(t, s, http.MethodPut, "/api/v1/trustmarktypes/1", `{}`), http.StatusOK)
	if p := settle(t, s); p.Count != 2 {
		t.Errorf("an empty update was recorded: %d entries", p.Count)
	}
}

func TestDuplicateCreateAnswersTheExistingType(t *testing.T) {
	s := startStack(t)
	mustStatus(t, call(t, s, http.MethodPost, "/api/v1/trustmarktypes", `{"tmtype":"`+tmtype+`","valid_for":100}`), http.StatusCreated)
	r := call(t, s, http.MethodPost, "/api/v1/trustmarktypes", `{"tmtype":"`+tmtype+`","valid_for":5,"autorenew":false}`)
	mustStatus(t, r, http.StatusForbidden)
	got := r.JSON(t)
	if got["id"] != 1.0 || got["valid_for"] != 100.0 || got["autorenew"] != true {
		t.Errorf("403 body %v, want the existing type", got)
	}
	p := settle(t, s)
	if p.Count != 2 {
		t.Fatalf("%d entries, want the CREATE and the failed attempt", p.Count)
	}
	assertFailedEntry(t, p.Items[0], "TrustMarkType", "CREATE", "POST", "/api/v1/trustmarktypes", 403, nil)
}

// assertFailedEntry checks the entry of a failed request: success false, its code, no snapshots, diff or event type.
func assertFailedEntry(t *testing.T, e map[string]any, resourceType, action, method, endpoint string, code int, resourceID any) {
	t.Helper()
	for field, want := range map[string]any{
		"success": false, "response_code": float64(code), "action": action, "http_method": method,
		"endpoint": endpoint, "resource_type": resourceType, "resource_id": resourceID, "diff": nil,
		"event_type": nil, "username": "admin", "auth_method": "api_key", "tenant": "default",
	} {
		if got := e[field]; compactJSON(t, got) != compactJSON(t, want) {
			t.Errorf("failed entry %s = %v, want %v", field, got, want)
		}
	}
	if e["request_id"] == nil {
		t.Error("failed entry has no request_id")
	}
}

func TestCallsWithoutAValidKeyAre401(t *testing.T) {
	s := startStack(t)
	for name, key := range map[string]string{"missing": "", "unknown": "not-a-key", "too long": strings.Repeat("k", 300)} {
		for _, route := range [][2]string{
			{http.MethodPost, "/api/v1/trustmarktypes"}, {http.MethodGet, "/api/v1/trustmarktypes"},
			{http.MethodGet, "/api/v1/auditlog"}, {http.MethodGet, "/api/v1/auditlog/1"},
		} {
			r := call(t, s, route[0], route[1], `{"tmtype":"`+tmtype+`"}`, "X-API-Key", key)
			if r.Status != http.StatusUnauthorized || compactJSON(t, r.JSON(t)) != `{"detail":"Unauthorized"}` {
				t.Errorf("%s key, %s %s: %d %s", name, route[0], route[1], r.Status, r.Body)
			}
		}
	}
	if p := settle(t, s); p.Count != 0 {
		t.Errorf("unauthenticated calls changed the log: %d entries", p.Count)
	}
}

func TestTrustMarkTypeReads(t *testing.T) {
	s := startStack(t)
	for i := 1; i <= 3; i++ {
		mustStatus(t, call(t, s, http.MethodPost, "/api/v1/trustmarktypes", fmt.Sprintf(`{"tmtype":"https://example.org/tm/%d"}`, i)), http.StatusCreated)
	}
	r := call(t, s, http.MethodGet, "/api/v1/trustmarktypes?limit=2&offset=1", "")
	mustStatus(t, r, http.StatusOK)
	var page struct {
		Items []struct {
			ID     int    `json:"id"`
			TMType string `json:"tmtype"`
		} `json:"items"`
		Count int `json:"count"`
	}
	if err := json.Unmarshal(r.Body, &page); err != nil {
		t.Fatal(err)
	}
	if page.Count != 3 || len(page.Items) != 2 || page.Items[0].ID != 2 || page.Items[1].ID != 3 {
		t.Errorf("page %+v, want ids 2 and 3 of 3", page)
	}

	mustStatus(t, call(t, s, http.MethodGet, "/api/v1/trustmarktypes/2", ""), http.StatusOK)
	notFound := call(t, s, http.MethodGet, "/api/v1/trustmarktypes/99", "")
	mustStatus(t, notFound, http.StatusNotFound)
	if got := compactJSON(t, notFound.JSON(t)); got != `{"id":99,"message":"TrustMarkType could not be found."}` {
		t.Errorf("404 body %s", got)
	}
	byQuery := call(t, s, http.MethodGet, "/api/v1/trustmarktypes/?tmtype=https://example.org/tm/3", "")
	mustStatus(t, byQuery, http.StatusOK)
	if byQuery.JSON(t)["id"] != 3.0 {
		t.Errorf("lookup by query: %s", byQuery.Body)
	}
	byBody := call(t, s, http.MethodGet, "/api/v1/trustmarktypes/", `{"tmtype":"https://example.org/tm/2"}`)
	mustStatus(t, byBody, http.StatusOK)
	if byBody.JSON(t)["id"] != 2.0 {
		t.Errorf("lookup by body: %s", byBody.Body)
	}
	missing := call(t, s, http.MethodGet, "/api/v1/trustmarktypes/?tmtype=https://nowhere", "")
	mustStatus(t, missing, http.StatusNotFound)
	if got := compactJSON(t, missing.JSON(t)); got != `{"id":0,"message":"TrustMarkType could not be found."}` {
		t.Errorf("404 body %s", got)
	}
	mustStatus(t, call(t, s, http.MethodPut, "/api/v1/trustmarktypes/42", `{"active":false}`), http.StatusNotFound)
	p := settle(t, s)
	if p.Count != 4 {
		t.Fatalf("%d entries, want 3 CREATEs and the failed update (reads record nothing)", p.Count)
	}
	assertFailedEntry(t, p.Items[0], "TrustMarkType", "UPDATE", "PUT", "/api/v1/trustmarktypes/42", 404, 42.0)
	detail := call(t, s, http.MethodGet, fmt.Sprintf("/api/v1/auditlog/%.0f", p.Items[0]["id"]), "").JSON(t)
	if detail["snapshot_before"] != nil || detail["snapshot_after"] != nil {
		t.Errorf("a failed entry has snapshots: %v", detail)
	}
}

func TestBadInputIsRefusedWithoutChange(t *testing.T) {
	s := startStack(t)
	cases := []struct {
		name, method, path, body string
		status                   int
		errType                  string
	}{
		{"missing tmtype", "POST", "/api/v1/trustmarktypes", `{}`, 422, "missing"},
		{"empty tmtype", "POST", "/api/v1/trustmarktypes", `{"tmtype":""}`, 422, "string_too_short"},
		{"tmtype not a string", "POST", "/api/v1/trustmarktypes", `{"tmtype":5}`, 422, "string_type"},
		{"valid_for zero", "POST", "/api/v1/trustmarktypes", `{"tmtype":"u","valid_for":0}`, 422, "greater_than_equal"},
		{"negative renewal", "POST", "/api/v1/trustmarktypes", `{"tmtype":"u","renewal_time":-1}`, 422, "greater_than_equal"},
		{"huge valid_for", "POST", "/api/v1/trustmarktypes", `{"tmtype":"u","valid_for":1e30}`, 422, "less_than_equal"},
		{"bool as string", "POST", "/api/v1/trustmarktypes", `{"tmtype":"u","active":"yes"}`, 422, "bool_type"},
		{"bad JSON", "POST", "/api/v1/trustmarktypes", `{"tmtype":`, 422, "json_invalid"},
		{"array body", "POST", "/api/v1/trustmarktypes", `[1]`, 422, "model_type"},
		{"update bad type", "PUT", "/api/v1/trustmarktypes/1", `{"valid_for":"x"}`, 422, "int_type"},
		{"id not a number", "GET", "/api/v1/trustmarktypes/abc", ``, 422, "int_parsing"},
		{"id zero", "PUT", "/api/v1/trustmarktypes/0", `{"active":true}`, 422, "int_parsing"},
		{"limit too big", "GET", "/api/v1/trustmarktypes?limit=1001", ``, 422, "less_than_equal"},
		{"offset negative", "GET", "/api/v1/auditlog?offset=-1", ``, 422, "greater_than_equal"},
		{"limit not int", "GET", "/api/v1/auditlog?limit=ten", ``, 422, "int_parsing"},
		{"unknown resource type", "GET", "/api/v1/auditlog?resource_type=Nope", ``, 422, "enum"},
		{"unknown action", "GET", "/api/v1/auditlog?action=DROP", ``, 422, "enum"},
		{"unknown event type", "GET", "/api/v1/auditlog?event_type=nope", ``, 422, "enum"},
		{"audit id not a number", "GET", "/api/v1/auditlog/x", ``, 422, "int_parsing"},
	}
	failedWrites := map[string]int{} // "METHOD path code" -> count
	for _, c := range cases {
		if c.method != http.MethodGet {
			failedWrites[fmt.Sprintf("%s %s %d", c.method, c.path, c.status)]++
		}
		t.Run(c.name, func(t *testing.T) {
			r := call(t, s, c.method, c.path, c.body)
			mustStatus(t, r, c.status)
			var body struct {
				Detail []struct {
					Loc  []any  `json:"loc"`
					Type string `json:"type"`
				} `json:"detail"`
			}
			if err := json.Unmarshal(r.Body, &body); err != nil || len(body.Detail) == 0 || body.Detail[0].Type != c.errType {
				t.Errorf("body %s, want an error of type %s", r.Body, c.errType)
			}
		})
	}
	t.Run("body over 1 MiB", func(t *testing.T) {
		big := `{"tmtype":"u","pad":"` + strings.Repeat("x", 1<<20) + `"}`
		r := call(t, s, http.MethodPost, "/api/v1/trustmarktypes", big)
		mustStatus(t, r, http.StatusRequestEntityTooLarge)
		failedWrites["POST /api/v1/trustmarktypes 413"]++
		if _, ok := r.JSON(t)["detail"]; !ok {
			t.Errorf("413 body %s", r.Body)
		}
	})
	t.Run("unknown fields are ignored", func(t *testing.T) {
		mustStatus(t, call(t, s, http.MethodPost, "/api/v1/trustmarktypes", `{"tmtype":"https://x","colour":"red"}`), http.StatusCreated)
	})
	t.Run("unknown route is a JSON 404", func(t *testing.T) {
		r := call(t, s, http.MethodGet, "/api/v1/nothing", "")
		mustStatus(t, r, http.StatusNotFound)
		r.JSON(t)
	})
	t.Run("write methods on the audit log are 405", func(t *testing.T) {
		for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			for _, p := range []string{"/api/v1/auditlog", "/api/v1/auditlog/1"} {
				r := call(t, s, m, p, `{}`)
				mustStatus(t, r, http.StatusMethodNotAllowed)
				if r.Header.Get("Allow") != "GET" {
					t.Errorf("%s %s Allow = %q", m, p, r.Header.Get("Allow"))
				}
				r.JSON(t)
			}
		}
	})
	t.Run("audit entry not found", func(t *testing.T) {
		r := call(t, s, http.MethodGet, "/api/v1/auditlog/12345", "")
		mustStatus(t, r, http.StatusNotFound)
		if got := compactJSON(t, r.JSON(t)); got != `{"id":12345,"message":"Audit log entry not found."}` {
			t.Errorf("404 body %s", got)
		}
	})
	// Each refused write left exactly one failed entry; reads and the audit
	// log's 405s left none; the one good create left its CREATE.
	recorded := map[string]int{}
	succeeded := 0
	for _, e := range settle(t, s).Items {
		if e["success"] == true {
			succeeded++
			continue
		}
		recorded[fmt.Sprintf("%v %v %.0f", e["http_method"], e["endpoint"], e["response_code"])]++
	}
	if succeeded != 1 || compactJSON(t, recorded) != compactJSON(t, failedWrites) {
		t.Errorf("recorded %d successes and failures %v, want 1 and %v", succeeded, recorded, failedWrites)
	}
}

func TestConcurrentIdenticalCreatesMakeOneType(t *testing.T) {
	s := startStack(t)
	const n = 8
	statuses := make([]int, n)
	ids := make([]any, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r := call(t, s, http.MethodPost, "/api/v1/trustmarktypes", `{"tmtype":"`+tmtype+`"}`)
			statuses[i] = r.Status
			ids[i] = r.JSON(t)["id"]
		}(i)
	}
	wg.Wait()
	created := 0
	for i, st := range statuses {
		switch st {
		case http.StatusCreated:
			created++
		case http.StatusForbidden:
		default:
			t.Errorf("request %d: status %d", i, st)
		}
		if ids[i] != ids[0] {
			t.Errorf("request %d answered id %v, request 0 id %v", i, ids[i], ids[0])
		}
	}
	if created != 1 {
		t.Fatalf("%d creates succeeded, want exactly 1 (%v)", created, statuses)
	}
	list := call(t, s, http.MethodGet, "/api/v1/trustmarktypes", "").JSON(t)
	if list["count"] != 1.0 {
		t.Errorf("%v types stored, want 1", list["count"])
	}
	p := settle(t, s)
	if p.Count != n {
		t.Fatalf("%d entries, want one CREATE and %d failed attempts", p.Count, n-1)
	}
	successes := 0
	for _, e := range p.Items {
		if e["success"] == true {
			successes++
			if e["event_type"] != "trustmarktype_created" {
				t.Errorf("success entry %v", e)
			}
		} else {
			assertFailedEntry(t, e, "TrustMarkType", "CREATE", "POST", "/api/v1/trustmarktypes", 403, nil)
		}
	}
	if successes != 1 {
		t.Errorf("%d successful entries, want 1", successes)
	}
}

func TestOutOfBandChangesAreAudited(t *testing.T) {
	s := startStack(t)
	mustStatus(t, call(t, s, http.MethodPost, "/api/v1/trustmarktypes", `{"tmtype":"`+tmtype+`"}`), http.StatusCreated)
	waitForEntries(t, s, 1)
	ctx := context.Background()
	key := map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "TrustMarkType"},
		"sk": &types.AttributeValueMemberS{Value: fmt.Sprintf("%020d", 1)},
	}
	table := aws.String(s.Config.ResourcesTable)
	// Someone edits the item in the console: the attribution stays that of the API's last write.
	_, err := s.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: table, Key: key, UpdateExpression: aws.String("SET valid_for = :v"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": &types.AttributeValueMemberN{Value: "1"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	page := waitForEntries(t, s, 2)
	e := page.Items[0]
	if e["auth_method"] != "out_of_band" || e["username"] != nil || e["action"] != "UPDATE" ||
		e["response_code"] != nil || e["success"] != true || e["endpoint"] != nil {
		t.Errorf("out-of-band update entry %v", e)
	}
	if got := compactJSON(t, e["diff"]); got != `{"valid_for":{"new":1,"old":8760}}` {
		t.Errorf("diff %s", got)
	}
	if _, err := s.Client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: table, Key: key}); err != nil {
		t.Fatal(err)
	}
	page = waitForEntries(t, s, 3)
	e = page.Items[0]
	if e["auth_method"] != "out_of_band" || e["action"] != "DELETE" || e["event_type"] != "trustmarktype_deleted" || e["resource_id"] != 1.0 {
		t.Errorf("out-of-band delete entry %v", e)
	}
}

func TestOpenAPIDescribesTheServedRoutes(t *testing.T) {
	s := startStack(t)
	r := call(t, s, http.MethodGet, "/api/v1/openapi.json", "", "X-API-Key", "")
	mustStatus(t, r, http.StatusOK)
	doc := r.JSON(t)
	paths, _ := doc["paths"].(map[string]any)
	for _, p := range []string{"/api/v1/trustmarktypes", "/api/v1/trustmarktypes/{id}", "/api/v1/trustmarktypes/", "/api/v1/auditlog", "/api/v1/auditlog/{id}"} {
		if _, ok := paths[p]; !ok {
			t.Errorf("openapi.json lacks %s", p)
		}
	}
}
