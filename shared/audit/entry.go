// Package audit turns changes of resource items into audit entries: the
// snapshots, the field-level diff and the event type of each change, who made
// it, and the rules for reading the log back. It knows nothing of DynamoDB.
package audit

import (
	"encoding/json"
	"time"
)

// Authentication method of changes that did not come through the API.
const AuthOutOfBand = "out_of_band"

// TimeFormat is how entry times are written: ISO 8601 in UTC with a Z.
const TimeFormat = "2006-01-02T15:04:05.000000Z"

// Entry is one audit log entry (contract 6.1). Pointer fields are null in
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
}

// summary is the JSON form of an entry in lists.
type summary struct {
	ID           int64           `json:"id"`
	Timestamp    string          `json:"timestamp"`
	UserID       *int64          `json:"user_id"`
	Username     *string         `json:"username"`
	AuthMethod   string          `json:"auth_method"`
	APIKeyName   *string         `json:"api_key_name"`
	Tenant       *string         `json:"tenant"`
	IPAddress    *string         `json:"ip_address"`
	UserAgent    *string         `json:"user_agent"`
	RequestID    *string         `json:"request_id"`
	Action       string          `json:"action"`
	ResourceType string          `json:"resource_type"`
	ResourceID   *int64          `json:"resource_id"`
	ResourceRepr string          `json:"resource_repr"`
	Endpoint     *string         `json:"endpoint"`
	HTTPMethod   *string         `json:"http_method"`
	ResponseCode *int            `json:"response_code"`
	Success      bool            `json:"success"`
	Diff         json.RawMessage `json:"diff"`
	EventType    *string         `json:"event_type"`
}

// SummaryJSON returns the entry as the list endpoint shows it (no snapshots).
func (e *Entry) SummaryJSON() ([]byte, error) {
	s := summary{
		ID: e.ID, Timestamp: e.Timestamp.UTC().Format(TimeFormat), UserID: e.UserID, Username: e.Username,
		AuthMethod: e.AuthMethod, APIKeyName: e.APIKeyName, Tenant: e.Tenant, IPAddress: e.IPAddress,
		UserAgent: e.UserAgent, RequestID: e.RequestID, Action: e.Action, ResourceType: e.ResourceType,
		ResourceID: e.ResourceID, ResourceRepr: e.ResourceRepr, Endpoint: e.Endpoint, HTTPMethod: e.HTTPMethod,
		ResponseCode: e.ResponseCode, Success: e.Success, Diff: json.RawMessage("null"),
	}
	if e.EventType != "" {
		s.EventType = &e.EventType
	}
	if e.Diff != nil {
		d, err := EncodeJSON(e.Diff)
		if err != nil {
			return nil, err
		}
		s.Diff = d
	}
	return json.Marshal(s)
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
