package audit

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
)

// randomString mixes plain ASCII with every kind of byte appendString
// escapes or checks (control characters, quotes, backslashes, HTML
// characters, U+2028/U+2029, other UTF-8, invalid bytes), in runs long
// enough to cross the 8-byte words plainWord tests.
func randomString(r *rand.Rand) string {
	pieces := []string{"a", "Z", "0", " ", "~", "\x7f", "\"", "\\", "<", ">", "&", "\n", "\t", "\x00", "\x1f",
		"é", "世", "😀", "\u2028", "\u2029", "\xff", "\xe2\x82", strings.Repeat("x", 7), strings.Repeat("y", 8), strings.Repeat("z", 9)}
	var b strings.Builder
	for range r.IntN(24) {
		if r.IntN(4) == 0 {
			b.WriteString(pieces[r.IntN(len(pieces))])
		} else {
			b.WriteString(pieces[r.IntN(8)])
		}
	}
	return b.String()
}

// randomValue is an attribute value tree at most depth levels deep.
func randomValue(r *rand.Rand, depth int) any {
	kind := r.IntN(9)
	if depth == 0 {
		kind = r.IntN(6)
	}
	switch kind {
	case 0:
		return nil
	case 1:
		return r.IntN(2) == 0
	case 2:
		return randomString(r)
	case 3:
		return json.Number([]string{"0", "-1", "8760", "1.5", "-0.25e-3", "1E+9"}[r.IntN(6)])
	case 4:
		return []byte(randomString(r))
	case 5:
		return int64(r.IntN(2000) - 1000)
	case 6:
		l := make([]any, r.IntN(5))
		for i := range l {
			l[i] = randomValue(r, depth-1)
		}
		return l
	default:
		m := map[string]any{}
		for range r.IntN(16) {
			m[randomString(r)] = randomValue(r, depth-1)
		}
		return m
	}
}

// TestEncodeJSONMatchesEncodingJSONOnRandomValues: the bytes of EncodeJSON
// and json.Marshal are the same on random attribute values (objects of up
// to 15 members, sorted by insertion or not, strings of every kind).
func TestEncodeJSONMatchesEncodingJSONOnRandomValues(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		v := randomValue(r, 4)
		got, err := EncodeJSON(v)
		if err != nil {
			t.Fatalf("EncodeJSON #%d: %v", i, err)
		}
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Fatalf("value #%d:\nEncodeJSON %s\njson       %s", i, got, want)
		}
	}
}

// TestPlainWord: plainWord agrees with plainASCII on every byte value at
// every position of a word of plain bytes.
func TestPlainWord(t *testing.T) {
	for c := range 256 {
		for pos := range 8 {
			w := []byte("abcdefgh")
			w[pos] = byte(c)
			if got := plainWord(string(w)); got != plainASCII[c] {
				t.Errorf("plainWord(%q) = %v, want %v", w, got, plainASCII[c])
			}
		}
	}
}

// TestDiffSidesSharingObjects: the sides of a diff share the objects a
// change left alone (as the stream decoder makes them); an object written
// once is copied where it is met again, which must give the bytes of
// encoding/json, in summaries too.
func TestDiffSidesSharingObjects(t *testing.T) {
	shared := obj{"value": "v<1>", "weight": num("7"), "values": list{"a", obj{"deep": true}}}
	empty := obj{}
	oldMeta := obj{"claim_01": shared, "claim_02": obj{"value": "old"}, "claim_03": shared, "empty": empty}
	newMeta := obj{"claim_01": shared, "claim_02": obj{"value": "new"}, "claim_03": shared, "empty": empty}
	before := obj{"metadata": obj{"openid_relying_party": oldMeta}, "kept": shared, "other": obj{"x": shared}}
	after := obj{"metadata": obj{"openid_relying_party": newMeta}, "kept": shared, "other": obj{"x": shared, "y": num("1")}}
	d := Diff(before, after)
	for _, v := range []any{d, before, after, obj{"sides": obj{"new": shared, "old": shared}, "again": shared},
		obj{"new": newMeta, "old": oldMeta}, obj{"new": shared, "old": "not an object"}} {
		got, err := EncodeJSON(v)
		if err != nil {
			t.Fatal(err)
		}
		if want := mustJSON(t, v); string(got) != want {
			t.Errorf("EncodeJSON\n got %s\nwant %s", got, want)
		}
	}
	e := apiEntry()
	e.Diff = d
	e.SnapshotBefore, e.SnapshotAfter = before, after
	encoded, err := e.Encode()
	if err != nil {
		t.Fatal(err)
	}
	want := `"diff":` + mustJSON(t, d) + `,"event_type":"trustmarktype_deactivated","claimed_attribution":null,"error":null}`
	if !strings.HasSuffix(encoded.Summary, want) {
		t.Errorf("summary %s\ndoes not end with %s", encoded.Summary, want)
	}
	if encoded.Before != mustJSON(t, before) || encoded.After != mustJSON(t, after) {
		t.Errorf("snapshots\n got %s\n     %s\nwant %s\n     %s", encoded.Before, encoded.After, mustJSON(t, before), mustJSON(t, after))
	}
	if _, err := EncodeJSON(obj{"new": obj{"a": shared}, "old": obj{"a": shared, "b": 1.5}}); err == nil {
		t.Error("an unencodable value in the sides of a diff gave no error")
	}
}

// TestEntryEncodeMatchesEncodingJSONOnRandomChanges: an entry's summary
// and snapshots are the bytes of json.Marshal when the snapshots share
// random objects (as the stream decoder shares what a change left alone)
// and the diff's sides are objects of the snapshots.
func TestEntryEncodeMatchesEncodingJSONOnRandomChanges(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 1000 {
		before := map[string]any{}
		for range r.IntN(12) {
			before[randomString(r)] = randomValue(r, 3)
		}
		after := make(map[string]any, len(before))
		for k, v := range before {
			switch r.IntN(4) {
			case 0: // removed
			case 1:
				after[k] = randomValue(r, 3)
			default:
				after[k] = v // shared, as decoded once
			}
		}
		e := apiEntry()
		e.SnapshotBefore, e.SnapshotAfter, e.Diff = before, after, Diff(before, after)
		encoded, err := e.Encode()
		if err != nil {
			t.Fatalf("change #%d: %v", i, err)
		}
		if encoded.Before != mustJSON(t, before) || encoded.After != mustJSON(t, after) {
			t.Fatalf("change #%d snapshots\n got %s\n     %s\nwant %s\n     %s", i, encoded.Before, encoded.After, mustJSON(t, before), mustJSON(t, after))
		}
		want := `"diff":` + mustJSON(t, e.Diff) + `,"event_type":"trustmarktype_deactivated","claimed_attribution":null,"error":null}`
		if !strings.HasSuffix(encoded.Summary, want) {
			t.Fatalf("change #%d summary %s\ndoes not end with %s", i, encoded.Summary, want)
		}
		// The canonical form is the detail form read back, keys sorted.
		canonical, err := CanonicalJSON(encoded.Detail())
		if err != nil {
			t.Fatalf("change #%d: %v", i, err)
		}
		if encoded.LeafHash != LeafHashOf(canonical) {
			t.Fatalf("change #%d: canonical form differs from the detail form read back", i)
		}
	}
}
