package localstack_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/inmor/inmor-serverless/shared/localstack"
)

// redeliverer hands every batch to the audit handler twice, as a stream
// may after a timeout.
type redeliverer struct{ inner localstack.StreamHandler }

func (r redeliverer) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	if _, err := r.inner.Invoke(ctx, payload); err != nil {
		return nil, err
	}
	return r.inner.Invoke(ctx, payload)
}

// crasher lets the audit handler process only the first k records of the
// first batch longer than k, then fails the invocation: a crash half-way.
// With partial set it reports record k as failed instead of crashing.
type crasher struct {
	inner   localstack.StreamHandler
	k       int
	partial bool

	mu      sync.Mutex
	crashed bool
}

func (c *crasher) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var ev events.DynamoDBEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, err
	}
	if c.crashed || len(ev.Records) <= c.k {
		return c.inner.Invoke(ctx, payload)
	}
	c.crashed = true
	failed := ev.Records[c.k].Change.SequenceNumber
	ev.Records = ev.Records[:c.k]
	head, err := json.Marshal(ev)
	if err != nil {
		return nil, err
	}
	if _, err := c.inner.Invoke(ctx, head); err != nil {
		return nil, err
	}
	if !c.partial {
		return nil, errors.New("injected crash")
	}
	return json.Marshal(events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{{ItemIdentifier: failed}}})
}

// makeChanges creates n types and deactivates every other one, all before
// the stream is polled, so they arrive in one batch. It returns the ids of
// the types (ids may have holes: an id is never reused, even when a retried
// request took one).
func makeChanges(t *testing.T, s *localstack.Stack, n int) (ids []int64) {
	t.Helper()
	for i := 1; i <= n; i++ {
		r := call(t, s, http.MethodPost, "/api/v1/trustmarktypes", fmt.Sprintf(`{"tmtype":"https://example.org/tm/%d"}`, i))
		mustStatus(t, r, http.StatusCreated)
		id := int64(r.JSON(t)["id"].(float64))
		ids = append(ids, id)
		if i%2 == 0 {
			mustStatus(t, call(t, s, http.MethodPut, fmt.Sprintf("/api/v1/trustmarktypes/%d", id), `{"active":false}`), http.StatusOK)
		}
	}
	return ids
}

// assertEachChangeOnce checks the log holds exactly the changes made, with
// entry ids 1..n newest first, one CREATE per type and one UPDATE per
// deactivated type (every second one).
func assertEachChangeOnce(t *testing.T, page auditPage, ids []int64) {
	t.Helper()
	want := len(ids) + len(ids)/2
	if page.Count != want || len(page.Items) != want {
		t.Fatalf("%d entries (%d listed), want %d", page.Count, len(page.Items), want)
	}
	seen := map[string]int{}
	for i, e := range page.Items {
		if id := e["id"]; id != float64(want-i) {
			t.Errorf("entry %d has id %v, want %d (ids newest first, no holes, no repeats)", i, id, want-i)
		}
		seen[fmt.Sprintf("%v/%v", e["resource_id"], e["action"])]++
	}
	for i, id := range ids {
		if seen[fmt.Sprintf("%d/CREATE", id)] != 1 {
			t.Errorf("type %d: %d CREATE entries", id, seen[fmt.Sprintf("%d/CREATE", id)])
		}
		wantUpdates := 0
		if (i+1)%2 == 0 {
			wantUpdates = 1
		}
		if seen[fmt.Sprintf("%d/UPDATE", id)] != wantUpdates {
			t.Errorf("type %d: %d UPDATE entries, want %d", id, seen[fmt.Sprintf("%d/UPDATE", id)], wantUpdates)
		}
	}
}

func TestBatchDeliveredTwiceAddsNothing(t *testing.T) {
	s := startStack(t, func(o *localstack.Options) {
		o.ManualPolling = true
		o.Audit = func(h localstack.StreamHandler) localstack.StreamHandler { return redeliverer{h} }
	})
	ids := makeChanges(t, s, 6)
	assertEachChangeOnce(t, settle(t, s), ids)
}

func TestCrashAfterKthRecordThenRetryRecordsEachChangeOnce(t *testing.T) {
	for _, partial := range []bool{false, true} {
		for _, k := range []int{1, 7, 20} {
			t.Run(fmt.Sprintf("k=%d partial=%v", k, partial), func(t *testing.T) {
				c := &crasher{k: k, partial: partial}
				s := startStack(t, func(o *localstack.Options) {
					o.ManualPolling = true
					o.Audit = func(h localstack.StreamHandler) localstack.StreamHandler { c.inner = h; return c }
				})
				ids := makeChanges(t, s, 8)
				page := settle(t, s)
				if !c.crashed {
					t.Fatal("the fault was never injected")
				}
				assertEachChangeOnce(t, page, ids)
			})
		}
	}
}
