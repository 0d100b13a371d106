package httpapi

import "context"

// RequestContext is what the gateway knows about a request that the caller
// cannot forge: its id, the source IP and user agent it saw, the route.
type RequestContext struct {
	RequestID string
	SourceIP  string
	UserAgent string
	RouteKey  string
}

type requestContextKey struct{}

// WithRequestContext returns ctx carrying rc; the gateway adapter (package
// apigw) sets it on every request it serves.
func WithRequestContext(ctx context.Context, rc RequestContext) context.Context {
	return context.WithValue(ctx, requestContextKey{}, rc)
}

// RequestContextOf returns the RequestContext of ctx (the zero value when
// the request did not come through the gateway).
func RequestContextOf(ctx context.Context) RequestContext {
	rc, _ := ctx.Value(requestContextKey{}).(RequestContext)
	return rc
}
