package audit

import (
	"encoding/json"
	"reflect"
	"testing"
)

// TestDiff specifies the field-level diff of audit entries.
func TestDiff(t *testing.T) {
	cases := []struct {
		name          string
		before, after obj
		want          obj
	}{
		// No change.
		{
			name:   "identical snapshots give an empty diff",
			before: obj{"id": num("7"), "tmtype": "https://tm.example/a", "active": true, "metadata": obj{"k": "v"}, "l": list{"a"}},
			after:  obj{"id": num("7"), "tmtype": "https://tm.example/a", "active": true, "metadata": obj{"k": "v"}, "l": list{"a"}},
			want:   obj{},
		},
		{name: "two empty snapshots give an empty diff", before: obj{}, after: obj{}, want: obj{}},
		{name: "two nil snapshots give an empty diff", before: nil, after: nil, want: obj{}},

		// Scalars.
		{
			name:   "a changed bool is {old, new}",
			before: obj{"active": true}, after: obj{"active": false},
			want: obj{"active": obj{"old": true, "new": false}},
		},
		{
			name:   "a changed number is {old, new}; unchanged fields are left out",
			before: obj{"valid_for": num("8760"), "renewal_time": num("48")},
			after:  obj{"valid_for": num("24"), "renewal_time": num("48")},
			want:   obj{"valid_for": obj{"old": num("8760"), "new": num("24")}},
		},
		{
			name:   "a changed string is {old, new}",
			before: obj{"mark": "eyJ.a.b"}, after: obj{"mark": "eyJ.c.d"},
			want: obj{"mark": obj{"old": "eyJ.a.b", "new": "eyJ.c.d"}},
		},
		{
			name:   "several changed fields each get an entry",
			before: obj{"active": true, "autorenew": true, "valid_for": num("1")},
			after:  obj{"active": false, "autorenew": false, "valid_for": num("1")},
			want: obj{
				"active":    obj{"old": true, "new": false},
				"autorenew": obj{"old": true, "new": false},
			},
		},

		// Nested objects.
		{
			name:   "nested: a key added",
			before: obj{"metadata": obj{"k1": "v1"}},
			after:  obj{"metadata": obj{"k1": "v1", "k3": "v3"}},
			want:   obj{"metadata": obj{"added": obj{"k3": "v3"}}},
		},
		{
			name:   "nested: a key removed",
			before: obj{"metadata": obj{"k1": "v1", "k2": "v2"}},
			after:  obj{"metadata": obj{"k1": "v1"}},
			want:   obj{"metadata": obj{"removed": obj{"k2": "v2"}}},
		},
		{
			name:   "nested: a key changed",
			before: obj{"metadata": obj{"k1": "v1"}},
			after:  obj{"metadata": obj{"k1": "v9"}},
			want:   obj{"metadata": obj{"changed": obj{"k1": obj{"old": "v1", "new": "v9"}}}},
		},
		{
			name:   "nested: added, removed and changed together (the documented example plus a change)",
			before: obj{"active": true, "metadata": obj{"k1": "v1", "k2": "v2", "k4": num("1")}},
			after:  obj{"active": false, "metadata": obj{"k1": "v1", "k3": "v3", "k4": num("2")}},
			want: obj{
				"active": obj{"old": true, "new": false},
				"metadata": obj{
					"added":   obj{"k3": "v3"},
					"removed": obj{"k2": "v2"},
					"changed": obj{"k4": obj{"old": num("1"), "new": num("2")}},
				},
			},
		},
		{
			name:   "nested: an empty object gains a key",
			before: obj{"additional_claims": obj{}},
			after:  obj{"additional_claims": obj{"ref": "https://x"}},
			want:   obj{"additional_claims": obj{"added": obj{"ref": "https://x"}}},
		},
		{
			name:   "nested: one level deep only, a change inside a nested-nested object shows the whole old and new values",
			before: obj{"metadata": obj{"openid_provider": obj{"issuer": "https://a", "scopes": list{"openid"}}, "same": "x"}},
			after:  obj{"metadata": obj{"openid_provider": obj{"issuer": "https://b", "scopes": list{"openid"}}, "same": "x"}},
			want: obj{"metadata": obj{"changed": obj{"openid_provider": obj{
				"old": obj{"issuer": "https://a", "scopes": list{"openid"}},
				"new": obj{"issuer": "https://b", "scopes": list{"openid"}},
			}}}},
		},
		{
			name:   "nested: a list inside an object compared by value",
			before: obj{"jwks": obj{"keys": list{obj{"kid": "1"}}}},
			after:  obj{"jwks": obj{"keys": list{obj{"kid": "1"}, obj{"kid": "2"}}}},
			want: obj{"jwks": obj{"changed": obj{"keys": obj{
				"old": list{obj{"kid": "1"}},
				"new": list{obj{"kid": "1"}, obj{"kid": "2"}},
			}}}},
		},
		{
			name:   "nested: equal objects built separately are no change",
			before: obj{"jwks": obj{"keys": list{obj{"kty": "EC", "crv": "P-256"}}}},
			after:  obj{"jwks": obj{"keys": list{obj{"crv": "P-256", "kty": "EC"}}}},
			want:   obj{},
		},

		// A field present on one side only counts as null on the other.
		{
			name:   "a field added is {old: null, new}",
			before: obj{}, after: obj{"required_trustmarks": "x"},
			want: obj{"required_trustmarks": obj{"old": nil, "new": "x"}},
		},
		{
			name:   "a field removed is {old, new: null}",
			before: obj{"required_trustmarks": "x"}, after: obj{},
			want: obj{"required_trustmarks": obj{"old": "x", "new": nil}},
		},
		{
			name:   "a field absent before and null after is no change",
			before: obj{}, after: obj{"additional_claims": nil},
			want: obj{},
		},
		{
			name:   "a field null before and absent after is no change",
			before: obj{"additional_claims": nil}, after: obj{},
			want: obj{},
		},
		{
			name:   "null to a value is {old: null, new}",
			before: obj{"mark": nil}, after: obj{"mark": "eyJ"},
			want: obj{"mark": obj{"old": nil, "new": "eyJ"}},
		},
		{
			name:   "an object appearing where the field was absent is {old: null, new: object}, not a nested diff",
			before: obj{}, after: obj{"additional_claims": obj{"k": "v"}},
			want: obj{"additional_claims": obj{"old": nil, "new": obj{"k": "v"}}},
		},
		{
			name:   "an object replaced by null is {old: object, new: null}",
			before: obj{"additional_claims": obj{"k": "v"}}, after: obj{"additional_claims": nil},
			want: obj{"additional_claims": obj{"old": obj{"k": "v"}, "new": nil}},
		},

		// Strict types.
		{
			name:   "true is not the number 1",
			before: obj{"a": true}, after: obj{"a": num("1")},
			want: obj{"a": obj{"old": true, "new": num("1")}},
		},
		{
			name:   "the number 1 is not the string \"1\"",
			before: obj{"a": num("1")}, after: obj{"a": "1"},
			want: obj{"a": obj{"old": num("1"), "new": "1"}},
		},
		{
			name:   "false is not null",
			before: obj{"a": false}, after: obj{"a": nil},
			want: obj{"a": obj{"old": false, "new": nil}},
		},
		{
			name:   "0 is not false",
			before: obj{"a": num("0")}, after: obj{"a": false},
			want: obj{"a": obj{"old": num("0"), "new": false}},
		},
		{
			name:   "the empty string is not null",
			before: obj{"a": ""}, after: obj{"a": nil},
			want: obj{"a": obj{"old": "", "new": nil}},
		},
		{
			name:   "nested: strict types inside an object",
			before: obj{"m": obj{"k": true}}, after: obj{"m": obj{"k": num("1")}},
			want: obj{"m": obj{"changed": obj{"k": obj{"old": true, "new": num("1")}}}},
		},

		// A map against a non-map.
		{
			name:   "an object replaced by a string is {old, new}",
			before: obj{"m": obj{"k": "v"}}, after: obj{"m": "v"},
			want: obj{"m": obj{"old": obj{"k": "v"}, "new": "v"}},
		},
		{
			name:   "a string replaced by an object is {old, new}",
			before: obj{"m": "v"}, after: obj{"m": obj{"k": "v"}},
			want: obj{"m": obj{"old": "v", "new": obj{"k": "v"}}},
		},
		{
			name:   "an object replaced by a list is {old, new}",
			before: obj{"m": obj{}}, after: obj{"m": list{}},
			want: obj{"m": obj{"old": obj{}, "new": list{}}},
		},

		// Lists by value.
		{
			name:   "equal lists are no change",
			before: obj{"l": list{"a", num("1"), true, nil, obj{"k": "v"}, list{"x"}}},
			after:  obj{"l": list{"a", num("1"), true, nil, obj{"k": "v"}, list{"x"}}},
			want:   obj{},
		},
		{
			name:   "list order matters",
			before: obj{"l": list{"a", "b"}}, after: obj{"l": list{"b", "a"}},
			want: obj{"l": obj{"old": list{"a", "b"}, "new": list{"b", "a"}}},
		},
		{
			name:   "a longer list is a change",
			before: obj{"l": list{"a"}}, after: obj{"l": list{"a", "b"}},
			want: obj{"l": obj{"old": list{"a"}, "new": list{"a", "b"}}},
		},
		{
			name:   "binary values compare by content",
			before: obj{"b": []byte{1, 2}}, after: obj{"b": []byte{1, 2}},
			want: obj{},
		},
		{
			name:   "Go integers (which storage.ParseImage and EncodeJSON accept) compare by value",
			before: obj{"n": int64(5)}, after: obj{"n": int64(5)},
			want: obj{},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Diff(c.before, c.after)
			if got == nil {
				t.Fatal("Diff returned nil; want a non-nil map")
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("Diff(%s, %s)\n got %s\nwant %s",
					mustJSON(t, c.before), mustJSON(t, c.after), mustJSON(t, got), mustJSON(t, c.want))
			}
		})
	}
}

// TestDiffLeavesInputsAlone: the snapshots are stored as they are after the
// diff is computed, so Diff must not change them.
func TestDiffLeavesInputsAlone(t *testing.T) {
	before := obj{"active": true, "metadata": obj{"k1": "v1", "k2": "v2"}}
	after := obj{"active": false, "metadata": obj{"k1": "v1", "k3": "v3"}}
	Diff(before, after)
	if !reflect.DeepEqual(before, obj{"active": true, "metadata": obj{"k1": "v1", "k2": "v2"}}) ||
		!reflect.DeepEqual(after, obj{"active": false, "metadata": obj{"k1": "v1", "k3": "v3"}}) {
		t.Errorf("Diff changed its inputs: before=%s after=%s", mustJSON(t, before), mustJSON(t, after))
	}
}

// TestDiffJSONHasSortedKeys: the JSON of a diff has its keys sorted at every
// level (keys sorted), so equal diffs always read the same.
func TestDiffJSONHasSortedKeys(t *testing.T) {
	before := obj{"z_last": "a", "active": true, "metadata": obj{"k2": "v2", "k1": "v1", "k5": num("1")}}
	after := obj{"z_last": "b", "active": false, "metadata": obj{"k1": "v1", "k3": "v3", "k5": num("2")}}
	got, err := EncodeJSON(Diff(before, after))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"active":{"new":false,"old":true},` +
		`"metadata":{"added":{"k3":"v3"},"changed":{"k5":{"new":2,"old":1}},"removed":{"k2":"v2"}},` +
		`"z_last":{"new":"b","old":"a"}}`
	if string(got) != want {
		t.Errorf("EncodeJSON(Diff(...))\n got %s\nwant %s", got, want)
	}
	empty, err := EncodeJSON(Diff(obj{"a": "x"}, obj{"a": "x"}))
	if err != nil || string(empty) != "{}" {
		t.Errorf("EncodeJSON of an empty diff = %q, %v; want {}", empty, err)
	}
}

// TestEqual specifies the strict comparison of attribute values.
func TestEqual(t *testing.T) {
	cases := []struct {
		name string
		a, b any
		want bool
	}{
		{"nil equals nil", nil, nil, true},
		{"nil is not false", nil, false, false},
		{"nil is not the empty string", nil, "", false},
		{"equal strings", "a", "a", true},
		{"different strings", "a", "b", false},
		{"equal bools", true, true, true},
		{"different bools", true, false, false},
		{"true is not 1", true, num("1"), false},
		{"equal numbers", num("42"), num("42"), true},
		{"different numbers", num("42"), num("43"), false},
		{"a number is not its string", num("1"), "1", false},
		{"a string is not its number", "1", num("1"), false},
		{"equal bytes", []byte("ab"), []byte("ab"), true},
		{"different bytes", []byte("ab"), []byte("ac"), false},
		{"bytes are not a string", []byte("ab"), "ab", false},
		{"equal objects whatever the insertion order", obj{"a": num("1"), "b": "x"}, obj{"b": "x", "a": num("1")}, true},
		{"objects with different keys of the same count", obj{"a": num("1")}, obj{"b": num("1")}, false},
		{"objects of different sizes", obj{"a": num("1")}, obj{"a": num("1"), "b": nil}, false},
		{"objects with a different value", obj{"a": num("1")}, obj{"a": num("2")}, false},
		{"deeply equal objects", obj{"a": obj{"b": list{obj{"c": true}}}}, obj{"a": obj{"b": list{obj{"c": true}}}}, true},
		{"deeply different objects", obj{"a": obj{"b": list{obj{"c": true}}}}, obj{"a": obj{"b": list{obj{"c": false}}}}, false},
		{"an empty object and an empty list differ", obj{}, list{}, false},
		{"equal lists", list{"a", num("1"), nil}, list{"a", num("1"), nil}, true},
		{"lists in another order", list{"a", "b"}, list{"b", "a"}, false},
		{"lists of different length", list{"a"}, list{"a", "a"}, false},
		{"a list is not an object", list{}, obj{}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Equal(c.a, c.b); got != c.want {
				t.Errorf("Equal(%#v, %#v) = %v, want %v", c.a, c.b, got, c.want)
			}
			if got := Equal(c.b, c.a); got != c.want {
				t.Errorf("Equal is not symmetric: Equal(%#v, %#v) = %v, want %v", c.b, c.a, got, c.want)
			}
		})
	}
}

// TestNumbersCompareByValue: 1.50, 1.5 and 150E-2 are one JSON number
// (DynamoDB stores them alike); 1 and "1" are not.
func TestNumbersCompareByValue(t *testing.T) {
	for _, c := range []struct {
		a, b any
		same bool
	}{
		{json.Number("1.50"), json.Number("1.5"), true},
		{json.Number("150E-2"), json.Number("1.5"), true},
		{json.Number("100e-2"), json.Number("1"), true},
		{json.Number("-0"), json.Number("0"), true},
		{json.Number("1.5"), json.Number("1.51"), false},
		{json.Number("1"), "1", false},
		{json.Number("1e99999999"), json.Number("1e99999998"), false},
	} {
		if got := Equal(c.a, c.b); got != c.same {
			t.Errorf("Equal(%#v, %#v) = %v, want %v", c.a, c.b, got, c.same)
		}
	}
	if d := Diff(map[string]any{"n": json.Number("2.0")}, map[string]any{"n": json.Number("2")}); len(d) != 0 {
		t.Errorf("a number rewritten in another spelling is a change: %v", d)
	}
}
