package auditstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/inmor/inmor-serverless/shared/audit"
	"github.com/inmor/inmor-serverless/shared/resource"
	"github.com/inmor/inmor-serverless/shared/storage"
)

// memoryJournal is an in-memory audit.Journal that can fail on one append.
type memoryJournal struct {
	entries []audit.Entry
	seen    map[string]bool
	failAt  int // 1-based append call that fails; 0 never
	calls   int
}

func (j *memoryJournal) Append(_ context.Context, e *audit.Entry) (bool, error) {
	j.calls++
	if j.calls == j.failAt {
		return false, errors.New("injected write failure")
	}
	if j.seen == nil {
		j.seen = map[string]bool{}
	}
	if j.seen[e.SourceEventID] {
		return false, nil
	}
	// Encode as the DynamoDB journal would, so encoding errors surface here.
	if _, err := e.Encode(); err != nil {
		return false, err
	}
	j.seen[e.SourceEventID] = true
	e.ID = int64(len(j.entries) + 1)
	j.entries = append(j.entries, *e)
	return true, nil
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// trustMarkTypeRecord is the stream record of an API write of version v.
func trustMarkTypeRecord(id, v int, active bool, seq string) events.DynamoDBEventRecord {
	image := func(version int, active bool) map[string]events.DynamoDBAttributeValue {
		attribution := map[string]events.DynamoDBAttributeValue{}
		a := resource.Attribution{UserID: 1, Username: "admin", AuthMethod: "api_key", Tenant: "default",
			RequestID: "r" + seq, Path: "/api/v1/trustmarktypes", Method: "POST", Operation: resource.OpCreate, ResponseCode: 201}
		for k, val := range storage.AttributionMap(a, int64(version)) {
			switch x := val.(type) {
			case string:
				attribution[k] = events.NewStringAttribute(x)
			default:
				attribution[k] = events.NewNumberAttribute(fmt.Sprint(x))
			}
		}
		return map[string]events.DynamoDBAttributeValue{
			"pk": events.NewStringAttribute("TrustMarkType"), "sk": events.NewStringAttribute(storage.SortKey(int64(id))),
			"id": events.NewNumberAttribute(fmt.Sprint(id)), "tmtype": events.NewStringAttribute(fmt.Sprintf("https://example.org/tm/%d", id)),
			"active": events.NewBooleanAttribute(active), "version": events.NewNumberAttribute(fmt.Sprint(version)),
			"attribution": events.NewMapAttribute(attribution),
		}
	}
	r := events.DynamoDBEventRecord{EventID: "ev-" + seq, EventName: "INSERT", Change: events.DynamoDBStreamRecord{
		SequenceNumber: seq, NewImage: image(v, active), ApproximateCreationDateTime: events.SecondsEpochTime{Time: recordTime},
		Keys: map[string]events.DynamoDBAttributeValue{"pk": events.NewStringAttribute("TrustMarkType"), "sk": events.NewStringAttribute(storage.SortKey(int64(id)))},
	}}
	if v > 1 {
		r.EventName, r.Change.OldImage = "MODIFY", image(v-1, !active)
	}
	return r
}

func payload(t testing.TB, records ...events.DynamoDBEventRecord) []byte {
	t.Helper()
	b, err := json.Marshal(events.DynamoDBEvent{Records: records})
	if err != nil {
		t.Fatal(err)
	}
	// aws-lambda-go writes a zero time as a huge negative number; a real
	// stream always sets it.
	return b
}

func TestProcessAppendsInOrderAndSkipsBookkeeping(t *testing.T) {
	j := &memoryJournal{}
	counter := events.DynamoDBEventRecord{EventID: "ev-c", EventName: "INSERT", Change: events.DynamoDBStreamRecord{
		SequenceNumber: "0", Keys: map[string]events.DynamoDBAttributeValue{"pk": events.NewStringAttribute("counter"), "sk": events.NewStringAttribute("TrustMarkType")},
	}}
	p := payload(t, counter, trustMarkTypeRecord(1, 1, true, "1"), trustMarkTypeRecord(1, 2, false, "2"))
	resp, stats, err := Handler{Journal: j, Logger: quiet()}.Process(context.Background(), p)
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("process: %v %v", err, resp.BatchItemFailures)
	}
	if withoutLag(stats) != (Stats{Records: 3, Appended: 2, Skipped: 1}) {
		t.Errorf("stats %+v", stats)
	}
	if len(j.entries) != 2 || j.entries[0].Action != "CREATE" || j.entries[1].EventType != audit.EventTrustMarkTypeDeactivated {
		t.Errorf("entries %+v", j.entries)
	}
	// The same batch again adds nothing.
	_, stats, _ = Handler{Journal: j, Logger: quiet()}.Process(context.Background(), p)
	if stats.Appended != 0 || stats.Duplicates != 2 || len(j.entries) != 2 {
		t.Errorf("redelivery: %+v, %d entries", stats, len(j.entries))
	}
}

func TestProcessStopsAtTheFirstFailureAndReportsIt(t *testing.T) {
	j := &memoryJournal{failAt: 2}
	p := payload(t, trustMarkTypeRecord(1, 1, true, "11"), trustMarkTypeRecord(2, 1, true, "12"), trustMarkTypeRecord(3, 1, true, "13"))
	resp, stats, err := Handler{Journal: j, Logger: quiet()}.Process(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "12" {
		t.Errorf("failures %+v, want only sequence 12", resp.BatchItemFailures)
	}
	if stats.Appended != 1 || stats.Failed != 1 || len(j.entries) != 1 {
		t.Errorf("stats %+v entries %d: records after the failure must wait for the retry", stats, len(j.entries))
	}
}

func TestProcessReportsAnUndecodableRecord(t *testing.T) {
	good := payload(t, trustMarkTypeRecord(1, 1, true, "21"))
	bad := strings.Replace(string(good), `"S":"TrustMarkType"`, `"Q":"TrustMarkType"`, 1)
	resp, _, err := Handler{Journal: &memoryJournal{}, Logger: quiet()}.Process(context.Background(), []byte(bad))
	if err != nil || len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "21" {
		t.Errorf("resp %+v err %v, want record 21 reported", resp, err)
	}
	if _, _, err := (Handler{Journal: &memoryJournal{}, Logger: quiet()}).Process(context.Background(), []byte(`{"Records":`)); err == nil {
		t.Error("a payload that is not an event must fail the invocation")
	}
}

// recordTime dates the test records.
var recordTime = time.Unix(1795770000, 0)

// withoutLag drops the lag, which depends on the clock, from stats.
func withoutLag(s Stats) Stats {
	s.MaxLag = 0
	return s
}

// TestRecordsOfAnotherStreamAreSkipped: with its stream configured, the
// handler appends nothing for a record another source made up (a direct
// invocation), counts it and goes on with the rest.
func TestRecordsOfAnotherStreamAreSkipped(t *testing.T) {
	const stream = "arn:aws:dynamodb:eu-north-1:123456789012:table/inmor-resources/stream/2026-11-27T00:00:00.000"
	own, foreign := trustMarkTypeRecord(1, 1, true, "1"), trustMarkTypeRecord(2, 1, true, "2")
	own.EventSourceArn, own.EventID = stream, "ev-own"
	foreign.EventSourceArn, foreign.EventID = "arn:aws:dynamodb:eu-north-1:999999999999:table/other/stream/x", "ev-foreign"
	j := &memoryJournal{}
	resp, stats, err := Handler{Journal: j, StreamARN: stream, Logger: quiet()}.Process(context.Background(), payload(t, foreign, own))
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("%v %v", err, resp.BatchItemFailures)
	}
	if stats.Foreign != 1 || stats.Appended != 1 || len(j.entries) != 1 || j.entries[0].SourceEventID != "ev-own" {
		t.Errorf("stats %+v, entries %d", stats, len(j.entries))
	}

	// The auth table's stream is the handler's too, once configured.
	const authStream = "arn:aws:dynamodb:eu-north-1:123456789012:table/inmor-auth/stream/2026-11-27T00:00:00.000"
	fromAuth := trustMarkTypeRecord(3, 1, true, "3")
	fromAuth.EventSourceArn, fromAuth.EventID = authStream, "ev-auth"
	j = &memoryJournal{}
	_, stats, _ = Handler{Journal: j, StreamARN: stream, Logger: quiet()}.Process(context.Background(), payload(t, fromAuth))
	if stats.Foreign != 1 || len(j.entries) != 0 {
		t.Errorf("without AuthStreamARN: stats %+v", stats)
	}
	_, stats, _ = Handler{Journal: j, StreamARN: stream, AuthStreamARN: authStream, Logger: quiet()}.Process(context.Background(), payload(t, fromAuth, foreign))
	if stats.Foreign != 1 || stats.Appended != 1 || len(j.entries) != 1 || j.entries[0].SourceEventID != "ev-auth" {
		t.Errorf("with AuthStreamARN: stats %+v, entries %d", stats, len(j.entries))
	}
}
