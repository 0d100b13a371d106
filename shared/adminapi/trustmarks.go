package adminapi

import (
	"net/http"

	"github.com/inmor/inmor-serverless/shared/function"

	"github.com/inmor/inmor-serverless/shared/httpapi"
	"github.com/inmor/inmor-serverless/shared/resource"
)

// NewTrustMarksHandler returns the handler of the trustmarks function.
func NewTrustMarksHandler(svc resource.TrustMarks, authn httpapi.Authenticator, attempts resource.AttemptRecorder) http.Handler {
	return newFunctionHandler(function.TrustMarks, authn, attempts, map[string]http.HandlerFunc{
		"createTrustMark": withBody(http.StatusCreated, func(r *http.Request) (resource.TrustMark, error) {
			in, err := readNewTrustMark(r)
			if err != nil {
				return resource.TrustMark{}, err
			}
			return svc.Create(r.Context(), in, attribution(r))
		}),
		"listTrustMarks": listPage(func(r *http.Request, p resource.Page) ([]resource.TrustMark, int, error) {
			return svc.List(r.Context(), nil, p)
		}),
		// The marks of the domain in the body; "" (or null) lists all.
		"listTrustMarksByDomain": listPage(func(r *http.Request, p resource.Page) ([]resource.TrustMark, int, error) {
			domain, err := readDomain(r)
			if err != nil {
				return nil, 0, err
			}
			return svc.List(r.Context(), domain, p)
		}),
		"getTrustMark": byID(func(r *http.Request, id int64) (resource.TrustMark, error) {
			return svc.Get(r.Context(), id)
		}),
		"renewTrustMark": byID(func(r *http.Request, id int64) (resource.TrustMark, error) {
			return svc.Renew(r.Context(), id, attribution(r))
		}),
		"updateTrustMark": byID(func(r *http.Request, id int64) (resource.TrustMark, error) {
			f, err := httpapi.ReadFields(r)
			if err != nil {
				return resource.TrustMark{}, err
			}
			claims, setClaims := f.Object("additional_claims", false)
			changes := resource.TrustMarkChanges{
				Autorenew: f.Bool("autorenew"), Active: f.Bool("active"),
				SetAdditionalClaims: setClaims, AdditionalClaims: claims,
			}
			if err := f.Err(); err != nil {
				return resource.TrustMark{}, err
			}
			return svc.Update(r.Context(), id, changes, attribution(r))
		}),
	})
}

func readNewTrustMark(r *http.Request) (resource.NewTrustMark, error) {
	f, err := httpapi.ReadFields(r)
	if err != nil {
		return resource.NewTrustMark{}, err
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
	return in, f.Err()
}

// readDomain reads {domain} (required, may be ""): nil means every domain.
func readDomain(r *http.Request) (*string, error) {
	f, err := httpapi.ReadFields(r)
	if err != nil {
		return nil, err
	}
	domain, _ := f.String("domain", false, resource.MaxURLLength)
	if _, given := f.Raw("domain"); !given {
		f.Require("domain")
	}
	if err := f.Err(); err != nil || domain == "" {
		return nil, err
	}
	return &domain, nil
}
