// Package audit turns changes of resource items into audit entries: the
// snapshots, the field-level diff and the event type of each change, who made
// it, and the rules for reading the log back. It knows nothing of DynamoDB.
package audit

import (
	"fmt"
	"strconv"
	"time"
)

// Authentication method of changes that did not come through the API.
const AuthOutOfBand = "out_of_band"

// TimeFormat is how entry times are written: ISO 8601 in UTC with a Z.
const TimeFormat = "2006-01-02T15:04:05.000000Z"

// Entry is one audit log entry. Pointer fields are null in
// JSON when nil.
type Entry struct {
	ID           int64
	Timestamp    time.Time
	UserID       *int64
	Username     *string
	AuthMethod   string
	APIKeyName   *string
	Tenant       *string
	IPAddress    *string
	UserAgent    *string
	RequestID    *string
	Action       string
	ResourceType string
	ResourceID   *int64
	ResourceRepr string
	Endpoint     *string
	HTTPMethod   *string
	ResponseCode *int
	Success      bool
	// Diff is nil except for updates.
	Diff map[string]any
	// EventType is "" when none applies.
	EventType      string
	SnapshotBefore map[string]any
	SnapshotAfter  map[string]any

	// SourceEventID identifies the stream record the entry comes from; the
	// journal records it so a redelivered record adds nothing.
	SourceEventID string
	// ResourceVersion is the version of the resource item after the change
	// (before it, for a delete); 0 for failed attempts.
	ResourceVersion int64
}

// Encoded is an entry as the journal stores it: the summary (the entry as
// the list endpoint shows it, without snapshots) and both snapshots as JSON,
// "null" for a missing snapshot.
type Encoded struct {
	Summary, Before, After string
}

// Encode writes the entry's summary, fields in Inmor's order (that of
// Entry), and its snapshots. One encoder writes the three, the snapshots
// first, so an object they share is encoded once and copied: the stream
// decoder shares the objects a change left alone between the two images,
// and the sides of a diff are objects of the snapshots. It is written by
// hand because it runs once per stream record.
func (e *Entry) Encode() (Encoded, error) {
	enc := encoderPool.Get().(*encoder)
	defer enc.release()
	enc.memo = true
	snapshot := func(m map[string]any) error {
		if m == nil {
			enc.buf = append(enc.buf, "null"...)
			return nil
		}
		return enc.object(m)
	}
	if err := snapshot(e.SnapshotBefore); err != nil {
		return Encoded{}, fmt.Errorf("snapshot before: %w", err)
	}
	afterStart := len(enc.buf)
	if err := snapshot(e.SnapshotAfter); err != nil {
		return Encoded{}, fmt.Errorf("snapshot after: %w", err)
	}
	diffStart := len(enc.buf)
	if e.Diff == nil {
		enc.buf = append(enc.buf, "null"...)
	} else if err := enc.object(e.Diff); err != nil {
		return Encoded{}, fmt.Errorf("diff: %w", err)
	}
	summaryStart := len(enc.buf)
	b := append(enc.buf, `{"id":`...)
	b = strconv.AppendInt(b, e.ID, 10)
	b = append(b, `,"timestamp":"`...)
	b = e.Timestamp.UTC().AppendFormat(b, TimeFormat)
	b = append(b, `","user_id":`...)
	b = appendOptionalInt(b, e.UserID)
	b = appendField(b, "username", e.Username)
	b = appendField(b, "auth_method", &e.AuthMethod)
	b = appendField(b, "api_key_name", e.APIKeyName)
	b = appendField(b, "tenant", e.Tenant)
	b = appendField(b, "ip_address", e.IPAddress)
	b = appendField(b, "user_agent", e.UserAgent)
	b = appendField(b, "request_id", e.RequestID)
	b = appendField(b, "action", &e.Action)
	b = appendField(b, "resource_type", &e.ResourceType)
	b = append(b, `,"resource_id":`...)
	b = appendOptionalInt(b, e.ResourceID)
	b = appendField(b, "resource_repr", &e.ResourceRepr)
	b = appendField(b, "endpoint", e.Endpoint)
	b = appendField(b, "http_method", e.HTTPMethod)
	b = append(b, `,"response_code":`...)
	if e.ResponseCode == nil {
		b = append(b, "null"...)
	} else {
		b = strconv.AppendInt(b, int64(*e.ResponseCode), 10)
	}
	b = append(b, `,"success":`...)
	b = strconv.AppendBool(b, e.Success)
	b = append(b, `,"diff":`...)
	b = append(b, b[diffStart:summaryStart]...)
	var eventType *string
	if e.EventType != "" {
		eventType = &e.EventType
	}
	b = appendField(b, "event_type", eventType)
	b = append(b, '}')
	enc.buf = b
	all := string(b) // one copy holds the three parts (and the diff twice)
	return Encoded{Summary: all[summaryStart:], Before: all[:afterStart], After: all[afterStart:diffStart]}, nil
}

func appendOptionalInt(b []byte, n *int64) []byte {
	if n == nil {
		return append(b, "null"...)
	}
	return strconv.AppendInt(b, *n, 10)
}

// appendField writes ,"name":value with a null for a nil value.
func appendField(b []byte, name string, value *string) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	if value == nil {
		return append(b, "null"...)
	}
	return appendString(b, *value)
}

// SnapshotJSON returns a snapshot as JSON, "null" for a nil one.
func SnapshotJSON(snapshot map[string]any) ([]byte, error) {
	if snapshot == nil {
		return []byte("null"), nil
	}
	return EncodeJSON(snapshot)
}

// DetailJSON joins an entry's summary and its snapshots into the form the
// detail endpoint shows.
func DetailJSON(summary, before, after []byte) []byte {
	if len(summary) < 2 {
		return summary
	}
	out := make([]byte, 0, len(summary)+len(before)+len(after)+40)
	out = append(out, summary[:len(summary)-1]...)
	out = append(out, `,"snapshot_before":`...)
	out = append(out, before...)
	out = append(out, `,"snapshot_after":`...)
	out = append(out, after...)
	return append(out, '}')
}
