package adminapi

import (
	"net/http"

	"github.com/inmor/inmor-serverless/shared/function"

	"github.com/inmor/inmor-serverless/shared/httpapi"
	"github.com/inmor/inmor-serverless/shared/resource"
)

// NewTrustMarkTypesHandler returns the handler of the trustmarktypes function.
func NewTrustMarkTypesHandler(svc resource.TrustMarkTypes, authn httpapi.Authenticator, attempts resource.AttemptRecorder) http.Handler {
	return newFunctionHandler(function.TrustMarkTypes, authn, attempts, map[string]http.HandlerFunc{
		"createTrustMarkType": withBody(http.StatusCreated, func(r *http.Request) (resource.TrustMarkType, error) {
			in, err := readNewTrustMarkType(r)
			if err != nil {
				return resource.TrustMarkType{}, err
			}
			return svc.Create(r.Context(), in, attribution(r))
		}),
		"listTrustMarkTypes": listPage(func(r *http.Request, p resource.Page) ([]resource.TrustMarkType, int, error) {
			return svc.List(r.Context(), p)
		}),
		// tmtype comes from the query, or from a JSON body as Inmor's clients send it on this GET.
		"getTrustMarkTypeByTMType": withBody(http.StatusOK, func(r *http.Request) (resource.TrustMarkType, error) {
			tmtype := r.URL.Query().Get("tmtype")
			if tmtype == "" {
				f, err := httpapi.ReadFields(r)
				if err != nil {
					return resource.TrustMarkType{}, err
				}
				tmtype, _ = f.String("tmtype", true, resource.MaxURLLength)
				if err := f.Err(); err != nil {
					return resource.TrustMarkType{}, err
				}
			}
			return svc.GetByTMType(r.Context(), tmtype)
		}),
		"getTrustMarkType": byID(func(r *http.Request, id int64) (resource.TrustMarkType, error) {
			return svc.Get(r.Context(), id)
		}),
		"updateTrustMarkType": byID(func(r *http.Request, id int64) (resource.TrustMarkType, error) {
			f, err := httpapi.ReadFields(r)
			if err != nil {
				return resource.TrustMarkType{}, err
			}
			changes := resource.TrustMarkTypeChanges{
				Autorenew:   f.Bool("autorenew"),
				ValidFor:    f.Int("valid_for", 1, resource.MaxHours),
				RenewalTime: f.Int("renewal_time", 0, resource.MaxHours),
				Active:      f.Bool("active"),
			}
			if err := f.Err(); err != nil {
				return resource.TrustMarkType{}, err
			}
			return svc.Update(r.Context(), id, changes, attribution(r))
		}),
	})
}

func orDefault[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

func readNewTrustMarkType(r *http.Request) (resource.NewTrustMarkType, error) {
	f, err := httpapi.ReadFields(r)
	if err != nil {
		return resource.NewTrustMarkType{}, err
	}
	tmtype, _ := f.String("tmtype", true, resource.MaxURLLength)
	t := resource.NewTrustMarkType{
		TMType:      tmtype,
		Autorenew:   orDefault(f.Bool("autorenew"), true),
		ValidFor:    orDefault(f.Int("valid_for", 1, resource.MaxHours), resource.DefaultValidFor),
		RenewalTime: orDefault(f.Int("renewal_time", 0, resource.MaxHours), resource.DefaultRenewalTime),
		Active:      orDefault(f.Bool("active"), true),
	}
	return t, f.Err()
}
