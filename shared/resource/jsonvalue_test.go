package resource

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestCheckStorable: JSON that DynamoDB cannot store exactly is refused
// before it reaches the table (422, not a 500 from DynamoDB).
func TestCheckStorable(t *testing.T) {
	deep := any("leaf")
	for i := 0; i < 31; i++ {
		deep = map[string]any{"x": deep}
	}
	cases := []struct {
		name string
		v    any
		ok   bool
	}{
		{"plain object", map[string]any{"a": json.Number("1.5"), "b": []any{true, nil, "s"}}, true},
		{"38 significant digits", json.Number("12345678901234567890123456789012345678"), true},
		{"trailing zeros are not significant", json.Number("1000000000000000000000000000000000000000000"), true},
		{"39 significant digits", json.Number("123456789012345678901234567890123456789"), false},
		{"largest magnitude", json.Number("9.9e125"), true},
		{"too large", json.Number("1e126"), false},
		{"smallest magnitude", json.Number("1e-130"), true},
		{"too small", json.Number("1e-131"), false},
		{"small as a fraction", json.Number("0.000123"), true},
		{"zero with exponent", json.Number("0e999"), true},
		{"empty member name", map[string]any{"": 1}, false},
		{"nested empty member name", map[string]any{"a": []any{map[string]any{"": 1}}}, false},
		{"nested 30 levels", nestedObject(29), true},
		{"nested 32 levels", deep, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := CheckStorable(c.v); (err == nil) != c.ok {
				t.Errorf("CheckStorable = %v, want ok=%v", err, c.ok)
			}
		})
	}
}

func nestedObject(levels int) any {
	v := any("leaf")
	for i := 0; i < levels; i++ {
		v = map[string]any{"x": v}
	}
	return v
}

func TestJSONSizeAndEquality(t *testing.T) {
	if n := JSONSize(map[string]any{"a": strings.Repeat("x", 10)}); n != len(`{"a":"xxxxxxxxxx"}`) {
		t.Errorf("JSONSize = %d", n)
	}
	if !jsonEqual(map[string]any{"a": 1, "b": 2}, map[string]any{"b": 2, "a": 1}) || jsonEqual(map[string]any(nil), map[string]any{}) {
		t.Error("jsonEqual compares encodings with sorted keys, and null is not {}")
	}
}
