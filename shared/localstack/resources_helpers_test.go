package localstack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/inmor/inmor-serverless/shared/localstack"
	"github.com/inmor/inmor-serverless/shared/signing"
)

// defaultIssuer is the trust anchor's entity id when none is configured: the
// iss of trust marks and subordinate statements.
const defaultIssuer = "https://localhost:8080"

// mustJSON encodes v as a request body.
func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// created sends a create request and returns the created resource (201).
func created(t *testing.T, s *localstack.Stack, path, body string) map[string]any {
	t.Helper()
	r := call(t, s, http.MethodPost, path, body)
	mustStatus(t, r, http.StatusCreated)
	return r.JSON(t)
}

// createType creates a TrustMarkType and returns its id.
func createType(t *testing.T, s *localstack.Stack, body string) int {
	t.Helper()
	return int(created(t, s, "/api/v1/trustmarktypes", body)["id"].(float64))
}

// verifyJWT verifies token with the stack's public key and returns its
// header and claims (numbers as json.Number).
func verifyJWT(t *testing.T, s *localstack.Stack, token any) (header, claims map[string]any) {
	t.Helper()
	str, ok := token.(string)
	if !ok || str == "" {
		t.Fatalf("token %v is not a string", token)
	}
	header, claims, err := signing.Verify(str, s.Signer.PublicKey())
	if err != nil {
		t.Fatalf("token does not verify with the stack's key: %v", err)
	}
	return header, claims
}

// intClaim returns an integer claim; a claim that is not a JSON integer fails.
func intClaim(t *testing.T, claims map[string]any, name string) int64 {
	t.Helper()
	n, ok := claims[name].(json.Number)
	if !ok {
		t.Fatalf("claim %s = %v (%T), want a number", name, claims[name], claims[name])
	}
	v, err := n.Int64()
	if err != nil || strings.ContainsAny(string(n), ".eE") {
		t.Fatalf("claim %s = %s, want an integer", name, n)
	}
	return v
}

// isoSeconds formats an epoch second as the API writes times: ISO 8601 UTC with Z.
func isoSeconds(unix int64) string {
	return time.Unix(unix, 0).UTC().Format("2006-01-02T15:04:05Z")
}

// assertHeader checks a JWT header: ES256, the stack's kid, the given typ.
func assertHeader(t *testing.T, s *localstack.Stack, header map[string]any, typ string) {
	t.Helper()
	if header["typ"] != typ || header["alg"] != "ES256" {
		t.Errorf("header %v, want typ %s and alg ES256", header, typ)
	}
	if kid, _ := header["kid"].(string); kid == "" || kid != s.Signer.KeyID() {
		t.Errorf("header kid %v, want the signing key's %q", header["kid"], s.Signer.KeyID())
	}
}

// assertTimes checks iat is about now, exp - iat is validFor hours, and
// expireAt (the API's expire_at) is exp. It returns iat and exp.
func assertTimes(t *testing.T, claims map[string]any, validFor int64, expireAt any) (iat, exp int64) {
	t.Helper()
	iat, exp = intClaim(t, claims, "iat"), intClaim(t, claims, "exp")
	if now := time.Now().Unix(); iat < now-30 || iat > now+2 {
		t.Errorf("iat %d is not about now (%d)", iat, now)
	}
	if exp-iat != validFor*3600 {
		t.Errorf("exp - iat = %d, want valid_for %d h = %d", exp-iat, validFor, validFor*3600)
	}
	if expireAt != isoSeconds(exp) {
		t.Errorf("expire_at %v, want exp %d as %s", expireAt, exp, isoSeconds(exp))
	}
	return iat, exp
}

// assertAppError checks an application error: the status and exactly
// {"message": message, "id": id}.
func assertAppError(t *testing.T, r response, status int, message string, id int) {
	t.Helper()
	if r.Status != status {
		t.Errorf("status %d, want %d: %s", r.Status, status, r.Body)
		return
	}
	if got, want := compactJSON(t, r.JSON(t)), compactJSON(t, map[string]any{"message": message, "id": id}); got != want {
		t.Errorf("body %s, want %s", got, want)
	}
}

// assertMessage checks the status and the message of an application error
// whose id is not pinned down.
func assertMessage(t *testing.T, r response, status int, message string) {
	t.Helper()
	if r.Status != status {
		t.Errorf("status %d, want %d: %s", r.Status, status, r.Body)
		return
	}
	body := r.JSON(t)
	if _, isNumber := body["id"].(float64); body["message"] != message || !isNumber || len(body) != 2 {
		t.Errorf("body %s, want {\"message\": %q, \"id\": <int>}", r.Body, message)
	}
}

// assertValidation checks a 422 whose detail names field in a loc (any
// field when field is "").
func assertValidation(t *testing.T, r response, field string) {
	t.Helper()
	if r.Status != http.StatusUnprocessableEntity {
		t.Errorf("status %d, want 422: %s", r.Status, r.Body)
		return
	}
	var body struct {
		Detail []struct {
			Loc  []any  `json:"loc"`
			Msg  string `json:"msg"`
			Type string `json:"type"`
		} `json:"detail"`
	}
	if err := json.Unmarshal(r.Body, &body); err != nil || len(body.Detail) == 0 {
		t.Errorf("422 body %s is not {\"detail\": [...]}", r.Body)
		return
	}
	if field == "" {
		return
	}
	for _, d := range body.Detail {
		if slices.Contains(d.Loc, any(field)) {
			return
		}
	}
	t.Errorf("422 body %s does not name field %q", r.Body, field)
}

// auditCounter follows the audit log's size across a test.
type auditCounter struct {
	s     *localstack.Stack
	count int
}

func newAuditCounter(t *testing.T, s *localstack.Stack) *auditCounter {
	t.Helper()
	return &auditCounter{s: s, count: settle(t, s).Count}
}

// one settles the stream, checks exactly one entry was added since the last
// call, and returns it.
func (c *auditCounter) one(t *testing.T) map[string]any {
	t.Helper()
	p := settle(t, c.s)
	defer func() { c.count = p.Count }()
	if p.Count != c.count+1 || len(p.Items) == 0 {
		t.Errorf("audit log went from %d to %d entries, want exactly one more", c.count, p.Count)
		if p.Count <= c.count {
			return nil
		}
	}
	return p.Items[0]
}

// none settles the stream and checks nothing was added since the last call.
func (c *auditCounter) none(t *testing.T) {
	t.Helper()
	p := settle(t, c.s)
	if p.Count != c.count {
		t.Errorf("audit log went from %d to %d entries, want no change; newest %v", c.count, p.Count, p.Items[0])
	}
	c.count = p.Count
}

// auditDetail returns GET /auditlog/{id} of an entry.
func auditDetail(t *testing.T, s *localstack.Stack, entry map[string]any) map[string]any {
	t.Helper()
	r := call(t, s, http.MethodGet, fmt.Sprintf("/api/v1/auditlog/%.0f", entry["id"]), "")
	mustStatus(t, r, http.StatusOK)
	return r.JSON(t)
}

// entriesOf returns the entries of one resource, oldest first.
func entriesOf(p auditPage, resourceType string, id int) []map[string]any {
	var out []map[string]any
	for _, e := range p.Items {
		if e["resource_type"] == resourceType && e["resource_id"] == float64(id) {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i]["id"].(float64) < out[j]["id"].(float64) })
	return out
}

// assertFields checks the listed fields of a JSON object.
func assertFields(t *testing.T, what string, got map[string]any, want map[string]any) {
	t.Helper()
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if g, w := compactJSON(t, got[k]), compactJSON(t, want[k]); g != w {
			t.Errorf("%s %s = %s, want %s", what, k, g, w)
		}
	}
}

// assertSnapshot checks a snapshot holds every field of the API's view of
// the resource, the added time and no bookkeeping attribute.
func assertSnapshot(t *testing.T, what string, snap, apiView map[string]any) {
	t.Helper()
	if snap == nil {
		t.Errorf("%s is missing", what)
		return
	}
	assertFields(t, what, snap, apiView)
	if added, _ := snap["added"].(string); !strings.HasSuffix(added, "Z") {
		t.Errorf("%s has no added time (ISO, Z): %v", what, snap["added"])
	}
	for _, internal := range []string{"pk", "sk", "version", "attribution", "expires_at"} {
		if _, leaked := snap[internal]; leaked {
			t.Errorf("%s shows bookkeeping attribute %q", what, internal)
		}
	}
}

// diffKeys returns the sorted field names of an entry's diff.
func diffKeys(t *testing.T, e map[string]any) []string {
	t.Helper()
	d, ok := e["diff"].(map[string]any)
	if !ok {
		t.Errorf("entry %v has no diff object", e["id"])
		return nil
	}
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// resourceKey is the key of a resource item in the resources table.
func resourceKey(resourceType string, id int) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: resourceType},
		"sk": &types.AttributeValueMemberS{Value: fmt.Sprintf("%020d", id)},
	}
}

// storedItem reads a resource item straight from the table.
func storedItem(t *testing.T, s *localstack.Stack, resourceType string, id int) map[string]types.AttributeValue {
	t.Helper()
	out, err := s.Client.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: aws.String(s.Config.ResourcesTable), Key: resourceKey(resourceType, id), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.Item == nil {
		t.Fatalf("%s %d is not stored", resourceType, id)
	}
	return out.Item
}
