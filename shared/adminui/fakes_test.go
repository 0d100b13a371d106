package adminui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/inmor/inmor-serverless/shared/memstore"

	"github.com/inmor/inmor-serverless/shared/adminapi"
	"github.com/inmor/inmor-serverless/shared/adminui"
	"github.com/inmor/inmor-serverless/shared/apperr"
	"github.com/inmor/inmor-serverless/shared/audit"
	"github.com/inmor/inmor-serverless/shared/auth"
)

// TestMain keeps the access log of every request out of the test output.
func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	os.Exit(m.Run())
}

// fakeReader is an audit log of fixed entries (newest first) that records
// every query; List answers every entry whatever the filter, with next as
// the position of a further page.
type fakeReader struct {
	mu      sync.Mutex
	entries []map[string]any
	next    *audit.Position
	queries []audit.Query
}

func (r *fakeReader) List(_ context.Context, q audit.Query) (audit.Page, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.queries = append(r.queries, q)
	page := audit.Page{Items: []json.RawMessage{}, Count: len(r.entries), CountExact: true, Next: r.next}
	for _, e := range r.entries {
		summary := map[string]any{}
		for k, v := range e {
			if k != "snapshot_before" && k != "snapshot_after" {
				summary[k] = v
			}
		}
		b, err := json.Marshal(summary)
		if err != nil {
			return audit.Page{}, err
		}
		page.Items = append(page.Items, b)
	}
	return page, nil
}

func (r *fakeReader) Get(_ context.Context, id int64) (json.RawMessage, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.entries {
		if fmt.Sprint(e["id"]) == strconv.FormatInt(id, 10) {
			return json.Marshal(e)
		}
	}
	return nil, apperr.E(apperr.NotFound)
}

func (r *fakeReader) lastQuery(t *testing.T) audit.Query {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.queries) == 0 {
		t.Fatal("the reader was not queried")
	}
	return r.queries[len(r.queries)-1]
}

func (r *fakeReader) queryCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.queries)
}

// Users of the tests: their passwords are "pw-" + username.
var testUsers = []auth.User{
	{Username: "root", IsActive: true, IsStaff: true, IsSuperuser: true},
	{Username: "auditor", IsActive: true, IsStaff: true},
	{Username: "alice", IsActive: true},
}

// hashes are the test users' password hashes, made once (argon2id is slow).
var hashes = sync.OnceValue(func() map[string]string {
	out := map[string]string{}
	for _, u := range testUsers {
		h, err := auth.HashPassword("pw-" + u.Username)
		if err != nil {
			panic(err)
		}
		out[u.Username] = h
	}
	return out
})

// site is the auditquery function with the admin view, as Lambda runs it.
type site struct {
	t       *testing.T
	handler http.Handler
	store   *memstore.Store
	users   map[string]auth.User
	reader  *fakeReader
	cursors *audit.CursorCodec
	// mfa holds the second factors of newMFASite.
	mfa *memstore.MFA
}

func newSite(t *testing.T, entries ...map[string]any) *site {
	t.Helper()
	store, users := &memstore.Store{}, map[string]auth.User{}
	for _, u := range testUsers {
		u.PasswordHash = hashes()[u.Username]
		created, err := store.CreateUser(context.Background(), u)
		if err != nil {
			t.Fatal(err)
		}
		users[u.Username] = created
	}
	cursors, err := audit.NewCursorCodec([]byte("adminui-test"))
	if err != nil {
		t.Fatal(err)
	}
	reader := &fakeReader{entries: entries}
	authn := &auth.Authenticator{Store: store, Sessions: store}
	pages := adminui.New(adminui.Config{
		Reader: reader, Cursors: cursors, Sessions: authn,
		Logins: auth.Logins{Users: store, Sessions: store, Throttle: store},
	})
	return &site{t: t, handler: adminapi.NewAuditQueryHandler(reader, nil, authn, cursors, pages), store: store, users: users, reader: reader, cursors: cursors}
}

// session opens a session for a test user and returns its id.
func (s *site) session(username string) string {
	s.t.Helper()
	u := s.users[username]
	id := "session-of-" + username
	now := time.Now()
	if err := s.store.CreateSession(context.Background(), auth.Session{
		Hash: auth.HashSessionID(id), Username: u.Username, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour),
	}); err != nil {
		s.t.Fatal(err)
	}
	return id
}

const testToken = "csrf-token-0123456789abcdefghijklmnopqrstuvwxyz"

// request is one request to the site; cookies and headers are name, value
// pairs.
type request struct {
	method, target string
	form           url.Values
	cookies        []string
	headers        []string
}

func (s *site) do(req request) *httptest.ResponseRecorder {
	s.t.Helper()
	var body *strings.Reader
	if req.form != nil {
		body = strings.NewReader(req.form.Encode())
	} else {
		body = strings.NewReader("")
	}
	r := httptest.NewRequest(req.method, req.target, body)
	if req.form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(req.cookies); i += 2 {
		r.AddCookie(&http.Cookie{Name: req.cookies[i], Value: req.cookies[i+1]})
	}
	for i := 0; i+1 < len(req.headers); i += 2 {
		r.Header.Set(req.headers[i], req.headers[i+1])
	}
	rec := httptest.NewRecorder()
	s.handler.ServeHTTP(rec, r)
	return rec
}

// get fetches a page as the user of a session ("" for none).
func (s *site) get(target, sessionID string) *httptest.ResponseRecorder {
	s.t.Helper()
	req := request{method: http.MethodGet, target: target}
	if sessionID != "" {
		req.cookies = []string{auth.SessionCookie, sessionID, auth.CSRFCookie, testToken}
	}
	return s.do(req)
}

// setCookie returns the cookie a response sets, or nil.
func setCookie(rec *httptest.ResponseRecorder, name string) *http.Cookie {
	for _, c := range rec.Result().Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// testEntry is an audit entry as the reader returns it; fields override.
func testEntry(id int, fields map[string]any) map[string]any {
	e := map[string]any{
		"id": id, "timestamp": time.Date(2026, 3, 1, 12, 0, id, 123456000, time.UTC).Format(audit.TimeFormat),
		"user_id": 1, "username": "root", "auth_method": "api_key", "api_key_name": "ci", "tenant": "default",
		"ip_address": "203.0.113.9", "user_agent": "inmor-client/1.0", "request_id": "req-" + string(rune('a'+id%26)),
		"action": "UPDATE", "resource_type": "Subordinate", "resource_id": 3, "resource_repr": "https://rp.example.org",
		"endpoint": "/api/v1/subordinates/3", "http_method": "POST", "response_code": 200, "success": true,
		"diff": nil, "event_type": "metadata_update", "snapshot_before": nil, "snapshot_after": nil,
	}
	for k, v := range fields {
		e[k] = v
	}
	return e
}
