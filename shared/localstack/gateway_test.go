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
	logger := slog.New(slog.NewJSONHandler(logs, nil))
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
