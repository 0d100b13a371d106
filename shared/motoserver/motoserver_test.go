package motoserver_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"math/big"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	streamtypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/inmor/inmor-serverless/shared/dynamo"
	"github.com/inmor/inmor-serverless/shared/dynamotest"
	"github.com/inmor/inmor-serverless/shared/motoserver"
)

func TestMain(m *testing.M) { dynamotest.Main(m) }

// streamTable is a table with a stream of both images, on a moto endpoint.
type streamTable struct {
	name    string
	db      *dynamodb.Client
	streams *dynamodbstreams.Client
	arn     string
	shard   string
}

func newStreamTable(t *testing.T, endpoint string) *streamTable {
	t.Helper()
	var suffix [6]byte
	_, _ = rand.Read(suffix[:])
	cfg := dynamo.LocalConfig(endpoint)
	st := &streamTable{name: "moto-test-" + hex.EncodeToString(suffix[:]), db: dynamo.NewClient(cfg), streams: dynamodbstreams.NewFromConfig(cfg)}
	ctx := context.Background()
	out, err := st.db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:   aws.String(st.name),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("sk"), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String("sk"), KeyType: types.KeyTypeRange},
		},
		StreamSpecification: &types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: types.StreamViewTypeNewAndOldImages},
	})
	if err != nil {
		t.Fatalf("create table: %v", err)
	}
	st.arn = aws.ToString(out.TableDescription.LatestStreamArn)
	desc, err := st.streams.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(st.arn)})
	if err != nil || len(desc.StreamDescription.Shards) != 1 {
		t.Fatalf("describe stream: %v %v", desc, err)
	}
	st.shard = aws.ToString(desc.StreamDescription.Shards[0].ShardId)
	return st
}

func motoKey(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk}, "sk": &types.AttributeValueMemberS{Value: sk}}
}

func (st *streamTable) put(t *testing.T, pk, sk string, extra map[string]types.AttributeValue) {
	t.Helper()
	item := motoKey(pk, sk)
	for k, v := range extra {
		item[k] = v
	}
	if _, err := st.db.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(st.name), Item: item}); err != nil {
		t.Fatalf("put %s/%s: %v", pk, sk, err)
	}
}

func (st *streamTable) get(t *testing.T, pk, sk string) map[string]types.AttributeValue {
	t.Helper()
	out, err := st.db.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(st.name), Key: motoKey(pk, sk), ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatalf("get %s/%s: %v", pk, sk, err)
	}
	return out.Item
}

// iterator returns a shard iterator: from the trim horizon when after is
// "", else after that sequence number.
func (st *streamTable) iterator(t *testing.T, after string) *string {
	t.Helper()
	in := &dynamodbstreams.GetShardIteratorInput{StreamArn: aws.String(st.arn), ShardId: aws.String(st.shard), ShardIteratorType: streamtypes.ShardIteratorTypeTrimHorizon}
	if after != "" {
		in.ShardIteratorType, in.SequenceNumber = streamtypes.ShardIteratorTypeAfterSequenceNumber, aws.String(after)
	}
	out, err := st.streams.GetShardIterator(context.Background(), in)
	if err != nil {
		t.Fatalf("get shard iterator: %v", err)
	}
	return out.ShardIterator
}

func (st *streamTable) records(iterator *string) ([]streamtypes.Record, error) {
	out, err := st.streams.GetRecords(context.Background(), &dynamodbstreams.GetRecordsInput{ShardIterator: iterator})
	if err != nil {
		return nil, err
	}
	return out.Records, nil
}

func sequenceNumber(r streamtypes.Record) string { return aws.ToString(r.Dynamodb.SequenceNumber) }

// TestMotoCancelledTransaction: a cancelled transaction leaves every item
// and the stream as they were, without replacing the table: an iterator
// taken before it sees no phantom records and then sees the next write.
func TestMotoCancelledTransaction(t *testing.T) {
	st := newStreamTable(t, dynamotest.Endpoint())
	ctx := context.Background()
	n := func(v string) types.AttributeValue { return &types.AttributeValueMemberN{Value: v} }
	st.put(t, "changed", "1", map[string]types.AttributeValue{"v": n("1")})
	st.put(t, "deleted", "1", map[string]types.AttributeValue{"v": n("1")})
	st.put(t, "neighbour", "2", map[string]types.AttributeValue{"v": n("1")}) // same range-key layout as the new ones
	before, err := st.records(st.iterator(t, ""))
	if err != nil || len(before) != 3 {
		t.Fatalf("records before: %d %v", len(before), err)
	}
	last := sequenceNumber(before[2])
	stale := st.iterator(t, last)

	table := aws.String(st.name)
	_, err = st.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Update: &types.Update{TableName: table, Key: motoKey("changed", "1"), UpdateExpression: aws.String("SET v = :v"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":v": n("2")}}},
		{Put: &types.Put{TableName: table, Item: motoKey("put", "1")}},
		{Delete: &types.Delete{TableName: table, Key: motoKey("deleted", "1")}},
		{Update: &types.Update{TableName: table, Key: motoKey("neighbour", "3"), UpdateExpression: aws.String("SET v = :v"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":v": n("1")}}}, // creates an item
		{ConditionCheck: &types.ConditionCheck{TableName: table, Key: motoKey("missing", "1"), ConditionExpression: aws.String("attribute_exists(pk)")}},
	}})
	var cancelled *types.TransactionCanceledException
	if !errors.As(err, &cancelled) {
		t.Fatalf("transaction: %v, want TransactionCanceledException", err)
	}
	if got := st.get(t, "changed", "1")["v"]; !reflect.DeepEqual(got, n("1")) {
		t.Errorf("updated item after the cancel: v = %#v, want 1", got)
	}
	if got := st.get(t, "deleted", "1"); got == nil {
		t.Error("deleted item is gone after the cancel")
	}
	for _, k := range [][2]string{{"put", "1"}, {"neighbour", "3"}} {
		if got := st.get(t, k[0], k[1]); got != nil {
			t.Errorf("item %v created by the cancelled transaction exists: %v", k, got)
		}
	}
	if got := st.get(t, "neighbour", "2"); got == nil {
		t.Error("the item beside the created one is gone")
	}
	if phantoms, err := st.records(stale); err != nil || len(phantoms) != 0 {
		t.Fatalf("records after the cancel: %d (%v), want none", len(phantoms), err)
	}

	// Two operations on one item: a validation error, also rolled back.
	_, err = st.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: table, Item: motoKey("twice", "1")}},
		{Delete: &types.Delete{TableName: table, Key: motoKey("twice", "1")}},
	}})
	if err == nil {
		t.Fatal("two operations on one item: no error")
	}
	if got := st.get(t, "twice", "1"); got != nil {
		t.Errorf("item of the refused transaction exists: %v", got)
	}

	st.put(t, "after", "1", nil)
	next, err := st.records(stale)
	if err != nil || len(next) != 1 {
		t.Fatalf("records after the next write through the earlier iterator: %d (%v), want 1", len(next), err)
	}
	if got := next[0].Dynamodb.Keys["pk"]; !reflect.DeepEqual(got, &streamtypes.AttributeValueMemberS{Value: "after"}) {
		t.Errorf("next record is of %#v, want the item written after the cancel", got)
	}
	if gap := sequenceGap(t, last, sequenceNumber(next[0])); gap != 1 {
		t.Errorf("sequence number %s is %d after %s, want the next one", sequenceNumber(next[0]), gap, last)
	}
}

// TestMotoStreamRecordValues: stream records (written by the launcher
// without moto's serializer) carry every attribute type as DynamoDB does.
func TestMotoStreamRecordValues(t *testing.T) {
	st := newStreamTable(t, dynamotest.Endpoint())
	values := map[string]types.AttributeValue{
		"s": &types.AttributeValueMemberS{Value: "é ✓ \"quoted\""}, "n": &types.AttributeValueMemberN{Value: "12.50"},
		"b": &types.AttributeValueMemberB{Value: []byte{0, 0xff, 1}}, "bool": &types.AttributeValueMemberBOOL{Value: true},
		"null": &types.AttributeValueMemberNULL{Value: true}, "ss": &types.AttributeValueMemberSS{Value: []string{"x", "y"}},
		"ns": &types.AttributeValueMemberNS{Value: []string{"1", "2"}}, "bs": &types.AttributeValueMemberBS{Value: [][]byte{{1}, {2, 3}}},
		"m": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
			"l": &types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberN{Value: "1"}, &types.AttributeValueMemberB{Value: []byte{7}}}},
		}},
	}
	st.put(t, "typed", "1", values)
	start := time.Now().Add(-time.Minute)
	records, err := st.records(st.iterator(t, ""))
	if err != nil || len(records) != 1 {
		t.Fatalf("records: %d %v", len(records), err)
	}
	image := records[0].Dynamodb.NewImage
	want := map[string]streamtypes.AttributeValue{
		"pk": &streamtypes.AttributeValueMemberS{Value: "typed"}, "sk": &streamtypes.AttributeValueMemberS{Value: "1"},
		"s": &streamtypes.AttributeValueMemberS{Value: "é ✓ \"quoted\""}, "n": &streamtypes.AttributeValueMemberN{Value: "12.50"},
		"b": &streamtypes.AttributeValueMemberB{Value: []byte{0, 0xff, 1}}, "bool": &streamtypes.AttributeValueMemberBOOL{Value: true},
		"null": &streamtypes.AttributeValueMemberNULL{Value: true}, "ss": &streamtypes.AttributeValueMemberSS{Value: []string{"x", "y"}},
		"ns": &streamtypes.AttributeValueMemberNS{Value: []string{"1", "2"}}, "bs": &streamtypes.AttributeValueMemberBS{Value: [][]byte{{1}, {2, 3}}},
		"m": &streamtypes.AttributeValueMemberM{Value: map[string]streamtypes.AttributeValue{
			"l": &streamtypes.AttributeValueMemberL{Value: []streamtypes.AttributeValue{&streamtypes.AttributeValueMemberN{Value: "1"}, &streamtypes.AttributeValueMemberB{Value: []byte{7}}}},
		}},
	}
	if !reflect.DeepEqual(image, want) {
		t.Errorf("new image\n got %#v\nwant %#v", image, want)
	}
	if records[0].EventName != streamtypes.OperationTypeInsert || records[0].Dynamodb.OldImage != nil {
		t.Errorf("event %s with old image %v, want INSERT without", records[0].EventName, records[0].Dynamodb.OldImage)
	}
	if at := records[0].Dynamodb.ApproximateCreationDateTime; at == nil || at.Before(start) || at.After(time.Now().Add(time.Minute)) {
		t.Errorf("approximate creation time %v, want about now", at)
	}
}

// TestMotoStreamRetentionAndIteratorExpiry: with a retention of a second,
// older records are trimmed without renumbering the rest, reading a
// trimmed position is TrimmedDataAccessException, and an iterator past its
// lifetime is ExpiredIteratorException (DynamoDB: 24 hours, 15 minutes).
func TestMotoStreamRetentionAndIteratorExpiry(t *testing.T) {
	t.Setenv("MOTO_STREAM_RETENTION_SECONDS", "1")
	t.Setenv("MOTO_SHARD_ITERATOR_LIFETIME_SECONDS", "1")
	moto, err := motoserver.Start(context.Background(), "127.0.0.1", 0, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(moto.Stop)
	st := newStreamTable(t, moto.Endpoint)
	for _, sk := range []string{"1", "2", "3"} {
		st.put(t, "old", sk, nil)
	}
	old, err := st.records(st.iterator(t, ""))
	if err != nil || len(old) != 3 {
		t.Fatalf("records: %d %v", len(old), err)
	}
	expiring := st.iterator(t, "")
	time.Sleep(1500 * time.Millisecond)
	st.put(t, "new", "1", nil) // trims

	records, err := st.records(st.iterator(t, ""))
	if err != nil || len(records) != 1 {
		t.Fatalf("records after the retention: %d (%v), want the new one only", len(records), err)
	}
	if sequenceGap(t, sequenceNumber(old[0]), sequenceNumber(records[0])) != 3 {
		t.Errorf("sequence number of the new record %s, want %s + 3", sequenceNumber(records[0]), sequenceNumber(old[0]))
	}
	_, err = st.records(st.iterator(t, sequenceNumber(old[0])))
	var trimmed *streamtypes.TrimmedDataAccessException
	if !errors.As(err, &trimmed) {
		t.Errorf("reading a trimmed position: %v, want TrimmedDataAccessException", err)
	}
	_, err = st.records(expiring)
	var expired *streamtypes.ExpiredIteratorException
	if !errors.As(err, &expired) {
		t.Errorf("reading with an iterator past its lifetime: %v, want ExpiredIteratorException", err)
	}
}

// sequenceGap returns to - from of two stream sequence numbers.
func sequenceGap(t *testing.T, from, to string) int64 {
	t.Helper()
	a, okA := new(big.Int).SetString(from, 10)
	b, okB := new(big.Int).SetString(to, 10)
	if !okA || !okB {
		t.Fatalf("sequence numbers %q, %q", from, to)
	}
	return new(big.Int).Sub(b, a).Int64()
}

// TestMotoLauncherChecks: the launcher tracks no model instances once
// patched, and refuses to serve with a moto whose patched functions it does
// not know.
func TestMotoLauncherChecks(t *testing.T) {
	python := func(t *testing.T, code string) (string, int) {
		t.Helper()
		cmd := exec.Command("python3", "-c", code)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatalf("python3: %v", err)
		}
		return out.String(), cmd.ProcessState.ExitCode()
	}
	t.Run("no instance tracking", func(t *testing.T) {
		out, code := python(t, `
import moto_server
moto_server.patch_moto()
from moto.dynamodb.models.dynamo_type import DynamoType, Item
Item(DynamoType({"S": "a"}), None, {"pk": {"S": "a"}})
assert Item.instances_tracked == [], Item.instances_tracked
`)
		if code != 0 {
			t.Errorf("exit %d: %s", code, out)
		}
	})
	t.Run("another moto version", func(t *testing.T) {
		out, code := python(t, `
import moto_server
moto_server.MOTO_VERSION = "0.0.1"
moto_server.patch_moto()
`)
		if code != 3 || !strings.Contains(out, "this launcher patches moto 0.0.1") {
			t.Errorf("exit %d, output %q; want 3 naming the version", code, out)
		}
	})
	t.Run("a changed function", func(t *testing.T) {
		out, code := python(t, `
import moto_server
function, _ = moto_server.PATCHED_SOURCES["StreamShard.add"]
moto_server.PATCHED_SOURCES["StreamShard.add"] = (function, "0" * 64)
moto_server.patch_moto()
`)
		if code != 3 || !strings.Contains(out, "StreamShard.add has changed") {
			t.Errorf("exit %d, output %q; want 3 naming the function", code, out)
		}
	})
}

// TestMotoVersionPinnedOnce: the Makefile installs the moto the launcher
// patches.
func TestMotoVersionPinnedOnce(t *testing.T) {
	makefile, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	want := "MOTO_VERSION := " + motoserver.Version + "\n"
	if !strings.Contains(string(makefile), want) {
		t.Errorf("the Makefile does not pin %q", strings.TrimSpace(want))
	}
	script, err := os.ReadFile("moto_server.py")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(script), `MOTO_VERSION = "`+motoserver.Version+`"`) {
		t.Errorf("moto_server.py does not patch moto %s", motoserver.Version)
	}
}
