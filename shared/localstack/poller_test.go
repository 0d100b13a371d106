package localstack_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"

	"github.com/inmor/inmor-serverless/shared/dynamo"
	"github.com/inmor/inmor-serverless/shared/dynamotest"
	"github.com/inmor/inmor-serverless/shared/localstack"
)

// handlerFunc is a stream handler made of a function.
type handlerFunc func(ctx context.Context, payload []byte) ([]byte, error)

func (f handlerFunc) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	return f(ctx, payload)
}

// streamedTable creates a table with a stream on the test endpoint and
// returns a put function and the stream's ARN.
func streamedTable(t *testing.T) (put func(pk string), arn string) {
	t.Helper()
	var suffix [6]byte
	_, _ = rand.Read(suffix[:])
	name := "poller-" + hex.EncodeToString(suffix[:])
	db := dynamo.NewClient(dynamo.LocalConfig(dynamotest.Endpoint()))
	out, err := db.CreateTable(context.Background(), &dynamodb.CreateTableInput{
		TableName: aws.String(name), BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}},
		StreamSpecification:  &types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: types.StreamViewTypeNewAndOldImages},
	})
	if err != nil {
		t.Fatal(err)
	}
	return func(pk string) {
		_, err := db.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(name),
			Item: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk}}})
		if err != nil {
			t.Error(err)
		}
	}, aws.ToString(out.TableDescription.LatestStreamArn)
}

// TestPollerPollsAgainAfterProgress: after a batch it handled, the poller
// reads again at once (a record written meanwhile arrives long before the
// idle interval); after a batch whose first record failed, it waits the
// interval instead of retrying in a loop.
func TestPollerPollsAgainAfterProgress(t *testing.T) {
	for _, c := range []struct {
		name       string
		failFirst  bool
		wantCalls  int
		wantWithin time.Duration
	}{
		{"progress", false, 2, 10 * time.Second},
		{"no progress", true, 1, time.Second},
	} {
		t.Run(c.name, func(t *testing.T) {
			put, arn := streamedTable(t)
			put("first")
			var mu sync.Mutex
			calls := 0
			handler := handlerFunc(func(ctx context.Context, payload []byte) ([]byte, error) {
				var ev events.DynamoDBEvent
				if err := json.Unmarshal(payload, &ev); err != nil {
					return nil, err
				}
				mu.Lock()
				calls++
				first := calls == 1
				mu.Unlock()
				resp := events.DynamoDBEventResponse{}
				if c.failFirst {
					resp.BatchItemFailures = []events.DynamoDBBatchItemFailure{{ItemIdentifier: ev.Records[0].Change.SequenceNumber}}
				} else if first {
					put("second") // written while the first batch is handled
				}
				return json.Marshal(resp)
			})
			p := &localstack.Poller{
				Streams: dynamodbstreams.NewFromConfig(dynamo.LocalConfig(dynamotest.Endpoint())), StreamARN: arn,
				Handler: handler, Interval: time.Hour,
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { defer close(done); _ = p.Run(ctx) }()
			defer func() { cancel(); <-done }()
			deadline := time.Now().Add(c.wantWithin)
			for time.Now().Before(deadline) {
				mu.Lock()
				n := calls
				mu.Unlock()
				if n > c.wantCalls {
					t.Fatalf("%d invocations, want %d", n, c.wantCalls)
				}
				if n == c.wantCalls && !c.failFirst {
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
			mu.Lock()
			defer mu.Unlock()
			if calls != c.wantCalls {
				t.Errorf("%d invocations within %s, want %d", calls, c.wantWithin, c.wantCalls)
			}
		})
	}
}
