package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/inmor/inmor-serverless/shared/apigw"
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

// Errors of the HTTP layer.
var (
	// ErrUnauthorized: no valid credentials.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrForbidden: the credentials do not allow the call.
	ErrForbidden = errors.New("forbidden")
	// ErrBodyTooLarge: the body exceeds MaxBodyBytes.
	ErrBodyTooLarge = errors.New("request body too large")
)

type messageBody struct {
	Message string `json:"message"`
	ID      int64  `json:"id"`
}

// StatusOf maps an error to its HTTP status: the one place that does.
func StatusOf(err error) int {
	var ae *apperr.Error
	var ve *ValidationError
	switch {
	case errors.As(err, &ve):
		return http.StatusUnprocessableEntity
	case errors.Is(err, ErrUnauthorized):
		return http.StatusUnauthorized
	case errors.Is(err, ErrForbidden):
		return http.StatusForbidden
	case errors.Is(err, ErrBodyTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.As(err, &ae):
		switch ae.Kind {
		case apperr.NotFound:
			return http.StatusNotFound
		case apperr.Invalid:
			return http.StatusBadRequest
		case apperr.Conflict:
			return http.StatusForbidden // Inmor answers 403 with the existing resource
		case apperr.Busy:
			return http.StatusConflict
		case apperr.Unprocessable:
			return http.StatusUnprocessableEntity
		}
	}
	return http.StatusInternalServerError
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
	slog.InfoContext(r.Context(), "client disconnected", "request_id", apigw.FromContext(r.Context()).RequestID,
		"method", r.Method, "path", r.URL.Path)
	w.WriteHeader(StatusClientClosedRequest)
}

// WriteError writes err with its status and Inmor's body shape. Unexpected
// errors are logged with the request id and answered with a generic 500,
// unless the client hung up (WriteClientGone).
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	status := StatusOf(err)
	var ae *apperr.Error
	var ve *ValidationError
	switch {
	case errors.As(err, &ve):
		WriteJSON(w, status, map[string]any{"detail": ve.Details})
	case errors.Is(err, ErrUnauthorized):
		WriteJSON(w, status, map[string]string{"detail": "Unauthorized"})
	case errors.Is(err, ErrForbidden):
		WriteJSON(w, status, map[string]string{"detail": "Forbidden"})
	case errors.Is(err, ErrBodyTooLarge):
		WriteJSON(w, status, map[string]string{"detail": "Request body too large (limit 1 MiB)"})
	case errors.As(err, &ae) && ae.Kind == apperr.Unprocessable:
		WriteJSON(w, status, map[string]any{"detail": []FieldError{{Loc: []any{"body", ae.Field}, Msg: ae.Message, Type: "value_error"}}})
	case errors.As(err, &ae) && ae.Kind == apperr.Conflict && ae.Existing != nil:
		WriteJSON(w, status, ae.Existing)
	case errors.As(err, &ae) && status != http.StatusInternalServerError:
		WriteJSON(w, status, messageBody{Message: ae.Message, ID: ae.ID})
	case ClientGone(r):
		WriteClientGone(w, r)
	default:
		slog.ErrorContext(r.Context(), "request failed", "error", err.Error(),
			"request_id", apigw.FromContext(r.Context()).RequestID, "method", r.Method, "path", r.URL.Path)
		WriteJSON(w, http.StatusInternalServerError, map[string]string{"detail": "Internal server error"})
	}
}
