package audit

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestEncodeJSONMatchesEncodingJSON: EncodeJSON is a fast replacement of
// encoding/json for attribute values, so it must write what json.Marshal
// writes: the same value once decoded, and the same bytes.
func TestEncodeJSONMatchesEncodingJSON(t *testing.T) {
	cases := []struct {
		name string
		v    any
	}{
		{name: "empty string", v: ""},
		{name: "plain string", v: "https://tm.example/member"},
		{name: "quotes", v: `say "hi"`},
		{name: "backslashes", v: `C:\path\to \"x\"`},
		{name: "newline, return, tab", v: "a\nb\rc\td"},
		{name: "other control characters", v: "\x00\x01\x1f"},
		{name: "backspace and form feed", v: "\b\f"},
		{name: "DEL is not escaped", v: "a\x7fb"},
		{name: "HTML characters", v: "<script>alert('x') && 1</script>"},
		{name: "line and paragraph separators", v: "a\u2028b\u2029c"},
		{name: "non-ASCII", v: "héllo 世界 😀"},
		{name: "invalid UTF-8 byte becomes U+FFFD", v: "a\xffb"},
		{name: "truncated UTF-8 sequence becomes U+FFFD", v: "x\xe2\x82"},
		{name: "invalid UTF-8 at the start", v: "\x80abc"},
		{name: "json.Number integer", v: json.Number("8760")},
		{name: "json.Number negative fraction with exponent", v: json.Number("-0.5e-3")},
		{name: "int64", v: int64(-42)},
		{name: "int", v: 7},
		{name: "bytes are base64", v: []byte{0, 1, 2, 250, 251, 252, 253}},
		{name: "empty bytes", v: []byte{}},
		{name: "nil", v: nil},
		{name: "true", v: true},
		{name: "false", v: false},
		{name: "empty object", v: map[string]any{}},
		{name: "empty list", v: []any{}},
		{name: "object keys sorted", v: map[string]any{"b": "2", "a": "1", "B": "0", "_": "3", "aa": "4", "é": "5"}},
		{name: "object keys needing escapes", v: map[string]any{"<k>": true, "a\"b": false, "c\\d": nil, "\u2028": "x"}},
		{name: "nested objects and lists", v: map[string]any{
			"metadata": map[string]any{"openid_provider": map[string]any{"issuer": "https://op", "scopes": []any{"openid", "email"}}},
			"jwks":     map[string]any{"keys": []any{map[string]any{"kty": "EC", "x": "abc"}, map[string]any{"kty": "RSA"}}},
			"list":     []any{nil, true, false, json.Number("1.5"), "s", []any{}, map[string]any{}, []byte("hi")},
			"z":        map[string]any{"deep": map[string]any{"deeper": map[string]any{"deepest": "<&>"}}},
		}},
		{name: "typed nil list", v: []any(nil)},
		{name: "typed nil object", v: map[string]any(nil)},
		{name: "nil bytes", v: []byte(nil)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := EncodeJSON(c.v)
			if err != nil {
				t.Fatalf("EncodeJSON(%#v): %v", c.v, err)
			}
			want, err := json.Marshal(c.v)
			if err != nil {
				t.Fatalf("json.Marshal(%#v): %v", c.v, err)
			}
			if !json.Valid(got) {
				t.Fatalf("EncodeJSON(%#v) = %s is not valid JSON", c.v, got)
			}
			var gotV, wantV any
			if err := json.Unmarshal(got, &gotV); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(want, &wantV); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(gotV, wantV) {
				t.Errorf("decoded values differ:\nEncodeJSON %s\njson       %s", got, want)
			}
			if string(got) != string(want) {
				t.Errorf("bytes differ:\nEncodeJSON %s\njson       %s", got, want)
			}
		})
	}
}

// TestEncodeJSONErrors: values that are not attribute values, and numbers
// that are not JSON numbers, are errors (never invalid or injected JSON).
func TestEncodeJSONErrors(t *testing.T) {
	cases := []struct {
		name string
		v    any
	}{
		{name: "empty json.Number", v: json.Number("")},
		{name: "json.Number that is a word", v: json.Number("abc")},
		{name: "json.Number with a leading zero", v: json.Number("01")},
		{name: "json.Number that is a sign", v: json.Number("-")},
		{name: "json.Number with a trailing dot", v: json.Number("1.")},
		{name: "json.Number that is two numbers", v: json.Number("1 2")},
		{name: "json.Number that is true", v: json.Number("true")},
		{name: "json.Number that is null", v: json.Number("null")},
		{name: "json.Number that is a string", v: json.Number(`"1"`)},
		{name: "json.Number that is an object", v: json.Number(`{"admin":true}`)},
		{name: "json.Number with spaces", v: json.Number(" 1 ")},
		{name: "invalid json.Number nested in an object", v: map[string]any{"a": []any{json.Number("x")}}},
		{name: "float64", v: 1.5},
		{name: "int32", v: int32(1)},
		{name: "struct", v: struct{}{}},
		{name: "map[string]string", v: map[string]string{"a": "b"}},
		{name: "[]string", v: []string{"a"}},
		{name: "unsupported value inside a list", v: []any{"ok", time.Now()}},
		{name: "unsupported value inside an object", v: map[string]any{"ok": "x", "bad": 1.5}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := EncodeJSON(c.v)
			if err == nil {
				t.Errorf("EncodeJSON(%#v) = %s, no error; want an error", c.v, got)
			}
		})
	}
}

// listFields are the fields of an entry in lists (every entry field, without the
// snapshots and the request, which only the detail endpoint shows).
var listFields = []string{
	"id", "timestamp", "user_id", "username", "auth_method", "api_key_name", "tenant", "ip_address",
	"user_agent", "request_id", "action", "resource_type", "resource_id", "resource_repr", "endpoint",
	"http_method", "response_code", "success", "diff", "event_type", "claimed_attribution", "error",
}

func keysOf(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

func decodeObject(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("not a JSON object: %v\n%s", err, b)
	}
	return m
}

func apiEntry() Entry {
	return Entry{
		ID: 12, Timestamp: time.Date(2026, 3, 2, 9, 30, 0, 123456789, time.FixedZone("CET", 3600)),
		UserID: ptr(int64(42)), Username: ptr("alice"), AuthMethod: "api_key", APIKeyName: ptr("ci-key"),
		Tenant: ptr("acme"), IPAddress: ptr("203.0.113.9"), UserAgent: ptr("ua/1"), RequestID: ptr("req-1"),
		Action: ActionUpdate, ResourceType: "TrustMarkType", ResourceID: ptr(int64(7)), ResourceRepr: "https://tm.example/<m>",
		Endpoint: ptr("/api/v1/trustmarktypes/7"), HTTPMethod: ptr("PUT"), ResponseCode: ptr(200), Success: true,
		Diff:           obj{"active": obj{"old": true, "new": false}},
		EventType:      EventTrustMarkTypeDeactivated,
		SnapshotBefore: obj{"id": num("7"), "active": true},
		SnapshotAfter:  obj{"id": num("7"), "active": false},
	}
}

// TestEncodeSummary: the list form has every entry field but the
// snapshots, nulls for what is unknown, and times in UTC with a Z.
func TestEncodeSummary(t *testing.T) {
	t.Run("entry of an API write", func(t *testing.T) {
		e := apiEntry()
		b, err := summaryJSON(&e)
		if err != nil {
			t.Fatal(err)
		}
		m := decodeObject(t, b)
		if got := keysOf(m); !slices.Equal(got, sorted(listFields)) {
			t.Errorf("summary fields = %v\nwant %v", got, sorted(listFields))
		}
		want := map[string]any{
			"id": json.Number("12"), "timestamp": "2026-03-02T08:30:00.123456Z", "user_id": json.Number("42"),
			"username": "alice", "auth_method": "api_key", "api_key_name": "ci-key", "tenant": "acme",
			"ip_address": "203.0.113.9", "user_agent": "ua/1", "request_id": "req-1", "action": "UPDATE",
			"resource_type": "TrustMarkType", "resource_id": json.Number("7"), "resource_repr": "https://tm.example/<m>",
			"endpoint": "/api/v1/trustmarktypes/7", "http_method": "PUT", "response_code": json.Number("200"),
			"success": true, "diff": map[string]any{"active": map[string]any{"old": true, "new": false}},
			"event_type": "trustmarktype_deactivated", "claimed_attribution": nil, "error": nil,
		}
		if !reflect.DeepEqual(m, want) {
			t.Errorf("summary\n got %s\nwant %s", mustJSON(t, m), mustJSON(t, want))
		}
	})
	t.Run("out-of-band entry: nil pointers, no diff and no event type are null", func(t *testing.T) {
		e := Entry{ID: 3, Timestamp: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), AuthMethod: AuthOutOfBand,
			Action: ActionCreate, ResourceType: "TrustMark", ResourceRepr: "https://rp", Success: true}
		b, err := summaryJSON(&e)
		if err != nil {
			t.Fatal(err)
		}
		m := decodeObject(t, b)
		if got := keysOf(m); !slices.Equal(got, sorted(listFields)) {
			t.Errorf("summary fields = %v\nwant %v", got, sorted(listFields))
		}
		for _, k := range []string{"user_id", "username", "api_key_name", "tenant", "ip_address", "user_agent",
			"request_id", "resource_id", "endpoint", "http_method", "response_code", "diff", "event_type", "claimed_attribution", "error"} {
			if v, present := m[k]; !present || v != nil {
				t.Errorf("%s = %#v (present %v); want null", k, v, present)
			}
		}
		if m["timestamp"] != "2026-01-01T00:00:00.000000Z" || m["success"] != true || m["auth_method"] != "out_of_band" {
			t.Errorf("timestamp=%v success=%v auth_method=%v", m["timestamp"], m["success"], m["auth_method"])
		}
	})
	t.Run("an empty diff is {}, not null", func(t *testing.T) {
		e := apiEntry()
		e.Diff = obj{}
		b, err := summaryJSON(&e)
		if err != nil {
			t.Fatal(err)
		}
		if d, ok := decodeObject(t, b)["diff"].(map[string]any); !ok || len(d) != 0 {
			t.Errorf("diff = %#v; want {}", decodeObject(t, b)["diff"])
		}
	})
	t.Run("a diff that cannot be encoded is an error", func(t *testing.T) {
		e := apiEntry()
		e.Diff = obj{"x": 1.5}
		if _, err := summaryJSON(&e); err == nil {
			t.Error("Encode gave no error for an unencodable diff")
		}
	})
}

// TestDetailJSON: the detail form is the summary plus both snapshots and
// the request, when the entry has one stored.
func TestDetailJSON(t *testing.T) {
	e := apiEntry()
	summary, err := summaryJSON(&e)
	if err != nil {
		t.Fatal(err)
	}
	before, err := SnapshotJSON(e.SnapshotBefore)
	if err != nil {
		t.Fatal(err)
	}
	after, err := SnapshotJSON(nil)
	if err != nil || string(after) != "null" {
		t.Fatalf("SnapshotJSON(nil) = %q, %v; want null", after, err)
	}
	if old := decodeObject(t, DetailJSON(summary, before, after, nil)); len(old) != len(listFields)+2 || old["request"] != nil {
		t.Errorf("without a stored request the detail form has no request: %v", old)
	}
	detail := DetailJSON(summary, before, after, []byte(`{"body":{"tmtype":"x"}}`))
	if !json.Valid(detail) {
		t.Fatalf("DetailJSON is not valid JSON: %s", detail)
	}
	m := decodeObject(t, detail)
	if got, want := keysOf(m), sorted(append(slices.Clone(listFields), "snapshot_before", "snapshot_after", "request")); !slices.Equal(got, want) {
		t.Errorf("detail fields = %v\nwant %v", got, want)
	}
	if !reflect.DeepEqual(m["request"], map[string]any{"body": map[string]any{"tmtype": "x"}}) {
		t.Errorf("request = %v", m["request"])
	}
	if !reflect.DeepEqual(m["snapshot_before"], map[string]any{"id": json.Number("7"), "active": true}) {
		t.Errorf("snapshot_before = %s", mustJSON(t, m["snapshot_before"]))
	}
	if v, present := m["snapshot_after"]; !present || v != nil {
		t.Errorf("snapshot_after = %#v; want null", v)
	}
	s := decodeObject(t, summary)
	for k, v := range s {
		if !reflect.DeepEqual(m[k], v) {
			t.Errorf("detail %s = %v, summary has %v", k, m[k], v)
		}
	}
}

// TestCountKeys: an entry adds one to the total, to the counter of each
// of its counted values (resource type, action, event type, auth method,
// success, tenant), to its resource's history and to its user's entries:
// nine counters. A filter on one value (or none) reads its exact counter;
// a filter on several reads the counter of each, the least an upper bound.
func TestCountKeys(t *testing.T) {
	e := apiEntry()
	keys := CountKeys(&e)
	set := map[string]bool{}
	for _, k := range keys {
		if set[k] {
			t.Errorf("duplicate key %q", k)
		}
		set[k] = true
	}
	if len(set) != 1+6+2 {
		t.Fatalf("CountKeys gave %d distinct keys, want the total, 6 values, the resource and the user: %q", len(set), keys)
	}
	yes := true
	singles := []Filter{{}, {ResourceType: e.ResourceType}, {Action: e.Action}, {EventType: e.EventType}, {Tenant: *e.Tenant},
		{AuthMethod: e.AuthMethod}, {Success: &yes}, {ResourceType: e.ResourceType, ResourceID: *e.ResourceID}, {Username: *e.Username}}
	for _, f := range singles {
		bound, exact := CountBound(f)
		if len(bound) != 1 || !set[bound[0]] || !exact {
			t.Errorf("CountBound(%+v) = %q (exact %v), want one of the entry's counters, exact", f, bound, exact)
		}
	}
	combined := Filter{ResourceType: e.ResourceType, Action: e.Action, Tenant: *e.Tenant}
	bound, exact := CountBound(combined)
	if exact || len(bound) != 3 {
		t.Errorf("CountBound(%+v) = %q (exact %v), want the three single counters, not exact", combined, bound, exact)
	}
	for _, k := range bound {
		if !set[k] {
			t.Errorf("combined bound %q is not among the entry's counters", k)
		}
	}
	no := false
	for _, f := range []Filter{{Tenant: "other"}, {Action: ActionCreate}, {Success: &no}} {
		if bound, _ := CountBound(f); set[bound[0]] {
			t.Errorf("CountBound(%+v) = %q is among the keys of an entry it does not match", f, bound)
		}
	}
	t.Run("filters no counter serves are upper bounds", func(t *testing.T) {
		for _, f := range []Filter{
			{Username: "alice", Tenant: "acme"}, {Q: "x"}, {Since: time.Now()}, {Until: time.Now()}, {Username: "alice", Q: "x"},
			{ResourceType: "TrustMark", ResourceID: 3, Action: ActionUpdate},
		} {
			if _, exact := CountBound(f); exact {
				t.Errorf("CountBound(%+v) claims to be exact", f)
			}
		}
	})
	t.Run("an entry without event type or tenant", func(t *testing.T) {
		e := Entry{Action: ActionUpdate, ResourceType: "Subordinate", AuthMethod: AuthOutOfBand, Success: true}
		if n := len(CountKeys(&e)); n != 5 {
			t.Errorf("%d keys, want 5 (the total and four values)", n)
		}
	})
	t.Run("CountBound does not depend on how the filter was built", func(t *testing.T) {
		a, _ := CountBound(Filter{ResourceType: "TrustMark", Action: ActionUpdate, EventType: EventTrustMarkRevoked, Tenant: "a&b=c"})
		b, _ := CountBound(Filter{Tenant: "a&b=c", EventType: EventTrustMarkRevoked, Action: ActionUpdate, ResourceType: "TrustMark"})
		if !slices.Equal(a, b) {
			t.Errorf("CountBound gave %q and %q for the same filter", a, b)
		}
		c, _ := CountBound(Filter{Tenant: "a&b=c"})
		d, _ := CountBound(Filter{Tenant: "a", Action: "x"})
		if slices.Contains(d, c[0]) {
			t.Error("values with & and = must not collide with other filters")
		}
	})
}

// TestEncodeFailedEntry: a failed entry's error is in the summary, its
// request only in the detail form, and the leaf hashes both (the
// canonical form of the detail form).
func TestEncodeFailedEntry(t *testing.T) {
	e := apiEntry()
	e.Diff, e.EventType, e.SnapshotBefore, e.SnapshotAfter, e.Success, e.ResponseCode = nil, "", nil, nil, false, ptr(403)
	e.Error = ptr("TrustMarkType exists already.")
	e.Request = obj{"body": obj{"tmtype": "https://tm.example/<m>", "valid_for": num("8760")}, "query": obj{"x": "1"}}
	encoded, err := e.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if m := decodeObject(t, []byte(encoded.Summary)); m["error"] != "TrustMarkType exists already." || m["request"] != nil {
		t.Errorf("summary %s", encoded.Summary)
	}
	if want := `{"body":{"tmtype":"https://tm.example/\u003cm\u003e","valid_for":8760},"query":{"x":"1"}}`; encoded.Request != want {
		t.Errorf("request %s, want %s", encoded.Request, want)
	}
	canonical, err := CanonicalJSON(encoded.Detail())
	if err != nil {
		t.Fatal(err)
	}
	if LeafHashOf(canonical) != encoded.LeafHash {
		t.Error("the leaf hash is not that of the detail form's canonical form")
	}
	other := e
	other.Request = obj{"body": obj{"tmtype": "https://tm.example/other"}}
	if o, _ := other.Encode(); o.LeafHash == encoded.LeafHash {
		t.Error("the leaf hash does not cover the request")
	}
	other = e
	other.Error = ptr("Forbidden")
	if o, _ := other.Encode(); o.LeafHash == encoded.LeafHash {
		t.Error("the leaf hash does not cover the error")
	}
	plain := apiEntry()
	if p, _ := plain.Encode(); p.Request != "null" {
		t.Errorf("an entry without a request stores %q, want null", p.Request)
	}
}
