package api

import (
	"net/http"
	"strconv"

	"github.com/inmor/inmor-serverless/shared/apigw"
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
	rc := apigw.FromContext(r.Context())
	return resource.Attribution{
		UserID: p.UserID, Username: p.Username, AuthMethod: p.AuthMethod, Tenant: p.Tenant,
		APIKeyName: p.APIKeyName, RequestID: rc.RequestID, SourceIP: rc.SourceIP, UserAgent: rc.UserAgent,
		Path: r.URL.Path, Method: r.Method,
	}
}
