package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/inmor/inmor-serverless/shared/apigw"
)

func TestEveryLineCarriesTheRequestID(t *testing.T) {
	var buf bytes.Buffer
	log := New(&buf, "trustmarks")
	var httpCtx context.Context // the context of a request served through API Gateway
	_, err := apigw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpCtx = r.Context()
		w.WriteHeader(http.StatusOK)
	}))(context.Background(), events.APIGatewayV2HTTPRequest{RawPath: "/", RequestContext: events.APIGatewayV2HTTPRequestContext{
		RequestID: "api-req-1", HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET"},
	}})
	if err != nil || httpCtx == nil {
		t.Fatalf("serve a request: %v", err)
	}
	lambdaCtx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "lambda-req-2"})
	log.InfoContext(httpCtx, "request", "status", 200)
	log.With("k", "v").ErrorContext(lambdaCtx, "batch failed")
	log.Info("no context")
	var lines []map[string]any
	dec := json.NewDecoder(&buf)
	for dec.More() {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, m)
	}
	if len(lines) != 3 {
		t.Fatalf("%d lines", len(lines))
	}
	if lines[0]["request_id"] != "api-req-1" || lines[0]["function"] != "trustmarks" || lines[0]["status"] != 200.0 {
		t.Errorf("HTTP line %v", lines[0])
	}
	if lines[1]["request_id"] != "lambda-req-2" || lines[1]["k"] != "v" || lines[1]["level"] != "ERROR" {
		t.Errorf("Lambda line %v", lines[1])
	}
	if _, ok := lines[2]["request_id"]; ok {
		t.Errorf("a line without request has a request id: %v", lines[2])
	}
}

// TestFunctionFromTheContext: a logger without a function name takes the
// one its call's context carries, once; a named logger keeps its own.
func TestFunctionFromTheContext(t *testing.T) {
	var buf bytes.Buffer
	ctx := WithFunction(context.Background(), "trustmarks")
	New(&buf, "").InfoContext(ctx, "request")
	New(&buf, "").Info("no context")
	New(&buf, "audit").Info("batch")
	want := []string{
		`"function":"trustmarks"`, `"msg":"no context"}`, `"function":"audit"`,
	}
	lines := bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
	if len(lines) != 3 {
		t.Fatalf("%d lines: %s", len(lines), buf.String())
	}
	for i, line := range lines {
		if !bytes.Contains(line, []byte(want[i])) || bytes.Count(line, []byte(`"function"`)) > 1 {
			t.Errorf("line %d %s: want %s once", i, line, want[i])
		}
	}
	if bytes.Contains(lines[1], []byte(`"function"`)) {
		t.Errorf("a line without a function in its context names one: %s", lines[1])
	}
}
