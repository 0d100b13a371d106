package api

import (
	"net/http"

	"github.com/inmor/inmor-serverless/shared/httpapi"
	"github.com/inmor/inmor-serverless/shared/resource"
)

// NewTrustMarksHandler returns the handler of the trustmarks function.
func NewTrustMarksHandler(svc resource.TrustMarks, authn httpapi.Authenticator, attempts resource.AttemptRecorder) http.Handler {
	h := trustMarkHandlers{svc: svc}
	return newFunctionHandler(FunctionTrustMarks, authn, attempts, map[string]http.HandlerFunc{
		"createTrustMark":        h.create,
		"listTrustMarks":         h.list,
		"listTrustMarksByDomain": h.listByDomain,
		"getTrustMark":           h.get,
		"renewTrustMark":         h.renew,
		"updateTrustMark":        h.update,
	})
}

type trustMarkHandlers struct {
	svc resource.TrustMarks
}

func (h trustMarkHandlers) create(w http.ResponseWriter, r *http.Request) {
	f, err := httpapi.ReadFields(r)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	domain, _ := f.String("domain", true, resource.MaxURLLength)
	claims, _ := f.Object("additional_claims", false)
	in := resource.NewTrustMark{
		TMTID:            f.RequiredInt("tmt", 1, 1<<53),
		Domain:           domain,
		Autorenew:        f.Bool("autorenew"),
		ValidFor:         f.Int("valid_for", 1, resource.MaxHours),
		RenewalTime:      f.Int("renewal_time", 0, resource.MaxHours),
		Active:           f.Bool("active"),
		AdditionalClaims: claims,
	}
	if err := f.Err(); err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	created, err := h.svc.Create(r.Context(), in, attribution(r))
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusCreated, created)
}

func (h trustMarkHandlers) list(w http.ResponseWriter, r *http.Request) {
	h.page(w, r, nil)
}

// listByDomain lists the marks of the domain in the body; "" lists all.
func (h trustMarkHandlers) listByDomain(w http.ResponseWriter, r *http.Request) {
	f, err := httpapi.ReadFields(r)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	domain, _ := f.String("domain", false, resource.MaxURLLength)
	if _, given := f.Raw("domain"); !given {
		f.Require("domain")
	}
	if err := f.Err(); err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	if domain == "" {
		h.page(w, r, nil)
		return
	}
	h.page(w, r, &domain)
}

func (h trustMarkHandlers) page(w http.ResponseWriter, r *http.Request, domain *string) {
	q := httpapi.NewQuery(r)
	limit, offset := q.Page()
	if err := q.Err(); err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	items, count, err := h.svc.List(r.Context(), domain, resource.Page{Limit: limit, Offset: offset})
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, httpapi.PageBody[resource.TrustMark]{Items: items, Count: count})
}

func (h trustMarkHandlers) get(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	t, err := h.svc.Get(r.Context(), id)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, t)
}

func (h trustMarkHandlers) renew(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	t, err := h.svc.Renew(r.Context(), id, attribution(r))
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, t)
}

func (h trustMarkHandlers) update(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	f, err := httpapi.ReadFields(r)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	claims, setClaims := f.Object("additional_claims", false)
	changes := resource.TrustMarkChanges{
		Autorenew: f.Bool("autorenew"), Active: f.Bool("active"),
		SetAdditionalClaims: setClaims, AdditionalClaims: claims,
	}
	if err := f.Err(); err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	t, err := h.svc.Update(r.Context(), id, changes, attribution(r))
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, t)
}
