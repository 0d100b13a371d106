package auditstream

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/inmor/inmor-serverless/shared/audit"
	"github.com/inmor/inmor-serverless/shared/streamrecord"
)

// DefaultMaxRecordAttempts is how many times a record may fail before the
// handler sets it aside.
const DefaultMaxRecordAttempts = 3

// maxIDLength bounds the ids that key failure counts and dead-letter records;
// a longer event id (which no real stream sends) is replaced by its hash.
const maxIDLength = 512

// ReplayOutcome is what replaying one dead-letter record did.
type ReplayOutcome struct {
	// ID is the dead-letter record's.
	ID string
	// Appended: its entry was appended. Duplicate: its entry existed already
	// and nothing was added. Skipped: it is not a resource change.
	Appended, Duplicate, Skipped bool
	// Err is why the record failed again (it stays set aside, with its error
	// and attempts updated), or why its dead-letter record could not be
	// deleted after it was handled.
	Err error
}

// RecordID is the id that keys a record's failure count and dead-letter
// record: its event id, or its sequence number when the event id was
// unreadable; "" when it has neither.
func RecordID(rec streamrecord.Record) string {
	id := rec.EventID
	if id == "" {
		id = rec.SequenceNumber
	}
	if len(id) > maxIDLength {
		sum := sha256.Sum256([]byte(id))
		id = "sha256:" + hex.EncodeToString(sum[:])
	}
	return id
}

func (h Handler) maxAttempts() int {
	if h.MaxRecordAttempts > 0 {
		return h.MaxRecordAttempts
	}
	return DefaultMaxRecordAttempts
}

func (h Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// failed counts a failure of records[i] and, when the record has failed
// MaxRecordAttempts times, sets it aside. It reports whether the record was
// set aside, so that the batch may go on; false means the record must be
// reported in batchItemFailures (Lambda retries from it).
func (h Handler) failed(ctx context.Context, payload []byte, i int, rec streamrecord.Record, cause error) bool {
	log := h.logger().With("event_id", rec.EventID, "sequence_number", rec.SequenceNumber, "error", cause.Error())
	id := RecordID(rec)
	switch {
	case h.DeadLetters == nil:
		log.ErrorContext(ctx, "audit record failed")
		return false
	case id == "":
		log.ErrorContext(ctx, "audit record failed; it has no event id or sequence number to count its attempts by")
		return false
	case ctx.Err() != nil:
		// The invocation is ending: not the record's fault, and nothing
		// could be written anyway.
		log.ErrorContext(ctx, "audit record failed as the invocation ended", "context", ctx.Err().Error())
		return false
	}
	attempts, err := h.DeadLetters.CountFailure(ctx, id)
	if err != nil {
		log.ErrorContext(ctx, "audit record failed; its attempt could not be counted", "count_error", err.Error())
		return false
	}
	if attempts < h.maxAttempts() {
		log.ErrorContext(ctx, "audit record failed", "attempts", attempts, "max_attempts", h.maxAttempts())
		return false
	}
	raw, err := rawRecord(payload, i, rec)
	if err != nil {
		log.ErrorContext(ctx, "audit record failed; it cannot be set aside", "attempts", attempts, "set_aside_error", err.Error())
		return false
	}
	d := audit.DeadLetter{
		ID: id, EventID: rec.EventID, SequenceNumber: rec.SequenceNumber, EventSourceARN: rec.EventSourceARN,
		Record: raw, Error: cause.Error(), Attempts: attempts, SetAsideAt: h.now().UTC(),
	}
	d.ResourcePK, _ = rec.Keys["pk"].(string)
	d.ResourceSK, _ = rec.Keys["sk"].(string)
	if err := h.DeadLetters.SetAside(ctx, d); err != nil {
		log.ErrorContext(ctx, "audit record failed; it could not be set aside", "attempts", attempts, "set_aside_error", err.Error())
		return false
	}
	log.ErrorContext(ctx, "audit record set aside as a dead-letter record", "id", id, "attempts", attempts)
	return true
}

// rawRecord returns the JSON of records[i] exactly as the payload holds it.
// It runs only when a record is set aside, so the hot path keeps its
// one-pass decoder. streamrecord returns one record per element of Records,
// so the i-th element is the one; the ids are compared to make sure.
func rawRecord(payload []byte, i int, rec streamrecord.Record) ([]byte, error) {
	var event struct {
		Records []json.RawMessage `json:"Records"`
	}
	if err := json.Unmarshal(payload, &event); err != nil {
		return nil, fmt.Errorf("read the record's JSON: %w", err)
	}
	matches := func(raw json.RawMessage) bool {
		var ids struct {
			EventID  string `json:"eventID"`
			DynamoDB struct {
				SequenceNumber string `json:"SequenceNumber"`
			} `json:"dynamodb"`
		}
		// A malformed field is left empty, as streamrecord leaves it.
		_ = json.Unmarshal(raw, &ids)
		return ids.EventID == rec.EventID && ids.DynamoDB.SequenceNumber == rec.SequenceNumber
	}
	if i < len(event.Records) && matches(event.Records[i]) {
		return event.Records[i], nil
	}
	for _, raw := range event.Records {
		if matches(raw) {
			return raw, nil
		}
	}
	return nil, errors.New("the record's JSON is not in the payload")
}

// Replay handles dead-letter records again, in the order given, with the code
// that handles stream batches (it is the audit function's code path: an
// operator may run it in-process, or invoke the function). A record handled
// now (appended, found already recorded, or not a resource change) has its
// dead-letter record deleted; one that fails again stays, with its error and
// attempts updated. Replaying a record whose entry exists adds nothing.
// Every record is tried; the error joins the failures of all of them.
func (h Handler) Replay(ctx context.Context, letters []audit.DeadLetter) ([]ReplayOutcome, error) {
	if h.DeadLetters == nil {
		return nil, errors.New("replay: the handler has no dead-letter store")
	}
	outcomes := make([]ReplayOutcome, 0, len(letters))
	var errs []error
	for _, d := range letters {
		o := h.replay(ctx, d)
		if o.Err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", d.ID, o.Err))
		}
		outcomes = append(outcomes, o)
	}
	return outcomes, errors.Join(errs...)
}

func (h Handler) replay(ctx context.Context, d audit.DeadLetter) ReplayOutcome {
	o := ReplayOutcome{ID: d.ID}
	log := h.logger().With("id", d.ID, "event_id", d.EventID, "sequence_number", d.SequenceNumber)
	appended, skipped, err := h.handleRaw(ctx, d.Record)
	if err != nil {
		log.ErrorContext(ctx, "dead-letter record failed again", "error", err.Error())
		d.Error, d.Attempts = err.Error(), d.Attempts+1
		if uerr := h.DeadLetters.ReplayFailed(ctx, d); uerr != nil {
			err = errors.Join(err, fmt.Errorf("update the dead-letter record: %w", uerr))
		}
		o.Err = err
		return o
	}
	o.Appended, o.Skipped, o.Duplicate = appended, skipped, !appended && !skipped
	if err := h.DeadLetters.Delete(ctx, d.ID); err != nil {
		o.Err = fmt.Errorf("handled, but the dead-letter record could not be deleted (replaying it again adds nothing): %w", err)
		return o
	}
	log.InfoContext(ctx, "dead-letter record replayed", "appended", o.Appended, "duplicate", o.Duplicate, "skipped", o.Skipped)
	return o
}

// handleRaw handles one record given as its JSON (an element of Records).
func (h Handler) handleRaw(ctx context.Context, raw []byte) (appended, skipped bool, err error) {
	payload := make([]byte, 0, len(raw)+len(`{"Records":[]}`))
	payload = append(payload, `{"Records":[`...)
	payload = append(payload, raw...)
	payload = append(payload, `]}`...)
	records, err := streamrecord.Decode(payload)
	if err != nil {
		return false, false, fmt.Errorf("the dead-letter record is not a stream record: %w", err)
	}
	if len(records) != 1 {
		return false, false, fmt.Errorf("the dead-letter record holds %d stream records, want 1", len(records))
	}
	return h.handle(ctx, records[0])
}
