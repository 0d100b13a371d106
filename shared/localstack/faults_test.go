package localstack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/inmor/inmor-serverless/shared/app"
	appaudit "github.com/inmor/inmor-serverless/shared/app/audit"
	"github.com/inmor/inmor-serverless/shared/apperr"
	"github.com/inmor/inmor-serverless/shared/audit"
	"github.com/inmor/inmor-serverless/shared/auditstream"
	"github.com/inmor/inmor-serverless/shared/dynamo"
	"github.com/inmor/inmor-serverless/shared/dynamotest"
	"github.com/inmor/inmor-serverless/shared/localstack"
	"github.com/inmor/inmor-serverless/shared/operator"
	"github.com/inmor/inmor-serverless/shared/tables"
)

// The poison record of these tests: the CREATE of the type with this tmtype,
// made undecodable by an attribute type descriptor that no decoder knows.
const (
	poisonTMType   = "https://example.org/tm/3"
	poisonClean    = `"tmtype":{"S":"` + poisonTMType + `"}`
	poisonCorrupt  = `"tmtype":{"Q":"` + poisonTMType + `"}`
	poisonCreation = `"eventName":"INSERT"`
)

// poisoner corrupts the poison record in the batches it hands to the audit
// handler, for its first limit deliveries (always when limit < 0).
type poisoner struct {
	inner localstack.StreamHandler
	limit int

	mu         sync.Mutex
	deliveries int    // deliveries of the poison record, corrupted or not
	eventID    string // the poison record's
}

func (p *poisoner) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var event struct{ Records []json.RawMessage }
	if err := json.Unmarshal(payload, &event); err != nil {
		return nil, err
	}
	for i, raw := range event.Records {
		if !bytes.Contains(raw, []byte(poisonCreation)) || !bytes.Contains(raw, []byte(poisonClean)) {
			continue
		}
		p.deliveries++
		var ids struct {
			EventID string `json:"eventID"`
		}
		if err := json.Unmarshal(raw, &ids); err != nil {
			return nil, err
		}
		p.eventID = ids.EventID
		if p.limit < 0 || p.deliveries <= p.limit {
			event.Records[i] = bytes.Replace(raw, []byte(poisonClean), []byte(poisonCorrupt), 1)
		}
	}
	corrupted, err := json.Marshal(event)
	if err != nil {
		return nil, err
	}
	return p.inner.Invoke(ctx, corrupted)
}

// faultStack starts a stack whose stream is polled only by the test, with
// the audit handler wrapped; it returns the test's environment too.
func faultStack(t *testing.T, wrap func(localstack.StreamHandler) localstack.StreamHandler) (*localstack.Stack, func(string) string) {
	t.Helper()
	var getenv func(string) string
	s := startStack(t, func(o *localstack.Options) {
		o.ManualPolling = true
		o.Audit = wrap
		getenv = o.Getenv
	})
	return s, getenv
}

// inmorctl runs the operator command line against the stack's tables, with
// a DynamoDB client of its own (the operator's credentials).
func inmorctl(t *testing.T, s *localstack.Stack, getenv func(string) string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	client := dynamo.NewClient(dynamo.LocalConfig(s.Endpoint))
	var out, errOut strings.Builder
	code = operator.Run(context.Background(), args, operator.Env{
		Getenv: getenv, Stdout: &out, Stderr: &errOut,
		DynamoDB: func(context.Context) (*dynamodb.Client, error) { return client, nil },
	})
	return code, out.String(), errOut.String()
}

// deadLetters returns the stack's dead-letter store.
func deadLetters(s *localstack.Stack) *dynamo.DeadLetters {
	return &dynamo.DeadLetters{Client: s.Client, Table: s.Config.AuditTable}
}

// storedChanges reads the changes the types with those ids went through
// from the resources table: one CREATE each and one UPDATE per later
// version. (The versions, not the API calls, are the changes: under load an
// API write retried after a lost response can store one version more, which
// the log must record too.) It returns their number and their count per
// "<id>/<action>".
func storedChanges(t *testing.T, s *localstack.Stack, ids []int64) (int, map[string]int) {
	t.Helper()
	total, changes := 0, map[string]int{}
	for _, id := range ids {
		v, err := strconv.Atoi(storedItem(t, s, "TrustMarkType", int(id))["version"].(*types.AttributeValueMemberN).Value)
		if err != nil {
			t.Fatal(err)
		}
		total += v
		changes[fmt.Sprintf("%d/CREATE", id)] = 1
		changes[fmt.Sprintf("%d/UPDATE", id)] = v - 1
	}
	return total, changes
}

// assertEachChangeRecordedOnce checks the log holds one entry per stored
// change and nothing else, with ids 1..n, each once; with inOrder, ids also
// follow the list's order (newest first), as when nothing was set aside (a
// replayed entry takes a later id than the changes after it).
func assertEachChangeRecordedOnce(t *testing.T, s *localstack.Stack, page auditPage, ids []int64, inOrder bool) {
	t.Helper()
	want, changes := storedChanges(t, s, ids)
	if page.Count != want || len(page.Items) != want {
		t.Fatalf("%d entries (%d listed), want %d", page.Count, len(page.Items), want)
	}
	var entryIDs []int
	seen := map[string]int{}
	for i, e := range page.Items {
		id := int(e["id"].(float64))
		if inOrder && id != want-i {
			t.Errorf("entry %d has id %d, want %d (ids newest first)", i, id, want-i)
		}
		entryIDs = append(entryIDs, id)
		seen[fmt.Sprintf("%v/%v", e["resource_id"], e["action"])]++
	}
	slices.Sort(entryIDs)
	for i, id := range entryIDs {
		if id != i+1 {
			t.Fatalf("entry ids %v, want 1..%d without holes or repeats", entryIDs, want)
		}
	}
	for change, n := range changes {
		if seen[change] != n {
			t.Errorf("%s: %d entries, want %d", change, seen[change], n)
		}
	}
	for change, n := range seen {
		if _, ok := changes[change]; !ok {
			t.Errorf("%s: %d entries for no change", change, n)
		}
	}
}

func TestPoisonRecordIsSetAsideAndReplayed(t *testing.T) {
	p := &poisoner{limit: -1}
	s, getenv := faultStack(t, func(h localstack.StreamHandler) localstack.StreamHandler { p.inner = h; return p })
	ids := makeChanges(t, s, 6)
	page := settle(t, s)

	if p.deliveries != auditstream.DefaultMaxRecordAttempts {
		t.Errorf("the poison record was delivered %d times, want %d", p.deliveries, auditstream.DefaultMaxRecordAttempts)
	}
	// Every change but the poison one is recorded, the records after it included.
	if want, _ := storedChanges(t, s, ids); page.Count != want-1 {
		t.Fatalf("%d entries, want %d (every change but the poison record)", page.Count, want)
	}
	for _, e := range page.Items {
		if e["resource_id"] == float64(ids[2]) && e["action"] == "CREATE" {
			t.Errorf("the poison record has an entry: %v", e)
		}
	}
	letters, err := deadLetters(s).List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(letters) != 1 || letters[0].ID != p.eventID || letters[0].Attempts != auditstream.DefaultMaxRecordAttempts ||
		letters[0].ResourcePK != "TrustMarkType" || !strings.Contains(letters[0].Error, `unknown attribute type descriptor "Q"`) {
		t.Fatalf("dead letters %+v, want the poison record %s", letters, p.eventID)
	}
	stored, err := deadLetters(s).Get(context.Background(), p.eventID)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(stored.Record, []byte(poisonCorrupt)) || !strings.Contains(string(stored.Record), `"eventID":"`+p.eventID+`"`) ||
		stored.EventSourceARN == "" || stored.SequenceNumber == "" {
		t.Errorf("stored dead letter %+v\nrecord %s", stored, stored.Record)
	}

	code, out, errOut := inmorctl(t, s, getenv, "audit", "dlq", "list")
	if code != 0 || !strings.HasPrefix(out, "Event ID  ") || !strings.Contains(out, "\n"+p.eventID+"  ") ||
		!strings.Contains(out, stored.SequenceNumber) || errOut != "" {
		t.Errorf("dlq list: exit %d, stderr %q, stdout\n%s", code, errOut, out)
	}

	// Replayed as it is, it fails again and stays.
	code, out, errOut = inmorctl(t, s, getenv, "audit", "dlq", "replay", "--all")
	if code != operator.ExitFailure || out != "" || !strings.Contains(errOut, p.eventID+`: streamrecord: `) {
		t.Errorf("replay of the corrupt record: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if d, err := deadLetters(s).Get(context.Background(), p.eventID); err != nil || d.Attempts != auditstream.DefaultMaxRecordAttempts+1 {
		t.Errorf("after a failed replay: %+v, %v", d, err)
	}

	// Repaired (here, in the stored record), it is recorded once.
	_, err = s.Client.UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
		TableName: aws.String(s.Config.AuditTable), Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "dlq#" + p.eventID}},
		UpdateExpression:          aws.String("SET #r = :r"),
		ExpressionAttributeNames:  map[string]string{"#r": "record"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":r": &types.AttributeValueMemberS{Value: strings.Replace(string(stored.Record), poisonCorrupt, poisonClean, 1)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut = inmorctl(t, s, getenv, "audit", "dlq", "replay", "--all")
	if code != 0 || out != "Replayed "+p.eventID+": entry appended.\n" || errOut != "" {
		t.Fatalf("replay: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	page = listAudit(t, s, "?limit=1000")
	assertEachChangeRecordedOnce(t, s, page, ids, false)
	for _, e := range page.Items {
		if e["resource_id"] == float64(ids[2]) && e["action"] == "CREATE" && e["auth_method"] != "api_key" {
			t.Errorf("the replayed entry is not attributed to the API request: %v", e)
		}
	}
	if code, out, _ := inmorctl(t, s, getenv, "audit", "dlq", "list"); code != 0 || out != "No dead-letter records.\n" {
		t.Errorf("dlq list after the replay: exit %d, %q", code, out)
	}
	// Nothing left to replay, and the stream has nothing more either.
	if code, out, _ := inmorctl(t, s, getenv, "audit", "dlq", "replay", "--all"); code != 0 || out != "No dead-letter records.\n" {
		t.Errorf("second replay: exit %d, %q", code, out)
	}
	assertEachChangeRecordedOnce(t, s, settle(t, s), ids, false)
}

func TestRecordThatFailsFewerTimesThanTheBoundIsRecordedInOrder(t *testing.T) {
	p := &poisoner{limit: auditstream.DefaultMaxRecordAttempts - 1}
	s, _ := faultStack(t, func(h localstack.StreamHandler) localstack.StreamHandler { p.inner = h; return p })
	ids := makeChanges(t, s, 6)
	assertEachChangeRecordedOnce(t, s, settle(t, s), ids, true)
	if p.deliveries != auditstream.DefaultMaxRecordAttempts {
		t.Errorf("the record was delivered %d times, want %d", p.deliveries, auditstream.DefaultMaxRecordAttempts)
	}
	if letters, err := deadLetters(s).List(context.Background()); err != nil || len(letters) != 0 {
		t.Errorf("dead letters %+v, %v", letters, err)
	}
}

// writeFaults makes TransactWriteItems fail before the request is sent, as
// it does when DynamoDB throttles past the SDK's own retries.
type writeFaults struct {
	// fail decides, for the n-th transaction (from 1) and the event id of
	// its marker, whether it fails and with what.
	fail func(n int, eventID string) error

	mu       sync.Mutex
	calls    int
	injected int
}

func (w *writeFaults) option(o *dynamodb.Options) {
	o.APIOptions = append(slices.Clip(o.APIOptions), func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("WriteFaults",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				tx, ok := in.Parameters.(*dynamodb.TransactWriteItemsInput)
				if !ok {
					return next.HandleInitialize(ctx, in)
				}
				eventID := ""
				if len(tx.TransactItems) > 0 && tx.TransactItems[0].Put != nil {
					marker := tx.TransactItems[0].Put.Item
					if ev, ok := marker["event_id"].(*types.AttributeValueMemberS); ok { // a request marker
						eventID = ev.Value
					} else if pk, ok := marker["pk"].(*types.AttributeValueMemberS); ok {
						eventID = strings.TrimPrefix(pk.Value, "event#")
					}
				}
				w.mu.Lock()
				w.calls++
				err := w.fail(w.calls, eventID)
				if err != nil {
					w.injected++
				}
				w.mu.Unlock()
				if err != nil {
					return middleware.InitializeOutput{}, middleware.Metadata{}, err
				}
				return next.HandleInitialize(ctx, in)
			}), middleware.Before)
	})
}

// wrap rebuilds the audit handler on a copy of its client with the faults.
func (w *writeFaults) wrap(t *testing.T, getenv *func(string) string) func(localstack.StreamHandler) localstack.StreamHandler {
	return func(h localstack.StreamHandler) localstack.StreamHandler {
		handler, ok := h.(auditstream.Handler)
		if !ok {
			t.Fatalf("the audit handler is a %T", h)
		}
		journal, ok := handler.Journal.(*dynamo.Journal)
		if !ok {
			t.Fatalf("the audit journal is a %T", handler.Journal)
		}
		client := dynamodb.New(journal.Client.Options(), w.option)
		cfg := app.ConfigFromEnv(*getenv)
		cfg.AttributionKey = handler.AttributionKey
		return appaudit.New(app.Deps{Client: client, Config: cfg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	}
}

func throttled() error {
	return &types.ProvisionedThroughputExceededException{Message: aws.String("injected: the audit table is throttled")}
}

func TestAuditTableWriteFailuresAreRetriedWithoutDuplicates(t *testing.T) {
	const k = auditstream.DefaultMaxRecordAttempts - 1
	for name, fail := range map[string]func(n int, eventID string) error{
		// The first k transactions (the first record's, twice), then every
		// fourth: no record fails as often as the bound.
		"throttled": func(n int, _ string) error {
			if n <= k || n%4 == 0 {
				return throttled()
			}
			return nil
		},
		// Every third transaction is cancelled by DynamoDB (not by a
		// condition); the journal itself tries again.
		"cancelled": func(n int, _ string) error {
			if n%3 != 0 {
				return nil
			}
			return &types.TransactionCanceledException{
				Message:             aws.String("injected: transaction cancelled"),
				CancellationReasons: []types.CancellationReason{{Code: aws.String("None")}, {Code: aws.String("ThrottlingError")}, {Code: aws.String("None")}},
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			w := &writeFaults{fail: fail}
			var getenv func(string) string
			s := startStack(t, func(o *localstack.Options) {
				o.ManualPolling = true
				getenv = o.Getenv
				o.Audit = w.wrap(t, &getenv)
			})
			ids := makeChanges(t, s, 8)
			assertEachChangeRecordedOnce(t, s, settle(t, s), ids, true)
			if w.injected == 0 {
				t.Fatal("no fault was injected")
			}
			if letters, err := deadLetters(s).List(context.Background()); err != nil || len(letters) != 0 {
				t.Errorf("dead letters %+v, %v", letters, err)
			}
		})
	}
}

func TestPersistentAuditTableWriteFailureEndsInTheDeadLetters(t *testing.T) {
	var target string // the first record to be appended fails for good
	w := &writeFaults{fail: func(_ int, eventID string) error {
		if target == "" {
			target = eventID
		}
		if eventID == target {
			return throttled()
		}
		return nil
	}}
	var getenv func(string) string
	s := startStack(t, func(o *localstack.Options) {
		o.ManualPolling = true
		getenv = o.Getenv
		o.Audit = w.wrap(t, &getenv)
	})
	ids := makeChanges(t, s, 6)
	page := settle(t, s)
	if want, _ := storedChanges(t, s, ids); page.Count != want-1 || w.injected != auditstream.DefaultMaxRecordAttempts {
		t.Fatalf("%d entries, want %d; %d faults injected", page.Count, want-1, w.injected)
	}
	letters, err := deadLetters(s).List(context.Background())
	if err != nil || len(letters) != 1 || letters[0].ID != target || !strings.Contains(letters[0].Error, "ProvisionedThroughputExceeded") {
		t.Fatalf("dead letters %+v, %v; want %s", letters, err, target)
	}
	// The table has recovered: the operator replays it, once.
	code, out, errOut := inmorctl(t, s, getenv, "audit", "dlq", "replay", "--event-id", target)
	if code != 0 || out != "Replayed "+target+": entry appended.\n" || errOut != "" {
		t.Fatalf("replay: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	assertEachChangeRecordedOnce(t, s, listAudit(t, s, "?limit=1000"), ids, false)
	if code, out, _ := inmorctl(t, s, getenv, "audit", "dlq", "list"); code != 0 || out != "No dead-letter records.\n" {
		t.Errorf("dlq list after the replay: exit %d, %q", code, out)
	}
}

func TestDeadLetterRecordsRoundTrip(t *testing.T) {
	getenv := dynamotest.Getenv(t, nil)
	client := dynamo.NewClient(dynamo.LocalConfig(dynamotest.Endpoint()))
	table := tables.Audit.Name(getenv)
	dynamotest.CreateTable(t, client, dynamo.CreateTableInput(tables.Audit, table))
	store := &dynamo.DeadLetters{Client: client, Table: table}
	ctx := context.Background()
	at := time.Date(2026, 1, 2, 3, 4, 5, 678000, time.UTC)
	large := `{"eventID":"big","dynamodb":{"NewImage":{"x":{"S":"` + strings.Repeat("abcdefgh", 50_000) + `"}}}}`
	for i, record := range []string{`{"eventID":"small"}`, large, "{\"eventID\":\"bad-utf8\xff\"}"} {
		d := audit.DeadLetter{
			ID: fmt.Sprintf("id-%d", i), EventID: "e", SequenceNumber: fmt.Sprint(100 + i), EventSourceARN: "arn",
			Record: []byte(record), Error: "failed \xff" + strings.Repeat("x", 10_000), Attempts: 3, SetAsideAt: at.Add(time.Duration(i) * time.Second),
		}
		if err := store.SetAside(ctx, d); err != nil {
			t.Fatalf("set aside %d: %v", i, err)
		}
		got, err := store.Get(ctx, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Record, d.Record) || got.Attempts != 3 || !got.SetAsideAt.Equal(d.SetAsideAt) ||
			got.SequenceNumber != d.SequenceNumber || got.EventSourceARN != "arn" || !strings.HasPrefix(got.Error, "failed \uFFFDxxx") {
			t.Errorf("record %d came back as %+v (%d bytes)", i, got.ID, len(got.Record))
		}
	}
	listed, err := store.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, d := range listed {
		order = append(order, d.ID)
	}
	if !slices.Equal(order, []string{"id-2", "id-1", "id-0"}) {
		t.Errorf("listed %v, want newest first", order)
	}
	if _, err := store.Get(ctx, "missing"); !apperr.Is(apperr.NotFound, err) {
		t.Errorf("missing record: %v", err)
	}
	// Counts add up, once per call even when the request is sent twice (as
	// the SDK does after a lost response).
	twice := dynamo.NewClient(dynamo.LocalConfig(dynamotest.Endpoint()), func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
			return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("SendTwice",
				func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
					if _, _, err := next.HandleFinalize(ctx, in); err != nil {
						return middleware.FinalizeOutput{}, middleware.Metadata{}, err
					}
					return next.HandleFinalize(ctx, in)
				}), middleware.Before)
		})
	})
	for i, counter := range []*dynamo.DeadLetters{store, {Client: twice, Table: table}, store} {
		if n, err := counter.CountFailure(ctx, "id-9"); err != nil || n != i+1 {
			t.Errorf("count %d: %d, %v", i+1, n, err)
		}
	}
}
