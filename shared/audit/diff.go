package audit

import (
	"bytes"
	"encoding/json"
	"math/big"
)

// Diff computes the field-level diff of two snapshots: a
// field equal on both sides is left out; two objects get a nested diff with
// "added", "removed" and "changed" (each only when non-empty); any other
// change is {"old": ..., "new": ...}, a missing field counting as null. Types
// are compared strictly. The result is never nil.
func Diff(before, after map[string]any) map[string]any {
	out := map[string]any{}
	for k, oldV := range before {
		newV := after[k]
		oldM, oldIsMap := oldV.(map[string]any)
		newM, newIsMap := newV.(map[string]any)
		switch {
		case oldIsMap && newIsMap:
			// Two objects differ exactly when their nested diff is not
			// empty: one pass tells both.
			if nested := objectDiff(oldM, newM); nested != nil {
				out[k] = nested
			}
		case !Equal(oldV, newV):
			out[k] = map[string]any{"old": oldV, "new": newV}
		}
	}
	for k, newV := range after {
		if _, seen := before[k]; !seen && newV != nil {
			out[k] = map[string]any{"old": nil, "new": newV}
		}
	}
	return out
}

// objectDiff is the nested diff of two objects, nil when they are Equal.
func objectDiff(oldM, newM map[string]any) map[string]any {
	// Each part is made when it gets its first member.
	var added, removed, changed map[string]any
	for k, o := range oldM {
		n, present := newM[k]
		switch {
		case !present:
			removed = put(removed, k, o)
		case !Equal(o, n):
			changed = put(changed, k, map[string]any{"old": o, "new": n})
		}
	}
	// With no member removed, as many members means none added.
	if removed != nil || len(newM) != len(oldM) {
		for k, n := range newM {
			if _, present := oldM[k]; !present {
				added = put(added, k, n)
			}
		}
	}
	if added == nil && removed == nil && changed == nil {
		return nil
	}
	nested := make(map[string]any, 3)
	if added != nil {
		nested["added"] = added
	}
	if removed != nil {
		nested["removed"] = removed
	}
	if changed != nil {
		nested["changed"] = changed
	}
	return nested
}

// put sets m[k] = v, making m first when it is nil, and returns m.
func put(m map[string]any, k string, v any) map[string]any {
	if m == nil {
		m = map[string]any{}
	}
	m[k] = v
	return m
}

// Equal compares two attribute values strictly: same JSON type and value.
func Equal(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case string:
		y, ok := b.(string)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case json.Number:
		y, ok := b.(json.Number)
		return ok && sameNumber(x, y)
	case int64:
		y, ok := b.(int64)
		return ok && x == y
	case int:
		y, ok := b.(int)
		return ok && x == y
	case []byte:
		y, ok := b.([]byte)
		return ok && bytes.Equal(x, y)
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, present := y[k]
			if !present || !Equal(v, w) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !Equal(x[i], y[i]) {
				return false
			}
		}
		return true
	default:
		return false
	}
}

// maxComparedNumber bounds the numbers compared by value; longer ones (which
// DynamoDB cannot hold anyway) are compared as written.
const maxComparedNumber = 64

// sameNumber compares two JSON numbers by value: 1.50, 1.5 and 150E-2 are
// one number.
func sameNumber(x, y json.Number) bool {
	if x == y {
		return true
	}
	if len(x) > maxComparedNumber || len(y) > maxComparedNumber {
		return false
	}
	a, okA := new(big.Rat).SetString(string(x))
	b, okB := new(big.Rat).SetString(string(y))
	return okA && okB && a.Cmp(b) == 0
}
