package audit

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestCursors: a cursor round-trips under its filter, and is refused when
// forged, edited, truncated, signed with another key, or used with other
// filters.
func TestCursors(t *testing.T) {
	codec, err := NewCursorCodec([]byte("test key"))
	if err != nil {
		t.Fatal(err)
	}
	f := Filter{ResourceType: "TrustMark", Tenant: "acme", Since: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	p := Position{Index: "by_resource_type", Key: map[string]string{"pk": "entry#00000000000000000042", "resource_type": "TrustMark", "sort": "2026-01-02T00:00:00.000000Z#00000000000000000042"}}
	c, err := codec.Encode(p, f)
	if err != nil {
		t.Fatal(err)
	}
	got, err := codec.Decode(c, f)
	if err != nil || got.Index != p.Index || got.Key["sort"] != p.Key["sort"] || got.Key["pk"] != p.Key["pk"] {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	same := Filter{Since: f.Since, Tenant: "acme", ResourceType: "TrustMark"}
	if _, err := codec.Decode(c, same); err != nil {
		t.Errorf("the same filter built otherwise refused the cursor: %v", err)
	}
	other, _ := NewCursorCodec([]byte("another key"))
	payload, sig, _ := strings.Cut(c, ".")
	flipped := []byte(payload)
	flipped[5] ^= 1
	bad := map[string]string{
		"other filters":   "",
		"another key":     "",
		"edited payload":  string(flipped) + "." + sig,
		"truncated":       c[:len(c)-3],
		"no signature":    payload,
		"garbage":         "not a cursor",
		"empty signature": payload + ".",
		"too long":        c + strings.Repeat("A", 5000),
	}
	for name, cursor := range bad {
		var err error
		switch name {
		case "other filters":
			_, err = codec.Decode(c, Filter{ResourceType: "TrustMark", Tenant: "other", Since: f.Since})
		case "another key":
			_, err = other.Decode(c, f)
		default:
			_, err = codec.Decode(cursor, f)
		}
		if !errors.Is(err, ErrBadCursor) {
			t.Errorf("%s: %v, want ErrBadCursor", name, err)
		}
	}
}

// TestSortKeyOrdersByTimeThenID.
func TestSortKeyOrdersByTimeThenID(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	a := Entry{ID: 9, Timestamp: at}
	b := Entry{ID: 10, Timestamp: at}
	c := Entry{ID: 2, Timestamp: at.Add(time.Microsecond)}
	if !(SortKey(&a) < SortKey(&b) && SortKey(&b) < SortKey(&c)) {
		t.Errorf("sort keys %q %q %q are not in time-then-id order", SortKey(&a), SortKey(&b), SortKey(&c))
	}
	if s := at.Format(TimeFormat); !(s < SortKey(&a)) {
		t.Errorf("a bare timestamp must sort before the entries at that time")
	}
}
