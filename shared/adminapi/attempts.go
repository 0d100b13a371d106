package adminapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/inmor/inmor-serverless/shared/httpapi"
	"github.com/inmor/inmor-serverless/shared/resource"
)

// recordFailures records every failed answer (status 400 and up) of a
// state-changing route as an attempt, so the audit log shows it: who, the
// answer's status and message, and what the request sent (its query and
// body, redacted: recordedRequest). A panic in the handler is answered
// with 500 and recorded too. Recording is best effort: a failure to record
// is logged, and the answer stands.
func recordFailures(attempts resource.AttemptRecorder, route Route, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fw := &failureWriter{StatusRecorder: httpapi.StatusRecorder{ResponseWriter: w}}
		var body *bodyCapture
		if r.Body != nil {
			body = &bodyCapture{ReadCloser: r.Body}
			r.Body = body
		}
		defer func() {
			if v := recover(); v != nil {
				if fw.Status == 0 {
					httpapi.WriteError(fw, r, fmt.Errorf("handler panic: %v", v))
				} else {
					slog.ErrorContext(r.Context(), "handler panic after answering", "panic", fmt.Sprint(v))
				}
			}
			if fw.Status >= http.StatusBadRequest {
				recordAttempt(r, attempts, route, fw.Status, fw.message, body.all())
			}
		}()
		next.ServeHTTP(fw, r)
	})
}

// refusalRecorder answers a write refused although its caller was
// identified (a session write that failed the CSRF check) and records it
// as a failed attempt of that caller.
func refusalRecorder(attempts resource.AttemptRecorder, route Route) httpapi.RefusalHandler {
	return func(w http.ResponseWriter, r *http.Request, err error) {
		recordFailures(attempts, route, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			httpapi.WriteError(w, r, err)
		})).ServeHTTP(w, r)
	}
}

// failureWriter remembers the status and the error message (as
// httpapi.WriteError notes it) of an answer.
type failureWriter struct {
	httpapi.StatusRecorder
	message string
}

// NoteError implements httpapi.ErrorNoter.
func (w *failureWriter) NoteError(message string) { w.message = message }

// bodyCapture keeps a copy of what is read of a request body, up to one
// byte more than the API reads.
type bodyCapture struct {
	io.ReadCloser
	buf []byte
}

// Read implements io.Reader.
func (b *bodyCapture) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if room := httpapi.MaxBodyBytes + 1 - len(b.buf); room > 0 {
		b.buf = append(b.buf, p[:min(n, room)]...)
	}
	return n, err
}

// all returns the body: what the handler read, and what it left (up to the
// bound); nil for a request without a body.
func (b *bodyCapture) all() []byte {
	if b == nil {
		return nil
	}
	if room := httpapi.MaxBodyBytes + 1 - len(b.buf); room > 0 {
		_, _ = io.Copy(io.Discard, io.LimitReader(b, int64(room)))
	}
	return b.buf
}

func recordAttempt(r *http.Request, attempts resource.AttemptRecorder, route Route, status int, message string, body []byte) {
	a := attribution(r)
	a.Operation, a.ResponseCode, a.CommittedAt = route.Operation, status, time.Now().UTC()
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 0 {
		id = 0
	}
	if message == "" {
		message = http.StatusText(status)
	}
	requestID := httpapi.RequestContextOf(r.Context()).RequestID
	if requestID == "" {
		var b [12]byte
		_, _ = rand.Read(b[:])
		requestID = "local-" + hex.EncodeToString(b[:])
	}
	attempt := resource.Attempt{
		RequestID: requestID, ResourceType: route.ResourceType, ResourceID: id, Attribution: a,
		Error: truncateText(message, MaxErrorBytes), Request: recordedRequest(r.URL.Query(), body),
	}
	if r.PathValue("id") == "" {
		attempt.ResourceRepr = reprFromBody(route.ResourceType, body)
	}
	// The answer is decided: record it even if the client has gone.
	if err := attempts.RecordAttempt(context.WithoutCancel(r.Context()), attempt); err != nil {
		slog.ErrorContext(r.Context(), "record failed attempt", "error", err.Error(), "request_id", requestID, "status", status)
	}
}
