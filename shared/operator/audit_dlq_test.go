package operator_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/inmor/inmor-serverless/shared/audit"
	"github.com/inmor/inmor-serverless/shared/dynamo"
	"github.com/inmor/inmor-serverless/shared/dynamotest"
	"github.com/inmor/inmor-serverless/shared/operator"
	"github.com/inmor/inmor-serverless/shared/tables"
)

// dlqHarness runs `inmorctl audit dlq` against an audit table of the test's
// own on moto.
type dlqHarness struct {
	t      *testing.T
	getenv func(string) string
	client *dynamodb.Client
	table  string
	store  *dynamo.DeadLetters
}

func newDLQHarness(t *testing.T) *dlqHarness {
	t.Helper()
	t.Parallel()
	getenv := dynamotest.Getenv(t, nil)
	client := dynamo.NewClient(dynamo.LocalConfig(dynamotest.Endpoint()))
	name := tables.Audit.Name(getenv)
	dynamotest.CreateTable(t, client, dynamo.CreateTableInput(tables.Audit, name))
	return &dlqHarness{t: t, getenv: getenv, client: client, table: name, store: &dynamo.DeadLetters{Client: client, Table: name}}
}

func (h *dlqHarness) run(args ...string) result {
	h.t.Helper()
	var stdout, stderr strings.Builder
	code := operator.Run(context.Background(), args, operator.Env{
		Getenv: h.getenv, Stdout: &stdout, Stderr: &stderr,
		DynamoDB: func(context.Context) (*dynamodb.Client, error) { return h.client, nil },
	})
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

var dlqTime = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// dlqRecord is the stream record of an out-of-band INSERT of a
// TrustMarkType; with poisoned set, its tmtype has a type descriptor that
// no decoder knows.
func dlqRecord(eventID, seq string, id int, poisoned bool) string {
	descriptor := "S"
	if poisoned {
		descriptor = "Q"
	}
	return fmt.Sprintf(`{"eventID":%q,"eventName":"INSERT","eventVersion":"1.1","eventSource":"aws:dynamodb","awsRegion":"us-east-1",`+
		`"eventSourceARN":"arn:aws:dynamodb:us-east-1:000000000000:table/inmor-resources/stream/2026-01-01T00:00:00.000",`+
		`"dynamodb":{"ApproximateCreationDateTime":1772600000,"Keys":{"pk":{"S":"TrustMarkType"},"sk":{"S":"%020d"}},`+
		`"NewImage":{"pk":{"S":"TrustMarkType"},"sk":{"S":"%020d"},"id":{"N":"%d"},"tmtype":{%q:"https://example.org/tm/%d"},`+
		`"active":{"BOOL":true},"version":{"N":"1"}},"SequenceNumber":%q,"SizeBytes":120,"StreamViewType":"NEW_AND_OLD_IMAGES"}}`,
		eventID, id, id, id, descriptor, id, seq)
}

// setAside stores a dead-letter record as the audit function would, set
// aside minutes after dlqTime.
func (h *dlqHarness) setAside(eventID, seq string, id int, poisoned bool, minutes int) {
	h.t.Helper()
	err := h.store.SetAside(context.Background(), audit.DeadLetter{
		ID: eventID, EventID: eventID, SequenceNumber: seq, EventSourceARN: "arn:stream",
		Record: []byte(dlqRecord(eventID, seq, id, poisoned)), Error: "injected: the record failed",
		Attempts: 3, SetAsideAt: dlqTime.Add(time.Duration(minutes) * time.Minute),
		ResourcePK: "TrustMarkType", ResourceSK: fmt.Sprintf("%020d", id),
	})
	if err != nil {
		h.t.Fatal(err)
	}
}

// entries returns the event ids of the audit entries, by entry id.
func (h *dlqHarness) entries() []string {
	h.t.Helper()
	out, err := h.client.Scan(context.Background(), &dynamodb.ScanInput{
		TableName: aws.String(h.table), ConsistentRead: aws.Bool(true),
		FilterExpression:          aws.String("begins_with(pk, :e)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":e": &types.AttributeValueMemberS{Value: "entry#"}},
	})
	if err != nil {
		h.t.Fatal(err)
	}
	slices.SortFunc(out.Items, func(a, b map[string]types.AttributeValue) int {
		return strings.Compare(a["pk"].(*types.AttributeValueMemberS).Value, b["pk"].(*types.AttributeValueMemberS).Value)
	})
	var ids []string
	for _, item := range out.Items {
		ids = append(ids, item["event_id"].(*types.AttributeValueMemberS).Value)
	}
	return ids
}

func (h *dlqHarness) listed() []string {
	h.t.Helper()
	letters, err := h.store.List(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	var ids []string
	for _, d := range letters {
		ids = append(ids, d.ID)
	}
	return ids
}

func TestAuditDLQWithoutRecords(t *testing.T) {
	h := newDLQHarness(t)
	for _, args := range [][]string{{"audit", "dlq", "list"}, {"audit", "dlq", "replay", "--all"}} {
		if r := h.run(args...); r.code != operator.ExitOK || r.stdout != "No dead-letter records.\n" || r.stderr != "" {
			t.Errorf("%v: %+v", args, r)
		}
	}
}

func TestAuditDLQListNewestFirst(t *testing.T) {
	h := newDLQHarness(t)
	h.setAside("ev-1", "100", 1, true, 0)
	h.setAside("ev-2", "200", 2, true, 1)
	r := h.run("audit", "dlq", "list")
	want := "" +
		"Event ID  Sequence  Set aside at          Attempts  Error\n" +
		"ev-2      200       2026-03-04T05:07:07Z  3         injected: the record failed\n" +
		"ev-1      100       2026-03-04T05:06:07Z  3         injected: the record failed\n"
	if r.code != operator.ExitOK || r.stdout != want || r.stderr != "" {
		t.Errorf("exit %d, stderr %q, stdout\n%s\nwant\n%s", r.code, r.stderr, r.stdout, want)
	}
}

func TestAuditDLQReplayOneRecord(t *testing.T) {
	h := newDLQHarness(t)
	h.setAside("ev-1", "100", 1, false, 0)
	h.setAside("ev-2", "200", 2, true, 1)
	r := h.run("audit", "dlq", "replay", "--event-id", "ev-1")
	if r.code != operator.ExitOK || r.stdout != "Replayed ev-1: entry appended.\n" || r.stderr != "" {
		t.Fatalf("replay: %+v", r)
	}
	if got := h.entries(); !slices.Equal(got, []string{"ev-1"}) {
		t.Errorf("entries for %v", got)
	}
	if got := h.listed(); !slices.Equal(got, []string{"ev-2"}) {
		t.Errorf("dead letters %v, want only ev-2", got)
	}
	// The same record set aside again (say, a delivery that failed after its
	// entry was written): replaying it adds nothing and clears it.
	h.setAside("ev-1", "100", 1, false, 2)
	r = h.run("audit", "dlq", "replay", "--event-id", "ev-1")
	if r.code != operator.ExitOK || r.stdout != "Replayed ev-1: already in the audit log; nothing added.\n" {
		t.Errorf("second replay: %+v", r)
	}
	if got := h.entries(); !slices.Equal(got, []string{"ev-1"}) {
		t.Errorf("entries for %v after a second replay", got)
	}
	if got := h.listed(); !slices.Equal(got, []string{"ev-2"}) {
		t.Errorf("dead letters %v, want only ev-2", got)
	}
}

func TestAuditDLQReplayThatFailsKeepsTheRecord(t *testing.T) {
	h := newDLQHarness(t)
	h.setAside("ev-2", "200", 2, true, 0)
	r := h.run("audit", "dlq", "replay", "--event-id", "ev-2")
	if r.code != operator.ExitFailure || r.stdout != "" ||
		!strings.Contains(r.stderr, "1 of 1 dead-letter records failed to replay") ||
		!strings.Contains(r.stderr, `ev-2: streamrecord: dynamodb.NewImage.tmtype: unknown attribute type descriptor "Q"`) {
		t.Fatalf("replay: %+v", r)
	}
	d, err := h.store.Get(context.Background(), "ev-2")
	if err != nil {
		t.Fatal(err)
	}
	if d.Attempts != 4 || !strings.Contains(d.Error, `unknown attribute type descriptor "Q"`) || !d.SetAsideAt.Equal(dlqTime) {
		t.Errorf("after a failed replay: %+v", d)
	}
	if out := h.run("audit", "dlq", "list").stdout; !strings.Contains(out, "  4         streamrecord: ") {
		t.Errorf("list after a failed replay:\n%s", out)
	}
	if got := h.entries(); len(got) != 0 {
		t.Errorf("entries for %v", got)
	}
}

func TestAuditDLQReplayAllOldestFirst(t *testing.T) {
	h := newDLQHarness(t)
	h.setAside("ev-3", "300", 3, false, 2)
	h.setAside("ev-1", "100", 1, false, 0)
	h.setAside("ev-2", "200", 2, true, 1)
	r := h.run("audit", "dlq", "replay", "--all")
	if r.code != operator.ExitFailure || r.stdout != "Replayed ev-1: entry appended.\nReplayed ev-3: entry appended.\n" ||
		!strings.Contains(r.stderr, "inmorctl: 1 of 3 dead-letter records failed to replay:\nev-2: ") {
		t.Fatalf("replay --all: %+v", r)
	}
	if got := h.entries(); !slices.Equal(got, []string{"ev-1", "ev-3"}) {
		t.Errorf("entries for %v, want ev-1 then ev-3", got)
	}
	if got := h.listed(); !slices.Equal(got, []string{"ev-2"}) {
		t.Errorf("dead letters %v", got)
	}
}

func TestAuditDLQUsage(t *testing.T) {
	h := newDLQHarness(t)
	for _, tc := range []struct {
		args    []string
		code    int
		message string
	}{
		{[]string{"audit", "dlq"}, operator.ExitUsage, "audit dlq needs list or replay"},
		{[]string{"audit", "dlq", "purge"}, operator.ExitUsage, `unknown command "audit dlq purge"`},
		{[]string{"audit", "dlq", "list", "extra"}, operator.ExitUsage, `unexpected argument "extra"`},
		{[]string{"audit", "dlq", "replay"}, operator.ExitUsage, "give either --event-id or --all\nusage: inmorctl audit dlq replay (--event-id ID | --all)"},
		{[]string{"audit", "dlq", "replay", "--all", "--event-id", "ev-1"}, operator.ExitUsage, "give either --event-id or --all"},
		{[]string{"audit", "dlq", "replay", "--bogus"}, operator.ExitUsage, "flag provided but not defined: -bogus"},
		{[]string{"audit", "dlq", "replay", "--event-id", "nope"}, operator.ExitFailure, "inmorctl: No dead-letter record with event id 'nope'"},
	} {
		wantFailure(t, h.run(tc.args...), tc.code, tc.message)
	}
}
