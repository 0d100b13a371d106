// Package storage is how the system's items are laid out in DynamoDB: the
// key shapes and prefixes of the resources, audit and auth tables, the
// bookkeeping attributes, the attribution map, and the codecs that read
// resource and attempt items back (from the table or its stream). The
// DynamoDB stores (dynamo), the audit function's derivation, the
// reconciliation and the CDK app's IAM conditions share it.
package storage

import (
	"encoding/json"
	"fmt"
	"maps"
	"strconv"
	"time"

	"github.com/inmor/inmor-serverless/shared/resource"
)

// Item layout in the resources table, shared by the store that writes items
// (dynamo) and the audit function that reads them back from the stream.
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

// SortKey returns the sort key of the resource with that id: zero-padded, so
// that the items of a type sort by id.
func SortKey(id int64) string { return fmt.Sprintf("%020d", id) }

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

// AttributionMap returns the attribution as stored on an item written as
// version. Empty strings are left out.
func AttributionMap(a resource.Attribution, version int64) map[string]any {
	m := map[string]any{
		attrUserID:       a.UserID,
		attrOperation:    string(a.Operation),
		attrResponseCode: int64(a.ResponseCode),
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
	Type    resource.Type
	ID      int64
	Version int64
	// Attribution is the stored attribution, nil when absent or unreadable.
	Attribution *resource.Attribution
	// AttributionVersion is the version the attribution was written with.
	AttributionVersion int64
	// Fields are the resource's attributes without bookkeeping.
	Fields map[string]any
}

// Repr returns the human-readable identifier of the resource.
func (im Image) Repr() string {
	s, _ := im.Fields[resource.ReprField(im.Type)].(string)
	return s
}

// ParseImage reads an item (attribute values as plain Go values; numbers as
// json.Number or Go integers). ok is false when the item is not a resource.
func ParseImage(item map[string]any) (im Image, ok bool, err error) {
	pk, _ := item[AttrPK].(string)
	if !resource.IsType(pk) {
		return Image{}, false, nil
	}
	im.Type = resource.Type(pk)
	im.Fields = maps.Clone(item) // faster than inserting the fields one by one
	for k := range bookkeeping {
		delete(im.Fields, k)
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
func parseAttribution(m map[string]any) (*resource.Attribution, int64) {
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
	return &resource.Attribution{
		UserID: userID, Username: str(attrUsername), AuthMethod: str(attrAuthMethod),
		Tenant: str(attrTenant), APIKeyName: str(attrAPIKeyName), RequestID: str(attrRequestID),
		SourceIP: str(attrSourceIP), UserAgent: str(attrUserAgent), Path: str(attrPath),
		Method: str(attrMethod), Operation: resource.Operation(str(attrOperation)),
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

// Attributes of an attempt item besides its keys, attribution and expiry
// (see resource.Attempt); each is absent when empty.
const (
	AttrAttemptResourceType = "resource_type"
	AttrAttemptResourceID   = "resource_id"
	AttrAttemptResourceRepr = "resource_repr"
	AttrAttemptError        = "error"
	AttrAttemptRequest      = "request"
)

// ParseAttempt reads an attempt item. ok is false when the item is not one.
func ParseAttempt(item map[string]any) (a resource.Attempt, ok bool, err error) {
	if pk, _ := item[AttrPK].(string); pk != AttemptPK {
		return a, false, nil
	}
	a.RequestID, _ = item[AttrSK].(string)
	rt, _ := item[AttrAttemptResourceType].(string)
	if !resource.IsType(rt) {
		return a, true, fmt.Errorf("attempt %s: unknown resource type %q", a.RequestID, rt)
	}
	a.ResourceType = resource.Type(rt)
	if v, present := item[AttrAttemptResourceID]; present {
		if a.ResourceID, err = Int(v); err != nil {
			return a, true, fmt.Errorf("attempt %s: resource id: %w", a.RequestID, err)
		}
	}
	a.ResourceRepr, _ = item[AttrAttemptResourceRepr].(string)
	a.Error, _ = item[AttrAttemptError].(string)
	a.Request, _ = item[AttrAttemptRequest].(string)
	m, _ := item[AttrAttribution].(map[string]any)
	attribution, _ := parseAttribution(m)
	if attribution == nil {
		return a, true, fmt.Errorf("attempt %s: no readable attribution", a.RequestID)
	}
	a.Attribution = *attribution
	return a, true, nil
}
