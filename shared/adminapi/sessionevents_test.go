package adminapi

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/inmor/inmor-serverless/shared/auth"
	"github.com/inmor/inmor-serverless/shared/httpapi"
	"github.com/inmor/inmor-serverless/shared/memstore"
	"github.com/inmor/inmor-serverless/shared/resource"
)

// eventLog records session events in memory.
type eventLog struct {
	mu     sync.Mutex
	events []string
}

func (l *eventLog) RecordSessionEvent(_ context.Context, event, result string, a resource.Attribution) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, fmt.Sprintf("%s %s %s %d %d %s %s %s", event, result, a.Username, a.UserID, a.ResponseCode, a.SourceIP, a.RequestID, a.Path))
	return nil
}

// TestLoginsAndLogoutsAreRecorded: the API's login records each refusal
// (the username tried, the status) and success, and its logout the end of
// a valid session; a logout without a session records nothing.
func TestLoginsAndLogoutsAreRecorded(t *testing.T) {
	store := &memstore.Store{}
	hash, err := auth.HashPassword("pw-alice")
	if err != nil {
		t.Fatal(err)
	}
	alice, err := store.CreateUser(context.Background(), auth.User{Username: "alice", IsActive: true, PasswordHash: hash})
	if err != nil {
		t.Fatal(err)
	}
	log := &eventLog{}
	authn := &auth.Authenticator{Store: store, Sessions: store}
	h := NewAuthHandler(auth.Logins{Users: store, Sessions: store, Throttle: store}, store, authn, SessionConfig{Events: log})
	serve := func(path, body string, cookies ...*http.Cookie) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		for _, c := range cookies {
			r.AddCookie(c)
		}
		r = r.WithContext(httpapi.WithRequestContext(r.Context(), httpapi.RequestContext{RequestID: "req-" + fmt.Sprint(len(log.events)), SourceIP: "192.0.2.7", UserAgent: "test"}))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	serve("/api/v1/auth/login", `{"username":"alice","password":"wrong"}`)
	serve("/api/v1/auth/login", `{"username":"ghost","password":"wrong"}`)
	serve("/api/v1/auth/login", `{"username":"alice"}`) // 422: no login
	w := serve("/api/v1/auth/login", `{"username":"alice","password":"pw-alice"}`)
	var session *http.Cookie
	for _, c := range w.Result().Cookies() {
		if c.Name == auth.SessionCookie {
			session = c
		}
	}
	if w.Code != http.StatusOK || session == nil {
		t.Fatalf("login: %d %s", w.Code, w.Body)
	}
	serve("/api/v1/auth/logout", "", session)
	serve("/api/v1/auth/logout", "", session) // ended already
	for range auth.MaxLoginFailures {
		serve("/api/v1/auth/login", `{"username":"bob","password":"wrong"}`)
	}
	serve("/api/v1/auth/login", `{"username":"bob","password":"wrong"}`)
	want := []string{
		"login invalid_credentials alice 0 401 192.0.2.7 req-0 /api/v1/auth/login",
		"login invalid_credentials ghost 0 401 192.0.2.7 req-1 /api/v1/auth/login",
		fmt.Sprintf("login success alice %d 200 192.0.2.7 req-2 /api/v1/auth/login", alice.ID),
		fmt.Sprintf("logout success alice %d 200 192.0.2.7 req-3 /api/v1/auth/logout", alice.ID),
	}
	for i := range auth.MaxLoginFailures {
		want = append(want, fmt.Sprintf("login invalid_credentials bob 0 401 192.0.2.7 req-%d /api/v1/auth/login", 4+i))
	}
	want = append(want, fmt.Sprintf("login throttled bob 0 429 192.0.2.7 req-%d /api/v1/auth/login", 4+auth.MaxLoginFailures))
	if strings.Join(log.events, "\n") != strings.Join(want, "\n") {
		t.Errorf("events:\n%s\nwant\n%s", strings.Join(log.events, "\n"), strings.Join(want, "\n"))
	}
	for _, e := range log.events {
		if strings.Contains(e, "pw-alice") || strings.Contains(e, "wrong") {
			t.Errorf("an event holds a password: %s", e)
		}
	}
}
