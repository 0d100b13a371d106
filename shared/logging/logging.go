// Package logging sets up the functions' structured logs: JSON lines
// (log/slog) that carry the request id of the invocation on every line, so
// one request's lines can be found together, and the function's name.
package logging

import (
	"context"
	"io"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"golang.org/x/term"

	"github.com/inmor/inmor-serverless/shared/httpapi"
)

// New returns a logger on w whose lines carry the function's name (none
// when function is "": then the name a call's context carries, see
// WithFunction) and the request id found in each call's context. Lines
// are JSON, or readable text when w is a terminal (the local stack run
// by hand; in Lambda and under tests the output is never one).
func New(w io.Writer, function string) *slog.Logger {
	var h slog.Handler = slog.NewJSONHandler(w, nil)
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		h = slog.NewTextHandler(w, nil)
	}
	logger := slog.New(requestIDHandler{h})
	if function != "" {
		logger = logger.With("function", function)
	}
	return logger
}

type functionKey struct{}

// WithFunction returns a context whose log lines name the function that
// serves it: the local stack runs every function in one process, whose
// default logger names none.
func WithFunction(ctx context.Context, function string) context.Context {
	return context.WithValue(ctx, functionKey{}, function)
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
	if ctx != nil {
		if function, _ := ctx.Value(functionKey{}).(string); function != "" {
			r.AddAttrs(slog.String("function", function))
		}
	}
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
