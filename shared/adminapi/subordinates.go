package adminapi

import (
	"maps"
	"math"
	"net/http"

	"github.com/inmor/inmor-serverless/shared/function"

	"github.com/inmor/inmor-serverless/shared/httpapi"
	"github.com/inmor/inmor-serverless/shared/resource"
)

// NewSubordinatesHandler returns the handler of the subordinates function:
// the Subordinate routes and the trust anchor's own statements (server).
func NewSubordinatesHandler(svc resource.Subordinates, server resource.Server, authn httpapi.Authenticator, attempts resource.AttemptRecorder) http.Handler {
	handlers := map[string]http.HandlerFunc{
		"createSubordinate": withBody(http.StatusCreated, func(r *http.Request) (resource.Subordinate, error) {
			in, err := readSubordinate(r, true)
			if err != nil {
				return resource.Subordinate{}, err
			}
			return svc.Create(r.Context(), in, attribution(r))
		}),
		"listSubordinates": listPage(func(r *http.Request, p resource.Page) ([]resource.Subordinate, int, error) {
			return svc.List(r.Context(), p)
		}),
		"getSubordinate": byID(func(r *http.Request, id int64) (resource.Subordinate, error) {
			return svc.Get(r.Context(), id)
		}),
		"updateSubordinate": byID(func(r *http.Request, id int64) (resource.Subordinate, error) {
			in, err := readSubordinate(r, false)
			if err != nil {
				return resource.Subordinate{}, err
			}
			return svc.Update(r.Context(), id, in.SubordinateChanges, attribution(r))
		}),
		"renewSubordinate": byID(func(r *http.Request, id int64) (resource.Subordinate, error) {
			return svc.Renew(r.Context(), id, attribution(r))
		}),
		"fetchSubordinateConfig": withBody(http.StatusOK, func(r *http.Request) (resource.FetchedConfiguration, error) {
			f, err := httpapi.ReadFields(r)
			if err != nil {
				return resource.FetchedConfiguration{}, err
			}
			url, _ := f.String("url", true, resource.MaxURLLength)
			if err := f.Err(); err != nil {
				return resource.FetchedConfiguration{}, err
			}
			return svc.FetchConfiguration(r.Context(), url)
		}),
	}
	maps.Copy(handlers, serverHandlers(server))
	return newFunctionHandler(function.Subordinates, authn, attempts, handlers)
}

// readSubordinate reads a create (withEntityID) or update body.
func readSubordinate(r *http.Request, withEntityID bool) (resource.NewSubordinate, error) {
	f, err := httpapi.ReadFields(r)
	if err != nil {
		return resource.NewSubordinate{}, err
	}
	var in resource.NewSubordinate
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
	in.Suspended = f.Bool("suspended")
	in.AdditionalClaims, in.SetAdditionalClaims = f.Object("additional_claims", false)
	return in, f.Err()
}
