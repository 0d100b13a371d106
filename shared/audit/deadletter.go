package audit

import (
	"context"
	"time"
)

// DeadLetter is a stream record that failed the audit function's allowed
// attempts and was set aside, so that the records after it could be handled.
type DeadLetter struct {
	// ID keys the record's failure count and dead-letter record: its event
	// id, or its sequence number when the event id was unreadable.
	ID string
	// EventID and SequenceNumber are the record's, as far as readable.
	EventID        string
	SequenceNumber string
	// EventSourceARN is the ARN of the stream the record came from.
	EventSourceARN string
	// Record is the record's JSON exactly as the payload held it (one element
	// of Records), so that it can be replayed. Listings leave it empty.
	Record []byte
	// Error is why the record failed the last time.
	Error string
	// Attempts counts the deliveries and replays that failed.
	Attempts int
	// SetAsideAt is when the handler set the record aside.
	SetAsideAt time.Time
	// ResourcePK and ResourceSK are the changed item's keys, when readable.
	ResourcePK, ResourceSK string
}

// DeadLetters is where the handler counts the failed attempts of records and
// keeps those it set aside. Only the audit function's code (auditstream)
// writes it; operators list and replay them.
type DeadLetters interface {
	// CountFailure adds one failed attempt to the record with that id and
	// returns its attempts so far. Counts may expire once the stream no
	// longer holds the record.
	CountFailure(ctx context.Context, id string) (attempts int, err error)
	// SetAside stores a dead-letter record, replacing any with the same id.
	SetAside(ctx context.Context, d DeadLetter) error
	// ReplayFailed stores the new Error and Attempts of a dead-letter record
	// whose replay failed; it does nothing when the record is gone.
	ReplayFailed(ctx context.Context, d DeadLetter) error
	// Delete removes a dead-letter record once it has been replayed.
	Delete(ctx context.Context, id string) error
}
