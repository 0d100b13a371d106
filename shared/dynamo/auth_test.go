package dynamo_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"

	"github.com/inmor/inmor-serverless/shared/apperr"
	"github.com/inmor/inmor-serverless/shared/auth"
	"github.com/inmor/inmor-serverless/shared/dynamo"
	"github.com/inmor/inmor-serverless/shared/dynamotest"
	"github.com/inmor/inmor-serverless/shared/tables"
)

// sendTwice makes a client send every request twice, as the SDK does when
// it retries a request whose answer was lost; the second answer is kept.
func sendTwice(o *dynamodb.Options) {
	o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("SendTwice",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				if _, _, err := next.HandleInitialize(ctx, in); err != nil {
					return middleware.InitializeOutput{}, middleware.Metadata{}, err
				}
				return next.HandleInitialize(ctx, in)
			}), middleware.After)
	})
}

// TestRetriedAuthWritesCountOnce: a login failure retried by the SDK counts
// once, and a session put retried opens the session once, without error.
func TestRetriedAuthWritesCountOnce(t *testing.T) {
	ctx := context.Background()
	getenv := dynamotest.Getenv(t, nil)
	plain := dynamo.NewClient(dynamo.LocalConfig(dynamotest.Endpoint()))
	if err := dynamo.CreateTables(ctx, plain, getenv); err != nil {
		t.Fatal(err)
	}
	store := &dynamo.Auth{Client: dynamo.NewClient(dynamo.LocalConfig(dynamotest.Endpoint()), sendTwice), Table: tables.Auth.Name(getenv)}
	now := time.Now()
	for i := 0; i < 3; i++ {
		if err := store.RecordLoginFailure(ctx, "alice", now, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if count, _, err := store.LoginFailures(ctx, "alice"); err != nil || count != 3 {
		t.Errorf("3 failures, each sent twice, counted %d (%v)", count, err)
	}
	s := auth.Session{Hash: auth.HashSessionID("id"), Username: "alice", UserID: 1, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := store.CreateSession(ctx, s); err != nil {
		t.Errorf("a session put sent twice: %v", err)
	}
	if got, err := store.SessionByHash(ctx, s.Hash); err != nil || got.Username != "alice" {
		t.Errorf("session %+v %v", got, err)
	}
	key := auth.APIKey{Hash: "h1", Prefix: "abcdefgh", Name: "ci", Username: "alice", UserID: 1, Tenant: "default", Scope: auth.ScopeAdmin, IsActive: true, CreatedAt: now}
	if err := store.CreateAPIKey(ctx, key); err != nil {
		t.Errorf("a key put sent twice: %v", err)
	}
	other := key
	other.Name = "another"
	single := &dynamo.Auth{Client: plain, Table: store.Table}
	if err := single.CreateAPIKey(ctx, other); !apperr.Is(apperr.Exists, err) {
		t.Errorf("another key with the same hash: %v, want Exists", err)
	}
}
