package adminui

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/inmor/inmor-serverless/shared/adminapi"
	"github.com/inmor/inmor-serverless/shared/apperr"
	"github.com/inmor/inmor-serverless/shared/audit"
	"github.com/inmor/inmor-serverless/shared/auth"
)

// Kinds of change in a diff row.
const (
	changeAdded   = "added"
	changeRemoved = "removed"
	changeChanged = "changed"
)

type detailField struct {
	Name  string
	Value string
	// Null: the entry holds no value (shown as a dash).
	Null bool
	// Time is set for the timestamp.
	Time *displayTime
	// Mono shows identifiers and addresses in a fixed-width font.
	Mono bool
}

// diffRow is one changed field (or, for a nested diff, one changed key of
// an object field) with its old and new values as formatted JSON.
type diffRow struct {
	Field  string
	Change string
	Old    string
	New    string
}

type snapshot struct {
	Title string
	JSON  string
	// Note explains a missing snapshot.
	Note string
}

type detailPage struct {
	layout
	ID        int64
	Summary   string
	Success   bool
	Fields    []detailField
	Diff      []diffRow
	DiffNote  string
	Snapshots []snapshot
	// Request is a failed request's query and body as JSON, "" when none.
	Request      string
	BackURL      string
	HistoryURL   string
	HistoryLabel string
	UserURL      string
	Username     string
}

func (v view) entry(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	back := listURL(newListState(changelist(r)).values)
	notFound := func() {
		v.errorPage(w, r, http.StatusNotFound, &p, "Page not found (404)", "Audit log entry not found.",
			"It does not exist, or it belongs to a tenant you cannot see.", crumb{"Back to the audit log", back})
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		notFound()
		return
	}
	raw, err := v.Reader.Get(r.Context(), id)
	if apperr.Is(apperr.NotFound, err) {
		notFound()
		return
	}
	if err != nil {
		v.fail(w, r, err)
		return
	}
	if !audit.EntryVisible(raw, audit.VisibleTenant(p)) {
		notFound() // another tenant's entry does not exist for this user, as in the API
		return
	}
	var e entry
	if err := json.Unmarshal(raw, &e); err != nil {
		v.fail(w, r, fmt.Errorf("audit entry %d: %w", id, err))
		return
	}
	data := detailPage{ID: e.ID, Success: e.Success, BackURL: back, Fields: fields(e)}
	data.Summary = e.Action + " of " + e.ResourceType
	if e.ResourceID != nil {
		data.Summary += " #" + strconv.FormatInt(*e.ResourceID, 10)
		data.HistoryURL = listURL(url.Values{"resource_type": {e.ResourceType}, "resource_id": {strconv.FormatInt(*e.ResourceID, 10)}})
		data.HistoryLabel = e.ResourceType + " #" + strconv.FormatInt(*e.ResourceID, 10)
	}
	if e.Username != nil && *e.Username != "" {
		data.Username = *e.Username
		data.UserURL = listURL(url.Values{"username": {*e.Username}})
	}
	if data.Diff, err = diffRows(e.Diff); err != nil {
		v.fail(w, r, fmt.Errorf("audit entry %d diff: %w", id, err))
		return
	}
	switch {
	case len(data.Diff) > 0:
	case len(bytes.TrimSpace(e.Diff)) > 0 && string(bytes.TrimSpace(e.Diff)) != "null":
		data.DiffNote = "The update changed no field."
	case e.Action == audit.ActionCreate && e.Success:
		data.DiffNote = "A creation has no diff: the snapshot after shows what was created."
	case e.Action == audit.ActionDelete:
		data.DiffNote = "A deletion has no diff: the snapshot before shows what was deleted."
	case !e.Success:
		data.DiffNote = "The request failed and changed nothing."
	default:
		data.DiffNote = "No diff was recorded."
	}
	if data.Request, err = prettyRaw(e.Request); err != nil {
		v.fail(w, r, fmt.Errorf("audit entry %d request: %w", id, err))
		return
	}
	for _, s := range []struct {
		title string
		raw   json.RawMessage
	}{{"Before", e.SnapshotBefore}, {"After", e.SnapshotAfter}} {
		snap := snapshot{Title: s.title}
		if snap.JSON, err = prettyRaw(s.raw); err != nil {
			v.fail(w, r, fmt.Errorf("audit entry %d snapshot: %w", id, err))
			return
		}
		if snap.JSON == "" {
			snap.Note = "None."
		}
		data.Snapshots = append(data.Snapshots, snap)
	}
	l, err := v.withUser(newLayout("View audit log entry"), w, r, p)
	if err != nil {
		v.fail(w, r, err)
		return
	}
	l.Crumbs = []crumb{{"Home", adminapi.AdminPath + "/"}, {"Audit log", ""}, {"Audit log entries", back}, {"#" + strconv.FormatInt(e.ID, 10), ""}}
	data.layout = l
	v.render(w, r, http.StatusOK, "detail.html", data)
}

// changelist is the list's query an entry was opened from.
func changelist(r *http.Request) url.Values {
	q, err := url.ParseQuery(r.URL.Query().Get(changelistFilters))
	if err != nil {
		return url.Values{}
	}
	return q
}

// fields lists every field of the entry, in its order.
func fields(e entry) []detailField {
	str := func(name string, s *string, mono bool) detailField {
		if s == nil {
			return detailField{Name: name, Null: true}
		}
		return detailField{Name: name, Value: *s, Mono: mono}
	}
	num := func(name string, n *int64) detailField {
		if n == nil {
			return detailField{Name: name, Null: true}
		}
		return detailField{Name: name, Value: strconv.FormatInt(*n, 10)}
	}
	t := showTime(e.Timestamp)
	success := "No"
	if e.Success {
		success = "Yes"
	}
	var code *int64
	if e.ResponseCode != nil {
		c := int64(*e.ResponseCode)
		code = &c
	}
	return []detailField{
		{Name: "ID", Value: strconv.FormatInt(e.ID, 10)},
		{Name: "Timestamp", Time: &t},
		str("User", e.Username, false),
		num("User id", e.UserID),
		{Name: "Auth method", Value: e.AuthMethod},
		str("API key name", e.APIKeyName, false),
		str("Tenant", e.Tenant, false),
		str("IP address", e.IPAddress, true),
		str("User agent", e.UserAgent, false),
		str("Request id", e.RequestID, true),
		{Name: "Action", Value: e.Action},
		{Name: "Resource type", Value: e.ResourceType},
		num("Resource id", e.ResourceID),
		{Name: "Resource", Value: e.ResourceRepr, Mono: true},
		str("Endpoint", e.Endpoint, true),
		str("HTTP method", e.HTTPMethod, false),
		num("Response code", code),
		{Name: "Success", Value: success},
		str("Error", e.Error, false),
		str("Event type", e.EventType, false),
		claimed(e.ClaimedAttribution),
		str("Leaf hash", e.LeafHash, true),
	}
}

// claimed shows the attribution an out-of-band change claimed, as JSON.
func claimed(raw json.RawMessage) detailField {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return detailField{Name: "Claimed attribution", Null: true}
	}
	return detailField{Name: "Claimed attribution", Value: string(raw), Mono: true}
}

// decodeJSON reads JSON keeping numbers as written.
func decodeJSON(raw []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	err := d.Decode(&v)
	return v, err
}

// pretty formats a JSON value with two-space indents and keys sorted,
// leaving <, > and & as they are: the template escapes them for HTML.
func pretty(v any) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

// prettyRaw formats raw JSON; "" for null or nothing.
func prettyRaw(raw json.RawMessage) (string, error) {
	if t := bytes.TrimSpace(raw); len(t) == 0 || string(t) == "null" {
		return "", nil
	}
	v, err := decodeJSON(raw)
	if err != nil {
		return "", err
	}
	return pretty(v)
}

// diffRows lays a diff (audit.Diff) out as rows: a field's
// {"old", "new"}, or for an object field one row per added, removed and
// changed key.
func diffRows(raw json.RawMessage) ([]diffRow, error) {
	if t := bytes.TrimSpace(raw); len(t) == 0 || string(t) == "null" {
		return nil, nil
	}
	v, err := decodeJSON(raw)
	if err != nil {
		return nil, err
	}
	diff, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("diff is not an object")
	}
	var rows []diffRow
	for _, name := range sortedKeys(diff) {
		change, _ := diff[name].(map[string]any)
		switch {
		case isOldNew(change):
			row, err := oldNewRow(name, change)
			if err != nil {
				return nil, err
			}
			rows = append(rows, row)
		case isNested(change):
			for _, kind := range []string{changeAdded, changeRemoved, changeChanged} {
				keys, _ := change[kind].(map[string]any)
				for _, k := range sortedKeys(keys) {
					row := diffRow{Field: name + "." + k, Change: kind}
					var err error
					switch kind {
					case changeAdded:
						row.New, err = pretty(keys[k])
					case changeRemoved:
						row.Old, err = pretty(keys[k])
					default:
						pair, _ := keys[k].(map[string]any)
						row, err = oldNewRow(name+"."+k, pair)
					}
					if err != nil {
						return nil, err
					}
					rows = append(rows, row)
				}
			}
		default: // not a shape audit.Diff makes: shown whole
			value, err := pretty(diff[name])
			if err != nil {
				return nil, err
			}
			rows = append(rows, diffRow{Field: name, Change: changeChanged, New: value})
		}
	}
	return rows, nil
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func isOldNew(m map[string]any) bool {
	_, hasOld := m["old"]
	_, hasNew := m["new"]
	return len(m) == 2 && hasOld && hasNew
}

func isNested(m map[string]any) bool {
	if len(m) == 0 {
		return false
	}
	for k, v := range m {
		if _, ok := v.(map[string]any); !ok || (k != changeAdded && k != changeRemoved && k != changeChanged) {
			return false
		}
	}
	return true
}

// oldNewRow is a change from old to new; a side that is null (or missing)
// makes it an addition or a removal.
func oldNewRow(field string, pair map[string]any) (diffRow, error) {
	row := diffRow{Field: field, Change: changeChanged}
	oldValue, newValue := pair["old"], pair["new"]
	var err error
	if oldValue != nil {
		if row.Old, err = pretty(oldValue); err != nil {
			return row, err
		}
	}
	if newValue != nil {
		if row.New, err = pretty(newValue); err != nil {
			return row, err
		}
	}
	switch {
	case oldValue == nil && newValue != nil:
		row.Change = changeAdded
	case oldValue != nil && newValue == nil:
		row.Change = changeRemoved
	}
	return row, nil
}
