package adminapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/inmor/inmor-serverless/shared/apperr"
	"github.com/inmor/inmor-serverless/shared/auth"
	"github.com/inmor/inmor-serverless/shared/httpapi"
	"github.com/inmor/inmor-serverless/shared/resource"
	"github.com/inmor/inmor-serverless/shared/storage"
)

// SessionEvents records logins and logouts for the audit log
// (dynamo.Auth does): event is storage.SessionLogin or
// storage.SessionLogout, result storage.SessionResultSuccess or why the
// login failed; the attribution names the user (tried) and the request.
type SessionEvents interface {
	RecordSessionEvent(ctx context.Context, event, result string, a resource.Attribution) error
}

// RecordSessionEvent records a login or logout of username (user id 0 when
// unknown) that r was answered with status, as a session authenticates.
// Recording is best effort, as for failed attempts: a failure is logged
// and the answer stands. events may be nil (nothing is recorded). The
// password is never part of it.
func RecordSessionEvent(r *http.Request, events SessionEvents, event, result, username string, userID int64, status int) {
	if events == nil {
		return
	}
	rc := httpapi.RequestContextOf(r.Context())
	a := resource.Attribution{
		UserID: userID, Username: username, AuthMethod: auth.MethodSession, Tenant: auth.DefaultTenant,
		RequestID: rc.RequestID, SourceIP: rc.SourceIP, UserAgent: rc.UserAgent, Path: r.URL.Path, Method: r.Method,
		ResponseCode: status, CommittedAt: time.Now().UTC(),
	}
	if err := events.RecordSessionEvent(context.WithoutCancel(r.Context()), event, result, a); err != nil {
		slog.ErrorContext(r.Context(), "record session event", "error", err.Error(), "event", event, "request_id", rc.RequestID)
	}
}

// loginRefusal is the session event result and the status of a login
// refused with err: ok is false for an error that is no refusal (a fault,
// which records nothing).
func loginRefusal(err error) (result string, status int, ok bool) {
	switch {
	case apperr.Is(apperr.Throttled, err):
		return storage.SessionResultThrottled, http.StatusTooManyRequests, true
	case apperr.Is(apperr.Unauthorized, err):
		return storage.SessionResultInvalid, http.StatusUnauthorized, true
	}
	return "", 0, false
}
