package api

import (
	"math"
	"net/http"

	"github.com/inmor/inmor-serverless/shared/httpapi"
	"github.com/inmor/inmor-serverless/shared/resource"
)

// NewSubordinatesHandler returns the handler of the subordinates function.
func NewSubordinatesHandler(svc resource.Subordinates, authn httpapi.Authenticator, attempts resource.AttemptRecorder) http.Handler {
	h := subordinateHandlers{svc: svc}
	return newFunctionHandler(FunctionSubordinates, authn, attempts, map[string]http.HandlerFunc{
		"createSubordinate": h.create,
		"listSubordinates":  h.list,
		"getSubordinate":    h.get,
		"updateSubordinate": h.update,
		"renewSubordinate":  h.renew,
	})
}

type subordinateHandlers struct {
	svc resource.Subordinates
}

// readSubordinate reads a create (withEntityID) or update body.
func readSubordinate(r *http.Request, withEntityID bool) (resource.SubordinateInput, error) {
	f, err := httpapi.ReadFields(r)
	if err != nil {
		return resource.SubordinateInput{}, err
	}
	var in resource.SubordinateInput
	if withEntityID {
		in.EntityID, _ = f.String("entityid", true, resource.MaxURLLength)
	}
	in.Metadata, _ = f.Object("metadata", true)
	in.ForcedMetadata, _ = f.Object("forced_metadata", true)
	in.JWKS, _ = f.Object("jwks", true)
	in.RequiredTrustmarks, in.SetRequired = f.OptionalString("required_trustmarks", resource.MaxURLLength)
	// Above the system maximum is a 400 (Inmor's message), checked by the service.
	in.ValidFor = f.Int("valid_for", 1, math.MaxInt32)
	in.Autorenew = f.Bool("autorenew")
	in.Active = f.Bool("active")
	in.AdditionalClaims, in.SetAdditionalClaims = f.Object("additional_claims", false)
	return in, f.Err()
}

func (h subordinateHandlers) create(w http.ResponseWriter, r *http.Request) {
	in, err := readSubordinate(r, true)
	if err != nil {
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

func (h subordinateHandlers) list(w http.ResponseWriter, r *http.Request) {
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
	httpapi.WriteJSON(w, http.StatusOK, httpapi.PageBody[resource.Subordinate]{Items: items, Count: count})
}

func (h subordinateHandlers) get(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	sub, err := h.svc.Get(r.Context(), id)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, sub)
}

func (h subordinateHandlers) update(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	in, err := readSubordinate(r, false)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	sub, err := h.svc.Update(r.Context(), id, in, attribution(r))
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, sub)
}

func (h subordinateHandlers) renew(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	sub, err := h.svc.Renew(r.Context(), id, attribution(r))
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, sub)
}
