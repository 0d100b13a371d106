package reconcile_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/inmor/inmor-serverless/shared/dynamo"
	"github.com/inmor/inmor-serverless/shared/dynamotest"
	"github.com/inmor/inmor-serverless/shared/localstack"
	"github.com/inmor/inmor-serverless/shared/reconcile"
)

func TestMain(m *testing.M) { dynamotest.Main(m) }

const testKey = "test-key-0123456789abcdefghijklmnopqrstuvwxyz"

// sampleJWKS is a public key set for subordinates.
const sampleJWKS = `{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}`

// harness is a local stack whose stream is polled only when the test
// drains it, so a test can look at the log before the audit function ran.
type harness struct {
	t *testing.T
	s *localstack.Stack
	// client has none of the stack's options (gate, meters).
	client *dynamodb.Client
}

func start(t *testing.T) *harness {
	t.Helper()
	t.Parallel()
	s, err := localstack.Start(context.Background(), localstack.Options{
		Endpoint: dynamotest.Endpoint(),
		Getenv: dynamotest.Getenv(t, map[string]string{
			"INMOR_DEV_API_KEY": testKey, "INMOR_DEV_ADMIN_PASSWORD": "test-password",
			"SIGNING_KEY_FILE":     filepath.Join(t.TempDir(), "signing-key.json"),
			"AUDIT_LOG_KEY_FILE":   filepath.Join(t.TempDir(), "audit-log-key"),
			"ATTRIBUTION_KEY_FILE": filepath.Join(t.TempDir(), "attribution-key"),
			"MFA_KEY_FILE":         filepath.Join(t.TempDir(), "mfa-key"),
		}),
		Out:           io.Discard,
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
		ManualPolling: true,
	})
	if err != nil {
		t.Fatalf("start stack: %v", err)
	}
	t.Cleanup(s.Stop)
	return &harness{t: t, s: s, client: dynamo.NewClient(dynamo.LocalConfig(s.Endpoint))}
}

// call sends a request with the test key and returns the status.
func (h *harness) call(method, path, body string) int {
	h.t.Helper()
	req, err := http.NewRequest(method, h.s.URL+path, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-Key", testKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// must sends a request and fails the test unless it answers status.
func (h *harness) must(status int, method, path, body string) {
	h.t.Helper()
	if got := h.call(method, path, body); got != status {
		h.t.Fatalf("%s %s: %d, want %d", method, path, got, status)
	}
}

// drain polls the stream until nothing is left to handle.
func (h *harness) drain() {
	h.t.Helper()
	for range 100 {
		if n, err := h.s.Poller.PollOnce(context.Background()); err == nil && n == 0 {
			return
		}
	}
	h.t.Fatal("the stream did not settle")
}

func (h *harness) verifier(pageSize int) *reconcile.Verifier {
	return &reconcile.Verifier{
		Client: h.client, ResourcesTable: h.s.Config.ResourcesTable, AuditTable: h.s.Config.AuditTable, PageSize: pageSize,
	}
}

// verify runs the verification and returns its problems as lines.
func (h *harness) verify(pageSize int) ([]string, reconcile.Summary) {
	h.t.Helper()
	problems, sum, err := h.verifier(pageSize).Problems(context.Background())
	if err != nil {
		h.t.Fatalf("verify: %v", err)
	}
	lines := make([]string, len(problems))
	for i, p := range problems {
		lines[i] = p.String()
	}
	if sum.Problems != len(problems) {
		h.t.Errorf("summary counts %d problems, %d reported", sum.Problems, len(problems))
	}
	return lines, sum
}

// expect checks the verification reports exactly want (in order), with
// DynamoDB's own page sizes and with pages of one item.
func (h *harness) expect(t *testing.T, want ...string) {
	t.Helper()
	for _, pageSize := range []int{0, 1} {
		got, _ := h.verify(pageSize)
		if !slices.Equal(got, want) {
			t.Errorf("page size %d: problems\n%s\nwant\n%s", pageSize, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}

func (h *harness) key(pk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk}}
}

func entryPK(id int64) string { return fmt.Sprintf("entry#%020d", id) }

// entry reads an audit entry from the table.
func (h *harness) entry(id int64) map[string]types.AttributeValue {
	h.t.Helper()
	out, err := h.client.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: aws.String(h.s.Config.AuditTable), Key: h.key(entryPK(id)), ConsistentRead: aws.Bool(true),
	})
	if err != nil || out.Item == nil {
		h.t.Fatalf("entry %d: %v (found: %v)", id, err, out != nil && out.Item != nil)
	}
	return out.Item
}

func (h *harness) putEntry(t *testing.T, item map[string]types.AttributeValue) {
	t.Helper()
	if _, err := h.client.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(h.s.Config.AuditTable), Item: item}); err != nil {
		t.Fatal(err)
	}
}

func (h *harness) deleteEntry(t *testing.T, id int64) {
	t.Helper()
	if _, err := h.client.DeleteItem(context.Background(), &dynamodb.DeleteItemInput{TableName: aws.String(h.s.Config.AuditTable), Key: h.key(entryPK(id))}); err != nil {
		t.Fatal(err)
	}
}

// tamper replaces entry id by what change makes of it (nil removes it)
// until the end of the (sub)test.
func (h *harness) tamper(t *testing.T, id int64, change func(item map[string]types.AttributeValue) map[string]types.AttributeValue) {
	t.Helper()
	original := h.entry(id)
	copied := make(map[string]types.AttributeValue, len(original))
	for k, v := range original {
		copied[k] = v
	}
	t.Cleanup(func() { h.putEntry(t, original) })
	if changed := change(copied); changed == nil {
		h.deleteEntry(t, id)
	} else {
		h.putEntry(t, changed)
	}
}

// editSnapshot changes one snapshot of an entry (JSON, numbers kept as written).
func editSnapshot(t *testing.T, name string, edit func(map[string]any) map[string]any) func(map[string]types.AttributeValue) map[string]types.AttributeValue {
	return func(item map[string]types.AttributeValue) map[string]types.AttributeValue {
		d := json.NewDecoder(strings.NewReader(item[name].(*types.AttributeValueMemberS).Value))
		d.UseNumber()
		var snap map[string]any
		if err := d.Decode(&snap); err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(edit(snap))
		if err != nil {
			t.Fatal(err)
		}
		item[name] = &types.AttributeValueMemberS{Value: string(b)}
		return item
	}
}

func setText(name, value string) func(map[string]types.AttributeValue) map[string]types.AttributeValue {
	return func(item map[string]types.AttributeValue) map[string]types.AttributeValue {
		item[name] = &types.AttributeValueMemberS{Value: value}
		return item
	}
}

func remove(map[string]types.AttributeValue) map[string]types.AttributeValue { return nil }

func resourceKey(resourceType string, id int) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: resourceType},
		"sk": &types.AttributeValueMemberS{Value: fmt.Sprintf("%020d", id)},
	}
}

// item reads a resource item.
func (h *harness) item(resourceType string, id int) map[string]types.AttributeValue {
	h.t.Helper()
	out, err := h.client.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: aws.String(h.s.Config.ResourcesTable), Key: resourceKey(resourceType, id), ConsistentRead: aws.Bool(true),
	})
	if err != nil || out.Item == nil {
		h.t.Fatalf("%s %d: %v", resourceType, id, err)
	}
	return out.Item
}

func (h *harness) putItem(item map[string]types.AttributeValue) {
	h.t.Helper()
	if _, err := h.client.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(h.s.Config.ResourcesTable), Item: item}); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) deleteItem(resourceType string, id int) {
	h.t.Helper()
	if _, err := h.client.DeleteItem(context.Background(), &dynamodb.DeleteItemInput{TableName: aws.String(h.s.Config.ResourcesTable), Key: resourceKey(resourceType, id)}); err != nil {
		h.t.Fatal(err)
	}
}

// consoleEdit sets one attribute of an item, as the DynamoDB console would.
func (h *harness) consoleEdit(resourceType string, id int, name string, value types.AttributeValue) {
	h.t.Helper()
	_, err := h.client.UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
		TableName: aws.String(h.s.Config.ResourcesTable), Key: resourceKey(resourceType, id),
		UpdateExpression:          aws.String("SET #a = :v"),
		ExpressionAttributeNames:  map[string]string{"#a": name},
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": value},
	})
	if err != nil {
		h.t.Fatal(err)
	}
}

// auditCount is the number of entries in the log, by their counter.
func (h *harness) auditCount(filter string) int {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, h.s.URL+"/api/v1/auditlog?limit=1&"+filter, nil)
	req.Header.Set("X-API-Key", testKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	var page struct{ Count int }
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		h.t.Fatal(err)
	}
	return page.Count
}

// smallLog makes TrustMarkType 1 at version 3 (entries 1, 2, 3: create,
// deactivate, activate) and TrustMarkType 2 at version 1 (entry 4), drained.
func smallLog(t *testing.T) *harness {
	h := start(t)
	h.must(http.StatusCreated, http.MethodPost, "/api/v1/trustmarktypes", `{"tmtype":"https://example.org/tm/1"}`)
	h.must(http.StatusOK, http.MethodPut, "/api/v1/trustmarktypes/1", `{"active":false}`)
	h.must(http.StatusOK, http.MethodPut, "/api/v1/trustmarktypes/1", `{"active":true}`)
	h.must(http.StatusCreated, http.MethodPost, "/api/v1/trustmarktypes", `{"tmtype":"https://example.org/tm/2"}`)
	h.drain()
	if n := h.auditCount(""); n != 4 {
		t.Fatalf("%d entries, want 4", n)
	}
	return h
}

// TestCleanLogVerifiesClean: creates, updates and renews of every resource
// type, failed requests, and out-of-band edits, deletes, copies and
// restores all verify clean, with pages of any size.
func TestCleanLogVerifiesClean(t *testing.T) {
	h := start(t)
	post, put := http.MethodPost, http.MethodPut
	h.must(http.StatusCreated, post, "/api/v1/trustmarktypes", `{"tmtype":"https://example.org/tm/1"}`)
	h.must(http.StatusCreated, post, "/api/v1/trustmarktypes", `{"tmtype":"https://example.org/tm/2"}`)
	h.must(http.StatusOK, put, "/api/v1/trustmarktypes/1", `{"active":false}`)
	h.must(http.StatusOK, put, "/api/v1/trustmarktypes/1", `{"active":true,"valid_for":100}`)
	h.must(http.StatusOK, put, "/api/v1/trustmarktypes/1", `{"active":true,"valid_for":100}`) // same values: an entry with an empty diff
	h.must(http.StatusForbidden, post, "/api/v1/trustmarktypes", `{"tmtype":"https://example.org/tm/1"}`)
	h.must(http.StatusNotFound, put, "/api/v1/trustmarktypes/99", `{"active":false}`) // a failed entry of a resource that never existed
	h.must(http.StatusCreated, post, "/api/v1/trustmarks", `{"tmt":1,"domain":"https://rp1.example.org"}`)
	h.must(http.StatusCreated, post, "/api/v1/trustmarks", `{"tmt":2,"domain":"https://rp1.example.org"}`)
	h.must(http.StatusOK, post, "/api/v1/trustmarks/1/renew", ``)
	h.must(http.StatusOK, put, "/api/v1/trustmarks/1", `{"additional_claims":{"ref":"x","n":1.50}}`)
	h.must(http.StatusOK, put, "/api/v1/trustmarks/2", `{"active":false}`)
	sub := `{"entityid":"https://rp1.example.org","metadata":{},"forced_metadata":{},"jwks":` + sampleJWKS + `}`
	h.must(http.StatusCreated, post, "/api/v1/subordinates", sub)
	h.must(http.StatusForbidden, post, "/api/v1/subordinates", sub)
	h.must(http.StatusOK, post, "/api/v1/subordinates/1", `{"metadata":{"federation_entity":{"n":1}},"forced_metadata":{},"jwks":`+sampleJWKS+`}`)
	h.must(http.StatusOK, post, "/api/v1/subordinates/1/renew", ``)
	h.drain()

	// Out of band: console edits (the version stays), then the API again.
	h.consoleEdit("TrustMarkType", 2, "valid_for", &types.AttributeValueMemberN{Value: "1"})
	h.consoleEdit("TrustMark", 1, "additional_claims", &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
		"ref": &types.AttributeValueMemberS{Value: "y"}, "bin": &types.AttributeValueMemberB{Value: []byte{0, 1, 2}},
		"tags": &types.AttributeValueMemberSS{Value: []string{"a", "b"}},
	}})
	h.must(http.StatusOK, put, "/api/v1/trustmarktypes/2", `{"active":false}`)
	// A copy of a subordinate under another id, a delete, a restore of the
	// deleted item (attribution included), and the API updates the restored one.
	original := h.item("Subordinate", 1)
	copied := map[string]types.AttributeValue{}
	for k, v := range original {
		copied[k] = v
	}
	copied["sk"] = &types.AttributeValueMemberS{Value: fmt.Sprintf("%020d", 7)}
	copied["id"] = &types.AttributeValueMemberN{Value: "7"}
	h.putItem(copied)
	h.deleteItem("Subordinate", 1)
	h.putItem(original)
	h.must(http.StatusOK, post, "/api/v1/subordinates/1", `{"metadata":{},"forced_metadata":{},"jwks":`+sampleJWKS+`}`)
	// An out-of-band delete of the copy, and of a trust mark.
	h.deleteItem("Subordinate", 7)
	h.deleteItem("TrustMark", 2)
	// A console edit that writes a number in another spelling.
	h.consoleEdit("TrustMarkType", 1, "valid_for", &types.AttributeValueMemberN{Value: "1.000E2"})
	h.drain()

	h.expect(t)
	for _, pageSize := range []int{0, 2, 1000} {
		_, sum := h.verify(pageSize)
		// TrustMarkTypes 1, 2, TrustMark 1, Subordinate 1; and the deleted
		// TrustMark 2 and Subordinate 7.
		if want := h.auditCount("success=true"); sum.Resources != 6 || sum.Entries != want {
			t.Errorf("page size %d: %+v, want 6 resources and %d entries (every successful one)", pageSize, sum, want)
		}
	}
}

// TestHistoryIsReadInIDOrder: entries chain in the order the audit function
// appended them (their ids), whatever their timestamps say (an out-of-band
// change is dated by the stream, which may round).
func TestHistoryIsReadInIDOrder(t *testing.T) {
	h := smallLog(t)
	h.tamper(t, 3, setText("sort", "2000-01-01T00:00:00.000000Z#"+fmt.Sprintf("%020d", 3)))
	h.expect(t)
}

func TestDeletedEntryIsAMissingVersion(t *testing.T) {
	h := smallLog(t)
	t.Run("the CREATE", func(t *testing.T) {
		h.tamper(t, 1, remove)
		h.expect(t, "TrustMarkType#1 version 1: missing: no successful API entry: the next one, entry 2, records version 2")
	})
	t.Run("an update", func(t *testing.T) {
		h.tamper(t, 2, remove)
		h.expect(t, "TrustMarkType#1 version 2: missing: no successful API entry: the next one, entry 3, records version 3")
	})
	t.Run("two updates", func(t *testing.T) {
		h.tamper(t, 1, remove)
		h.tamper(t, 2, remove)
		h.expect(t, "TrustMarkType#1 versions 1-2: missing: no successful API entry: the next one, entry 3, records version 3")
	})
	t.Run("the last", func(t *testing.T) {
		h.tamper(t, 3, remove)
		h.expect(t, "TrustMarkType#1 version 3: missing: no successful API entry: the item is at version 3, its last entry, 2, records version 2")
	})
	t.Run("every one", func(t *testing.T) {
		h.tamper(t, 4, remove)
		h.expect(t, "TrustMarkType#2 item: untraced: version 1 exists, but no successful entry records the resource")
	})
	t.Run("made failed", func(t *testing.T) {
		// A failed entry is not part of the history.
		h.tamper(t, 2, setText("success_key", "false"))
		h.expect(t, "TrustMarkType#1 version 2: missing: no successful API entry: the next one, entry 3, records version 3")
	})
	t.Run("restored", func(t *testing.T) {
		h.expect(t)
	})
}

func TestDuplicatedEntryIsReported(t *testing.T) {
	h := smallLog(t)
	duplicate := func(of, as int64) func(*testing.T) {
		return func(t *testing.T) {
			item := h.entry(of)
			item["pk"] = &types.AttributeValueMemberS{Value: entryPK(as)}
			item["id"] = &types.AttributeValueMemberN{Value: fmt.Sprint(as)}
			item["sort"] = &types.AttributeValueMemberS{Value: strings.Split(item["sort"].(*types.AttributeValueMemberS).Value, "#")[0] + "#" + fmt.Sprintf("%020d", as)}
			h.putEntry(t, item)
			t.Cleanup(func() { h.deleteEntry(t, as) })
		}
	}
	t.Run("an update", func(t *testing.T) {
		duplicate(2, 100)(t)
		h.expect(t, "TrustMarkType#1 version 2: duplicate: entries 2 and 100 both record it")
	})
	t.Run("the last", func(t *testing.T) {
		duplicate(3, 100)(t)
		h.expect(t, "TrustMarkType#1 version 3: duplicate: entries 3 and 100 both record it")
	})
	t.Run("the CREATE, twice", func(t *testing.T) {
		duplicate(4, 100)(t)
		duplicate(4, 101)(t)
		h.expect(t,
			"TrustMarkType#2 version 1: duplicate: entries 4 and 100 both record it",
			"TrustMarkType#2 version 1: duplicate: entries 4 and 101 both record it")
	})
}

func TestTamperedSnapshotIsReported(t *testing.T) {
	h := smallLog(t)
	validFor := func(v any) func(map[string]any) map[string]any {
		return func(s map[string]any) map[string]any { s["valid_for"] = v; return s }
	}
	t.Run("snapshot_after", func(t *testing.T) {
		h.tamper(t, 2, editSnapshot(t, "snapshot_after", validFor(1)))
		h.expect(t, "TrustMarkType#1 entry 3: broken-chain: snapshot_before differs from the snapshot_after of entry 2 (fields: valid_for)")
	})
	t.Run("snapshot_before", func(t *testing.T) {
		h.tamper(t, 3, editSnapshot(t, "snapshot_before", func(s map[string]any) map[string]any {
			s["active"] = true
			delete(s, "autorenew")
			return s
		}))
		h.expect(t, "TrustMarkType#1 entry 3: broken-chain: snapshot_before differs from the snapshot_after of entry 2 (fields: active, autorenew)")
	})
	t.Run("the last snapshot_after", func(t *testing.T) {
		h.tamper(t, 3, editSnapshot(t, "snapshot_after", validFor(json.Number("8761"))))
		h.expect(t, "TrustMarkType#1 item: stale: differs from the snapshot_after of its last entry, 3 (fields: valid_for)")
	})
	t.Run("the CREATE's snapshot_before", func(t *testing.T) {
		h.tamper(t, 4, setText("snapshot_before", `{}`))
		h.expect(t, "TrustMarkType#2 entry 4: broken-chain: snapshot_before is not null, but no earlier entry records the resource (its CREATE)")
	})
	t.Run("an update made a CREATE", func(t *testing.T) {
		h.tamper(t, 2, setText("snapshot_before", `null`))
		h.expect(t, "TrustMarkType#1 entry 2: broken-chain: snapshot_before is null, as for a creation, but the resource exists since entry 1")
	})
	t.Run("unreadable", func(t *testing.T) {
		h.tamper(t, 2, setText("snapshot_after", `{"active":`))
		got, _ := h.verify(0)
		if len(got) != 1 || !strings.HasPrefix(got[0], "TrustMarkType#1 entry 2: unreadable: snapshot_after is not JSON: ") {
			t.Errorf("problems %q, want entry 2 unreadable (and nothing else)", got)
		}
	})
	t.Run("numbers compare by value", func(t *testing.T) {
		h.tamper(t, 2, editSnapshot(t, "snapshot_after", validFor(json.Number("8.76E3"))))
		h.tamper(t, 3, editSnapshot(t, "snapshot_after", validFor(json.Number("8760.000"))))
		h.expect(t)
	})
}

func TestChangeAfterTheLastEntryIsReported(t *testing.T) {
	h := smallLog(t)
	t.Run("edited out of band, not drained", func(t *testing.T) {
		h.consoleEdit("TrustMarkType", 1, "valid_for", &types.AttributeValueMemberN{Value: "1"})
		h.expect(t, "TrustMarkType#1 item: stale: differs from the snapshot_after of its last entry, 3 (fields: valid_for)")
		h.drain()
		h.expect(t)
	})
	t.Run("updated by the API, not drained", func(t *testing.T) {
		h.must(http.StatusOK, http.MethodPut, "/api/v1/trustmarktypes/1", `{"active":false}`)
		// the out-of-band edit is entry 5
		h.expect(t, "TrustMarkType#1 version 4: missing: no successful API entry: the item is at version 4, its last entry, 5, records version 3")
		h.drain()
		h.expect(t)
	})
	t.Run("deleted, not drained", func(t *testing.T) {
		h.deleteItem("TrustMarkType", 2)
		h.expect(t, "TrustMarkType#2 entry 4: deleted-without-trace: the resource no longer exists, but its last entry is a CREATE (version 1), not a DELETE")
		h.drain()
		h.expect(t)
	})
	t.Run("deleted, the DELETE entry removed", func(t *testing.T) {
		h.tamper(t, 7, remove)
		h.expect(t, "TrustMarkType#2 entry 4: deleted-without-trace: the resource no longer exists, but its last entry is a CREATE (version 1), not a DELETE")
	})
	t.Run("re-created out of band, its DELETE removed", func(t *testing.T) {
		item := h.item("TrustMarkType", 1)
		h.deleteItem("TrustMarkType", 1)
		h.putItem(item)
		h.drain() // DELETE is entry 8, the CREATE (a restore) entry 9
		h.expect(t)
		h.tamper(t, 8, remove)
		h.expect(t, "TrustMarkType#1 entry 9: broken-chain: snapshot_before is null, as for a creation, but the resource exists since entry 6")
	})
	t.Run("an entry of a resource that never existed", func(t *testing.T) {
		item := h.entry(4)
		item["pk"] = &types.AttributeValueMemberS{Value: entryPK(100)}
		item["resource_key"] = &types.AttributeValueMemberS{Value: "Subordinate#5"}
		h.putEntry(t, item)
		t.Cleanup(func() { h.deleteEntry(t, 100) })
		h.expect(t, "Subordinate#5 entry 100: deleted-without-trace: the resource no longer exists, but its last entry is a CREATE (version 1), not a DELETE")
	})
}

// TestProblemsAreCountedAndReportedInOrder: several problems at once, each
// on its line, resources in type and id order, the summary counting them.
func TestProblemsAreCountedAndReportedInOrder(t *testing.T) {
	h := smallLog(t)
	h.must(http.StatusCreated, http.MethodPost, "/api/v1/trustmarks", `{"tmt":1,"domain":"https://rp1.example.org"}`)
	h.drain() // entry 5
	h.tamper(t, 1, remove)
	h.tamper(t, 4, remove)
	h.tamper(t, 5, remove)
	var reported []string
	sum, err := h.verifier(0).Run(context.Background(), func(p reconcile.Problem) { reported = append(reported, p.String()) })
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"TrustMarkType#1 version 1: missing: no successful API entry: the next one, entry 2, records version 2",
		"TrustMarkType#2 item: untraced: version 1 exists, but no successful entry records the resource",
		"TrustMark#1 item: untraced: version 1 exists, but no successful entry records the resource",
	}
	if !slices.Equal(reported, want) {
		t.Errorf("reported\n%s\nwant\n%s", strings.Join(reported, "\n"), strings.Join(want, "\n"))
	}
	if got := sum.String(); got != "Verified 3 resources and 2 entries: 3 problem(s)." {
		t.Errorf("summary %q", got)
	}
}

func TestProblemFormat(t *testing.T) {
	for _, c := range []struct {
		p    reconcile.Problem
		want string
	}{
		{reconcile.Problem{Resource: "TrustMark#3", Kind: reconcile.Missing, Version: 2, LastVersion: 4, Entry: 9, Detail: "d"}, "TrustMark#3 versions 2-4: missing: d"},
		{reconcile.Problem{Resource: "TrustMark#3", Kind: reconcile.Missing, Version: 2, LastVersion: 2}, "TrustMark#3 version 2: missing: "},
		{reconcile.Problem{Resource: "TrustMark#3", Kind: reconcile.Duplicate, Version: 2, LastVersion: 2, Entry: 9, Detail: "d"}, "TrustMark#3 version 2: duplicate: d"},
		{reconcile.Problem{Resource: "TrustMark#3", Kind: reconcile.BrokenChain, Version: 2, Entry: 9, Detail: "d"}, "TrustMark#3 entry 9: broken-chain: d"},
		{reconcile.Problem{Resource: "Subordinate#1", Kind: reconcile.Stale, Detail: "d"}, "Subordinate#1 item: stale: d"},
	} {
		if got := c.p.String(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.p, got, c.want)
		}
	}
	if got := (reconcile.Summary{Resources: 1, Entries: 2, Problems: 0}).String(); got != "Verified 1 resources and 2 entries: 0 problem(s)." {
		t.Errorf("summary %q", got)
	}
}
