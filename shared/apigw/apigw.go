// Package apigw adapts API Gateway HTTP API (payload format 2.0) events to
// net/http, in both directions: Lambda functions serve events with an
// http.Handler through aws-lambda-go-api-proxy's httpadapter, and the local
// gateway turns real HTTP requests into the same events and plays their
// responses back.
package apigw

import (
	"context"
	"encoding/base64"
	"log/slog"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/core"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/inmor/inmor-serverless/shared/httpapi"
)

// malformed answers an event API Gateway would never send.
var malformed = events.APIGatewayV2HTTPResponse{
	StatusCode: http.StatusBadRequest,
	Headers:    map[string]string{"Content-Type": "application/json"},
	Body:       `{"detail": "Malformed request"}`,
}

// Handler adapts an http.Handler into a Lambda handler of HTTP API events,
// with httpadapter.NewV2. An event that does not make a request is a JSON
// 400, never an invocation error.
func Handler(h http.Handler) func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	adapter := httpadapter.NewV2(asAPIGatewaySent(h))
	return func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		if ev.RawPath == "" && ev.RequestContext.HTTP.Path == "" {
			return malformed, nil
		}
		resp, err := adapter.ProxyWithContext(ctx, ev)
		if err != nil {
			slog.WarnContext(ctx, "malformed API Gateway event", "error", err.Error())
			return malformed, nil
		}
		return resp, nil
	}
}

// asAPIGatewaySent gives the handler the request context API Gateway saw
// (httpapi.RequestContextOf), and puts back what httpadapter changes in a
// request: the
// Host the client asked for (the CSRF check compares a request's Origin with
// it; httpadapter uses the API's domain name), and each header as the one
// value API Gateway sent, cookies as one Cookie header (httpadapter splits
// values at commas, so a User-Agent, or a forged X-API-Key "good,junk",
// would otherwise read as its first part).
func asAPIGatewaySent(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rc, ok := core.GetAPIGatewayV2ContextFromContext(r.Context()); ok {
			r = r.WithContext(httpapi.WithRequestContext(r.Context(), httpapi.RequestContext{
				RequestID: rc.RequestID, SourceIP: rc.HTTP.SourceIP, UserAgent: rc.HTTP.UserAgent, RouteKey: rc.RouteKey,
			}))
		}
		if host := r.Header.Get("Host"); host != "" {
			r.Host = host
		}
		r.Header.Del("Host")
		for name, values := range r.Header {
			if len(values) < 2 {
				continue
			}
			separator := ","
			if name == "Cookie" {
				separator = "; "
			}
			r.Header[name] = []string{strings.Join(values, separator)}
		}
		h.ServeHTTP(w, r)
	})
}

// WriteResponse writes an event response to w.
func WriteResponse(w http.ResponseWriter, resp events.APIGatewayV2HTTPResponse) {
	for name, value := range resp.Headers {
		w.Header().Set(name, value)
	}
	for name, values := range resp.MultiValueHeaders {
		for _, v := range values {
			w.Header().Add(name, v)
		}
	}
	for _, c := range resp.Cookies {
		w.Header().Add("Set-Cookie", c)
	}
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		if decoded, err := base64.StdEncoding.DecodeString(resp.Body); err == nil {
			body = decoded
		}
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(body)
}
