package httpapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/inmor/inmor-serverless/shared/apperr"
)

// TestWriteError specifies the one mapping of errors to statuses and
// Inmor's body shapes.
func TestWriteError(t *testing.T) {
	existing := map[string]any{"id": 3, "tmtype": "https://tm.example/a", "active": true}
	validation := &ValidationError{Details: []FieldError{
		{Loc: []any{"body", "valid_for"}, Msg: "Input should be a valid integer", Type: "int_type"},
		{Loc: []any{"query", "limit"}, Msg: "Input should be less than or equal to 1000", Type: "less_than_equal"},
	}}
	internal := map[string]any{"detail": "Internal server error"}
	cases := []struct {
		name   string
		err    error
		status int
		body   any
	}{
		{"not found", apperr.New(apperr.NotFound, 7, "TrustMarkType could not be found."), 404,
			map[string]any{"message": "TrustMarkType could not be found.", "id": float64(7)}},
		{"not found by another key has id 0", apperr.New(apperr.NotFound, 0, "TrustMarkType could not be found."), 404,
			map[string]any{"message": "TrustMarkType could not be found.", "id": float64(0)}},
		{"invalid", apperr.New(apperr.Invalid, 0, "TrustMarkType is not active."), 400,
			map[string]any{"message": "TrustMarkType is not active.", "id": float64(0)}},
		{"conflict answers 403 with the existing resource as the body",
			&apperr.Error{Kind: apperr.Exists, Message: "exists", Existing: existing}, 403,
			map[string]any{"id": float64(3), "tmtype": "https://tm.example/a", "active": true}},
		{"conflict without an existing value answers a message",
			apperr.New(apperr.Exists, 3, "exists"), 403, map[string]any{"message": "exists", "id": float64(3)}},
		{"busy is 409", apperr.New(apperr.Busy, 5, "retry"), 409, map[string]any{"message": "retry", "id": float64(5)}},
		{"wrapped application error", fmt.Errorf("update: %w", apperr.New(apperr.NotFound, 9, "gone")), 404,
			map[string]any{"message": "gone", "id": float64(9)}},
		{"unauthorized", apperr.E(apperr.Unauthorized), 401, map[string]any{"detail": "Unauthorized"}},
		{"unauthorized with a message (login)", apperr.E(apperr.Op("auth.Logins.Login"), apperr.Unauthorized, "Invalid credentials"), 401,
			map[string]any{"message": "Invalid credentials"}},
		{"forbidden", apperr.E(apperr.Forbidden), 403, map[string]any{"detail": "Forbidden"}},
		{"wrapped forbidden", fmt.Errorf("scope: %w", apperr.E(apperr.Forbidden)), 403, map[string]any{"detail": "Forbidden"}},
		{"CSRF", apperr.E(apperr.CSRF, "CSRF cookie not set."), 403, map[string]any{"detail": "CSRF check Failed: CSRF cookie not set."}},
		{"body too large", apperr.E(apperr.TooLarge), 413, map[string]any{"detail": "Request body too large (limit 1 MiB)"}},
		{"throttled", &apperr.Error{Kind: apperr.Throttled, Message: "Too many failed logins; try again later.", RetryAfter: 90 * time.Second}, 429,
			map[string]any{"message": "Too many failed logins; try again later."}},
		{"stale is 409", apperr.E(apperr.Op("dynamo.Resources"), apperr.Stale), 409, map[string]any{"message": "Conflict", "id": float64(0)}},
		{"a store's not found wrapped by a service's message", apperr.E(apperr.Op("resource.Get"), apperr.NotFound, "TrustMark does not exist.", int64(4),
			apperr.E(apperr.Op("dynamo.Resources"), apperr.NotFound)), 404, map[string]any{"message": "TrustMark does not exist.", "id": float64(4)}},
		{"validation", validation, 422, map[string]any{"detail": []any{
			map[string]any{"loc": []any{"body", "valid_for"}, "msg": "Input should be a valid integer", "type": "int_type"},
			map[string]any{"loc": []any{"query", "limit"}, "msg": "Input should be less than or equal to 1000", "type": "less_than_equal"},
		}}},
		{"wrapped validation", fmt.Errorf("decode: %w", validation), 422, nil},
		{"unknown error is a generic 500", errors.New("dynamodb: secret-table-name throttled at 10.0.0.1"), 500, internal},
		{"application error of an unknown kind is a generic 500", apperr.New(apperr.Kind("weird"), 1, "secret-detail"), 500, internal},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := StatusOf(c.err); got != c.status {
				t.Errorf("StatusOf = %d, want %d", got, c.status)
			}
			rec := httptest.NewRecorder()
			WriteError(rec, httptest.NewRequest("GET", "/api/v1/x", nil), c.err)
			if rec.Code != c.status {
				t.Errorf("status = %d, want %d", rec.Code, c.status)
			}
			got := decodeJSON(t, rec)
			if c.body != nil && !reflect.DeepEqual(got, c.body) {
				t.Errorf("body = %s, want %v", rec.Body, c.body)
			}
			if c.status == 500 {
				for _, secret := range []string{"secret", "dynamodb", "10.0.0.1", "weird"} {
					if strings.Contains(rec.Body.String(), secret) {
						t.Errorf("500 body leaks %q: %s", secret, rec.Body)
					}
				}
			}
			if rec.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("X-Content-Type-Options = %q, want nosniff", rec.Header().Get("X-Content-Type-Options"))
			}
		})
	}
}

// TestWriteJSON: a value that cannot be encoded is a 500, never a partial body.
func TestWriteJSON(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteJSON(rec, 200, map[string]any{"ok": true})
	if rec.Code != 200 || rec.Body.String() != `{"ok":true}` || rec.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("WriteJSON: %d %s %v", rec.Code, rec.Body, rec.Header())
	}
	rec = httptest.NewRecorder()
	WriteJSON(rec, 200, map[string]any{"ch": make(chan int)})
	if rec.Code != 500 || !reflect.DeepEqual(decodeJSON(t, rec), map[string]any{"detail": "Internal server error"}) {
		t.Errorf("WriteJSON(unencodable) = %d %s; want 500 Internal server error", rec.Code, rec.Body)
	}
}

// TestWriteErrorClientGone: a failure because the client hung up (its
// request context cancelled) is 499 in the logs, as information, not a 500
// logged as our error; a failure of a request still waiting stays a 500.
func TestWriteErrorClientGone(t *testing.T) {
	var logs bytes.Buffer
	previous := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(&logs, nil)))
	t.Cleanup(func() { slog.SetDefault(previous) })

	ctx, hangUp := context.WithCancel(context.Background())
	hangUp()
	gone := httptest.NewRequest("GET", "/api/v1/trustmarktypes/1", nil).WithContext(ctx)
	rec := httptest.NewRecorder()
	WriteError(rec, gone, fmt.Errorf("get item: operation error DynamoDB: GetItem: %w", context.Canceled))
	if rec.Code != StatusClientClosedRequest || rec.Body.Len() != 0 {
		t.Errorf("client gone: %d %q, want 499 without a body", rec.Code, rec.Body)
	}
	if line := logs.String(); !strings.Contains(line, `"level":"INFO"`) || !strings.Contains(line, `"msg":"client disconnected"`) {
		t.Errorf("client gone logged as %s, want one INFO line", line)
	}

	logs.Reset()
	waiting := httptest.NewRequest("GET", "/api/v1/trustmarktypes/1", nil)
	rec = httptest.NewRecorder()
	WriteError(rec, waiting, fmt.Errorf("get item: %w", context.Canceled)) // cancelled by us, not the client
	if rec.Code != 500 || !strings.Contains(logs.String(), `"level":"ERROR"`) {
		t.Errorf("client waiting: %d, logs %s; want a 500 logged as an error", rec.Code, logs.String())
	}
}

// TestWriteErrorThrottled: a throttled caller is told when to come back.
func TestWriteErrorThrottled(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteError(rec, httptest.NewRequest("POST", "/api/v1/auth/login", nil),
		apperr.E(apperr.Op("api.login"), &apperr.Error{Kind: apperr.Throttled, Message: "Too many failed logins; try again later.", RetryAfter: 89500 * time.Millisecond}))
	if rec.Code != 429 || rec.Header().Get("Retry-After") != "90" {
		t.Errorf("throttled: %d, Retry-After %q; want 429, 90", rec.Code, rec.Header().Get("Retry-After"))
	}
}

// noter is a ResponseRecorder that keeps the message WriteError notes.
type noter struct {
	*httptest.ResponseRecorder
	message string
}

func (n *noter) NoteError(message string) { n.message = message }

// TestWriteErrorNotesTheMessage: a writer that is an ErrorNoter learns the
// message answered: the body's message or detail, a 422's fields, the
// reason of an existing resource's 403, never a 500's cause.
func TestWriteErrorNotesTheMessage(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"not found", apperr.New(apperr.NotFound, 7, "TrustMarkType could not be found."), "TrustMarkType could not be found."},
		{"exists", &apperr.Error{Kind: apperr.Exists, Message: "TrustMarkType exists already.", Existing: map[string]any{"id": 3}}, "TrustMarkType exists already."},
		{"exists without a message", &apperr.Error{Kind: apperr.Exists, Existing: map[string]any{"id": 3}}, "Forbidden"},
		{"CSRF", apperr.E(apperr.CSRF, "CSRF token missing."), "CSRF check Failed: CSRF token missing."},
		{"forbidden", apperr.E(apperr.Forbidden), "Forbidden"},
		{"stale", apperr.E(apperr.Stale), "Conflict"},
		{"validation", &ValidationError{Details: []FieldError{
			{Loc: []any{"body", "valid_for"}, Msg: "Input should be a valid integer", Type: "int_type"},
			{Loc: []any{"path", "id"}, Msg: "Input should be a valid positive integer", Type: "int_parsing"},
		}}, "body.valid_for: Input should be a valid integer; path.id: Input should be a valid positive integer"},
		{"unprocessable field", apperr.InvalidField("jwks", "A key carries private members."), "body.jwks: A key carries private members."},
		{"too large", apperr.E(apperr.TooLarge), "Request body too large (limit 1 MiB)"},
		{"internal", errors.New("dynamodb: secret"), "Internal server error"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := &noter{ResponseRecorder: httptest.NewRecorder()}
			WriteError(w, httptest.NewRequest("POST", "/api/v1/x", nil), c.err)
			if w.message != c.want {
				t.Errorf("noted %q, want %q", w.message, c.want)
			}
		})
	}
}
