package localstack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/inmor/inmor-serverless/shared/integrity"

	"github.com/inmor/inmor-serverless/shared/dynamo"
	"github.com/inmor/inmor-serverless/shared/dynamotest"
	"github.com/inmor/inmor-serverless/shared/localstack"
	"github.com/inmor/inmor-serverless/shared/reconcile"
)

func TestMain(m *testing.M) { dynamotest.Main(m) }

const testKey = "test-key-0123456789abcdefghijklmnopqrstuvwxyz"

// startStack runs a local stack on the test endpoint with tables of its own.
// When the test ends (and has not failed), the stream is drained and the
// audit log verified as `inmorctl audit verify` does; every problem fails the
// test, so every integration test proves a clean log. A test that makes the
// log inconsistent on purpose opts out with allowInconsistentLog.
func startStack(t *testing.T, configure ...func(*localstack.Options)) *localstack.Stack {
	t.Helper()
	o := localstack.Options{
		Endpoint: dynamotest.Endpoint(),
		Getenv: dynamotest.Getenv(t, map[string]string{
			"INMOR_DEV_API_KEY": testKey, "INMOR_DEV_ADMIN_PASSWORD": "test-password",
			"SIGNING_KEY_FILE":     filepath.Join(t.TempDir(), "signing-key.json"),
			"AUDIT_LOG_KEY_FILE":   filepath.Join(t.TempDir(), "audit-log-key"),
			"ATTRIBUTION_KEY_FILE": filepath.Join(t.TempDir(), "attribution-key"),
			"MFA_KEY_FILE":         filepath.Join(t.TempDir(), "mfa-key"),
		}),
		Out:    io.Discard,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	for _, c := range configure {
		c(&o)
	}
	s, err := localstack.Start(context.Background(), o)
	if err != nil {
		t.Fatalf("start stack: %v", err)
	}
	t.Cleanup(s.Stop)
	t.Cleanup(func() { // runs before Stop
		if t.Failed() {
			return
		}
		if why := inconsistentLogAllowed(t); why != "" {
			t.Logf("audit log not verified: %s", why)
			return
		}
		drain(t, s)
		verifyLog(t, s)
	})
	return s
}

// inconsistentLogs holds the tests whose logs are not verified (test name:
// why), set by allowInconsistentLog.
var inconsistentLogs = sync.Map{}

// allowInconsistentLog exempts the stacks of this test (and its subtests)
// from the verification at their end; say why. Out-of-band changes are no
// reason: they verify clean.
func allowInconsistentLog(t *testing.T, why string) {
	t.Helper()
	if why == "" {
		t.Fatal("allowInconsistentLog needs a reason")
	}
	inconsistentLogs.Store(t.Name(), why)
}

// inconsistentLogAllowed returns why this test, or a test it is part of,
// may leave an inconsistent log ("" when it may not).
func inconsistentLogAllowed(t *testing.T) string {
	for name := t.Name(); name != ""; {
		if why, ok := inconsistentLogs.Load(name); ok {
			return why.(string)
		}
		i := strings.LastIndex(name, "/")
		if i < 0 {
			break
		}
		name = name[:i]
	}
	return ""
}

// drain polls until the stream holds nothing more to handle, without the
// API (a test may have revoked its key).
func drain(t testing.TB, s *localstack.Stack) {
	t.Helper()
	for i := 0; i < 100; i++ {
		n, err := s.Poller.PollOnce(context.Background())
		if err == nil && n == 0 {
			return
		}
	}
	t.Errorf("the stream did not settle")
}

// verifyLog verifies the stack's audit log against its resources
// (`inmorctl audit verify`) and reports each problem as an error of t.
func verifyLog(t testing.TB, s *localstack.Stack) {
	t.Helper()
	v := &reconcile.Verifier{
		Client:         dynamo.NewClient(dynamo.LocalConfig(s.Endpoint)), // without the test's meters
		ResourcesTable: s.Config.ResourcesTable,
		AuditTable:     s.Config.AuditTable,
	}
	problems, sum, err := v.Problems(context.Background())
	if err != nil {
		t.Errorf("verify the audit log: %v", err)
		return
	}
	for _, p := range problems {
		t.Errorf("audit log: %s", p)
	}
	if len(problems) > 0 {
		t.Errorf("audit log: %s", sum)
	}
	// And its integrity: the tree the entries give is the one signed.
	verifier, err := note.NewVerifier(s.LogKey.VerifierKey)
	if err != nil {
		t.Errorf("audit log key: %v", err)
		return
	}
	inventory := &dynamo.Inventory{Client: v.Client, AuditTable: s.Config.AuditTable}
	stored, err := inventory.StoredLog(context.Background())
	if err != nil {
		t.Errorf("read the audit log: %v", err)
		return
	}
	integritySum, findings := integrity.Check(stored, verifier)
	for _, f := range findings {
		t.Errorf("audit log: %s", f)
	}
	if len(findings) > 0 {
		t.Errorf("audit log: %s", integritySum)
	}
}

type response struct {
	Status int
	Body   []byte
	Header http.Header
}

func (r response) JSON(t *testing.T) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("response is not a JSON object: %v: %s", err, r.Body)
	}
	return v
}

// call sends a request with the test key (unless key is "-") and a JSON body.
func call(t *testing.T, s *localstack.Stack, method, path, body string, headers ...string) response {
	t.Helper()
	var reader io.Reader
	if body != "" {
		reader = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.URL+path, reader)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-Key", testKey)
	req.Header.Set("User-Agent", "localstack-test/1.0")
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{Status: resp.StatusCode, Body: b, Header: resp.Header}
}

func mustStatus(t *testing.T, r response, want int) {
	t.Helper()
	if r.Status != want {
		t.Fatalf("status %d, want %d: %s", r.Status, want, r.Body)
	}
}

// auditPage is a page of GET /auditlog.
type auditPage struct {
	Items []map[string]any `json:"items"`
	Count int              `json:"count"`
}

func listAudit(t *testing.T, s *localstack.Stack, query string) auditPage {
	t.Helper()
	r := call(t, s, http.MethodGet, "/api/v1/auditlog"+query, "")
	mustStatus(t, r, http.StatusOK)
	var p auditPage
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// waitForEntries waits until the audit log holds at least n entries.
func waitForEntries(t *testing.T, s *localstack.Stack, n int) auditPage {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		p := listAudit(t, s, "?limit=1000")
		if p.Count >= n {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("audit log holds %d entries, want %d", p.Count, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// settle polls until the stream holds nothing more to handle (a failed
// batch is retried, as Lambda would), then returns the audit log.
func settle(t *testing.T, s *localstack.Stack) auditPage {
	t.Helper()
	for i := 0; i < 100; i++ {
		n, err := s.Poller.PollOnce(context.Background())
		if err == nil && n == 0 {
			return listAudit(t, s, "?limit=1000")
		}
	}
	t.Fatal("the stream did not settle")
	return auditPage{}
}

func compactJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	_ = json.Compact(&buf, b)
	return buf.String()
}
