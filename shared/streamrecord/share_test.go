package streamrecord

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// member is an attribute of a test image, written in its order.
type member struct {
	name  string
	value attrValue
}

// attrValue is a DynamoDB attribute value of a test image: a scalar
// written as is ({"S":"x"}, {"N":"1"}...), or an M of members, or an L.
type attrValue struct {
	raw     string
	members []member // for M
	list    []attrValue
	isMap   bool
	isList  bool
}

// json writes v, with space after each comma when spaced.
func (v attrValue) json(spaced bool) string {
	sep := ","
	if spaced {
		sep = ", "
	}
	switch {
	case v.isMap:
		return `{"M":` + imageJSON(v.members, spaced) + `}`
	case v.isList:
		parts := make([]string, len(v.list))
		for i, item := range v.list {
			parts[i] = item.json(spaced)
		}
		return `{"L":[` + strings.Join(parts, sep) + `]}`
	}
	return v.raw
}

func imageJSON(members []member, spaced bool) string {
	sep := ","
	if spaced {
		sep = ", "
	}
	parts := make([]string, len(members))
	for i, m := range members {
		parts[i] = fmt.Sprintf("%q:%s", m.name, m.value.json(spaced))
	}
	return "{" + strings.Join(parts, sep) + "}"
}

func randomAttr(r *rand.Rand, depth int) attrValue {
	kind := r.IntN(8)
	if depth == 0 {
		kind = r.IntN(6)
	}
	switch kind {
	case 0:
		return attrValue{raw: fmt.Sprintf(`{"S":"s%d"}`, r.IntN(4))}
	case 1:
		return attrValue{raw: fmt.Sprintf(`{"N":"%d"}`, r.IntN(4))}
	case 2:
		return attrValue{raw: `{"BOOL":true}`}
	case 3:
		return attrValue{raw: `{"NULL":true}`}
	case 4:
		return attrValue{raw: `{"SS":["a","b"]}`}
	case 5:
		return attrValue{raw: `{"B":"AQI="}`}
	case 6:
		l := attrValue{isList: true}
		for range r.IntN(3) {
			l.list = append(l.list, randomAttr(r, depth-1))
		}
		return l
	default:
		return attrValue{isMap: true, members: randomMembers(r, depth-1)}
	}
}

func randomMembers(r *rand.Rand, depth int) []member {
	var members []member
	for i := range r.IntN(6) {
		members = append(members, member{name: fmt.Sprintf("k%d", i), value: randomAttr(r, depth)})
	}
	return members
}

// mutate returns a copy of members with a few random changes, at any depth:
// a value replaced, a member added or removed, members reordered, or (rarely)
// a malformed value.
func mutate(r *rand.Rand, members []member, depth int) []member {
	out := append([]member(nil), members...)
	for range r.IntN(3) {
		switch op := r.IntN(10); {
		case op < 4 && len(out) > 0:
			i := r.IntN(len(out))
			if out[i].value.isMap && depth > 0 {
				v := out[i].value
				v.members = mutate(r, v.members, depth-1)
				out[i].value = v
			} else {
				out[i].value = randomAttr(r, depth)
			}
		case op < 6:
			out = append(out, member{name: fmt.Sprintf("n%d", r.IntN(3)), value: randomAttr(r, depth)})
		case op < 7 && len(out) > 0:
			i := r.IntN(len(out))
			out = append(out[:i], out[i+1:]...)
		case op < 9:
			r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
		case len(out) > 0:
			out[r.IntN(len(out))].value = attrValue{raw: `{"N":"1x"}`}
		}
	}
	return out
}

// decodeImages decodes one record with the given dynamodb members.
func decodeImages(t *testing.T, dynamodb string) Record {
	t.Helper()
	recs, err := Decode([]byte(`{"Records":[{"eventName":"MODIFY","dynamodb":{` + dynamodb + `,"SequenceNumber":"1"}}]}`))
	if err != nil || len(recs) != 1 {
		t.Fatalf("Decode: %v %d", err, len(recs))
	}
	return recs[0]
}

// TestImagesDecodeAsApart: a record's images decode to what each decodes to
// alone, whatever the other one holds (the unchanged values are shared).
func TestImagesDecodeAsApart(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 2000 {
		first := randomMembers(r, 4)
		second := mutate(r, first, 4)
		firstJSON, secondJSON := imageJSON(first, false), imageJSON(second, i%5 == 0)
		for _, order := range [][2]string{{"OldImage", "NewImage"}, {"NewImage", "OldImage"}} {
			both := decodeImages(t, fmt.Sprintf(`"Keys":{"pk":{"S":"x"}},%q:%s,%q:%s`, order[0], firstJSON, order[1], secondJSON))
			alone1 := decodeImages(t, fmt.Sprintf(`%q:%s`, order[0], firstJSON))
			alone2 := decodeImages(t, fmt.Sprintf(`%q:%s`, order[1], secondJSON))
			want := Record{EventName: "MODIFY", SequenceNumber: "1", Keys: map[string]any{"pk": "x"},
				OldImage: alone1.OldImage, NewImage: alone2.NewImage}
			if order[0] == "NewImage" {
				want.OldImage, want.NewImage = alone2.OldImage, alone1.NewImage
			}
			// A malformed image is left out, and the record has an error.
			if alone1.Err != nil {
				want.Err = alone1.Err
			} else {
				want.Err = alone2.Err
			}
			if (both.Err == nil) != (want.Err == nil) || !reflect.DeepEqual(both.OldImage, want.OldImage) ||
				!reflect.DeepEqual(both.NewImage, want.NewImage) || !reflect.DeepEqual(both.Keys, want.Keys) {
				t.Fatalf("#%d %v:\nfirst  %s\nsecond %s\ngot  %+v\nwant %+v", i, order, firstJSON, secondJSON, both, want)
			}
		}
	}
}

// TestImagesShareUnchangedValues: an attribute value with the same bytes in
// both images is one value; a changed one, and the maps around it, are not.
func TestImagesShareUnchangedValues(t *testing.T) {
	rec := decodeImages(t, `"NewImage":{"pk":{"S":"a"},"meta":{"M":{"kept":{"M":{"x":{"S":"1"}}},"changed":{"M":{"x":{"S":"new"}}}}},"tags":{"L":[{"S":"t"}]}},`+
		`"OldImage":{"tags":{"L":[{"S":"t"}]},"meta":{"M":{"changed":{"M":{"x":{"S":"old"}}},"kept":{"M":{"x":{"S":"1"}}}}},"pk":{"S":"a"}}`)
	if rec.Err != nil {
		t.Fatal(rec.Err)
	}
	same := func(a, b any) bool { return reflect.ValueOf(a).Pointer() == reflect.ValueOf(b).Pointer() }
	oldMeta, newMeta := rec.OldImage["meta"].(map[string]any), rec.NewImage["meta"].(map[string]any)
	if !same(oldMeta["kept"], newMeta["kept"]) || !same(rec.OldImage["tags"], rec.NewImage["tags"]) {
		t.Error("unchanged values are decoded twice")
	}
	if same(oldMeta, newMeta) || same(oldMeta["changed"], newMeta["changed"]) {
		t.Error("changed values are shared")
	}
	if oldMeta["changed"].(map[string]any)["x"] != "old" || newMeta["changed"].(map[string]any)["x"] != "new" {
		t.Errorf("images %v %v", rec.OldImage, rec.NewImage)
	}
	// Nothing is shared across records.
	recs, err := Decode([]byte(`{"Records":[{"dynamodb":{"NewImage":{"m":{"M":{}}}}},{"dynamodb":{"OldImage":{"m":{"M":{"a":{"S":"b"}}}}}}]}`))
	if err != nil || recs[1].OldImage["m"].(map[string]any)["a"] != "b" {
		t.Errorf("second record %+v %v", recs[1], err)
	}
}
