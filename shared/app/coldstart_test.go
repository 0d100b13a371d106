package app_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/inmor/inmor-serverless/shared/app"
	"github.com/inmor/inmor-serverless/shared/signing"
)

// BenchmarkColdStart measures each function's init: from exec to its first
// request for work (GET .../runtime/invocation/next) to a fake Lambda
// runtime API, against a hello-world aws-lambda-go function built the same
// way (-tags lambda.norpc -trimpath -ldflags "-s -w"). It reports each
// function's time and its ratio to hello's (goal: at most 1.4), and to
// hellodynamodb's: hello with a DynamoDB client, whose SDK init alone
// (generated schemas and endpoint tables, about 1.2 ms) is most of what
// the functions add to hello.
func BenchmarkColdStart(b *testing.B) {
	dir := b.TempDir()
	build := func(name, pkg string) string {
		out := filepath.Join(dir, name)
		cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags", "-s -w", "-o", out, pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if msg, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("build %s: %v\n%s", pkg, err, msg)
		}
		return out
	}
	keyFile := filepath.Join(dir, "signing-key.json")
	if _, err := signing.GenerateLocalFile(keyFile); err != nil {
		b.Fatal(err)
	}
	binaries := map[string]string{"hello": build("hello", "./testdata/hello"), "hellodynamodb": build("hellodynamodb", "./testdata/hellodynamodb")}
	names := []string{"hello", "hellodynamodb"}
	for _, spec := range app.Specs() {
		binaries[spec.Name] = build(spec.Name, "../../functions/"+spec.Name)
		names = append(names, spec.Name)
	}

	next := make(chan time.Time, 1)
	runtimeAPI := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/runtime/invocation/next") {
			next <- time.Now()
			<-r.Context().Done() // no work: the function waits until it is stopped
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer runtimeAPI.Close()
	env := append(os.Environ(),
		"AWS_LAMBDA_RUNTIME_API="+strings.TrimPrefix(runtimeAPI.URL, "http://"),
		"AWS_REGION=eu-north-1", "AWS_ACCESS_KEY_ID=bench", "AWS_SECRET_ACCESS_KEY=bench",
		"AWS_ENDPOINT_URL=http://127.0.0.1:9", // never called at init
		"SIGNING_KEY_FILE="+keyFile, "AWS_LAMBDA_FUNCTION_NAME=bench", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256",
		"MFA_KEY=the benchmark's MFA key, 32 bytes or more")

	coldStart := func(binary string) time.Duration {
		cmd := exec.Command(binary)
		cmd.Env = env
		start := time.Now()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
		select {
		case at := <-next:
			return at.Sub(start)
		case <-time.After(10 * time.Second):
			b.Fatalf("%s never asked for work", binary)
			return 0
		}
	}
	total := map[string]time.Duration{}
	for b.Loop() {
		for _, name := range names {
			total[name] += coldStart(binaries[name])
		}
	}
	hello := float64(total["hello"]) / float64(b.N)
	withSDK := float64(total["hellodynamodb"]) / float64(b.N)
	b.ReportMetric(hello/1e3, "hello-µs")
	for _, name := range names[1:] {
		mean := float64(total[name]) / float64(b.N)
		b.ReportMetric(mean/1e3, fmt.Sprintf("%s-µs", name))
		b.ReportMetric(mean/hello, fmt.Sprintf("%s-x-hello", name))
		if name != "hellodynamodb" {
			b.ReportMetric(mean/withSDK, fmt.Sprintf("%s-x-hellodynamodb", name))
		}
	}
}
