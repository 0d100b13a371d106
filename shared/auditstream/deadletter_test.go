package auditstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/inmor/inmor-serverless/shared/audit"
	"github.com/inmor/inmor-serverless/shared/streamrecord"
)

// memoryDeadLetters is an in-memory DeadLetters.
type memoryDeadLetters struct {
	counts  map[string]int
	letters map[string]audit.DeadLetter
	// countErr and setAsideErr, when set, fail those writes.
	countErr, setAsideErr error
	deleted               []string
}

func newMemoryDeadLetters() *memoryDeadLetters {
	return &memoryDeadLetters{counts: map[string]int{}, letters: map[string]audit.DeadLetter{}}
}

func (m *memoryDeadLetters) CountFailure(_ context.Context, id string) (int, error) {
	if m.countErr != nil {
		return 0, m.countErr
	}
	m.counts[id]++
	return m.counts[id], nil
}

func (m *memoryDeadLetters) SetAside(_ context.Context, d audit.DeadLetter) error {
	if m.setAsideErr != nil {
		return m.setAsideErr
	}
	d.Record = slices.Clone(d.Record)
	m.letters[d.ID] = d
	return nil
}

func (m *memoryDeadLetters) ReplayFailed(_ context.Context, d audit.DeadLetter) error {
	if _, ok := m.letters[d.ID]; ok {
		m.letters[d.ID] = d
	}
	return nil
}

func (m *memoryDeadLetters) Delete(_ context.Context, id string) error {
	delete(m.letters, id)
	m.deleted = append(m.deleted, id)
	return nil
}

// flakyJournal is a memoryJournal whose appends of some events fail a given
// number of times (or always, with -1), as a throttled table would.
type flakyJournal struct {
	memoryJournal
	failures map[string]int
}

func (j *flakyJournal) Append(ctx context.Context, e *audit.Entry) (bool, error) {
	switch n := j.failures[e.SourceEventID]; {
	case n < 0:
		return false, errors.New("ProvisionedThroughputExceededException: injected")
	case n > 0:
		j.failures[e.SourceEventID]--
		return false, errors.New("ProvisionedThroughputExceededException: injected")
	}
	return j.memoryJournal.Append(ctx, e)
}

// rawRecords returns the JSON of each record, as a stream payload holds it.
func rawRecords(t *testing.T, recs ...events.DynamoDBEventRecord) []string {
	t.Helper()
	var event struct{ Records []json.RawMessage }
	if err := json.Unmarshal(payload(t, recs...), &event); err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(event.Records))
	for i, r := range event.Records {
		out[i] = string(r)
	}
	return out
}

// poison makes a record undecodable: an attribute type no decoder knows.
func poison(raw string) string {
	return strings.Replace(raw, `{"S":"https://example.org/tm/`, `{"Q":"https://example.org/tm/`, 1)
}

func repair(raw []byte) []byte {
	return []byte(strings.Replace(string(raw), `{"Q":"https://example.org/tm/`, `{"S":"https://example.org/tm/`, 1))
}

// deliver hands records to the handler as Lambda does with partial batch
// failures: after a failure it delivers the batch again from the failed
// record, at most max times in all. It returns the stats of each delivery.
func deliver(t *testing.T, h Handler, raw []string, max int) []Stats {
	t.Helper()
	var all []Stats
	for len(all) < max {
		resp, stats, err := h.Process(context.Background(), []byte(`{"Records":[`+strings.Join(raw, ",")+`]}`))
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, stats)
		if len(resp.BatchItemFailures) == 0 {
			return all
		}
		from := slices.IndexFunc(raw, func(r string) bool {
			return strings.Contains(r, `"SequenceNumber":"`+resp.BatchItemFailures[0].ItemIdentifier+`"`)
		})
		if from < 0 {
			t.Fatalf("reported %q, which is not in the batch", resp.BatchItemFailures[0].ItemIdentifier)
		}
		raw = raw[from:]
	}
	return all
}

var setAsideTime = time.Date(2026, 5, 4, 3, 2, 1, 0, time.UTC)

func newHandler(j audit.Journal, dl audit.DeadLetters) Handler {
	return Handler{Journal: j, DeadLetters: dl, Logger: quiet(), Now: func() time.Time { return setAsideTime }}
}

// eventIDs lists the source event ids of the entries, in order.
func eventIDs(j *memoryJournal) []string {
	var ids []string
	for i, e := range j.entries {
		if e.ID != int64(i+1) {
			panic(fmt.Sprintf("entry %d has id %d", i, e.ID))
		}
		ids = append(ids, e.SourceEventID)
	}
	return ids
}

func TestPoisonRecordIsRetriedThenSetAsideAndTheRestGoOn(t *testing.T) {
	j, dl := &memoryJournal{}, newMemoryDeadLetters()
	raw := rawRecords(t, trustMarkTypeRecord(1, 1, true, "31"), trustMarkTypeRecord(2, 1, true, "32"),
		trustMarkTypeRecord(3, 1, true, "33"), trustMarkTypeRecord(2, 2, false, "34"))
	raw[1] = poison(raw[1])
	h := newHandler(j, dl)

	runs := deliver(t, h, raw, 10)
	if len(runs) != DefaultMaxRecordAttempts {
		t.Fatalf("%d deliveries, want %d: %+v", len(runs), DefaultMaxRecordAttempts, runs)
	}
	for i, s := range runs[:len(runs)-1] {
		if s.Failed != 1 || s.SetAside != 0 {
			t.Errorf("delivery %d: %+v, want the poison record reported", i+1, s)
		}
	}
	if last := runs[len(runs)-1]; withoutLag(last) != (Stats{Records: 3, Appended: 2, SetAside: 1}) {
		t.Errorf("last delivery %+v: the records after the poison one must be handled in it", last)
	}
	if got := eventIDs(j); !slices.Equal(got, []string{"ev-31", "ev-33", "ev-34"}) {
		t.Errorf("entries for %v", got)
	}
	d, ok := dl.letters["ev-32"]
	if !ok || len(dl.letters) != 1 {
		t.Fatalf("dead letters %+v, want ev-32", dl.letters)
	}
	if string(d.Record) != raw[1] {
		t.Errorf("record %s\nwant the exact bytes %s", d.Record, raw[1])
	}
	if d.Attempts != 3 || d.SequenceNumber != "32" || d.EventID != "ev-32" || !d.SetAsideAt.Equal(setAsideTime) ||
		!strings.Contains(d.Error, `"Q"`) || d.ResourcePK != "TrustMarkType" || d.ResourceSK == "" {
		t.Errorf("dead letter %+v", d)
	}

	// Replayed as it is, it fails again: it stays, one attempt more.
	outcomes, err := h.Replay(context.Background(), []audit.DeadLetter{d})
	if err == nil || len(outcomes) != 1 || outcomes[0].Err == nil || !strings.Contains(err.Error(), "ev-32") {
		t.Fatalf("replay of the poison record: %+v %v, want a failure", outcomes, err)
	}
	if got := dl.letters["ev-32"]; got.Attempts != 4 || !strings.Contains(got.Error, `"Q"`) {
		t.Errorf("after a failed replay: %+v", got)
	}

	// Repaired, it is appended once and its dead letter deleted.
	d = dl.letters["ev-32"]
	d.Record = repair(d.Record)
	outcomes, err = h.Replay(context.Background(), []audit.DeadLetter{d})
	if err != nil || !outcomes[0].Appended {
		t.Fatalf("replay: %+v %v", outcomes, err)
	}
	if len(dl.letters) != 0 || !slices.Equal(dl.deleted, []string{"ev-32"}) {
		t.Errorf("dead letters %+v, deleted %v", dl.letters, dl.deleted)
	}
	if got := eventIDs(j); !slices.Equal(got, []string{"ev-31", "ev-33", "ev-34", "ev-32"}) {
		t.Errorf("entries for %v", got)
	}
	// Replaying it again adds nothing.
	outcomes, err = h.Replay(context.Background(), []audit.DeadLetter{d})
	if err != nil || !outcomes[0].Duplicate || len(j.entries) != 4 {
		t.Errorf("second replay: %+v %v, %d entries", outcomes, err, len(j.entries))
	}
}

func TestMaxRecordAttemptsIsConfigurable(t *testing.T) {
	j, dl := &memoryJournal{}, newMemoryDeadLetters()
	raw := rawRecords(t, trustMarkTypeRecord(1, 1, true, "41"), trustMarkTypeRecord(2, 1, true, "42"))
	raw[0] = poison(raw[0])
	h := newHandler(j, dl)
	h.MaxRecordAttempts = 1
	runs := deliver(t, h, raw, 10)
	if len(runs) != 1 || withoutLag(runs[0]) != (Stats{Records: 2, Appended: 1, SetAside: 1}) || len(dl.letters) != 1 {
		t.Errorf("runs %+v, dead letters %d", runs, len(dl.letters))
	}
}

func TestTransientAppendFailureIsRetriedWithoutDuplicates(t *testing.T) {
	for _, failures := range []int{1, DefaultMaxRecordAttempts - 1} {
		t.Run(fmt.Sprintf("fails %d times", failures), func(t *testing.T) {
			j := &flakyJournal{failures: map[string]int{"ev-12": failures}}
			dl := newMemoryDeadLetters()
			raw := rawRecords(t, trustMarkTypeRecord(1, 1, true, "11"), trustMarkTypeRecord(2, 1, true, "12"), trustMarkTypeRecord(3, 1, true, "13"))
			runs := deliver(t, newHandler(j, dl), raw, 10)
			if len(runs) != failures+1 {
				t.Errorf("%d deliveries, want %d", len(runs), failures+1)
			}
			if got := eventIDs(&j.memoryJournal); !slices.Equal(got, []string{"ev-11", "ev-12", "ev-13"}) {
				t.Errorf("entries for %v, want each record once, in order", got)
			}
			if len(dl.letters) != 0 || dl.counts["ev-12"] != failures {
				t.Errorf("dead letters %+v, counts %v", dl.letters, dl.counts)
			}
		})
	}
}

func TestPersistentAppendFailureEndsInTheDeadLetters(t *testing.T) {
	j := &flakyJournal{failures: map[string]int{"ev-52": -1}}
	dl := newMemoryDeadLetters()
	raw := rawRecords(t, trustMarkTypeRecord(1, 1, true, "51"), trustMarkTypeRecord(2, 1, true, "52"), trustMarkTypeRecord(3, 1, true, "53"))
	h := newHandler(j, dl)
	if runs := deliver(t, h, raw, 10); len(runs) != DefaultMaxRecordAttempts {
		t.Errorf("%d deliveries: %+v", len(runs), runs)
	}
	d, ok := dl.letters["ev-52"]
	if !ok || !strings.Contains(d.Error, "ProvisionedThroughputExceeded") || string(d.Record) != raw[1] {
		t.Fatalf("dead letter %+v", d)
	}
	delete(j.failures, "ev-52") // the table recovered
	if _, err := h.Replay(context.Background(), []audit.DeadLetter{d}); err != nil {
		t.Fatal(err)
	}
	if got := eventIDs(&j.memoryJournal); !slices.Equal(got, []string{"ev-51", "ev-53", "ev-52"}) || len(dl.letters) != 0 {
		t.Errorf("entries for %v, dead letters %+v", got, dl.letters)
	}
}

func TestAFailureThatCannotBeCountedOrSetAsideIsReported(t *testing.T) {
	for name, dl := range map[string]*memoryDeadLetters{
		"count fails":     {counts: map[string]int{}, letters: map[string]audit.DeadLetter{}, countErr: errors.New("throttled")},
		"set-aside fails": {counts: map[string]int{}, letters: map[string]audit.DeadLetter{}, setAsideErr: errors.New("throttled")},
	} {
		t.Run(name, func(t *testing.T) {
			j := &memoryJournal{}
			raw := rawRecords(t, trustMarkTypeRecord(1, 1, true, "61"), trustMarkTypeRecord(2, 1, true, "62"))
			raw[0] = poison(raw[0])
			runs := deliver(t, newHandler(j, dl), raw, 2*DefaultMaxRecordAttempts)
			if len(runs) != 2*DefaultMaxRecordAttempts {
				t.Errorf("%d deliveries, want the record reported every time", len(runs))
			}
			for _, s := range runs {
				if s.Failed != 1 || s.SetAside != 0 || s.Appended != 0 {
					t.Errorf("delivery %+v, want the record reported and nothing after it handled", s)
				}
			}
			if len(dl.letters) != 0 || len(j.entries) != 0 {
				t.Errorf("%d dead letters, %d entries", len(dl.letters), len(j.entries))
			}
		})
	}
}

func TestRecordWithoutReadableEventIDIsKeyedBySequenceNumber(t *testing.T) {
	j, dl := &memoryJournal{}, newMemoryDeadLetters()
	raw := rawRecords(t, trustMarkTypeRecord(1, 1, true, "71"), trustMarkTypeRecord(2, 1, true, "72"))
	raw[0] = strings.Replace(raw[0], `"eventID":"ev-71"`, `"eventID":71`, 1)
	runs := deliver(t, newHandler(j, dl), raw, 10)
	d, ok := dl.letters["71"]
	if len(runs) != DefaultMaxRecordAttempts || !ok || d.EventID != "" || string(d.Record) != raw[0] {
		t.Errorf("runs %+v, dead letters %+v", runs, dl.letters)
	}
	if got := eventIDs(j); !slices.Equal(got, []string{"ev-72"}) {
		t.Errorf("entries for %v", got)
	}
}

func TestRawRecordIsTheExactJSONOfTheRecord(t *testing.T) {
	p := []byte(`{"Records": [ {"eventID":"a", "dynamodb":{"SequenceNumber":"1"}} ,` + "\n" +
		`  {"eventID" : "b","dynamodb":{"SequenceNumber":"2","NewImage":{"x":{"Q":"y"}}}} ]}`)
	recs, err := streamrecord.Decode(p)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := rawRecord(p, 1, recs[1])
	if err != nil || string(raw) != `{"eventID" : "b","dynamodb":{"SequenceNumber":"2","NewImage":{"x":{"Q":"y"}}}}` {
		t.Errorf("raw %s, %v", raw, err)
	}
	// A record found at another index (ids compared) still comes out right.
	if raw, err := rawRecord(p, 0, recs[1]); err != nil || !strings.HasPrefix(string(raw), `{"eventID" : "b"`) {
		t.Errorf("raw %s, %v", raw, err)
	}
}
