package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/inmor/inmor-serverless/shared/apperr"
)

// WriteJSON writes v as a JSON response with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"detail": "Internal server error"}`)
	}
	WriteRawJSON(w, status, body)
}

// WriteRawJSON writes an encoded JSON body with the given status.
func WriteRawJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

type messageBody struct {
	Message string `json:"message"`
	ID      int64  `json:"id"`
}

// statusOfKind is the HTTP status of each kind of application error.
var statusOfKind = map[apperr.Kind]int{
	apperr.NotFound:      http.StatusNotFound,
	apperr.Invalid:       http.StatusBadRequest,
	apperr.Exists:        http.StatusForbidden, // Inmor answers 403 with the existing resource
	apperr.Stale:         http.StatusConflict,
	apperr.Busy:          http.StatusConflict,
	apperr.Unprocessable: http.StatusUnprocessableEntity,
	apperr.Unauthorized:  http.StatusUnauthorized,
	apperr.Forbidden:     http.StatusForbidden,
	apperr.CSRF:          http.StatusForbidden,
	apperr.TooLarge:      http.StatusRequestEntityTooLarge,
	apperr.Throttled:     http.StatusTooManyRequests,
}

// StatusOf maps an error to its HTTP status: the one place that does.
func StatusOf(err error) int {
	var ve *ValidationError
	if errors.As(err, &ve) {
		return http.StatusUnprocessableEntity
	}
	if status, ok := statusOfKind[apperr.KindOf(err)]; ok {
		return status
	}
	return http.StatusInternalServerError
}

// details gathers what the *apperr.Errors of err's chain tell the caller:
// the first message (with its id), existing value, field and retry time.
func details(err error) apperr.Error {
	var d apperr.Error
	for err != nil {
		var e *apperr.Error
		if !errors.As(err, &e) {
			break
		}
		if d.Message == "" && e.Message != "" {
			d.Message, d.ID = e.Message, e.ID
		}
		if d.Existing == nil {
			d.Existing = e.Existing
		}
		if d.Field == "" {
			d.Field = e.Field
		}
		if d.RetryAfter == 0 {
			d.RetryAfter = e.RetryAfter
		}
		err = e.Err
	}
	return d
}

// StatusClientClosedRequest is the status of a request whose client hung
// up before the answer (nginx's 499): what the access log records, since
// nobody reads the answer.
const StatusClientClosedRequest = 499

// ClientGone reports whether r's client hung up: its context was cancelled
// (in Lambda the context ends only at the deadline, never cancelled).
func ClientGone(r *http.Request) bool {
	return errors.Is(r.Context().Err(), context.Canceled)
}

// WriteClientGone answers a request whose client hung up: 499, logged as
// information, not as an error of ours.
func WriteClientGone(w http.ResponseWriter, r *http.Request) {
	slog.InfoContext(r.Context(), "client disconnected", "request_id", RequestContextOf(r.Context()).RequestID,
		"method", r.Method, "path", r.URL.Path)
	w.WriteHeader(StatusClientClosedRequest)
}

// ErrorNoter is a ResponseWriter that wants the message of the error
// answered through it, as WriteError tells it (ErrorMessage): the audit
// log records it with a failed attempt.
type ErrorNoter interface {
	NoteError(message string)
}

// WriteError writes err with its status and Inmor's body shape. Unexpected
// errors are logged with the request id and answered with a generic 500,
// unless the client hung up (WriteClientGone). A writer that is an
// ErrorNoter is told the message answered.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	status := StatusOf(err)
	ae := details(err)
	var ve *ValidationError
	kind := apperr.KindOf(err)
	var message string
	switch {
	case errors.As(err, &ve):
		message = validationMessage(ve.Details)
		WriteJSON(w, status, map[string]any{"detail": ve.Details})
	case kind == apperr.Unauthorized && ae.Message != "":
		message = ae.Message
		WriteJSON(w, status, map[string]string{"message": message})
	case kind == apperr.Unauthorized:
		message = "Unauthorized"
		WriteJSON(w, status, map[string]string{"detail": message})
	case kind == apperr.Forbidden:
		message = "Forbidden"
		WriteJSON(w, status, map[string]string{"detail": message})
	case kind == apperr.CSRF:
		message = "CSRF check Failed: " + ae.Message
		WriteJSON(w, status, map[string]string{"detail": message})
	case kind == apperr.TooLarge:
		message = "Request body too large (limit 1 MiB)"
		WriteJSON(w, status, map[string]string{"detail": message})
	case kind == apperr.Throttled:
		message = ae.Message
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(ae.RetryAfter.Seconds()))))
		WriteJSON(w, status, map[string]string{"message": message})
	case kind == apperr.Unprocessable:
		details := []FieldError{{Loc: []any{"body", ae.Field}, Msg: ae.Message, Type: "value_error"}}
		message = validationMessage(details)
		WriteJSON(w, status, map[string]any{"detail": details})
	case kind == apperr.Exists && ae.Existing != nil:
		// The answer is the existing resource; the error says why.
		message = ae.Message
		WriteJSON(w, status, ae.Existing)
	case status != http.StatusInternalServerError && ae.Message != "":
		message = ae.Message
		WriteJSON(w, status, messageBody{Message: message, ID: ae.ID})
	case status != http.StatusInternalServerError:
		message = http.StatusText(status)
		WriteJSON(w, status, messageBody{Message: message, ID: ae.ID})
	case ClientGone(r):
		message = "Client closed the request"
		WriteClientGone(w, r)
	default:
		message = "Internal server error"
		slog.ErrorContext(r.Context(), "request failed", "error", err.Error(),
			"request_id", RequestContextOf(r.Context()).RequestID, "method", r.Method, "path", r.URL.Path)
		WriteJSON(w, http.StatusInternalServerError, map[string]string{"detail": message})
	}
	if message == "" {
		message = http.StatusText(status)
	}
	if n, ok := w.(ErrorNoter); ok {
		n.NoteError(message)
	}
}

// WriteFederationError writes err in the OpenID Federation error format
// ({"error", "error_description"}), for the public federation endpoints:
// Invalid (and a body over the limit) is 400 invalid_request, NotFound 404
// not_found; anything else is logged with the request id and answered
// 500 server_error.
func WriteFederationError(w http.ResponseWriter, r *http.Request, err error) {
	message := apperr.MessageOf(err)
	switch apperr.KindOf(err) {
	case apperr.Invalid, apperr.Unprocessable:
		WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": message})
	case apperr.TooLarge:
		WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": "The request body is too large."})
	case apperr.NotFound:
		WriteJSON(w, http.StatusNotFound, map[string]string{"error": "not_found", "error_description": message})
	default:
		if ClientGone(r) {
			WriteClientGone(w, r)
			return
		}
		slog.ErrorContext(r.Context(), "request failed", "error", err.Error(),
			"request_id", RequestContextOf(r.Context()).RequestID, "method", r.Method, "path", r.URL.Path)
		WriteJSON(w, http.StatusInternalServerError, map[string]string{"error": "server_error", "error_description": "Internal server error."})
	}
}

// validationMessage is a 422's details as one message: each field's
// location, dotted, and its message, separated by semicolons.
func validationMessage(details []FieldError) string {
	parts := make([]string, len(details))
	for i, d := range details {
		loc := make([]string, len(d.Loc))
		for j, l := range d.Loc {
			loc[j] = fmt.Sprint(l)
		}
		parts[i] = strings.Join(loc, ".") + ": " + d.Msg
	}
	return strings.Join(parts, "; ")
}
