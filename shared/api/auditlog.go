package api

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/inmor/inmor-serverless/shared/apperr"
	"github.com/inmor/inmor-serverless/shared/audit"
	"github.com/inmor/inmor-serverless/shared/auth"
	"github.com/inmor/inmor-serverless/shared/httpapi"
)

// NewAuditQueryHandler returns the handler of the auditquery function: the
// read-only audit log and the OpenAPI document. Write methods on its paths
// answer 405.
func NewAuditQueryHandler(reader audit.Reader, authn httpapi.Authenticator) http.Handler {
	h := auditHandlers{reader: reader}
	return newFunctionHandler(FunctionAuditQuery, authn, nil, map[string]http.HandlerFunc{
		"listAuditLog":     h.list,
		"getAuditLogEntry": h.get,
		"openapi":          serveOpenAPI,
	})
}

type auditHandlers struct {
	reader audit.Reader
}

const msgAuditEntryNotFound = "Audit log entry not found."

// maxTenantLength bounds the tenant filter.
const maxTenantLength = 128

// visibleTenant is the tenant a caller may see: "" (all) for superusers,
// else the tenant they authenticated with, never "".
func visibleTenant(r *http.Request) string {
	p, _ := auth.PrincipalFrom(r.Context())
	switch {
	case p.IsSuperuser:
		return ""
	case p.Tenant == "":
		return auth.DefaultTenant
	}
	return p.Tenant
}

func (h auditHandlers) list(w http.ResponseWriter, r *http.Request) {
	q := httpapi.NewQuery(r)
	limit, offset := q.Page()
	filter := audit.Filter{
		ResourceType: q.Enum("resource_type", resourceTypeNames()),
		Action:       q.Enum("action", Actions),
		EventType:    q.Enum("event_type", audit.EventTypes),
		Tenant:       visibleTenant(r),
	}
	asked := q.String("tenant", maxTenantLength)
	if err := q.Err(); err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	switch {
	case asked == "":
	case filter.Tenant == "": // a superuser may look at one tenant
		filter.Tenant = asked
	case asked != filter.Tenant: // anyone else sees only their own
		httpapi.WriteJSON(w, http.StatusOK, httpapi.PageBody[json.RawMessage]{Items: []json.RawMessage{}, Count: 0})
		return
	}
	items, count, err := h.reader.List(r.Context(), audit.Query{Filter: filter, Limit: limit, Offset: offset})
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, httpapi.PageBody[json.RawMessage]{Items: items, Count: count})
}

func (h auditHandlers) get(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	notFound := apperr.New(apperr.NotFound, id, msgAuditEntryNotFound)
	entry, err := h.reader.Get(r.Context(), id)
	if errors.Is(err, audit.ErrNotFound) {
		httpapi.WriteError(w, r, notFound)
		return
	}
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	if tenant := visibleTenant(r); tenant != "" {
		var owner struct {
			Tenant *string `json:"tenant"`
		}
		if err := json.Unmarshal(entry, &owner); err != nil || owner.Tenant == nil || *owner.Tenant != tenant {
			httpapi.WriteError(w, r, notFound) // another tenant's entry does not exist for this caller
			return
		}
	}
	httpapi.WriteRawJSON(w, http.StatusOK, entry)
}
