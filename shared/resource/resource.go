// Package resource holds the resource types the admin API manages
// (TrustMarkType, TrustMark, Subordinate, and the trust anchor's own
// ServerEntity and HistoricalKeys), their rules, and the services
// that apply changes to them through stores. It knows nothing of HTTP or
// DynamoDB. Stores return apperr kinds: NotFound (no item with that key),
// Exists (a unique value is taken; the store returns the holder) and Stale
// (the item changed since it was read).
package resource

import (
	"context"
	"time"

	"github.com/inmor/inmor-serverless/shared/apperr"
)

// Type names a resource type as the audit log records it.
type Type string

// The resource types.
const (
	TypeTrustMarkType Type = "TrustMarkType"
	TypeTrustMark     Type = "TrustMark"
	TypeSubordinate   Type = "Subordinate"
	// TypeServerEntity is the trust anchor's own entity configuration.
	TypeServerEntity Type = "ServerEntity"
	// TypeHistoricalKeys are the trust anchor's retired keys and their JWT.
	TypeHistoricalKeys Type = "HistoricalKeys"
)

// Types lists every resource type.
var Types = []Type{TypeTrustMarkType, TypeTrustMark, TypeSubordinate, TypeServerEntity, TypeHistoricalKeys}

// Operation is the kind of API write that produced a version of a resource.
type Operation string

// The operations.
const (
	OpCreate Operation = "create"
	OpUpdate Operation = "update"
	OpRenew  Operation = "renew"
)

// Attribution says who made a write through the API and how. It is stored on
// the item with the write, so the audit function can read it from the stream.
type Attribution struct {
	UserID     int64
	Username   string
	AuthMethod string
	Tenant     string
	APIKeyName string
	RequestID  string
	SourceIP   string
	UserAgent  string
	Path       string
	Method     string
	Operation  Operation
	// ResponseCode is the status the API answers for this write.
	ResponseCode int
	// CommittedAt is when the write was made.
	CommittedAt time.Time
}

// Page selects a slice of a list ordered by id.
type Page struct {
	Limit  int
	Offset int
}

// TimeFormat is how resource times are written: ISO 8601 in UTC with a Z.
const TimeFormat = "2006-01-02T15:04:05.000000Z"

// AttemptRecorder stores failed write requests for the audit log.
type AttemptRecorder interface {
	RecordAttempt(ctx context.Context, a Attempt) error
}

// maxUpdateAttempts bounds retries of an update that lost a race.
const maxUpdateAttempts = 3

// retryStale runs one read-edit-write attempt until it does not lose a race
// (a Stale error from the store), at most maxUpdateAttempts times; then the
// update is Busy (busy is the caller's message). A store's NotFound error
// (one without a message) becomes the type's notFound message about id.
func retryStale[T any](id int64, notFound, busy string, attempt func() (T, error)) (T, error) {
	for range maxUpdateAttempts {
		v, err := attempt()
		switch {
		case apperr.Is(apperr.Stale, err):
			continue
		case apperr.Is(apperr.NotFound, err) && apperr.MessageOf(err) == "":
			return v, apperr.E(apperr.NotFound, notFound, id, err)
		}
		return v, err
	}
	var zero T
	return zero, apperr.New(apperr.Busy, id, busy)
}

// IsType reports whether s names a resource type.
func IsType(s string) bool {
	for _, t := range Types {
		if string(t) == s {
			return true
		}
	}
	return false
}

// ReprField is the field that identifies a resource to humans.
func ReprField(t Type) string {
	switch t {
	case TypeTrustMarkType:
		return "tmtype"
	case TypeTrustMark:
		return "domain"
	default:
		return "entityid"
	}
}

// Attempt is a state-changing request that failed.
type Attempt struct {
	RequestID    string
	ResourceType Type
	// ResourceID is the id the request named, 0 when none.
	ResourceID int64
	// ResourceRepr is the resource the request tried to create (its body's
	// tmtype, domain or entityid) when it named no id; "" otherwise.
	ResourceRepr string
	// Error is the message the request was answered with.
	Error string
	// Request is the request's query and JSON body, redacted and bounded,
	// as a JSON object; "" when not recorded.
	Request     string
	Attribution Attribution
}
