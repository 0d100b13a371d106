// Package audit turns changes of resource items into audit entries: the
// snapshots, the field-level diff and the event type of each change, who made
// it, and the rules for reading the log back. It knows nothing of DynamoDB.
package audit

import (
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

// SummaryJSON returns the entry as the list endpoint shows it (no
// snapshots), fields in Inmor's order, that of Entry. It is written by hand
// because it runs once per stream record.
func (e *Entry) SummaryJSON() ([]byte, error) {
	b := make([]byte, 0, 640)
	b = append(b, `{"id":`...)
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
	if e.Diff == nil {
		b = append(b, "null"...)
	} else {
		var err error
		if b, err = appendJSON(b, e.Diff); err != nil {
			return nil, err
		}
	}
	var eventType *string
	if e.EventType != "" {
		eventType = &e.EventType
	}
	b = appendField(b, "event_type", eventType)
	return append(b, '}'), nil
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
