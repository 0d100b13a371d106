package audit

import (
	"math/rand/v2"
	"reflect"
	"testing"
)

// referenceDiff is Diff as first written (Equal, then a nested diff of two
// objects), kept to check the one-pass Diff against it.
func referenceDiff(before, after map[string]any) map[string]any {
	out := map[string]any{}
	for k, oldV := range before {
		newV := after[k]
		if !Equal(oldV, newV) {
			out[k] = referenceFieldDiff(oldV, newV)
		}
	}
	for k, newV := range after {
		if _, seen := before[k]; !seen && newV != nil {
			out[k] = referenceFieldDiff(nil, newV)
		}
	}
	return out
}

func referenceFieldDiff(oldV, newV any) any {
	oldM, oldIsMap := oldV.(map[string]any)
	newM, newIsMap := newV.(map[string]any)
	if !oldIsMap || !newIsMap {
		return map[string]any{"old": oldV, "new": newV}
	}
	nested := map[string]any{}
	added, removed, changed := map[string]any{}, map[string]any{}, map[string]any{}
	for k, o := range oldM {
		n, present := newM[k]
		switch {
		case !present:
			removed[k] = o
		case !Equal(o, n):
			changed[k] = map[string]any{"old": o, "new": n}
		}
	}
	for k, n := range newM {
		if _, present := oldM[k]; !present {
			added[k] = n
		}
	}
	for name, part := range map[string]map[string]any{"added": added, "removed": removed, "changed": changed} {
		if len(part) > 0 {
			nested[name] = part
		}
	}
	return nested
}

// smallValue is an attribute value drawn from few choices, so that two
// draws are often equal: objects of up to 3 members named a, b or c, and
// values that are not attribute values (1.5), which are never Equal.
func smallValue(r *rand.Rand, depth int) any {
	kind := r.IntN(8)
	if depth == 0 {
		kind = r.IntN(6)
	}
	switch kind {
	case 0:
		return nil
	case 1:
		return r.IntN(2) == 0
	case 2:
		return []string{"x", "y"}[r.IntN(2)]
	case 3:
		return num([]string{"1", "1.0", "2"}[r.IntN(3)])
	case 4:
		return []any{"x"}
	case 5:
		if r.IntN(8) == 0 {
			return 1.5
		}
		return map[string]any(nil)
	default:
		m := map[string]any{}
		for range r.IntN(4) {
			m[[]string{"a", "b", "c"}[r.IntN(3)]] = smallValue(r, depth-1)
		}
		return m
	}
}

// TestDiffMatchesReference: Diff gives what the reference gives on random
// snapshots with many equal, nearly equal and unencodable members.
func TestDiffMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for i := range 20000 {
		before, _ := smallValue(r, 3).(map[string]any)
		after, _ := smallValue(r, 3).(map[string]any)
		if r.IntN(3) == 0 {
			after = before
		}
		got, want := Diff(before, after), referenceDiff(before, after)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("#%d Diff(%v, %v)\n got %v\nwant %v", i, before, after, got, want)
		}
	}
}
