package apperr

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// TestE: arguments land in their fields by type, a cause's kind is
// inherited, and the chain unwraps.
func TestE(t *testing.T) {
	cause := errors.New("conditional check failed")
	inner := E(Op("dynamo.Resources"), Stale, cause)
	outer := E(Op("resource.Update"), "TrustMark does not exist.", int64(7), inner)
	e := outer.(*Error)
	if e.Op != "resource.Update" || e.Kind != Stale || e.Message != "TrustMark does not exist." || e.ID != 7 || e.Err != inner {
		t.Errorf("E = %+v", e)
	}
	if !errors.Is(outer, cause) || !Is(Stale, outer) || Is(NotFound, outer) {
		t.Errorf("chain: Is cause %v, Stale %v, NotFound %v", errors.Is(outer, cause), Is(Stale, outer), Is(NotFound, outer))
	}
	if got, want := outer.Error(), "resource.Update: TrustMark does not exist.: id 7: dynamo.Resources: conditional check failed"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if got := E(Op("auth.Authenticate"), Unauthorized).Error(); got != "auth.Authenticate: unauthorized" {
		t.Errorf("Error() = %q", got)
	}
}

// TestKindOf: the outermost kind wins; plain errors and nil have none;
// fmt wrapping keeps the kind.
func TestKindOf(t *testing.T) {
	cases := []struct {
		err  error
		want Kind
	}{
		{nil, ""},
		{errors.New("plain"), ""},
		{New(NotFound, 3, "gone"), NotFound},
		{fmt.Errorf("read: %w", E(Forbidden)), Forbidden},
		{E(Busy, E(Stale)), Busy},
		{&Error{Kind: Throttled, RetryAfter: time.Minute}, Throttled},
		{InvalidField("jwks", "bad key"), Unprocessable},
	}
	for _, c := range cases {
		if got := KindOf(c.err); got != c.want {
			t.Errorf("KindOf(%v) = %q, want %q", c.err, got, c.want)
		}
	}
	if Is(NotFound, nil) {
		t.Error("Is(NotFound, nil)")
	}
}

// TestEPanicsOnUnknownArgument: E takes only its argument types.
func TestEPanicsOnUnknownArgument(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	_ = E(3.5)
}
