package localstack

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	streamtypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
)

// Poller defaults, as Lambda's event source mapping would use them.
const (
	DefaultBatchSize    = 100
	DefaultPollInterval = 250 * time.Millisecond
)

// StreamHandler is a Lambda handler on the raw event payload.
type StreamHandler interface {
	Invoke(ctx context.Context, payload []byte) ([]byte, error)
}

// Poller reads a table's stream (and more streams, each as its own event
// source mapping would) and calls the handler with events.DynamoDBEvent
// batches, as Lambda's event source mapping does. It
// honours partial batch failures by retrying from the first failed record,
// and takes a fresh shard iterator for each poll (moto's iterators go stale).
type Poller struct {
	Streams   *dynamodbstreams.Client
	StreamARN string
	// MoreStreamARNs are read the same way after StreamARN (the auth
	// table's stream).
	MoreStreamARNs []string
	Handler        StreamHandler
	BatchSize      int
	Interval       time.Duration
	Logger         *slog.Logger

	mu sync.Mutex // serialises polls
	// positions holds, per stream and shard, the sequence number of the
	// last record handled; "" means start from the trim horizon.
	positions map[string]string
	// handled counts the records handed to the handler and not failed.
	handled atomic.Int64
}

// Handled returns how many records the poller has handed to the handler
// (and the handler did not report failed) since it was made.
func (p *Poller) Handled() int64 { return p.handled.Load() }

// SkipToEnd marks every record the streams hold now as handled, so that
// only later changes reach the handler: the local stack's restored items
// were recorded in the audit log before it stopped.
func (p *Poller) SkipToEnd(ctx context.Context) error {
	for _, stream := range append([]string{p.StreamARN}, p.MoreStreamARNs...) {
		if err := p.skipRecords(ctx, stream); err != nil {
			return err
		}
	}
	return nil
}

// maxRecordsPerRead is GetRecords' limit.
const maxRecordsPerRead = 1000

// Run polls until ctx is done. After a poll that handled records it polls
// again at once, as Lambda does while a shard has records; it pauses for
// Interval when the stream is idle or the handler made no progress.
func (p *Poller) Run(ctx context.Context) error {
	for ctx.Err() == nil {
		_, handled, err := p.poll(ctx)
		if err != nil && ctx.Err() == nil {
			p.logger().Error("stream poll failed", "error", err.Error())
		}
		if err == nil && handled > 0 {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(p.interval()):
		}
	}
	return nil
}

// PollOnce reads at most one batch per shard and hands it to the handler.
// It returns the number of records read.
// It is safe to call while Run runs: polls are serialised.
func (p *Poller) PollOnce(ctx context.Context) (int, error) {
	read, _, err := p.poll(ctx)
	return read, err
}

// poll is PollOnce that also counts the records handled (not reported as
// failed).
func (p *Poller) poll(ctx context.Context) (read, handled int, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.positions == nil {
		p.positions = map[string]string{}
	}
	for _, stream := range append([]string{p.StreamARN}, p.MoreStreamARNs...) {
		desc, err := p.Streams.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(stream)})
		if err != nil {
			return read, handled, fmt.Errorf("describe stream: %w", err)
		}
		for _, shard := range desc.StreamDescription.Shards {
			r, h, err := p.pollShard(ctx, stream, aws.ToString(shard.ShardId))
			read, handled = read+r, handled+h
			if err != nil {
				return read, handled, err
			}
		}
	}
	return read, handled, nil
}

// skipRecords moves the poller past the records a stream holds now, as a
// mapping created after them with starting position LATEST would start.
func (p *Poller) skipRecords(ctx context.Context, stream string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.positions == nil {
		p.positions = map[string]string{}
	}
	desc, err := p.Streams.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(stream)})
	if err != nil {
		return fmt.Errorf("describe stream: %w", err)
	}
	for _, shard := range desc.StreamDescription.Shards {
		shardID := aws.ToString(shard.ShardId)
		for {
			records, err := p.read(ctx, stream, shardID, maxRecordsPerRead)
			if err != nil {
				return err
			}
			if len(records) == 0 {
				break
			}
			p.positions[stream+" "+shardID] = aws.ToString(records[len(records)-1].Dynamodb.SequenceNumber)
		}
	}
	return nil
}

func (p *Poller) pollShard(ctx context.Context, stream, shardID string) (read, handled int, err error) {
	records, err := p.read(ctx, stream, shardID, p.batchSize())
	if err != nil || len(records) == 0 {
		return 0, 0, err
	}
	payload, err := json.Marshal(events.DynamoDBEvent{Records: toEventRecords(records, stream)})
	if err != nil {
		return 0, 0, err
	}
	out, err := p.Handler.Invoke(ctx, payload)
	if err != nil {
		// The whole batch failed: it is delivered again at the next poll.
		return len(records), 0, fmt.Errorf("stream handler: %w", err)
	}
	var resp events.DynamoDBEventResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		return len(records), 0, fmt.Errorf("stream handler response: %w", err)
	}
	handled = len(records)
	for _, failure := range resp.BatchItemFailures {
		for i, r := range records {
			if aws.ToString(r.Dynamodb.SequenceNumber) == failure.ItemIdentifier && i < handled {
				handled = i
			}
		}
	}
	if handled > 0 {
		p.positions[stream+" "+shardID] = aws.ToString(records[handled-1].Dynamodb.SequenceNumber)
		p.handled.Add(int64(handled))
	}
	return len(records), handled, nil
}

// read takes a fresh iterator after the last handled record and reads at
// most limit records.
func (p *Poller) read(ctx context.Context, stream, shardID string, limit int) ([]streamtypes.Record, error) {
	in := &dynamodbstreams.GetShardIteratorInput{StreamArn: aws.String(stream), ShardId: aws.String(shardID), ShardIteratorType: streamtypes.ShardIteratorTypeTrimHorizon}
	if seq := p.positions[stream+" "+shardID]; seq != "" {
		in.ShardIteratorType = streamtypes.ShardIteratorTypeAfterSequenceNumber
		in.SequenceNumber = aws.String(seq)
	}
	it, err := p.Streams.GetShardIterator(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("get shard iterator: %w", err)
	}
	out, err := p.Streams.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: it.ShardIterator, Limit: aws.Int32(int32(limit))})
	if err != nil {
		return nil, fmt.Errorf("get records: %w", err)
	}
	return out.Records, nil
}

func (p *Poller) batchSize() int {
	if p.BatchSize > 0 {
		return p.BatchSize
	}
	return DefaultBatchSize
}

func (p *Poller) interval() time.Duration {
	if p.Interval > 0 {
		return p.Interval
	}
	return DefaultPollInterval
}

func (p *Poller) logger() *slog.Logger {
	if p.Logger != nil {
		return p.Logger
	}
	return slog.Default()
}

// toEventRecords converts SDK stream records into Lambda's event records.
func toEventRecords(records []streamtypes.Record, streamARN string) []events.DynamoDBEventRecord {
	out := make([]events.DynamoDBEventRecord, len(records))
	for i, r := range records {
		d := r.Dynamodb
		out[i] = events.DynamoDBEventRecord{
			AWSRegion:      aws.ToString(r.AwsRegion),
			EventID:        aws.ToString(r.EventID),
			EventName:      string(r.EventName),
			EventSource:    "aws:dynamodb",
			EventVersion:   "1.1",
			EventSourceArn: streamARN,
			Change: events.DynamoDBStreamRecord{
				Keys:           toEventImage(d.Keys),
				NewImage:       toEventImage(d.NewImage),
				OldImage:       toEventImage(d.OldImage),
				SequenceNumber: aws.ToString(d.SequenceNumber),
				SizeBytes:      aws.ToInt64(d.SizeBytes),
				StreamViewType: string(d.StreamViewType),
			},
		}
		if d.ApproximateCreationDateTime != nil {
			out[i].Change.ApproximateCreationDateTime = events.SecondsEpochTime{Time: *d.ApproximateCreationDateTime}
		}
	}
	return out
}

func toEventImage(image map[string]streamtypes.AttributeValue) map[string]events.DynamoDBAttributeValue {
	if image == nil {
		return nil
	}
	out := make(map[string]events.DynamoDBAttributeValue, len(image))
	for k, v := range image {
		out[k] = toEventValue(v)
	}
	return out
}

func toEventValue(v streamtypes.AttributeValue) events.DynamoDBAttributeValue {
	switch x := v.(type) {
	case *streamtypes.AttributeValueMemberS:
		return events.NewStringAttribute(x.Value)
	case *streamtypes.AttributeValueMemberN:
		return events.NewNumberAttribute(x.Value)
	case *streamtypes.AttributeValueMemberBOOL:
		return events.NewBooleanAttribute(x.Value)
	case *streamtypes.AttributeValueMemberNULL:
		return events.NewNullAttribute()
	case *streamtypes.AttributeValueMemberB:
		return events.NewBinaryAttribute(x.Value)
	case *streamtypes.AttributeValueMemberSS:
		return events.NewStringSetAttribute(x.Value)
	case *streamtypes.AttributeValueMemberNS:
		return events.NewNumberSetAttribute(x.Value)
	case *streamtypes.AttributeValueMemberBS:
		return events.NewBinarySetAttribute(x.Value)
	case *streamtypes.AttributeValueMemberL:
		list := make([]events.DynamoDBAttributeValue, len(x.Value))
		for i, item := range x.Value {
			list[i] = toEventValue(item)
		}
		return events.NewListAttribute(list)
	case *streamtypes.AttributeValueMemberM:
		return events.NewMapAttribute(toEventImage(x.Value))
	}
	return events.NewNullAttribute()
}
