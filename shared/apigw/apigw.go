// Package apigw converts between API Gateway HTTP API (payload format 2.0)
// events and net/http, in both directions: Lambda functions serve events with
// an http.Handler, and the local gateway turns real HTTP requests into the
// same events.
package apigw

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// RequestContext is what API Gateway knows about a request that the caller
// cannot forge: its id, the source IP and user agent it saw.
type RequestContext struct {
	RequestID string
	SourceIP  string
	UserAgent string
	RouteKey  string
}

type contextKey struct{}

// FromContext returns the RequestContext of a request made by Handler.
func FromContext(ctx context.Context) RequestContext {
	rc, _ := ctx.Value(contextKey{}).(RequestContext)
	return rc
}

// WithRequestContext returns ctx carrying rc.
func WithRequestContext(ctx context.Context, rc RequestContext) context.Context {
	return context.WithValue(ctx, contextKey{}, rc)
}

// NewRequest converts an event into an *http.Request whose context carries
// the event's RequestContext.
func NewRequest(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (*http.Request, error) {
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		decoded, err := base64.StdEncoding.DecodeString(ev.Body)
		if err != nil {
			return nil, err
		}
		body = decoded
	}
	target := ev.RawPath
	if ev.RawQueryString != "" {
		target += "?" + ev.RawQueryString
	}
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return nil, err
	}
	ctx = WithRequestContext(ctx, RequestContext{
		RequestID: ev.RequestContext.RequestID,
		SourceIP:  ev.RequestContext.HTTP.SourceIP,
		UserAgent: ev.RequestContext.HTTP.UserAgent,
		RouteKey:  ev.RouteKey,
	})
	r, err := http.NewRequestWithContext(ctx, ev.RequestContext.HTTP.Method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for name, value := range ev.Headers {
		// API Gateway joins repeated headers with commas.
		r.Header.Set(name, value)
	}
	if len(ev.Cookies) > 0 {
		r.Header.Set("Cookie", strings.Join(ev.Cookies, "; "))
	}
	// The host the client asked for: the CSRF check compares a request's
	// Origin with it.
	r.Host = ev.Headers["host"]
	if r.Host == "" {
		r.Host = ev.RequestContext.DomainName
	}
	r.Header.Del("Host")
	r.RemoteAddr = ev.RequestContext.HTTP.SourceIP
	r.RequestURI = target
	for name, value := range ev.PathParameters {
		r.SetPathValue(name, value)
	}
	return r, nil
}

// Handler adapts an http.Handler into a Lambda handler of HTTP API events.
func Handler(h http.Handler) func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		r, err := NewRequest(ctx, ev)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{
				StatusCode: http.StatusBadRequest,
				Headers:    map[string]string{"Content-Type": "application/json"},
				Body:       `{"detail": "Malformed request"}`,
			}, nil
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return toResponse(rec), nil
	}
}

func toResponse(rec *httptest.ResponseRecorder) events.APIGatewayV2HTTPResponse {
	resp := events.APIGatewayV2HTTPResponse{StatusCode: rec.Code, Headers: map[string]string{}}
	for name, values := range rec.Header() {
		if name == "Set-Cookie" {
			resp.Cookies = append(resp.Cookies, values...)
			continue
		}
		resp.Headers[name] = strings.Join(values, ", ")
	}
	body := rec.Body.Bytes()
	if utf8.Valid(body) {
		resp.Body = string(body)
	} else {
		resp.Body = base64.StdEncoding.EncodeToString(body)
		resp.IsBase64Encoded = true
	}
	return resp
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
