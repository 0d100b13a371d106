package localstack_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/inmor/inmor-serverless/shared/localstack"
)

// assertSuccessEntry checks the common fields of an API write's entry.
func assertSuccessEntry(t *testing.T, e map[string]any, want map[string]any) {
	t.Helper()
	base := map[string]any{
		"success": true, "username": "admin", "auth_method": "api_key", "api_key_name": "dev", "tenant": "default",
		"user_agent": "localstack-test/1.0", "ip_address": "127.0.0.1",
	}
	for k, v := range want {
		base[k] = v
	}
	assertFields(t, fmt.Sprintf("entry %v", e["id"]), e, base)
	if rid, _ := e["request_id"].(string); rid == "" {
		t.Errorf("entry %v has no request_id", e["id"])
	}
}

func TestTrustMarkAuditEvents(t *testing.T) {
	s := startStack(t)
	tmt := createType(t, s, `{"tmtype":"`+memberType+`"}`)
	log := newAuditCounter(t, s)
	path := "/api/v1/trustmarks/1"

	mark := created(t, s, "/api/v1/trustmarks", mustJSON(t, map[string]any{"tmt": tmt, "domain": rpDomain}))
	e := log.one(t)
	assertSuccessEntry(t, e, map[string]any{
		"action": "CREATE", "resource_type": "TrustMark", "resource_id": 1, "resource_repr": rpDomain,
		"endpoint": "/api/v1/trustmarks", "http_method": "POST", "response_code": 201, "diff": nil, "event_type": "trustmark_issued",
	})
	d := auditDetail(t, s, e)
	if d["snapshot_before"] != nil {
		t.Errorf("a CREATE has a snapshot_before: %v", d["snapshot_before"])
	}
	after, _ := d["snapshot_after"].(map[string]any)
	assertSnapshot(t, "snapshot_after", after, mark)
	if after["tmt_id"] != float64(tmt) || after["mark"] != mark["mark"] {
		t.Errorf("snapshot_after %v lacks tmt_id or the mark", after)
	}

	// diff: the fields the diff must show; maybe: fields it may also show
	// (expire_at moves only when the signing falls in a later second).
	steps := []struct {
		name, method, path, body string
		event                    string
		diff, maybe              []string
		exact                    map[string]any
		sleep                    bool
	}{
		{name: "renew", method: "POST", path: path + "/renew", event: "trustmark_renewed", diff: []string{"expire_at", "mark"}, sleep: true},
		{name: "first claims", method: "PUT", path: path, body: `{"additional_claims":{"ref":"x"}}`, event: "trustmark_updated",
			diff: []string{"additional_claims", "mark"}, maybe: []string{"expire_at"},
			exact: map[string]any{"additional_claims": map[string]any{"old": nil, "new": map[string]any{"ref": "x"}}}},
		{name: "changed claims", method: "PUT", path: path, body: `{"additional_claims":{"ref":"y","k":1}}`, event: "trustmark_updated",
			diff: []string{"additional_claims", "mark"}, maybe: []string{"expire_at"},
			exact: map[string]any{"additional_claims": map[string]any{"added": map[string]any{"k": 1}, "changed": map[string]any{"ref": map[string]any{"old": "x", "new": "y"}}}}},
		{name: "autorenew only", method: "PUT", path: path, body: `{"autorenew":false}`, event: "trustmark_updated",
			diff: []string{"autorenew"}, exact: map[string]any{"autorenew": map[string]any{"old": true, "new": false}}},
		{name: "revoke", method: "PUT", path: path, body: `{"active":false}`, event: "trustmark_revoked",
			diff: []string{"active", "expire_at", "mark"}, exact: map[string]any{"active": map[string]any{"old": true, "new": false}}},
		// An audit entry records every successful write, even one that
		// changes nothing: its diff is empty. (Its event type is not pinned
		// down here.)
		{name: "same values", method: "PUT", path: path, body: `{"active":false}`, diff: []string{}},
		{name: "reissue", method: "PUT", path: path, body: `{"active":true}`, event: "trustmark_updated",
			diff: []string{"active", "expire_at", "mark"}, exact: map[string]any{"active": map[string]any{"old": false, "new": true}}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.sleep {
				time.Sleep(1100 * time.Millisecond) // a new exp second
			}
			prev := getJSON(t, s, path)
			r := call(t, s, st.method, st.path, st.body)
			mustStatus(t, r, http.StatusOK)
			now := r.JSON(t)
			e := log.one(t)
			if e == nil {
				return
			}
			want := map[string]any{
				"action": "UPDATE", "resource_type": "TrustMark", "resource_id": 1, "resource_repr": rpDomain,
				"endpoint": st.path, "http_method": st.method, "response_code": 200,
			}
			if st.event != "" {
				want["event_type"] = st.event
			}
			assertSuccessEntry(t, e, want)
			got := diffKeys(t, e)
			for _, k := range st.maybe {
				got = slices.DeleteFunc(got, func(g string) bool { return g == k })
			}
			if compactJSON(t, got) != compactJSON(t, st.diff) {
				t.Errorf("diff %s changes %v, want %v (and maybe %v)", compactJSON(t, e["diff"]), got, st.diff, st.maybe)
			}
			diff, _ := e["diff"].(map[string]any)
			assertFields(t, "diff", diff, st.exact)
			if m, ok := diff["mark"].(map[string]any); ok && (m["old"] != prev["mark"] || m["new"] != now["mark"]) {
				t.Errorf("diff of mark %v, want %v -> %v", m, prev["mark"], now["mark"])
			}
			d := auditDetail(t, s, e)
			before, _ := d["snapshot_before"].(map[string]any)
			after, _ := d["snapshot_after"].(map[string]any)
			assertSnapshot(t, "snapshot_before", before, prev)
			assertSnapshot(t, "snapshot_after", after, now)
		})
	}
}

func subordinateUpdate(t *testing.T, fields map[string]any) string {
	t.Helper()
	body := subordinateBody(t, fields)
	delete(body, "entityid")
	return mustJSON(t, body)
}

func TestSubordinateAuditEvents(t *testing.T) {
	s := startStack(t)
	loadSubKeys(t)
	log := newAuditCounter(t, s)
	sub := created(t, s, "/api/v1/subordinates", mustJSON(t, subordinateBody(t, nil)))
	// Its id, usually 1: a counter increment the SDK retried after a lost
	// answer skips one (ids may have gaps).
	id := int(sub["id"].(float64))
	e := log.one(t)
	assertSuccessEntry(t, e, map[string]any{
		"action": "CREATE", "resource_type": "Subordinate", "resource_id": id, "resource_repr": subEntityID,
		"endpoint": "/api/v1/subordinates", "http_method": "POST", "response_code": 201, "diff": nil, "event_type": "registration",
	})
	d := auditDetail(t, s, e)
	after, _ := d["snapshot_after"].(map[string]any)
	assertSnapshot(t, "snapshot_after", after, sub)
	if after["statement"] != storedStatement(t, s, id) {
		t.Errorf("snapshot_after statement %v, want the stored statement", after["statement"])
	}

	otherKeys := map[string]any{"keys": []any{ecJWK(t, subKeys.ec2, "ec-2", false)}}
	otherMeta := map[string]any{"openid_relying_party": map[string]any{"client_name": "Other"}}
	otherForced := map[string]any{"openid_relying_party": map[string]any{"grant_types": []any{"refresh_token"}}}
	path := fmt.Sprintf("/api/v1/subordinates/%d", id)
	steps := []struct {
		name, path, body string
		event            any
		changed, same    []string
	}{
		{"forced_metadata, metadata and jwks", path, subordinateUpdate(t, map[string]any{"metadata": otherMeta, "forced_metadata": otherForced, "jwks": otherKeys}),
			"metadata_policy_update", []string{"forced_metadata", "metadata", "jwks", "statement"}, nil},
		{"forced_metadata only", path, subordinateUpdate(t, map[string]any{"metadata": otherMeta, "jwks": otherKeys}),
			"metadata_policy_update", []string{"forced_metadata", "statement"}, []string{"metadata", "jwks"}},
		{"metadata only", path, subordinateUpdate(t, map[string]any{"jwks": otherKeys}),
			"metadata_update", []string{"metadata", "statement"}, []string{"forced_metadata", "jwks"}},
		{"jwks only", path, subordinateUpdate(t, nil),
			"jwks_update", []string{"jwks", "statement"}, []string{"forced_metadata", "metadata"}},
		{"valid_for only", path, subordinateUpdate(t, map[string]any{"valid_for": 100}),
			nil, []string{"valid_for", "statement", "expire_at"}, []string{"forced_metadata", "metadata", "jwks"}},
		{"renew", path + "/renew", "",
			nil, []string{"statement", "expire_at"}, []string{"forced_metadata", "metadata", "jwks", "valid_for", "active"}},
		{"deactivation with a metadata change", path, subordinateUpdate(t, map[string]any{"valid_for": 100, "active": false, "metadata": otherMeta}),
			"revocation", []string{"active", "metadata"}, []string{"forced_metadata", "jwks"}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.path != path {
				time.Sleep(1100 * time.Millisecond) // a renew moves exp to a later second
			}
			prev := getJSON(t, s, path)
			r := call(t, s, http.MethodPost, st.path, st.body)
			mustStatus(t, r, http.StatusOK)
			now := r.JSON(t)
			e := log.one(t)
			if e == nil {
				return
			}
			assertSuccessEntry(t, e, map[string]any{
				"action": "UPDATE", "resource_type": "Subordinate", "resource_id": id, "resource_repr": subEntityID,
				"endpoint": st.path, "http_method": "POST", "response_code": 200, "event_type": st.event,
			})
			diff, _ := e["diff"].(map[string]any)
			for _, f := range st.changed {
				if _, ok := diff[f]; !ok {
					t.Errorf("diff %s does not show %s", compactJSON(t, diff), f)
				}
			}
			for _, f := range st.same {
				if _, ok := diff[f]; ok {
					t.Errorf("diff %s shows the unchanged %s", compactJSON(t, diff), f)
				}
			}
			d := auditDetail(t, s, e)
			before, _ := d["snapshot_before"].(map[string]any)
			after, _ := d["snapshot_after"].(map[string]any)
			assertSnapshot(t, "snapshot_before", before, prev)
			assertSnapshot(t, "snapshot_after", after, now)
			if _, ok := before["statement"].(string); !ok {
				t.Errorf("snapshot_before has no statement: %v", before)
			}
		})
	}
}

func TestOutOfBandSubordinateChangesAreAudited(t *testing.T) {
	s := startStack(t)
	sub := created(t, s, "/api/v1/subordinates", mustJSON(t, subordinateBody(t, nil)))
	log := newAuditCounter(t, s)
	ctx := context.Background()
	table := aws.String(s.Config.ResourcesTable)

	// Someone edits the metadata in the console.
	_, err := s.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: table, Key: resourceKey("Subordinate", 1), UpdateExpression: aws.String("SET metadata = :m"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":m": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
			"openid_relying_party": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
				"client_name":   &types.AttributeValueMemberS{Value: "Changed"},
				"redirect_uris": &types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberS{Value: "https://rp.example.org/cb"}}},
			}},
			"federation_entity": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
				"contacts": &types.AttributeValueMemberS{Value: "ops@example.org"},
			}},
		}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	e := log.one(t)
	if e == nil {
		t.FailNow()
	}
	assertFields(t, "out-of-band update", e, map[string]any{
		"auth_method": "out_of_band", "username": nil, "user_id": nil, "api_key_name": nil, "endpoint": nil, "http_method": nil,
		"response_code": nil, "success": true, "action": "UPDATE", "resource_type": "Subordinate", "resource_id": 1,
		"resource_repr": subEntityID, "event_type": "metadata_update",
	})
	wantDiff := map[string]any{"metadata": map[string]any{
		"added": map[string]any{"federation_entity": map[string]any{"contacts": "ops@example.org"}},
		"changed": map[string]any{"openid_relying_party": map[string]any{
			"old": sub["metadata"].(map[string]any)["openid_relying_party"],
			"new": map[string]any{"client_name": "Changed", "redirect_uris": []any{"https://rp.example.org/cb"}},
		}},
	}}
	if got, want := compactJSON(t, e["diff"]), compactJSON(t, wantDiff); got != want {
		t.Errorf("diff %s, want %s", got, want)
	}
	d := auditDetail(t, s, e)
	before, _ := d["snapshot_before"].(map[string]any)
	after, _ := d["snapshot_after"].(map[string]any)
	assertSnapshot(t, "snapshot_before", before, sub)
	if compactJSON(t, after["metadata"]) == compactJSON(t, sub["metadata"]) || after["entityid"] != subEntityID {
		t.Errorf("snapshot_after %v", after)
	}

	// A second console edit of a field that raises no event.
	_, err = s.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: table, Key: resourceKey("Subordinate", 1), UpdateExpression: aws.String("SET autorenew = :f"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":f": &types.AttributeValueMemberBOOL{Value: false}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if e := log.one(t); e != nil && (e["auth_method"] != "out_of_band" || e["event_type"] != nil || compactJSON(t, e["diff"]) != `{"autorenew":{"new":false,"old":true}}`) {
		t.Errorf("second out-of-band update entry %v", e)
	}

	if _, err := s.Client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: table, Key: resourceKey("Subordinate", 1)}); err != nil {
		t.Fatal(err)
	}
	e = log.one(t)
	if e == nil {
		t.FailNow()
	}
	assertFields(t, "out-of-band delete", e, map[string]any{
		"auth_method": "out_of_band", "username": nil, "action": "DELETE", "resource_type": "Subordinate", "resource_id": 1,
		"resource_repr": subEntityID, "event_type": "revocation", "success": true, "response_code": nil, "diff": nil,
	})
	d = auditDetail(t, s, e)
	if before, _ := d["snapshot_before"].(map[string]any); before == nil || d["snapshot_after"] != nil || before["autorenew"] != false {
		t.Errorf("delete snapshots before %v after %v", d["snapshot_before"], d["snapshot_after"])
	}
}

func TestBookkeepingItemsLeaveNoEntries(t *testing.T) {
	s := startStack(t)
	tmt := createType(t, s, `{"tmtype":"`+memberType+`"}`)
	created(t, s, "/api/v1/trustmarks", mustJSON(t, map[string]any{"tmt": tmt, "domain": rpDomain}))
	created(t, s, "/api/v1/subordinates", mustJSON(t, subordinateBody(t, nil)))
	created(t, s, "/api/v1/subordinates", mustJSON(t, subordinateBody(t, map[string]any{"entityid": "https://op.example.org"})))
	mustStatus(t, call(t, s, http.MethodPost, "/api/v1/subordinates", mustJSON(t, subordinateBody(t, nil))), http.StatusForbidden)
	mustStatus(t, call(t, s, http.MethodPost, "/api/v1/trustmarks", mustJSON(t, map[string]any{"tmt": tmt, "domain": rpDomain})), http.StatusForbidden)
	// 4 resources created and 2 refused creates: 6 entries, whatever the
	// counters, uniqueness guards and attempt items written alongside.
	p := settle(t, s)
	if p.Count != 6 {
		t.Fatalf("%d entries, want 6 (4 creates, 2 refused)", p.Count)
	}
	log := &auditCounter{s: s, count: p.Count}

	// Touch every bookkeeping item directly: still nothing to record.
	ctx := context.Background()
	out, err := s.Client.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(s.Config.ResourcesTable)})
	if err != nil {
		t.Fatal(err)
	}
	touched := map[string]int{}
	for _, item := range out.Items {
		pk := item["pk"].(*types.AttributeValueMemberS).Value
		if pk == "TrustMarkType" || pk == "TrustMark" || pk == "Subordinate" {
			continue
		}
		kind := pk
		if len(pk) > 7 && pk[:7] == "unique#" {
			kind = "unique#"
		}
		touched[kind]++
		_, err := s.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(s.Config.ResourcesTable), Key: map[string]types.AttributeValue{"pk": item["pk"], "sk": item["sk"]},
			UpdateExpression:          aws.String("SET touched_by_test = :x"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":x": &types.AttributeValueMemberS{Value: "yes"}},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if touched["counter"] == 0 || touched["unique#"] == 0 {
		t.Errorf("bookkeeping items found %v, want counters and uniqueness guards", touched)
	}
	t.Logf("touched bookkeeping items %v", touched)
	log.none(t)
}

// TestConcurrentUpdatesLoseNothing sends concurrent updates to one resource:
// each answers 200 or 409, every 200 has its entry, and the entries chain.
func TestConcurrentUpdatesLoseNothing(t *testing.T) {
	cases := []struct {
		name, resourceType, method, path string
		create                           func(t *testing.T, s *localstack.Stack) int
		body                             func(t *testing.T, i int) string
	}{
		{
			name: "trust mark", resourceType: "TrustMark", method: http.MethodPut, path: "/api/v1/trustmarks/%d",
			create: func(t *testing.T, s *localstack.Stack) int {
				tmt := createType(t, s, `{"tmtype":"`+memberType+`"}`)
				return int(created(t, s, "/api/v1/trustmarks", mustJSON(t, map[string]any{"tmt": tmt, "domain": rpDomain}))["id"].(float64))
			},
			body: func(t *testing.T, i int) string {
				return mustJSON(t, map[string]any{"additional_claims": map[string]any{"writer": i}})
			},
		},
		{
			name: "subordinate", resourceType: "Subordinate", method: http.MethodPost, path: "/api/v1/subordinates/%d",
			create: func(t *testing.T, s *localstack.Stack) int {
				return int(created(t, s, "/api/v1/subordinates", mustJSON(t, subordinateBody(t, nil)))["id"].(float64))
			},
			body: func(t *testing.T, i int) string {
				return subordinateUpdate(t, map[string]any{"metadata": map[string]any{"writer": i}})
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := startStack(t)
			// The id the API answered: a retried lost answer may skip one.
			id := c.create(t, s)
			path := fmt.Sprintf(c.path, id)
			const n, rounds = 4, 2
			oks, conflicts := 0, 0
			for round := 0; round < rounds; round++ {
				statuses := make([]int, n)
				bodies := make([]map[string]any, n)
				var wg sync.WaitGroup
				for i := 0; i < n; i++ {
					wg.Add(1)
					go func(i int) {
						defer wg.Done()
						r := call(t, s, c.method, path, c.body(t, round*n+i))
						statuses[i], bodies[i] = r.Status, r.JSON(t)
					}(i)
				}
				wg.Wait()
				for i, st := range statuses {
					switch st {
					case http.StatusOK:
						oks++
					case http.StatusConflict:
						conflicts++
						if msg, _ := bodies[i]["message"].(string); msg == "" || bodies[i]["id"] != float64(id) || len(bodies[i]) != 2 {
							t.Errorf("409 body %v, want {\"message\": ..., \"id\": %d}", bodies[i], id)
						}
					default:
						t.Errorf("status %d: %v", st, bodies[i])
					}
				}
			}
			t.Logf("%d answered 200, %d answered 409", oks, conflicts)

			entries := entriesOf(settle(t, s), c.resourceType, id)
			var chain []map[string]any
			failed := 0
			for _, e := range entries {
				if e["success"] == true {
					chain = append(chain, e)
				} else {
					failed++
					assertFailedEntry(t, e, c.resourceType, "UPDATE", c.method, path, 409, float64(id))
				}
			}
			if len(chain) != 1+oks || failed != conflicts {
				t.Fatalf("%d successful entries and %d failed, want the CREATE and %d updates, and %d failed", len(chain), failed, oks, conflicts)
			}
			if chain[0]["action"] != "CREATE" {
				t.Fatalf("first entry %v is not the CREATE", chain[0])
			}
			var prevAfter any
			for i, e := range chain {
				d := auditDetail(t, s, e)
				if i > 0 {
					if got, want := compactJSON(t, d["snapshot_before"]), compactJSON(t, prevAfter); got != want {
						t.Errorf("entry %v: snapshot_before %s is not the previous entry's snapshot_after %s", e["id"], got, want)
					}
				}
				prevAfter = d["snapshot_after"]
			}
			final := getJSON(t, s, path)
			last, _ := prevAfter.(map[string]any)
			for k, v := range final {
				if compactJSON(t, last[k]) != compactJSON(t, v) {
					t.Errorf("the stored %s is %v, the last snapshot_after says %v", k, v, last[k])
				}
			}
		})
	}
}

// TestDiffComparesNumbersByValue: the diff leaves out a field whose value
// is the same on both sides; 1.50 and 1.5 (or 100E-2 and 1) are one JSON
// number, so rewriting them is no change.
func TestDiffComparesNumbersByValue(t *testing.T) {
	s := startStack(t)
	created(t, s, "/api/v1/subordinates", mustJSON(t, subordinateBody(t, nil)))
	log := newAuditCounter(t, s)
	body := func(n, m string) string {
		b := subordinateBody(t, map[string]any{"entityid": nil, "metadata": map[string]any{"federation_entity": map[string]any{"organization_name": "Org"}}})
		raw := mustJSON(t, b)
		// numbers spelled exactly as given
		return strings.Replace(raw, `"organization_name":"Org"`, `"organization_name":"Org","n":`+n+`,"m":`+m, 1)
	}
	mustStatus(t, call(t, s, http.MethodPost, "/api/v1/subordinates/1", body("1.50", "100E-2")), http.StatusOK)
	log.one(t)
	mustStatus(t, call(t, s, http.MethodPost, "/api/v1/subordinates/1", body("1.5", "1")), http.StatusOK)
	e := log.one(t)
	if e == nil {
		t.FailNow()
	}
	diff, _ := e["diff"].(map[string]any)
	if _, listed := diff["metadata"]; listed || e["event_type"] != nil {
		t.Errorf("numbers written with another spelling are recorded as a change: event %v, diff of metadata %s", e["event_type"], compactJSON(t, diff["metadata"]))
	}
}

// TestOutOfBandInsertsAreNotAttributedToTheAPI: an item put into the table
// directly is out-of-band, even when it is a copy of an item
// the API wrote, attribution included: a console "duplicate item", or a
// deleted item restored from a backup.
func TestOutOfBandInsertsAreNotAttributedToTheAPI(t *testing.T) {
	s := startStack(t)
	created(t, s, "/api/v1/subordinates", mustJSON(t, subordinateBody(t, nil)))
	apiEntry := settle(t, s).Items[0]
	log := &auditCounter{s: s, count: 1}
	item := storedItem(t, s, "Subordinate", 1)
	ctx := context.Background()
	table := aws.String(s.Config.ResourcesTable)

	duplicate := map[string]types.AttributeValue{}
	for k, v := range item {
		duplicate[k] = v
	}
	duplicate["sk"] = &types.AttributeValueMemberS{Value: fmt.Sprintf("%020d", 7)}
	duplicate["id"] = &types.AttributeValueMemberN{Value: "7"}
	steps := []struct {
		name   string
		write  func() error
		action string
		id     float64
		event  string
	}{
		{"duplicate", func() error {
			_, err := s.Client.PutItem(ctx, &dynamodb.PutItemInput{TableName: table, Item: duplicate})
			return err
		}, "CREATE", 7, "registration"},
		{"delete", func() error {
			_, err := s.Client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: table, Key: resourceKey("Subordinate", 1)})
			return err
		}, "DELETE", 1, "revocation"},
		{"restore", func() error {
			_, err := s.Client.PutItem(ctx, &dynamodb.PutItemInput{TableName: table, Item: item})
			return err
		}, "CREATE", 1, "registration"},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if err := st.write(); err != nil {
				t.Fatal(err)
			}
			e := log.one(t)
			if e == nil {
				return
			}
			assertFields(t, "out-of-band "+st.name, e, map[string]any{
				"auth_method": "out_of_band", "username": nil, "user_id": nil, "request_id": nil, "endpoint": nil,
				"http_method": nil, "response_code": nil, "success": true, "action": st.action, "resource_type": "Subordinate",
				"resource_id": st.id, "event_type": st.event,
			})
			ts, err1 := time.Parse(time.RFC3339Nano, fmt.Sprint(e["timestamp"]))
			apiTS, err2 := time.Parse(time.RFC3339Nano, fmt.Sprint(apiEntry["timestamp"]))
			if err1 != nil || err2 != nil || !ts.After(apiTS) {
				t.Errorf("timestamp %v is not after the API's create (%v): not when this change was committed", e["timestamp"], apiEntry["timestamp"])
			}
		})
	}
}
