package localstack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"

	"github.com/inmor/inmor-serverless/shared/localstack"
	"github.com/inmor/inmor-serverless/shared/logging"
)

// lockedBuffer is a log destination shared by the stack's goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written so far.
func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// lines returns the JSON log lines written so far.
func (b *lockedBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(b.buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// TestClientHangUp: a client that hangs up while its request waits for
// DynamoDB is logged as a client disconnect (499, information), never as a
// 500 or an error.
func TestClientHangUp(t *testing.T) {
	logs := &lockedBuffer{}
	logger := logging.New(logs, "")
	previous := slog.Default()
	slog.SetDefault(logger) // the functions log to the default logger
	t.Cleanup(func() { slog.SetDefault(previous) })

	const path = "/api/v1/trustmarktypes/1"
	var resourcesTable string
	// DynamoDB that never answers reads of the resources table.
	stall := func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
			return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("Stall",
				func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
					if get, ok := in.Parameters.(*dynamodb.GetItemInput); ok && aws.ToString(get.TableName) == resourcesTable {
						<-ctx.Done()
						return middleware.InitializeOutput{}, middleware.Metadata{}, ctx.Err()
					}
					return next.HandleInitialize(ctx, in)
				}), middleware.Before)
		})
	}
	s := startStack(t, func(o *localstack.Options) {
		o.Logger = logger
		o.DynamoDBOptions = []func(*dynamodb.Options){stall}
	})
	resourcesTable = s.Config.ResourcesTable

	client := &http.Client{Timeout: 300 * time.Millisecond}
	req, _ := http.NewRequest(http.MethodGet, s.URL+path, nil)
	req.Header.Set("X-API-Key", s.APIKey)
	if resp, err := client.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("the stalled request answered %d", resp.StatusCode)
	}

	deadline := time.Now().Add(10 * time.Second)
	for {
		var gateway map[string]any
		for _, line := range logs.lines(t) {
			if line["path"] == path && line["function"] != nil && line["msg"] == "request" {
				gateway = line
			}
		}
		if gateway != nil {
			if gateway["status"] != float64(499) || gateway["level"] != "INFO" {
				t.Errorf("gateway logged %v, want status 499 at INFO", gateway)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no gateway log line for %s: %v", path, logs.lines(t))
		}
		time.Sleep(20 * time.Millisecond)
	}
	disconnected := false
	for _, line := range logs.lines(t) {
		if line["level"] == "ERROR" || line["status"] == float64(500) {
			t.Errorf("logged %v, want no error and no 500", line)
		}
		disconnected = disconnected || (line["msg"] == "client disconnected" && line["path"] == path)
	}
	if !disconnected {
		t.Errorf("no client disconnected line: %v", logs.lines(t))
	}
}

// duplicateKeys returns the keys a JSON object line repeats.
func duplicateKeys(t *testing.T, line string) []string {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(line))
	if tok, err := d.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("log line %q is not a JSON object", line)
	}
	seen, dups := map[string]bool{}, []string(nil)
	for d.More() {
		key, err := d.Token()
		if err != nil {
			t.Fatal(err)
		}
		if seen[key.(string)] {
			dups = append(dups, key.(string))
		}
		seen[key.(string)] = true
		var skip json.RawMessage
		if err := d.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return dups
}

// TestOneLogLinePerRequest: the local stack logs each request once, the
// line of the function that served it (named, with the request id), and
// a request the gateway answers itself once too; no line repeats a key.
func TestOneLogLinePerRequest(t *testing.T) {
	logs := &lockedBuffer{}
	logger := logging.New(logs, "")
	previous := slog.Default()
	slog.SetDefault(logger)
	t.Cleanup(func() { slog.SetDefault(previous) })
	s := startStack(t, func(o *localstack.Options) { o.Logger = logger })

	mustStatus(t, call(t, s, http.MethodPost, "/api/v1/trustmarktypes", `{"tmtype":"https://tm.example/one-line"}`), http.StatusCreated)
	mustStatus(t, call(t, s, http.MethodGet, "/api/v1/nowhere", ""), http.StatusNotFound)
	counts := map[string]int{}
	for _, raw := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if dups := duplicateKeys(t, raw); len(dups) > 0 {
			t.Errorf("log line repeats %v: %s", dups, raw)
		}
	}
	for _, line := range logs.lines(t) {
		if line["msg"] != "request" {
			continue
		}
		path, _ := line["path"].(string)
		counts[path]++
		if path == "/api/v1/trustmarktypes" && (line["function"] != "trustmarktypes" || line["request_id"] == nil || line["status"] != float64(201)) {
			t.Errorf("the request's line %v: want the function's name, the request id and 201", line)
		}
	}
	if counts["/api/v1/trustmarktypes"] != 1 || counts["/api/v1/nowhere"] != 1 {
		t.Errorf("request lines per path %v, want one each", counts)
	}
}
