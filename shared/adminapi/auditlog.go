package adminapi

import (
	"encoding/json"
	"math"
	"net/http"

	"github.com/inmor/inmor-serverless/shared/integrity"

	"github.com/inmor/inmor-serverless/shared/function"

	"github.com/inmor/inmor-serverless/shared/apperr"
	"github.com/inmor/inmor-serverless/shared/audit"
	"github.com/inmor/inmor-serverless/shared/auth"
	"github.com/inmor/inmor-serverless/shared/httpapi"
)

// NewAuditQueryHandler returns the handler of the auditquery function: the
// read-only audit log, its checkpoints and proofs (from log; they answer
// 404 when log is nil), the OpenAPI document and the admin view's pages
// (the read-only admin view), which pages serves by operation id. Write methods on its
// read-only paths answer 405. Cursors are signed by cursors.
func NewAuditQueryHandler(reader audit.Reader, log integrity.Log, authn httpapi.Authenticator, cursors *audit.CursorCodec, pages Pages) http.Handler {
	h := auditHandlers{reader: reader, cursors: cursors}
	proofs := proofHandlers{log: log, reader: reader}
	handlers := map[string]http.HandlerFunc{
		"listAuditLog":          h.list,
		"getAuditLogEntry":      h.get,
		"getAuditLogCheckpoint": proofs.latest,
		"proveAuditLogEntry":    proofs.inclusion,
		"proveAuditLogGrowth":   proofs.consistency,
		"openapi":               serveOpenAPI,
	}
	for id, page := range pages {
		if _, taken := handlers[id]; taken {
			panic("api: page " + id + " has the operation id of an API route")
		}
		handlers[id] = page
	}
	return newFunctionHandler(function.AuditQuery, authn, nil, handlers)
}

type auditHandlers struct {
	reader  audit.Reader
	cursors *audit.CursorCodec
}

const msgAuditEntryNotFound = "Audit log entry not found."

// Bounds of the audit log's query parameters.
const (
	maxTenantLength   = 128
	maxUsernameLength = 150
	maxQueryLength    = 200
	maxCursorLength   = 4096
	// MaxAuditOffset bounds offset paging (it reads every skipped entry);
	// cursors page any depth at the cost of one page.
	MaxAuditOffset = 10000
)

// AuthMethods lists the auth_method values a filter accepts.
var AuthMethods = []string{auth.MethodSession, auth.MethodAPIKey, audit.AuthCLI, audit.AuthOutOfBand}

// visibleTenant is the tenant the caller of r may see.
func visibleTenant(r *http.Request) string {
	p, _ := auth.PrincipalFrom(r.Context())
	return audit.VisibleTenant(p)
}

// auditListBody is the list response: Inmor's items and count, plus cursor
// paging and whether the count is exact.
type auditListBody struct {
	Items      []json.RawMessage `json:"items"`
	Count      int               `json:"count"`
	CountExact bool              `json:"count_exact"`
	NextCursor *string           `json:"next_cursor"`
}

// ReadAuditQuery reads and validates the audit log's filter and paging
// parameters from r's query, for a caller who may see the
// tenant visible (VisibleTenant); cursors are checked with cursors. It
// reports nothingVisible when the filter asks for a tenant the caller may
// not see: the answer is then empty. The API and the admin view share it,
// so a filter means the same on both.
func ReadAuditQuery(r *http.Request, visible string, cursors *audit.CursorCodec) (query audit.Query, nothingVisible bool, err error) {
	q := httpapi.NewQuery(r)
	limit := q.Int("limit", httpapi.DefaultLimit, 1, httpapi.MaxLimit)
	offset := q.Int("offset", 0, 0, MaxAuditOffset)
	f := audit.Filter{
		ResourceType: q.Enum("resource_type", resourceTypeNames()),
		Action:       q.Enum("action", Actions),
		EventType:    q.Enum("event_type", audit.EventTypes),
		AuthMethod:   q.Enum("auth_method", AuthMethods),
		Success:      q.Bool("success"),
		Username:     q.String("username", maxUsernameLength),
		ResourceID:   int64(q.Int("resource_id", 0, 1, math.MaxInt32)),
		Since:        q.Time("since"),
		Until:        q.Time("until"),
		Q:            q.String("q", maxQueryLength),
		Tenant:       visible,
	}
	asked := q.String("tenant", maxTenantLength)
	cursor := q.String("cursor", maxCursorLength)
	if f.ResourceID != 0 && f.ResourceType == "" {
		q.Fail("resource_id", "resource_id needs resource_type", "value_error")
	}
	if cursor != "" && offset != 0 {
		q.Fail("cursor", "Use either offset or cursor", "value_error")
	}
	if err := q.Err(); err != nil {
		return audit.Query{}, false, err
	}
	switch {
	case asked == "":
	case f.Tenant == "": // a superuser may look at one tenant
		f.Tenant = asked
	case asked != f.Tenant: // anyone else sees only their own
		return audit.Query{}, true, nil
	}
	query = audit.Query{Filter: f, Limit: limit, Offset: offset}
	if cursor != "" {
		p, err := cursors.Decode(cursor, f)
		if err != nil {
			return query, false, &httpapi.ValidationError{Details: []httpapi.FieldError{{
				Loc: []any{"query", "cursor"}, Msg: "Invalid cursor: not made by this API for these filters", Type: "value_error",
			}}}
		}
		query.After = &p
	}
	return query, false, nil
}

func (h auditHandlers) list(w http.ResponseWriter, r *http.Request) {
	query, nothingVisible, err := ReadAuditQuery(r, visibleTenant(r), h.cursors)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	body := auditListBody{Items: []json.RawMessage{}, CountExact: true}
	if !nothingVisible {
		page, err := h.reader.List(r.Context(), query)
		if err != nil {
			httpapi.WriteError(w, r, err)
			return
		}
		body.Items, body.Count, body.CountExact = page.Items, page.Count, page.CountExact
		if page.Next != nil {
			next, err := h.cursors.Encode(*page.Next, query.Filter)
			if err != nil {
				httpapi.WriteError(w, r, err)
				return
			}
			body.NextCursor = &next
		}
	}
	httpapi.WriteJSON(w, http.StatusOK, body)
}

func (h auditHandlers) get(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	notFound := apperr.New(apperr.NotFound, id, msgAuditEntryNotFound)
	entry, err := h.reader.Get(r.Context(), id)
	if apperr.Is(apperr.NotFound, err) {
		httpapi.WriteError(w, r, notFound)
		return
	}
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	if !audit.EntryVisible(entry, visibleTenant(r)) {
		httpapi.WriteError(w, r, notFound) // another tenant's entry does not exist for this caller
		return
	}
	httpapi.WriteRawJSON(w, http.StatusOK, entry)
}
