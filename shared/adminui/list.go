package adminui

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/inmor/inmor-serverless/shared/adminapi"
	"github.com/inmor/inmor-serverless/shared/audit"
	"github.com/inmor/inmor-serverless/shared/auth"
	"github.com/inmor/inmor-serverless/shared/httpapi"
	"github.com/inmor/inmor-serverless/shared/resource"
)

// filterParams are the list's filters and search, as the API names them
// (the API's list filters), in the order the page shows them.
var filterParams = []string{"action", "resource_type", "auth_method", "tenant", "success", "event_type", "username", "resource_id", "since", "until", "q"}

// filterLabels name the filters on the page.
var filterLabels = map[string]string{
	"action": "Action", "resource_type": "Resource type", "auth_method": "Auth method", "tenant": "Tenant",
	"success": "Success", "event_type": "Event type", "username": "User", "resource_id": "Resource id",
	"since": "Since", "until": "Until", "q": "Search",
}

// changelistFilters carries the list's query to an entry and back, as in
// Django's admin.
const changelistFilters = "_changelist_filters"

// entry is an audit entry as the reader returns it.
type entry struct {
	ID             int64           `json:"id"`
	Timestamp      time.Time       `json:"timestamp"`
	UserID         *int64          `json:"user_id"`
	Username       *string         `json:"username"`
	AuthMethod     string          `json:"auth_method"`
	APIKeyName     *string         `json:"api_key_name"`
	Tenant         *string         `json:"tenant"`
	IPAddress      *string         `json:"ip_address"`
	UserAgent      *string         `json:"user_agent"`
	RequestID      *string         `json:"request_id"`
	Action         string          `json:"action"`
	ResourceType   string          `json:"resource_type"`
	ResourceID     *int64          `json:"resource_id"`
	ResourceRepr   string          `json:"resource_repr"`
	Endpoint       *string         `json:"endpoint"`
	HTTPMethod     *string         `json:"http_method"`
	ResponseCode   *int            `json:"response_code"`
	Success        bool            `json:"success"`
	Diff           json.RawMessage `json:"diff"`
	EventType      *string         `json:"event_type"`
	SnapshotBefore json.RawMessage `json:"snapshot_before"`
	SnapshotAfter  json.RawMessage `json:"snapshot_after"`
	// ClaimedAttribution is what an out-of-band change claimed.
	ClaimedAttribution json.RawMessage `json:"claimed_attribution"`
	// Error and Request are what a failed request was answered and sent.
	Error   *string         `json:"error"`
	Request json.RawMessage `json:"request"`
	// LeafHash is the entry's leaf in the log's Merkle tree.
	LeafHash *string `json:"leaf_hash"`
}

// listState is the list's query: its filters, search and page.
type listState struct {
	values url.Values
}

func newListState(q url.Values) listState {
	v := url.Values{}
	for _, name := range append(slices.Clone(filterParams), "limit", "offset", "cursor") {
		if s := q.Get(name); s != "" {
			v.Set(name, s)
		}
	}
	return listState{values: v}
}

// url is the list with the same filters, on its first page, with name set
// to value ("" removes it).
func (s listState) url(name, value string) string {
	v := url.Values{}
	for k, vs := range s.values {
		v[k] = vs
	}
	v.Del("cursor")
	v.Del("offset")
	if value == "" {
		v.Del(name)
	} else {
		v.Set(name, value)
	}
	if name == "resource_type" {
		v.Del("resource_id") // one resource's history is of one type
	}
	return listURL(v)
}

func listURL(v url.Values) string {
	if len(v) == 0 {
		return listPath
	}
	return listPath + "?" + v.Encode()
}

// hidden are the form fields that keep the other filters when the search
// box (or the tenant box) is submitted.
func (s listState) hidden(except string) []field {
	var out []field
	for _, name := range filterParams {
		if value := s.values.Get(name); value != "" && name != except {
			out = append(out, field{name, value})
		}
	}
	if limit := s.values.Get("limit"); limit != "" {
		out = append(out, field{"limit", limit})
	}
	return out
}

type field struct {
	Name  string
	Value string
}

type choice struct {
	Label    string
	URL      string
	Selected bool
}

type filterGroup struct {
	Title   string
	Choices []choice
	// Input takes a value no link offers.
	Input *textFilter
}

// textFilter is a small form for one filter, keeping the others.
type textFilter struct {
	Name   string
	Label  string
	Value  string
	Hidden []field
}

func (s listState) group(param string, values []string, labels func(string) string) filterGroup {
	current := s.values.Get(param)
	g := filterGroup{Title: "By " + strings.ToLower(filterLabels[param])}
	g.Choices = append(g.Choices, choice{Label: "All", URL: s.url(param, ""), Selected: current == ""})
	for _, value := range values {
		label := value
		if labels != nil {
			label = labels(value)
		}
		g.Choices = append(g.Choices, choice{Label: label, URL: s.url(param, value), Selected: current == value})
	}
	return g
}

type activeFilter struct {
	Label     string
	Value     string
	RemoveURL string
}

type row struct {
	ID           int64
	URL          string
	Time         displayTime
	User         string
	APIKeyName   string
	AuthMethod   string
	Tenant       string
	Action       string
	ResourceType string
	Resource     string
	ResourceID   string
	ResponseCode string
	Success      bool
	EventType    string
	// EventTypeParts are the event type split after each underscore, so
	// that the narrow column may break the name there.
	EventTypeParts []string
}

// displayTime is a time as the pages show it: in UTC, to the second, with
// the exact value in the datetime attribute.
type displayTime struct {
	Text    string
	Precise string
	ISO     string
}

func showTime(t time.Time) displayTime {
	t = t.UTC()
	return displayTime{
		Text:    t.Format("2006-01-02 15:04:05") + " UTC",
		Precise: t.Format("2006-01-02 15:04:05.000000") + " UTC",
		ISO:     t.Format(time.RFC3339Nano),
	}
}

type listPage struct {
	layout
	Rows      []row
	Count     string
	Searching bool
	Query     string
	Hidden    []field
	Filters   []filterGroup
	Active    []activeFilter
	ClearURL  string
	// TenantNote says which tenant a user who is not a superuser sees.
	TenantNote string
	FirstURL   string
	NextURL    string
	Errors     []string
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// tenantChoices are the tenants offered as links: the default one, the
// one filtered on and those on the page (the log keeps no list of
// tenants); any other can be typed in.
func tenantChoices(current string, rows []row) []string {
	seen := map[string]bool{auth.DefaultTenant: true}
	out := []string{auth.DefaultTenant}
	add := func(t string) {
		if t != "" && !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	add(current)
	for _, r := range rows {
		add(r.Tenant)
	}
	slices.Sort(out[1:])
	return out
}

var successLabels = func(v string) string {
	if v == "true" {
		return "Yes"
	}
	return "No"
}

func (v view) list(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	state := newListState(r.URL.Query())
	visible := audit.VisibleTenant(p)
	query, nothingVisible, err := adminapi.ReadAuditQuery(r, visible, v.Cursors)
	var invalid *httpapi.ValidationError
	data := listPage{Count: "0 entries"}
	status := http.StatusOK
	switch {
	case errors.As(err, &invalid):
		status = http.StatusBadRequest
		for _, d := range invalid.Details {
			name := fmt.Sprint(d.Loc[len(d.Loc)-1])
			if label, ok := filterLabels[name]; ok {
				name = label
			}
			data.Errors = append(data.Errors, name+": "+d.Msg)
		}
	case err != nil:
		v.fail(w, r, err)
		return
	case !nothingVisible:
		page, err := v.Reader.List(r.Context(), query)
		if err != nil {
			v.fail(w, r, err)
			return
		}
		for _, item := range page.Items {
			var e entry
			if err := json.Unmarshal(item, &e); err != nil {
				v.fail(w, r, fmt.Errorf("audit entry: %w", err))
				return
			}
			data.Rows = append(data.Rows, newRow(e, state))
		}
		data.Count = countText(page.Count, page.CountExact)
		if page.Next != nil {
			next, err := v.Cursors.Encode(*page.Next, query.Filter)
			if err != nil {
				v.fail(w, r, err)
				return
			}
			nv := url.Values{}
			for k, vs := range state.values {
				nv[k] = vs
			}
			nv.Del("offset")
			nv.Set("cursor", next)
			data.NextURL = listURL(nv)
		}
	}
	if state.values.Has("cursor") || state.values.Has("offset") {
		data.FirstURL = state.url("cursor", "")
	}
	data.Query = state.values.Get("q")
	data.Searching = data.Query != ""
	data.Hidden = state.hidden("q")
	data.Filters = []filterGroup{
		state.group("action", adminapi.Actions, nil),
		state.group("resource_type", resourceTypes(), nil),
		state.group("auth_method", adminapi.AuthMethods, nil),
	}
	if visible == "" {
		tenants := state.group("tenant", tenantChoices(state.values.Get("tenant"), data.Rows), nil)
		tenants.Input = &textFilter{Name: "tenant", Label: "Other tenant", Value: state.values.Get("tenant"), Hidden: state.hidden("tenant")}
		data.Filters = append(data.Filters, tenants)
	} else {
		data.TenantNote = visible
	}
	data.Filters = append(data.Filters,
		state.group("success", []string{"true", "false"}, successLabels),
		state.group("event_type", audit.EventTypes, nil),
	)
	for _, name := range filterParams {
		if value := state.values.Get(name); value != "" {
			shown := value
			if name == "success" {
				shown = successLabels(value)
			}
			data.Active = append(data.Active, activeFilter{Label: filterLabels[name], Value: shown, RemoveURL: state.url(name, "")})
		}
	}
	if len(data.Active) > 0 {
		data.ClearURL = listPath
	}
	l, err := v.withUser(newLayout("Select audit log entry to view"), w, r, p)
	if err != nil {
		v.fail(w, r, err)
		return
	}
	l.Crumbs = []crumb{{"Home", adminapi.AdminPath + "/"}, {"Audit log", ""}, {"Audit log entries", ""}}
	data.layout = l
	v.render(w, r, status, "list.html", data)
}

func resourceTypes() []string {
	out := make([]string, len(resource.Types))
	for i, t := range resource.Types {
		out[i] = string(t)
	}
	return append(out, audit.AuthResourceTypes...)
}

func countText(n int, exact bool) string {
	noun := "entries"
	if n == 1 {
		noun = "entry"
	}
	if exact {
		return strconv.Itoa(n) + " " + noun
	}
	return "at most " + strconv.Itoa(n) + " " + noun
}

// entryURL is an entry's page, which leads back to the list with the
// list's query.
func entryURL(id int64, state listState) string {
	u := listPath + strconv.FormatInt(id, 10) + "/change/"
	if len(state.values) > 0 {
		u += "?" + url.Values{changelistFilters: {state.values.Encode()}}.Encode()
	}
	return u
}

// newRow is an entry as a row of the list.
func newRow(e entry, state listState) row {
	r := row{
		ID: e.ID, URL: entryURL(e.ID, state), Time: showTime(e.Timestamp),
		User: deref(e.Username), APIKeyName: deref(e.APIKeyName), AuthMethod: e.AuthMethod, Tenant: deref(e.Tenant),
		Action: e.Action, ResourceType: e.ResourceType, Resource: e.ResourceRepr, Success: e.Success,
		EventType: deref(e.EventType),
	}
	r.EventTypeParts = strings.SplitAfter(r.EventType, "_")
	if e.ResourceID != nil {
		r.ResourceID = strconv.FormatInt(*e.ResourceID, 10)
	}
	if e.ResponseCode != nil {
		r.ResponseCode = strconv.Itoa(*e.ResponseCode)
	}
	return r
}
