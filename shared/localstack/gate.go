package localstack

import (
	"context"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"
)

// TransactionGate works around a moto behaviour: a cancelled
// TransactWriteItems restores the table from a copy, so a shard iterator
// taken before it can show phantom records of the cancelled writes. The
// poller holds the gate exclusively from GetShardIterator to GetRecords;
// transactions hold it shared. DynamoDB itself needs no such gate.
type TransactionGate struct {
	mu sync.RWMutex
}

// Option returns a DynamoDB client option that makes the client's
// transactions take the gate.
func (g *TransactionGate) Option() func(*dynamodb.Options) {
	return func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
			return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("TransactionGate",
				func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
					if _, isTransaction := in.Parameters.(*dynamodb.TransactWriteItemsInput); isTransaction {
						g.mu.RLock()
						defer g.mu.RUnlock()
					}
					return next.HandleInitialize(ctx, in)
				}), middleware.Before)
		})
	}
}

// lockStream holds the gate exclusively while the poller reads the stream.
func (g *TransactionGate) lockStream() func() {
	g.mu.Lock()
	return g.mu.Unlock
}
