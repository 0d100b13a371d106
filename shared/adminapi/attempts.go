package adminapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/inmor/inmor-serverless/shared/httpapi"
	"github.com/inmor/inmor-serverless/shared/resource"
)

// recordFailures records every failed answer (status 400 and up) of a
// state-changing route as an attempt, so the audit log shows it. A panic in
// the handler is answered with 500 and recorded too. Recording is best
// effort: a failure to record is logged, and the answer stands.
func recordFailures(attempts resource.AttemptRecorder, route Route, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &httpapi.StatusRecorder{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if sw.Status == 0 {
					httpapi.WriteError(sw, r, fmt.Errorf("handler panic: %v", v))
				} else {
					slog.ErrorContext(r.Context(), "handler panic after answering", "panic", fmt.Sprint(v))
				}
			}
			if sw.Status >= http.StatusBadRequest {
				recordAttempt(r, attempts, route, sw.Status)
			}
		}()
		next.ServeHTTP(sw, r)
	})
}

func recordAttempt(r *http.Request, attempts resource.AttemptRecorder, route Route, status int) {
	a := attribution(r)
	a.Operation, a.ResponseCode, a.CommittedAt = route.Operation, status, time.Now().UTC()
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 0 {
		id = 0
	}
	requestID := httpapi.RequestContextOf(r.Context()).RequestID
	if requestID == "" {
		var b [12]byte
		_, _ = rand.Read(b[:])
		requestID = "local-" + hex.EncodeToString(b[:])
	}
	attempt := resource.Attempt{RequestID: requestID, ResourceType: route.ResourceType, ResourceID: id, Attribution: a}
	// The answer is decided: record it even if the client has gone.
	if err := attempts.RecordAttempt(context.WithoutCancel(r.Context()), attempt); err != nil {
		slog.ErrorContext(r.Context(), "record failed attempt", "error", err.Error(), "request_id", requestID, "status", status)
	}
}
