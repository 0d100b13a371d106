// Package auditstream is the audit function's Lambda handler: it decodes a
// DynamoDB Streams batch of the resources table or the auth table, derives
// one audit entry per audited change and appends it to the journal, reporting partial batch
// failures so that Lambda retries from the first record that failed. A record
// that keeps failing is set aside as a dead-letter record after a bounded
// number of attempts, so it cannot block its shard; Replay handles it again.
package auditstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/inmor/inmor-serverless/shared/audit"
	"github.com/inmor/inmor-serverless/shared/streamrecord"
)

// Handler processes stream batches. It implements lambda.Handler on the raw
// payload, so records are decoded by the fast streamrecord decoder.
type Handler struct {
	Journal audit.Journal
	// AttributionKey proves attributions (audit.AttributionMAC): a
	// change whose attribution does not carry its MAC under this key is
	// recorded as out-of-band. Without a key every change is.
	AttributionKey []byte
	// StreamARN, when set, is the resources table's stream: only its
	// records and those of AuthStreamARN (the auth table's) are handled;
	// records of another (a direct invocation with a made-up event) are
	// skipped, counted and logged.
	StreamARN     string
	AuthStreamARN string
	// DeadLetters counts the failed attempts of each record and keeps the
	// records set aside. When nil, a failing record is retried forever.
	DeadLetters audit.DeadLetters
	// MaxRecordAttempts is how many times a record may fail before it is set
	// aside; DefaultMaxRecordAttempts when zero or less.
	MaxRecordAttempts int
	// Now returns the current time (when a record is set aside); time.Now
	// when nil.
	Now func() time.Time
	// Logger receives one line per batch and one per failed record.
	Logger *slog.Logger
	// Metrics, when set, receives one CloudWatch Embedded Metric Format
	// line per batch (in Lambda: standard output).
	Metrics io.Writer
}

// Checkpointer is a journal that signs checkpoints of the log (see
// dynamo.Journal.Checkpoint).
type Checkpointer interface {
	Checkpoint(ctx context.Context) error
}

// Stats describes what one batch did.
type Stats struct {
	Records    int
	Appended   int
	Duplicates int
	Skipped    int // bookkeeping items, not resources
	// Foreign counts the records of another stream than StreamARN.
	Foreign int
	// SetAside counts the records that failed for the last allowed time and
	// were stored as dead-letter records (the batch went on after them).
	SetAside int
	// Failed counts the records reported in batchItemFailures (0 or 1).
	Failed int
	// MaxLag is the longest time from a change (the stream's approximate
	// creation time) to its entry, over the entries appended.
	MaxLag time.Duration
}

// Invoke implements lambda.Handler.
func (h Handler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	resp, _, err := h.Process(ctx, payload)
	if err != nil {
		return nil, err
	}
	return json.Marshal(resp)
}

// Process handles one batch. Records are handled in order; at the first one
// that fails, processing stops and that record is reported, so Lambda (or the
// local poller) retries from it and the entries keep the stream's order.
// Each failure is counted (see DeadLetters); a record that has failed
// MaxRecordAttempts times is set aside instead, and the records after it are
// handled in the same invocation. A failure that cannot be counted, or a
// record that cannot be set aside, is reported, never dropped.
// An error is returned only when the payload is not a stream event at all.
func (h Handler) Process(ctx context.Context, payload []byte) (events.DynamoDBEventResponse, Stats, error) {
	resp := events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{}}
	records, err := streamrecord.Decode(payload)
	if err != nil {
		return resp, Stats{}, fmt.Errorf("decode stream event: %w", err)
	}
	stats := Stats{Records: len(records)}
	for i, rec := range records {
		if h.StreamARN != "" && rec.EventSourceARN != h.StreamARN && (h.AuthStreamARN == "" || rec.EventSourceARN != h.AuthStreamARN) {
			stats.Foreign++
			h.logger().WarnContext(ctx, "record of another stream skipped", "event_id", rec.EventID, "event_source_arn", rec.EventSourceARN)
			continue
		}
		appended, skipped, err := h.handle(ctx, rec)
		if err != nil {
			if h.failed(ctx, payload, i, rec, err) {
				stats.SetAside++
				continue
			}
			stats.Failed++
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: rec.SequenceNumber})
			break
		}
		switch {
		case skipped:
			stats.Skipped++
		case appended:
			stats.Appended++
			if !rec.ApproximateCreationTime.IsZero() {
				stats.MaxLag = max(stats.MaxLag, h.now().Sub(rec.ApproximateCreationTime))
			}
		default:
			stats.Duplicates++
		}
	}
	if c, ok := h.Journal.(Checkpointer); ok && stats.Appended > 0 {
		// The entries are in; a checkpoint that fails is made after a
		// later batch, so the batch is not failed for it.
		if err := c.Checkpoint(ctx); err != nil {
			h.logger().ErrorContext(ctx, "audit checkpoint", "error", err.Error())
		}
	}
	h.logger().InfoContext(ctx, "audit batch", "records", stats.Records, "appended", stats.Appended,
		"duplicates", stats.Duplicates, "skipped", stats.Skipped, "foreign", stats.Foreign, "set_aside", stats.SetAside, "failed", stats.Failed,
		"max_lag_ms", stats.MaxLag.Milliseconds())
	if h.Metrics != nil {
		if err := writeMetrics(h.Metrics, stats, h.now()); err != nil {
			h.logger().ErrorContext(ctx, "write metrics", "error", err.Error())
		}
	}
	return resp, stats, nil
}

func (h Handler) handle(ctx context.Context, rec streamrecord.Record) (appended, skipped bool, err error) {
	if rec.Err != nil {
		return false, false, rec.Err
	}
	change := audit.Change{
		EventID: rec.EventID, EventName: rec.EventName, ApproximateTime: rec.ApproximateCreationTime,
		Keys: rec.Keys, OldImage: rec.OldImage, NewImage: rec.NewImage,
	}
	entry, isResource, err := audit.Derive(change, h.AttributionKey)
	if err != nil {
		return false, false, err
	}
	if !isResource {
		return false, true, nil
	}
	appended, err = h.Journal.Append(ctx, &entry)
	if errors.Is(err, audit.ErrReplayedAttribution) {
		if entry, isResource, err = audit.DeriveUnattributed(change, h.AttributionKey); err != nil || !isResource {
			return false, !isResource, err
		}
		appended, err = h.Journal.Append(ctx, &entry)
	}
	return appended, false, err
}

func (h Handler) logger() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.Default()
}
