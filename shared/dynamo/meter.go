package dynamo

import (
	"context"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"
)

// Meter counts the DynamoDB requests a client makes and the items they read
// (ScannedCount for queries and scans, items returned for gets), per table.
// Cost tests use it to assert bounds that do not grow with the tables.
type Meter struct {
	mu        sync.Mutex
	requests  map[string]int // by operation
	itemsRead int
	ignored   map[string]bool
}

// NewMeter returns a meter that does not count requests to the ignored
// tables (for example the auth table, whose lookups authenticate the caller).
func NewMeter(ignoredTables ...string) *Meter {
	m := &Meter{requests: map[string]int{}, ignored: map[string]bool{}}
	for _, t := range ignoredTables {
		m.ignored[t] = true
	}
	return m
}

// MeterUsage is a snapshot of a meter's counts.
type MeterUsage struct {
	Requests  int
	ItemsRead int
	// ByOperation counts requests per DynamoDB operation.
	ByOperation map[string]int
}

// Usage returns the counts so far.
func (m *Meter) Usage() MeterUsage {
	m.mu.Lock()
	defer m.mu.Unlock()
	u := MeterUsage{ItemsRead: m.itemsRead, ByOperation: map[string]int{}}
	for op, n := range m.requests {
		u.Requests += n
		u.ByOperation[op] = n
	}
	return u
}

// Reset sets every count to zero.
func (m *Meter) Reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests, m.itemsRead = map[string]int{}, 0
}

// Option returns the client option that installs the meter.
func (m *Meter) Option() func(*dynamodb.Options) {
	return func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
			return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("Meter",
				func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
					out, md, err := next.HandleInitialize(ctx, in)
					m.record(in.Parameters, out.Result)
					return out, md, err
				}), middleware.After)
		})
	}
}

func (m *Meter) record(input, output any) {
	op, table := describe(input)
	if op == "" || m.ignored[table] {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests[op]++
	switch out := output.(type) {
	case *dynamodb.GetItemOutput:
		if out != nil && out.Item != nil {
			m.itemsRead++
		}
	case *dynamodb.QueryOutput:
		if out != nil {
			m.itemsRead += int(out.ScannedCount)
		}
	case *dynamodb.ScanOutput:
		if out != nil {
			m.itemsRead += int(out.ScannedCount)
		}
	case *dynamodb.BatchGetItemOutput:
		if out != nil {
			for _, items := range out.Responses {
				m.itemsRead += len(items)
			}
		}
	case *dynamodb.TransactGetItemsOutput:
		if out != nil {
			m.itemsRead += len(out.Responses)
		}
	}
}

// describe names the operation of a request and the table it targets
// ("" for requests spanning tables).
func describe(input any) (op, table string) {
	switch in := input.(type) {
	case *dynamodb.GetItemInput:
		return "GetItem", aws.ToString(in.TableName)
	case *dynamodb.PutItemInput:
		return "PutItem", aws.ToString(in.TableName)
	case *dynamodb.UpdateItemInput:
		return "UpdateItem", aws.ToString(in.TableName)
	case *dynamodb.DeleteItemInput:
		return "DeleteItem", aws.ToString(in.TableName)
	case *dynamodb.QueryInput:
		return "Query", aws.ToString(in.TableName)
	case *dynamodb.ScanInput:
		return "Scan", aws.ToString(in.TableName)
	case *dynamodb.BatchGetItemInput:
		return "BatchGetItem", ""
	case *dynamodb.BatchWriteItemInput:
		return "BatchWriteItem", ""
	case *dynamodb.TransactWriteItemsInput:
		return "TransactWriteItems", ""
	case *dynamodb.TransactGetItemsInput:
		return "TransactGetItems", ""
	}
	return "", ""
}
