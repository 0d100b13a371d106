package adminapi

import (
	"net/http"
	"strconv"

	"github.com/inmor/inmor-serverless/shared/auth"
	"github.com/inmor/inmor-serverless/shared/httpapi"
	"github.com/inmor/inmor-serverless/shared/resource"
)

// pathID reads the {id} path parameter: a positive integer, else 422.
func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, &httpapi.ValidationError{Details: []httpapi.FieldError{{
			Loc: []any{"path", "id"}, Msg: "Input should be a valid positive integer", Type: "int_parsing",
		}}}
	}
	return id, nil
}

// attribution says who makes a write and how: the authenticated principal,
// and what API Gateway saw of the request.
func attribution(r *http.Request) resource.Attribution {
	p, _ := auth.PrincipalFrom(r.Context())
	rc := httpapi.RequestContextOf(r.Context())
	return resource.Attribution{
		UserID: p.UserID, Username: p.Username, AuthMethod: p.AuthMethod, Tenant: p.Tenant,
		APIKeyName: p.APIKeyName, RequestID: rc.RequestID, SourceIP: rc.SourceIP, UserAgent: rc.UserAgent,
		Path: r.URL.Path, Method: r.Method,
	}
}

// respond writes v as JSON with status, or err with its own status.
func respond(w http.ResponseWriter, r *http.Request, status int, v any, err error) {
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	httpapi.WriteJSON(w, status, v)
}

// withBody serves a route that answers status with what fn returns.
func withBody[T any](status int, fn func(r *http.Request) (T, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, err := fn(r)
		respond(w, r, status, v, err)
	}
}

// byID serves a route on one resource: the {id} path parameter (422 when
// it is not a positive integer), then fn's result as 200.
func byID[T any](fn func(r *http.Request, id int64) (T, error)) http.HandlerFunc {
	return withBody(http.StatusOK, func(r *http.Request) (T, error) {
		id, err := pathID(r)
		if err != nil {
			var zero T
			return zero, err
		}
		return fn(r, id)
	})
}

// listPage serves a list route: limit and offset, then fn's page as
// {items, count}.
func listPage[T any](fn func(r *http.Request, p resource.Page) ([]T, int, error)) http.HandlerFunc {
	return withBody(http.StatusOK, func(r *http.Request) (httpapi.PageBody[T], error) {
		q := httpapi.NewQuery(r)
		limit, offset := q.Page()
		if err := q.Err(); err != nil {
			return httpapi.PageBody[T]{}, err
		}
		items, count, err := fn(r, resource.Page{Limit: limit, Offset: offset})
		return httpapi.PageBody[T]{Items: items, Count: count}, err
	})
}
