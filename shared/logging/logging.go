// Package logging sets up the functions' structured logs: JSON lines
// (log/slog) that carry the request id of the invocation on every line, so
// one request's lines can be found together.
package logging

import (
	"context"
	"io"
	"log/slog"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/inmor/inmor-serverless/shared/httpapi"
)

// New returns a JSON logger on w whose lines carry the function's name and
// the request id found in each call's context.
func New(w io.Writer, function string) *slog.Logger {
	return slog.New(requestIDHandler{slog.NewJSONHandler(w, nil)}).With("function", function)
}

// requestIDHandler adds the request id of the context to every record: the
// API Gateway request id of an HTTP request, else the Lambda invocation's.
type requestIDHandler struct {
	slog.Handler
}

// RequestID returns the request id a context carries, or "".
func RequestID(ctx context.Context) string {
	if ctx == nil {
		return ""
	}
	if id := httpapi.RequestContextOf(ctx).RequestID; id != "" {
		return id
	}
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		return lc.AwsRequestID
	}
	return ""
}

// Handle implements slog.Handler.
func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

// WithAttrs implements slog.Handler.
func (h requestIDHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(attrs)}
}

// WithGroup implements slog.Handler.
func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}
