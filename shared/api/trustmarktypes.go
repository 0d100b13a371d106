package api

import (
	"net/http"

	"github.com/inmor/inmor-serverless/shared/httpapi"
	"github.com/inmor/inmor-serverless/shared/resource"
)

// NewTrustMarkTypesHandler returns the handler of the trustmarktypes function.
func NewTrustMarkTypesHandler(svc resource.TrustMarkTypes, authn httpapi.Authenticator, attempts resource.AttemptRecorder) http.Handler {
	h := trustMarkTypeHandlers{svc: svc}
	return newFunctionHandler(FunctionTrustMarkTypes, authn, attempts, map[string]http.HandlerFunc{
		"createTrustMarkType":      h.create,
		"listTrustMarkTypes":       h.list,
		"getTrustMarkTypeByTMType": h.getByTMType,
		"getTrustMarkType":         h.get,
		"updateTrustMarkType":      h.update,
	})
}

type trustMarkTypeHandlers struct {
	svc resource.TrustMarkTypes
}

func orDefault[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

func (h trustMarkTypeHandlers) create(w http.ResponseWriter, r *http.Request) {
	f, err := httpapi.ReadFields(r)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	tmtype, _ := f.String("tmtype", true, resource.MaxURLLength)
	t := resource.TrustMarkType{
		TMType:      tmtype,
		Autorenew:   orDefault(f.Bool("autorenew"), true),
		ValidFor:    orDefault(f.Int("valid_for", 1, resource.MaxHours), resource.DefaultValidFor),
		RenewalTime: orDefault(f.Int("renewal_time", 0, resource.MaxHours), resource.DefaultRenewalTime),
		Active:      orDefault(f.Bool("active"), true),
	}
	if err := f.Err(); err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	created, err := h.svc.Create(r.Context(), t, attribution(r))
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusCreated, created)
}

func (h trustMarkTypeHandlers) list(w http.ResponseWriter, r *http.Request) {
	q := httpapi.NewQuery(r)
	limit, offset := q.Page()
	if err := q.Err(); err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	items, count, err := h.svc.List(r.Context(), resource.Page{Limit: limit, Offset: offset})
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, httpapi.PageBody[resource.TrustMarkType]{Items: items, Count: count})
}

func (h trustMarkTypeHandlers) get(w http.ResponseWriter, r *http.Request) {
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

// getByTMType takes tmtype from the query, or from a JSON body as Inmor's
// clients send it on this GET.
func (h trustMarkTypeHandlers) getByTMType(w http.ResponseWriter, r *http.Request) {
	tmtype := r.URL.Query().Get("tmtype")
	if tmtype == "" {
		f, err := httpapi.ReadFields(r)
		if err != nil {
			httpapi.WriteError(w, r, err)
			return
		}
		tmtype, _ = f.String("tmtype", true, resource.MaxURLLength)
		if err := f.Err(); err != nil {
			httpapi.WriteError(w, r, err)
			return
		}
	}
	t, err := h.svc.GetByTMType(r.Context(), tmtype)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, t)
}

func (h trustMarkTypeHandlers) update(w http.ResponseWriter, r *http.Request) {
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
	changes := resource.TrustMarkTypeChanges{
		Autorenew:   f.Bool("autorenew"),
		ValidFor:    f.Int("valid_for", 1, resource.MaxHours),
		RenewalTime: f.Int("renewal_time", 0, resource.MaxHours),
		Active:      f.Bool("active"),
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
