package audit

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
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

// ErrNotFound means no entry has the requested id.
var ErrNotFound = errors.New("audit entry not found")

// Filter selects entries by exact values; empty fields select everything.
type Filter struct {
	ResourceType string
	Action       string
	EventType    string
	// Tenant restricts the entries to one tenant (visibility or a filter).
	Tenant string
}

// Query is one page of the log, newest first.
type Query struct {
	Filter Filter
	Limit  int
	Offset int
}

// Reader reads the log.
type Reader interface {
	// List returns the page's entries as summary JSON, and the number of
	// entries that match the filter.
	List(ctx context.Context, q Query) (items []json.RawMessage, count int, err error)
	// Get returns one entry with its snapshots, or ErrNotFound.
	Get(ctx context.Context, id int64) (json.RawMessage, error)
}

// Filter dimensions, as named in the API; counts are kept for every
// combination of them.
const (
	DimAction       = "action"
	DimEventType    = "event_type"
	DimResourceType = "resource_type"
	DimTenant       = "tenant"
)

// values returns the filter as dimension values, empty ones left out.
func (f Filter) values() url.Values {
	v := url.Values{}
	for dim, value := range map[string]string{
		DimAction: f.Action, DimEventType: f.EventType, DimResourceType: f.ResourceType, DimTenant: f.Tenant,
	} {
		if value != "" {
			v.Set(dim, value)
		}
	}
	return v
}

// CountKey names the counter that holds the number of entries matching f.
func CountKey(f Filter) string { return f.values().Encode() }

// CountKeys names every counter an entry adds one to: one per combination
// of its filter values (the empty combination counts all entries).
func CountKeys(e *Entry) []string {
	f := Filter{ResourceType: e.ResourceType, Action: e.Action, EventType: e.EventType}
	if e.Tenant != nil {
		f.Tenant = *e.Tenant
	}
	all := f.values()
	dims := make([]string, 0, len(all))
	for d := range all {
		dims = append(dims, d)
	}
	keys := make([]string, 0, 1<<len(dims))
	for mask := 0; mask < 1<<len(dims); mask++ {
		subset := url.Values{}
		for i, d := range dims {
			if mask&(1<<i) != 0 {
				subset.Set(d, all.Get(d))
			}
		}
		keys = append(keys, subset.Encode())
	}
	return keys
}
