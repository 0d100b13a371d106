package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Journal stores entries. It is written only by the audit function.
type Journal interface {
	// Append assigns e.ID and stores e, unless an entry for e.SourceEventID
	// is stored already: then it stores nothing and returns appended=false.
	// An attributed entry whose request id was recorded before (the item was
	// copied or restored, attribution included) is refused with
	// ErrReplayedAttribution.
	Append(ctx context.Context, e *Entry) (appended bool, err error)
}

// ErrReplayedAttribution means an entry claims a request that already has
// its entry: the change did not come through the API.
var ErrReplayedAttribution = errors.New("attribution of an earlier request")

// Filter selects entries; zero fields select everything. Equality filters
// match exactly; Since is inclusive and Until exclusive on the timestamp; Q
// is a case-insensitive substring of resource_repr, username, endpoint or
// error (SearchText).
type Filter struct {
	ResourceType string
	Action       string
	EventType    string
	AuthMethod   string
	// Tenant restricts the entries to one tenant (visibility or a filter).
	Tenant   string
	Success  *bool
	Username string
	// ResourceID, with ResourceType, selects one resource's history.
	ResourceID int64
	Since      time.Time
	Until      time.Time
	Q          string
}

// Position is where a page ended, in the terms of the store (an index and
// the key of the last item examined), with the count the first page read, so
// that later pages need not read it again. Cursors carry it.
type Position struct {
	Index      string            `json:"i"`
	Key        map[string]string `json:"k"`
	Count      int               `json:"c"`
	CountExact bool              `json:"e,omitempty"`
	// Before is how many matching entries come before the position, so
	// the last page knows the exact count.
	Before int `json:"b,omitempty"`
}

// Query is one page of the log, newest first: after a position (cursor
// paging) or after skipping Offset entries.
type Query struct {
	Filter Filter
	Limit  int
	Offset int
	After  *Position
}

// Page is one page of the log.
type Page struct {
	// Items are entries as summary JSON.
	Items []json.RawMessage
	// Count is the number of entries matching the filter; an upper bound
	// when CountExact is false (filters that no counter serves).
	Count      int
	CountExact bool
	// Next is where the next page starts, nil on the last page.
	Next *Position
}

// Reader reads the log.
type Reader interface {
	List(ctx context.Context, q Query) (Page, error)
	// Get returns one entry with its snapshots, or a NotFound error.
	Get(ctx context.Context, id int64) (json.RawMessage, error)
}

// Counted filter dimensions, as named in the API: the audit function keeps a
// count for every value of each.
const (
	DimAction       = "action"
	DimAuthMethod   = "auth_method"
	DimEventType    = "event_type"
	DimResourceType = "resource_type"
	DimSuccess      = "success"
	DimTenant       = "tenant"
	// dimResource counts one resource's history (type and id), and
	// dimUser one user's entries; neither combines with other filters.
	dimResource = "resource"
	dimUser     = "user"
)

// ResourceKey names one resource: its type and id.
func ResourceKey(resourceType string, id int64) string {
	return resourceType + "#" + strconv.FormatInt(id, 10)
}

// counted returns the filter's values on the counted dimensions, and
// whether those are all it filters on (then its count is exact). A filter on
// one resource, or on one username, alone has its own counter.
func (f Filter) counted() (url.Values, bool) {
	v := url.Values{}
	for dim, value := range map[string]string{
		DimAction: f.Action, DimAuthMethod: f.AuthMethod, DimEventType: f.EventType,
		DimResourceType: f.ResourceType, DimTenant: f.Tenant,
	} {
		if value != "" {
			v.Set(dim, value)
		}
	}
	if f.Success != nil {
		v.Set(DimSuccess, strconv.FormatBool(*f.Success))
	}
	exact := f.Username == "" && f.Since.IsZero() && f.Until.IsZero() && f.Q == ""
	if f.Username != "" && len(v) == 0 && f.ResourceID == 0 {
		return url.Values{dimUser: {f.Username}}, f.Since.IsZero() && f.Until.IsZero() && f.Q == ""
	}
	if f.ResourceID != 0 {
		if len(v) == 1 && v.Has(DimResourceType) {
			return url.Values{dimResource: {ResourceKey(f.ResourceType, f.ResourceID)}}, exact
		}
		exact = false
	}
	return v, exact
}

// CountKeys names every counter an entry adds one to: the total (the
// empty key), one per counted dimension with the entry's value on it, its
// resource's history and its user's entries. Combinations of dimensions
// have no counter: their count is bounded by the least of their single
// counters (CountBound); nine counters at most keep an append's
// transaction small.
func CountKeys(e *Entry) []string {
	success := e.Success
	f := Filter{ResourceType: e.ResourceType, Action: e.Action, EventType: e.EventType, AuthMethod: e.AuthMethod, Success: &success}
	if e.Tenant != nil {
		f.Tenant = *e.Tenant
	}
	all, _ := f.counted()
	keys := make([]string, 0, len(all)+3)
	keys = append(keys, "")
	for dim, values := range all {
		keys = append(keys, url.Values{dim: values}.Encode())
	}
	if e.ResourceID != nil {
		keys = append(keys, url.Values{dimResource: {ResourceKey(e.ResourceType, *e.ResourceID)}}.Encode())
	}
	if e.Username != nil && *e.Username != "" {
		keys = append(keys, url.Values{dimUser: {*e.Username}}.Encode())
	}
	return keys
}

// CountBound names the counters that bound the number of entries matching
// f, and whether it is exact: a filter on at most one counted dimension
// (or on one resource, or one user, alone) has its own counter, exact when
// it filters on nothing else; a filter on several has the counter of each,
// the least of which is an upper bound.
func CountBound(f Filter) (keys []string, exact bool) {
	v, exact := f.counted()
	if len(v) <= 1 {
		return []string{v.Encode()}, exact
	}
	for dim, values := range v {
		keys = append(keys, url.Values{dim: values}.Encode())
	}
	slices.Sort(keys)
	return keys, false
}

// Canonical is the filter as one string, the same however it was built;
// cursors are bound to it.
func (f Filter) Canonical() string {
	v, _ := f.counted()
	if f.Username != "" {
		v.Set("username", f.Username)
	}
	if f.ResourceID != 0 {
		v.Set("resource_type", f.ResourceType)
		v.Set("resource_id", strconv.FormatInt(f.ResourceID, 10))
	}
	if !f.Since.IsZero() {
		v.Set("since", f.Since.UTC().Format(time.RFC3339Nano))
	}
	if !f.Until.IsZero() {
		v.Set("until", f.Until.UTC().Format(time.RFC3339Nano))
	}
	if f.Q != "" {
		v.Set("q", strings.ToLower(f.Q))
	}
	v.Del(dimResource)
	v.Del(dimUser)
	return v.Encode()
}

// SearchText is what Q searches in an entry: its resource (for a failed
// request, the one it named or tried to create), username, endpoint and
// error, lowercased.
func SearchText(e *Entry) string {
	parts := []string{e.ResourceRepr}
	for _, p := range []*string{e.Username, e.Endpoint, e.Error} {
		if p != nil {
			parts = append(parts, *p)
		}
	}
	return strings.ToLower(strings.Join(parts, "\n"))
}

// SortKey orders entries newest first: the timestamp (fixed width), then
// the id.
func SortKey(e *Entry) string {
	return e.Timestamp.UTC().Format(TimeFormat) + "#" + fmt.Sprintf("%020d", e.ID)
}
