// Package localstack runs the whole system on one machine with no AWS
// account: a moto server as DynamoDB, the tables, a gateway that turns HTTP
// requests into API Gateway events for the functions' own handlers, and a
// stream poller that feeds the audit handler as Lambda would.
package localstack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/inmor/inmor-serverless/shared/adminapi"
	"github.com/inmor/inmor-serverless/shared/apigw"
	"github.com/inmor/inmor-serverless/shared/httpapi"
	"github.com/inmor/inmor-serverless/shared/logging"
)

// HTTPFunction is a Lambda handler of API Gateway HTTP API events.
type HTTPFunction func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// maxPayloadBytes is API Gateway's request payload limit (10 MB).
const maxPayloadBytes = 10 << 20

// Gateway plays API Gateway: it routes each request by the route table to
// the function that owns it, as a payload 2.0 event.
type Gateway struct {
	Routes    []adminapi.Route
	Functions map[string]HTTPFunction
	Logger    *slog.Logger

	// writes counts the state-changing requests routed to a function.
	writes atomic.Int64
}

// Writes returns how many state-changing requests (any method but GET,
// HEAD and OPTIONS) the gateway has routed to a function.
func (g *Gateway) Writes() int64 { return g.writes.Load() }

// ServeHTTP implements http.Handler. Unknown routes answer 404 and wrong
// methods on known paths 405, both as JSON.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	var (
		matched *adminapi.Route
		params  map[string]string
		allowed []string
	)
	for i := range g.Routes {
		p, ok := httpapi.Match(g.Routes[i].Path, r.URL.Path)
		if !ok {
			continue
		}
		if g.Routes[i].Method == r.Method {
			matched, params = &g.Routes[i], p
			break
		}
		allowed = append(allowed, g.Routes[i].Method)
	}
	switch {
	case matched == nil && len(allowed) == 0:
		httpapi.WriteJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found"})
		g.logAnswered(r, http.StatusNotFound, start)
		return
	case matched == nil:
		slices.Sort(allowed)
		w.Header().Set("Allow", strings.Join(slices.Compact(allowed), ", "))
		httpapi.WriteJSON(w, http.StatusMethodNotAllowed, map[string]string{"message": "Method Not Allowed"})
		g.logAnswered(r, http.StatusMethodNotAllowed, start)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxPayloadBytes+1))
	if err != nil || len(body) > maxPayloadBytes {
		httpapi.WriteJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"message": "Request Entity Too Large"})
		g.logAnswered(r, http.StatusRequestEntityTooLarge, start)
		return
	}
	fn := g.Functions[matched.Function]
	if fn == nil {
		httpapi.WriteJSON(w, http.StatusInternalServerError, map[string]string{"message": "Internal Server Error"})
		g.logAnswered(r, http.StatusInternalServerError, start)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodOptions {
		g.writes.Add(1)
	}
	requestID := newRequestID()
	ev := apigw.NewEvent(r, body, apigw.EventOptions{RouteKey: matched.Key(), PathParameters: params, RequestID: requestID, Now: start})
	// The function logs the request's one line (its access log), named
	// after it through the context: the functions share this process's
	// default logger.
	ctx := logging.WithFunction(r.Context(), matched.Function)
	resp, err := fn(ctx, ev)
	switch {
	case err != nil && httpapi.ClientGone(r):
		return // the function has logged the hang-up
	case err != nil:
		g.logger().ErrorContext(ctx, "function failed", "request_id", requestID, "error", err.Error())
		httpapi.WriteJSON(w, http.StatusInternalServerError, map[string]string{"message": "Internal Server Error"})
		return
	}
	apigw.WriteResponse(w, resp)
}

// logAnswered logs a request the gateway answered itself (no function
// saw it), in the functions' access-log shape.
func (g *Gateway) logAnswered(r *http.Request, status int, start time.Time) {
	g.logger().InfoContext(r.Context(), "request", "method", r.Method, "path", r.URL.Path, "status", status,
		"duration_ms", float64(time.Since(start).Microseconds())/1000)
}

func (g *Gateway) logger() *slog.Logger {
	if g.Logger != nil {
		return g.Logger
	}
	return slog.Default()
}

// newRequestID returns an id shaped like API Gateway's.
func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
