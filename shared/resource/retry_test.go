package resource

import (
	"errors"
	"testing"

	"github.com/inmor/inmor-serverless/shared/apperr"
)

// TestRetryStale: lost races are retried a bounded number of times, then
// Busy; a store's bare NotFound gets the type's message, a message already
// given stands; other errors and results pass through.
func TestRetryStale(t *testing.T) {
	stale := apperr.E(apperr.Op("store"), apperr.Stale)
	run := func(results ...error) (int, int, error) {
		calls := 0
		v, err := retryStale(7, "Thing could not be found.", "busy; retry", func() (int, error) {
			calls++
			return calls, results[min(calls, len(results))-1]
		})
		return v, calls, err
	}
	if v, calls, err := run(stale, stale, nil); err != nil || v != 3 || calls != 3 {
		t.Errorf("two lost races then success: %d after %d calls, %v", v, calls, err)
	}
	if _, calls, err := run(stale); !apperr.Is(apperr.Busy, err) || calls != maxUpdateAttempts || apperr.MessageOf(err) != "busy; retry" {
		t.Errorf("always stale: %v after %d calls, want Busy after %d", err, calls, maxUpdateAttempts)
	}
	_, _, err := run(apperr.E(apperr.Op("store"), apperr.NotFound))
	var e *apperr.Error
	if !errors.As(err, &e) || e.Kind != apperr.NotFound || e.Message != "Thing could not be found." || e.ID != 7 {
		t.Errorf("store not found: %v, want the type's message about id 7", err)
	}
	told := apperr.New(apperr.NotFound, 3, "TrustMarkType could not be found.")
	if _, _, err := run(told); apperr.MessageOf(err) != "TrustMarkType could not be found." {
		t.Errorf("a message already given: %v", err)
	}
	other := errors.New("dynamodb down")
	if _, calls, err := run(other); err != other || calls != 1 {
		t.Errorf("other error: %v after %d calls", err, calls)
	}
}
