package adminapi

import (
	"errors"
	"net/http"

	"github.com/inmor/inmor-serverless/shared/apperr"
	"github.com/inmor/inmor-serverless/shared/fedevents"
	"github.com/inmor/inmor-serverless/shared/function"
	"github.com/inmor/inmor-serverless/shared/httpapi"
)

// SubordinateEventsPath is the Subordinate Events endpoint, at the root of
// the entity id's origin like the other federation endpoints.
const SubordinateEventsPath = "/federation_subordinate_events_endpoint"

// maxFederationForm bounds the form body of a POST to the endpoint.
const maxFederationForm = 8 << 10

// eventsCacheControl lets caches keep an answer a minute.
const eventsCacheControl = "max-age=60"

// NewFederationHandler returns the handler of the federation function:
// the public Subordinate Events endpoint, by GET (?sub=) or POST (a form
// with sub).
func NewFederationHandler(p fedevents.Publisher) http.Handler {
	serve := func(w http.ResponseWriter, r *http.Request) {
		sub, err := subParameter(w, r)
		if err == nil {
			var jwt string
			if jwt, err = p.Statement(r.Context(), sub); err == nil {
				w.Header().Set("Content-Type", fedevents.ContentType)
				w.Header().Set("Cache-Control", eventsCacheControl)
				w.WriteHeader(http.StatusOK)
				_, _ = w.Write([]byte(jwt))
				return
			}
		}
		httpapi.WriteFederationError(w, r, err)
	}
	return newFunctionHandler(function.Federation, nil, nil, map[string]http.HandlerFunc{
		"getSubordinateEvents": serve, "postSubordinateEvents": serve,
	})
}

// subParameter reads the one sub parameter: from the query of a GET, from
// the form body of a POST.
func subParameter(w http.ResponseWriter, r *http.Request) (string, error) {
	values := r.URL.Query()
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, maxFederationForm)
		if err := r.ParseForm(); err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				return "", apperr.E(apperr.Op("api.subParameter"), apperr.TooLarge)
			}
			return "", apperr.New(apperr.Invalid, 0, "The body must be a form (application/x-www-form-urlencoded) with sub.")
		}
		values = r.PostForm
	}
	subs := values["sub"]
	if len(subs) > 1 {
		return "", apperr.New(apperr.Invalid, 0, "sub must be given once.")
	}
	if len(subs) == 0 {
		return "", nil // the publisher's message for a missing sub
	}
	return subs[0], nil
}
