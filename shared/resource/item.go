package resource

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Item layout in the resources table, shared by the store that writes items
// and the audit function that reads them back from the stream.
const (
	// AttrPK holds the resource type; AttrSK the zero-padded id.
	AttrPK = "pk"
	AttrSK = "sk"
	// AttrVersion counts the writes of an item, starting at 1.
	AttrVersion = "version"
	// AttrAttribution holds the Attribution of the write that made this version.
	AttrAttribution = "attribution"
	// AttrExpiresAt is the TTL attribute of short-lived items.
	AttrExpiresAt = "expires_at"
	// AttrID and AttrAdded are resource fields every type has.
	AttrID    = "id"
	AttrAdded = "added"
)

// bookkeeping attributes never appear in snapshots or diffs.
var bookkeeping = map[string]bool{AttrPK: true, AttrSK: true, AttrVersion: true, AttrAttribution: true, AttrExpiresAt: true}

// IsBookkeeping reports whether an item attribute is internal bookkeeping.
func IsBookkeeping(attribute string) bool { return bookkeeping[attribute] }

// SortKey returns the sort key of the resource with that id: zero-padded, so
// that the items of a type sort by id.
func SortKey(id int64) string { return fmt.Sprintf("%020d", id) }

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

// Keys of the attribution map.
const (
	attrUserID       = "user_id"
	attrUsername     = "username"
	attrAuthMethod   = "auth_method"
	attrTenant       = "tenant"
	attrAPIKeyName   = "api_key_name"
	attrRequestID    = "request_id"
	attrSourceIP     = "source_ip"
	attrUserAgent    = "user_agent"
	attrPath         = "path"
	attrMethod       = "method"
	attrOperation    = "operation"
	attrResponseCode = "response_code"
	attrCommittedAt  = "committed_at"
	attrVersion      = "version"
)

// Map returns the attribution as stored on an item written as version.
// Empty strings are left out.
func (a Attribution) Map(version int64) map[string]any {
	m := map[string]any{
		attrUserID:       a.UserID,
		attrOperation:    string(a.Operation),
		attrResponseCode: a.ResponseCode,
		attrCommittedAt:  a.CommittedAt.UTC().Format(time.RFC3339Nano),
		attrVersion:      version,
	}
	for k, v := range map[string]string{
		attrUsername: a.Username, attrAuthMethod: a.AuthMethod, attrTenant: a.Tenant,
		attrAPIKeyName: a.APIKeyName, attrRequestID: a.RequestID, attrSourceIP: a.SourceIP,
		attrUserAgent: a.UserAgent, attrPath: a.Path, attrMethod: a.Method,
	} {
		if v != "" {
			m[k] = v
		}
	}
	return m
}

// Image is a resource item as read from the table or its stream.
type Image struct {
	Type    Type
	ID      int64
	Version int64
	// Attribution is the stored attribution, nil when absent or unreadable.
	Attribution *Attribution
	// AttributionVersion is the version the attribution was written with.
	AttributionVersion int64
	// Fields are the resource's attributes without bookkeeping.
	Fields map[string]any
}

// Repr returns the human-readable identifier of the resource.
func (im Image) Repr() string {
	s, _ := im.Fields[ReprField(im.Type)].(string)
	return s
}

// ParseImage reads an item (attribute values as plain Go values; numbers as
// json.Number or Go integers). ok is false when the item is not a resource.
func ParseImage(item map[string]any) (im Image, ok bool, err error) {
	pk, _ := item[AttrPK].(string)
	if !IsType(pk) {
		return Image{}, false, nil
	}
	im.Type = Type(pk)
	im.Fields = make(map[string]any, len(item))
	for k, v := range item {
		if !bookkeeping[k] {
			im.Fields[k] = v
		}
	}
	if v, present := item[AttrID]; present {
		if im.ID, err = Int(v); err != nil {
			return im, true, fmt.Errorf("id: %w", err)
		}
	} else if sk, _ := item[AttrSK].(string); sk != "" {
		if im.ID, err = strconv.ParseInt(sk, 10, 64); err != nil {
			return im, true, fmt.Errorf("sort key: %w", err)
		}
	}
	if v, present := item[AttrVersion]; present {
		if im.Version, err = Int(v); err != nil {
			return im, true, fmt.Errorf("version: %w", err)
		}
	}
	if m, isMap := item[AttrAttribution].(map[string]any); isMap {
		im.Attribution, im.AttributionVersion = parseAttribution(m)
	}
	return im, true, nil
}

// parseAttribution reads an attribution map; a map it cannot read counts as
// no attribution at all, which makes the change out-of-band.
func parseAttribution(m map[string]any) (*Attribution, int64) {
	str := func(k string) string { s, _ := m[k].(string); return s }
	version, err := Int(m[attrVersion])
	if err != nil {
		return nil, 0
	}
	committed, err := time.Parse(time.RFC3339Nano, str(attrCommittedAt))
	if err != nil {
		return nil, 0
	}
	code, err := Int(m[attrResponseCode])
	if err != nil {
		return nil, 0
	}
	userID, _ := Int(m[attrUserID])
	return &Attribution{
		UserID: userID, Username: str(attrUsername), AuthMethod: str(attrAuthMethod),
		Tenant: str(attrTenant), APIKeyName: str(attrAPIKeyName), RequestID: str(attrRequestID),
		SourceIP: str(attrSourceIP), UserAgent: str(attrUserAgent), Path: str(attrPath),
		Method: str(attrMethod), Operation: Operation(str(attrOperation)),
		ResponseCode: int(code), CommittedAt: committed.UTC(),
	}, version
}

// Int converts an integer attribute value (json.Number, Go integer or an
// integral float) to int64.
func Int(v any) (int64, error) {
	switch n := v.(type) {
	case json.Number:
		return strconv.ParseInt(string(n), 10, 64)
	case int64:
		return n, nil
	case int:
		return int64(n), nil
	case float64:
		if n == float64(int64(n)) {
			return int64(n), nil
		}
	}
	return 0, fmt.Errorf("not an integer: %v", v)
}

// AttemptPK is the partition key of attempt items: a failed write request,
// recorded by the API so the audit function can log it (the sort key is the
// request id). Attempts expire (AttrExpiresAt) once the stream has carried them.
const AttemptPK = "attempt"

// Attempt is a state-changing request that failed.
type Attempt struct {
	RequestID    string
	ResourceType Type
	// ResourceID is the id the request named, 0 when none.
	ResourceID  int64
	Attribution Attribution
}

// ParseAttempt reads an attempt item. ok is false when the item is not one.
func ParseAttempt(item map[string]any) (a Attempt, ok bool, err error) {
	if pk, _ := item[AttrPK].(string); pk != AttemptPK {
		return a, false, nil
	}
	a.RequestID, _ = item[AttrSK].(string)
	rt, _ := item["resource_type"].(string)
	if !IsType(rt) {
		return a, true, fmt.Errorf("attempt %s: unknown resource type %q", a.RequestID, rt)
	}
	a.ResourceType = Type(rt)
	if v, present := item["resource_id"]; present {
		if a.ResourceID, err = Int(v); err != nil {
			return a, true, fmt.Errorf("attempt %s: resource id: %w", a.RequestID, err)
		}
	}
	m, _ := item[AttrAttribution].(map[string]any)
	attribution, _ := parseAttribution(m)
	if attribution == nil {
		return a, true, fmt.Errorf("attempt %s: no readable attribution", a.RequestID)
	}
	a.Attribution = *attribution
	return a, true, nil
}
