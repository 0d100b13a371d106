// Package audit turns changes of resource items into audit entries: the
// snapshots, the field-level diff and the event type of each change, who made
// it, and the rules for reading the log back. It knows nothing of DynamoDB.
package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
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
	EventType string
	// ClaimedAttribution is the attribution an out-of-band change claimed
	// without the MAC that proves it (an attempt to frame someone, or a
	// copy of an item); nil otherwise.
	ClaimedAttribution map[string]any
	// Error is the message a failed request was answered with; nil for
	// changes.
	Error          *string
	SnapshotBefore map[string]any
	SnapshotAfter  map[string]any
	// Request is what a failed request sent, redacted and bounded (its
	// query and JSON body, see the attempt item); nil for changes. Like
	// the snapshots it is shown only in the detail form.
	Request map[string]any

	// SourceEventID identifies the stream record the entry comes from; the
	// journal records it so a redelivered record adds nothing.
	SourceEventID string
	// ResourceVersion is the version of the resource item after the change
	// (before it, for a delete); 0 for failed attempts.
	ResourceVersion int64

	// afterJSON is SnapshotAfter's JSON when Derive wrote it already (to
	// check the attribution's MAC), for Encode; nil otherwise.
	afterJSON []byte
}

// Encoded is an entry as the journal stores it: the summary (the entry as
// the list endpoint shows it, without snapshots or request), both snapshots
// and the failed request's parameters as JSON, "null" for a missing one;
// and its leaf hash in the audit log's Merkle tree: the RFC 6962 leaf hash
// (tlog.RecordHash) of its canonical form, the detail form (summary,
// snapshots and request) as one object with every key sorted
// (CanonicalJSON).
type Encoded struct {
	Summary, Before, After, Request string
	LeafHash                        [sha256.Size]byte
}

// Detail is the entry's detail form: DetailJSON of its parts.
func (e Encoded) Detail() []byte {
	return DetailJSON([]byte(e.Summary), []byte(e.Before), []byte(e.After), []byte(e.Request))
}

// summaryFields are the names of the summary's fields in Inmor's order,
// that of Entry (error last, added since), with the detail form's two
// snapshots and request after them.
var summaryFields = [...]string{
	"id", "timestamp", "user_id", "username", "auth_method", "api_key_name", "tenant", "ip_address",
	"user_agent", "request_id", "action", "resource_type", "resource_id", "resource_repr", "endpoint",
	"http_method", "response_code", "success", "diff", "event_type", "claimed_attribution", "error",
	"snapshot_before", "snapshot_after", "request",
}

// Indexes in summaryFields of the fields after the summary's.
const (
	fieldError = 21 + iota
	fieldBefore
	fieldAfter
	fieldRequest
	summaryLength = fieldBefore // the summary is the fields before the snapshots
)

// canonicalOrder lists the indexes of summaryFields with the names sorted.
var canonicalOrder = func() (order [len(summaryFields)]int) {
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order[:], func(a, b int) int { return strings.Compare(summaryFields[a], summaryFields[b]) })
	return order
}()

// Encode writes the entry's parts (see Encoded). One encoder writes every
// value once, the snapshots first, and remembers each object it wrote by
// address, so an object met again is copied: the stream decoder shares the
// objects a change left alone between the two images, and the sides of a
// diff are objects of the snapshots. The summary and the canonical form
// are then put together from the values written. It is written by hand
// because it runs once per stream record.
func (e *Entry) Encode() (Encoded, error) {
	enc := encoderPool.Get().(*encoder)
	defer enc.release()
	enc.memo = true
	var spans [len(summaryFields)]struct{ start, end int }
	value := func(field int, write func()) {
		spans[field].start = len(enc.buf)
		write()
		spans[field].end = len(enc.buf)
	}
	object := func(field int, m map[string]any) (err error) {
		value(field, func() {
			if m == nil {
				enc.buf = append(enc.buf, "null"...)
			} else {
				err = enc.object(m)
			}
		})
		if err != nil {
			return fmt.Errorf("%s: %w", summaryFields[field], err)
		}
		return nil
	}
	str := func(field int, s *string) {
		value(field, func() {
			if s == nil {
				enc.buf = append(enc.buf, "null"...)
			} else {
				enc.buf = appendString(enc.buf, *s)
			}
		})
	}
	integer := func(field int, n *int64) {
		value(field, func() { enc.buf = appendOptionalInt(enc.buf, n) })
	}
	if err := object(fieldBefore, e.SnapshotBefore); err != nil {
		return Encoded{}, err
	}
	if e.afterJSON != nil {
		value(fieldAfter, func() { enc.buf = append(enc.buf, e.afterJSON...) })
	} else if err := object(fieldAfter, e.SnapshotAfter); err != nil {
		return Encoded{}, err
	}
	if err := object(fieldRequest, e.Request); err != nil {
		return Encoded{}, err
	}
	if err := object(20, e.ClaimedAttribution); err != nil {
		return Encoded{}, err
	}
	if err := object(18, e.Diff); err != nil {
		return Encoded{}, err
	}
	id := e.ID
	integer(0, &id)
	value(1, func() {
		enc.buf = append(enc.buf, '"')
		enc.buf = e.Timestamp.UTC().AppendFormat(enc.buf, TimeFormat)
		enc.buf = append(enc.buf, '"')
	})
	integer(2, e.UserID)
	str(3, e.Username)
	str(4, &e.AuthMethod)
	str(5, e.APIKeyName)
	str(6, e.Tenant)
	str(7, e.IPAddress)
	str(8, e.UserAgent)
	str(9, e.RequestID)
	str(10, &e.Action)
	str(11, &e.ResourceType)
	integer(12, e.ResourceID)
	str(13, &e.ResourceRepr)
	str(14, e.Endpoint)
	str(15, e.HTTPMethod)
	var code *int64
	if e.ResponseCode != nil {
		c := int64(*e.ResponseCode)
		code = &c
	}
	integer(16, code)
	value(17, func() { enc.buf = strconv.AppendBool(enc.buf, e.Success) })
	var eventType *string
	if e.EventType != "" {
		eventType = &e.EventType
	}
	str(19, eventType)
	str(fieldError, e.Error)

	// One string holds the parts: the snapshots, the request and the
	// summary, put together after the values in the pooled buffer, then
	// copied once.
	values := enc.buf
	out := enc.buf
	start := len(out)
	out = append(out, values[spans[fieldBefore].start:spans[fieldBefore].end]...)
	afterStart := len(out) - start
	out = append(out, values[spans[fieldAfter].start:spans[fieldAfter].end]...)
	requestStart := len(out) - start
	out = append(out, values[spans[fieldRequest].start:spans[fieldRequest].end]...)
	summaryStart := len(out) - start
	for i := range summaryLength {
		out = appendMember(out, i == 0, summaryFields[i], values[spans[i].start:spans[i].end])
	}
	out = append(out, '}')
	enc.buf = out // the pool keeps the grown buffer
	all := string(out[start:])
	encoded := Encoded{Before: all[:afterStart], After: all[afterStart:requestStart], Request: all[requestStart:summaryStart], Summary: all[summaryStart:]}

	// The canonical form is hashed as it is put together from the values.
	if bytes.Contains(values, []byte(`\ufffd`)) {
		// A string had invalid UTF-8, written as the \ufffd escape, which
		// reads back as U+FFFD written raw: the canonical form is defined
		// by reading the detail form back (the stream decoder never makes
		// such strings, so this path is rare).
		canonical, err := CanonicalJSON(encoded.Detail())
		if err != nil {
			return Encoded{}, err
		}
		encoded.LeafHash = LeafHashOf(canonical)
		return encoded, nil
	}
	h := sha256.New()
	h.Write([]byte{0}) // RFC 6962: a leaf's hash starts with a zero byte
	member := enc.buf[len(enc.buf):]
	for i, field := range canonicalOrder {
		member = appendMember(member[:0], i == 0, summaryFields[field], values[spans[field].start:spans[field].end])
		h.Write(member)
	}
	h.Write([]byte{'}'})
	h.Sum(encoded.LeafHash[:0])
	return encoded, nil
}

// LeafHashOf is the RFC 6962 leaf hash of a canonical form: SHA-256 of a
// zero byte and the form (tlog.RecordHash).
func LeafHashOf(canonical []byte) (leaf [sha256.Size]byte) {
	h := sha256.New()
	h.Write([]byte{0})
	h.Write(canonical)
	h.Sum(leaf[:0])
	return leaf
}

// CanonicalJSON is the canonical form of an entry from its detail form
// (see Encoded): the same object with every key sorted, numbers and
// strings as stored, without the leaf hash the detail endpoint adds (the
// hash of this form). An auditor recomputes it from the detail endpoint's
// answer or the stored entry.
func CanonicalJSON(detail []byte) ([]byte, error) {
	d := json.NewDecoder(bytes.NewReader(detail))
	d.UseNumber()
	var v map[string]any
	if err := d.Decode(&v); err != nil {
		return nil, fmt.Errorf("entry is not a JSON object: %w", err)
	}
	if v == nil || d.More() {
		return nil, fmt.Errorf("entry is not one JSON object")
	}
	delete(v, LeafHashField)
	return EncodeJSON(v)
}

// LeafHashField is the detail form's leaf hash: the base64 hash of the
// entry's canonical form in the log's Merkle tree (RFC 6962 leaf).
const LeafHashField = "leaf_hash"

// WithLeafHash adds the leaf hash to a detail form.
func WithLeafHash(detail []byte, leafHash string) []byte {
	if len(detail) < 2 || detail[len(detail)-1] != '}' {
		return detail
	}
	out := make([]byte, 0, len(detail)+len(leafHash)+16)
	out = append(out, detail[:len(detail)-1]...)
	out = append(out, `,"`+LeafHashField+`":`...)
	out = appendString(out, leafHash)
	return append(out, '}')
}

// appendMember writes "name":value after { for the first member, else
// after a comma.
func appendMember(b []byte, first bool, name string, value []byte) []byte {
	if first {
		b = append(b, '{')
	} else {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return append(b, value...)
}

func appendOptionalInt(b []byte, n *int64) []byte {
	if n == nil {
		return append(b, "null"...)
	}
	return strconv.AppendInt(b, *n, 10)
}

// SnapshotJSON returns a snapshot as JSON, "null" for a nil one.
func SnapshotJSON(snapshot map[string]any) ([]byte, error) {
	if snapshot == nil {
		return []byte("null"), nil
	}
	return EncodeJSON(snapshot)
}

// DetailJSON joins an entry's summary, its snapshots and its request into
// the form the detail endpoint shows. A nil request (an entry stored before
// entries had one) is left out, so that the entry's canonical form stays
// the one its leaf hashed.
func DetailJSON(summary, before, after, request []byte) []byte {
	if len(summary) < 2 {
		return summary
	}
	out := make([]byte, 0, len(summary)+len(before)+len(after)+len(request)+52)
	out = append(out, summary[:len(summary)-1]...)
	out = append(out, `,"snapshot_before":`...)
	out = append(out, before...)
	out = append(out, `,"snapshot_after":`...)
	out = append(out, after...)
	if request != nil {
		out = append(out, `,"request":`...)
		out = append(out, request...)
	}
	return append(out, '}')
}
