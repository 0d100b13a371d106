package dynamo_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/inmor/inmor-serverless/shared/apperr"
	userauth "github.com/inmor/inmor-serverless/shared/auth"
	"github.com/inmor/inmor-serverless/shared/dynamo"
	"github.com/inmor/inmor-serverless/shared/dynamotest"
	"github.com/inmor/inmor-serverless/shared/resource"
	"github.com/inmor/inmor-serverless/shared/tables"
)

func TestMain(m *testing.M) { dynamotest.Main(m) }

// TestARetriedPutIsNotALostRace: when the SDK retries a conditional put
// whose first attempt was applied (its answer lost), the retry finds its own
// write and succeeds; another request's write is a lost race (a Stale error).
func TestARetriedPutIsNotALostRace(t *testing.T) {
	ctx := context.Background()
	getenv := dynamotest.Getenv(t, nil)
	client := dynamo.NewClient(dynamo.LocalConfig(dynamotest.Endpoint()))
	if err := dynamo.CreateTables(ctx, client, getenv); err != nil {
		t.Fatal(err)
	}
	store := &dynamo.Resources{Client: client, Table: tables.Resources.Name(getenv)}
	now := time.Now().UTC()
	created, err := store.CreateTrustMarkType(ctx, resource.TrustMarkType{TMType: "https://tm", ValidFor: 1, Active: true, Added: now},
		resource.Attribution{RequestID: "req-create", Operation: resource.OpCreate, ResponseCode: 201, CommittedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	update := created
	update.Active = false
	a := resource.Attribution{RequestID: "req-update", Operation: resource.OpUpdate, ResponseCode: 200, CommittedAt: now}
	first, err := store.ReplaceTrustMarkType(ctx, update, a)
	if err != nil || first.Version != 2 {
		t.Fatalf("first attempt: %+v %v", first, err)
	}
	if retried, err := store.ReplaceTrustMarkType(ctx, update, a); err != nil || retried.Version != 2 {
		t.Errorf("the retried put of the same request: %+v %v, want success", retried, err)
	}
	a.RequestID = "req-other"
	if _, err := store.ReplaceTrustMarkType(ctx, update, a); !apperr.Is(apperr.Stale, err) {
		t.Errorf("another request's put on the old version: %v, want a Stale error", err)
	}
}

// TestCreateTablesTurnsOnTheTTLOfATableThatExists: a table created before
// (or by an SDK retry of a create that was applied) still gets its TTL.
func TestCreateTablesTurnsOnTheTTLOfATableThatExists(t *testing.T) {
	ctx := context.Background()
	getenv := dynamotest.Getenv(t, nil)
	client := dynamo.NewClient(dynamo.LocalConfig(dynamotest.Endpoint()))
	name := tables.Audit.Name(getenv)
	dynamotest.CreateTable(t, client, dynamo.CreateTableInput(tables.Audit, name)) // no TTL yet
	if err := dynamo.CreateTables(ctx, client, getenv); err != nil {
		t.Fatal(err)
	}
	out, err := client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: &name})
	if err != nil || out.TimeToLiveDescription == nil || out.TimeToLiveDescription.TimeToLiveStatus != types.TimeToLiveStatusEnabled {
		t.Errorf("TTL of the table that existed: %+v, %v", out.TimeToLiveDescription, err)
	}
	if err := dynamo.CreateTables(ctx, client, getenv); err != nil {
		t.Errorf("a second run: %v", err)
	}
}

// loseFirstAnswer makes the first UpdateItem's answer be lost after the
// table applied it (a connection reset), so that the SDK retries it.
func loseFirstAnswer(attempts *int) func(*dynamodb.Options) {
	return func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
			return stack.Deserialize.Add(middleware.DeserializeMiddlewareFunc("LoseFirstAnswer",
				func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
					out, md, err := next.HandleDeserialize(ctx, in)
					if middleware.GetOperationName(ctx) == "UpdateItem" {
						*attempts++
						if *attempts == 1 && err == nil {
							return out, md, &smithyhttp.RequestSendError{Err: errors.New("connection reset by peer")}
						}
					}
					return out, md, err
				}), middleware.After)
		})
	}
}

// TestARetriedIncrementAllocatesOneID: an id counter's increment the SDK
// retries after its answer was lost allocates one id, not two (ids are
// not skipped under load).
func TestARetriedIncrementAllocatesOneID(t *testing.T) {
	ctx := context.Background()
	getenv := dynamotest.Getenv(t, nil)
	if err := dynamo.CreateTables(ctx, dynamo.NewClient(dynamo.LocalConfig(dynamotest.Endpoint())), getenv); err != nil {
		t.Fatal(err)
	}
	attempts := 0
	client := dynamo.NewClient(dynamo.LocalConfig(dynamotest.Endpoint()), loseFirstAnswer(&attempts))
	store := &dynamo.Resources{Client: client, Table: tables.Resources.Name(getenv)}
	now := time.Now().UTC()
	first, err := store.CreateTrustMarkType(ctx, resource.TrustMarkType{TMType: "https://tm/1", Added: now}, resource.Attribution{RequestID: "r1", CommittedAt: now})
	if err != nil || attempts < 2 {
		t.Fatalf("first create: %+v %v after %d attempts (the answer was to be lost once)", first, err, attempts)
	}
	second, err := store.CreateTrustMarkType(ctx, resource.TrustMarkType{TMType: "https://tm/2", Added: now}, resource.Attribution{RequestID: "r2", CommittedAt: now})
	if err != nil || first.ID != 1 || second.ID != 2 {
		t.Errorf("ids %d and %d, want 1 and 2", first.ID, second.ID)
	}
	users := &dynamo.Auth{Client: client, Table: tables.Auth.Name(getenv)}
	attempts = 0
	u, err := users.CreateUser(ctx, userauth.User{Username: "alice", IsActive: true})
	if err != nil || attempts < 2 || u.ID != 1 {
		t.Errorf("user id %d after %d attempts, %v; want 1", u.ID, attempts, err)
	}
}
