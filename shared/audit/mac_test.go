package audit

import (
	"encoding/json"
	"testing"
)

// TestNormalNumber: one form per value, as DynamoDB compares numbers.
func TestNormalNumber(t *testing.T) {
	for in, want := range map[string]string{
		"0": "0", "-0": "0", "0.000": "0", "200": "200", "1.50": "1.5", "15E-1": "1.5", "-0.00025": "-0.00025",
		"007": "7", "1e+3": "1000", "123.456": "123.456", "10.0e2": "1000", "-2.5e-3": "-0.0025", "1e401": "1e401",
		"12.3400e1": "123.4", "0.5": "0.5",
	} {
		if got, err := normalNumber(in); err != nil || got != want {
			t.Errorf("normalNumber(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "-", "1.2.3", "abc", "1e", "1ex", "--1"} {
		if _, err := normalNumber(bad); err == nil {
			t.Errorf("normalNumber(%q) gave no error", bad)
		}
	}
}

// TestAttributionMACTellsValuesApart: numbers written as Go integers or
// as the stream gives them back (json.Number, another form) give one MAC;
// any change of keys, version, content or claim gives another.
func TestAttributionMACTellsValuesApart(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	content := map[string]any{"id": int64(7), "valid_for": int64(8760), "claims": map[string]any{"x": json.Number("1.50")}}
	claim := map[string]any{"username": "alice", "response_code": int64(200), "request_id": "r1", "version": int64(2)}
	mac, err := AttributionMAC(key, "TrustMarkType", "7", 2, content, claim)
	if err != nil {
		t.Fatal(err)
	}
	streamContent := map[string]any{"id": json.Number("7"), "valid_for": json.Number("8760"), "claims": map[string]any{"x": json.Number("1.5")}}
	streamClaim := map[string]any{"username": "alice", "response_code": json.Number("200"), "request_id": "r1", "version": json.Number("2"), AttrMAC: mac}
	if !AttributionAuthentic(key, "TrustMarkType", "7", 2, streamContent, streamClaim) {
		t.Fatal("the item as the stream gives it back is not authentic")
	}
	for name, change := range map[string]func() bool{
		"pk":      func() bool { return AttributionAuthentic(key, "TrustMark", "7", 2, streamContent, streamClaim) },
		"sk":      func() bool { return AttributionAuthentic(key, "TrustMarkType", "8", 2, streamContent, streamClaim) },
		"version": func() bool { return AttributionAuthentic(key, "TrustMarkType", "7", 3, streamContent, streamClaim) },
		"key": func() bool {
			return AttributionAuthentic([]byte("another"), "TrustMarkType", "7", 2, streamContent, streamClaim)
		},
		"no key": func() bool { return AttributionAuthentic(nil, "TrustMarkType", "7", 2, streamContent, streamClaim) },
		"content": func() bool {
			c := map[string]any{"id": json.Number("7"), "valid_for": json.Number("1"), "claims": streamContent["claims"]}
			return AttributionAuthentic(key, "TrustMarkType", "7", 2, c, streamClaim)
		},
		"claim": func() bool {
			c := map[string]any{"username": "bob", "response_code": json.Number("200"), "request_id": "r1", "version": json.Number("2"), AttrMAC: mac}
			return AttributionAuthentic(key, "TrustMarkType", "7", 2, streamContent, c)
		},
	} {
		if change() {
			t.Errorf("a changed %s is still authentic", name)
		}
	}
}
