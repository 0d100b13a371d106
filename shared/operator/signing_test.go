package operator_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/inmor/inmor-serverless/shared/dynamo"
	"github.com/inmor/inmor-serverless/shared/dynamotest"
	"github.com/inmor/inmor-serverless/shared/operator"
	"github.com/inmor/inmor-serverless/shared/tables"
)

// TestSigningRetireAndList: inmorctl signing retire adds retired keys to
// the resources table (with exp and a revocation), refuses private keys,
// unknown reasons and malformed flags with exit 2 or 1 and a clear
// message, and signing list shows them.
func TestSigningRetireAndList(t *testing.T) {
	t.Parallel()
	// A local endpoint: the operator is "local", no AWS identity to ask.
	getenv := dynamotest.Getenv(t, map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": dynamotest.Endpoint()})
	client := dynamo.NewClient(dynamo.LocalConfig(dynamotest.Endpoint()))
	dynamotest.CreateTable(t, client, dynamo.CreateTableInput(tables.Resources, tables.Resources.Name(getenv)))
	run := func(args ...string) result {
		t.Helper()
		var stdout, stderr strings.Builder
		code := operator.Run(context.Background(), args, operator.Env{
			Getenv: getenv, Stdout: &stdout, Stderr: &stderr,
			DynamoDB: func(context.Context) (*dynamodb.Client, error) { return client, nil },
		})
		return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
	}
	dir := t.TempDir()
	file := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	public := file("old.json", `{"kty":"OKP","crv":"Ed25519","kid":"old-1","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`)
	private := file("private.json", `{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}`)
	notJSON := file("bad.json", `kty=OKP`)

	if r := run("signing", "list"); r.code != 0 || r.stdout != "No retired keys.\n" {
		t.Errorf("list of none: %+v", r)
	}
	if r := run("signing", "retire", "--jwk", public, "--exp", "2027-01-01T00:00:00Z"); r.code != 0 ||
		r.stdout != "Retired key old-1 (exp 2027-01-01T00:00:00Z); 1 retired key(s) in all.\n" {
		t.Errorf("retire: %+v", r)
	}
	if r := run("signing", "retire", "--jwk", public, "--exp", "1798761600", "--revoked-reason", "compromised"); r.code != 0 ||
		!strings.Contains(r.stdout, "1 retired key(s) in all") {
		t.Errorf("retire the same key again (revoked): %+v", r)
	}
	r := run("signing", "list")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if r.code != 0 || len(lines) != 2 || !strings.HasPrefix(lines[0], "Kid") ||
		!strings.Contains(lines[1], "old-1") || !strings.Contains(lines[1], "OKP") || !strings.Contains(lines[1], "2027-01-01T00:00:00Z") || !strings.Contains(lines[1], "(compromised)") {
		t.Errorf("list: %+v", r)
	}

	for _, c := range []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no --jwk", []string{"--exp", "2027-01-01T00:00:00Z"}, 2, "--jwk is required"},
		{"no --exp", []string{"--jwk", public}, 2, "--exp is required"},
		{"a bad time", []string{"--jwk", public, "--exp", "next year"}, 2, "--exp: want RFC 3339"},
		{"a missing file", []string{"--jwk", filepath.Join(dir, "none.json"), "--exp", "1"}, 2, "no such file"},
		{"not JSON", []string{"--jwk", notJSON, "--exp", "1"}, 2, "does not hold a JWK"},
		{"a private key", []string{"--jwk", private, "--exp", "1"}, 1, "jwk: private key members are not allowed (d)"},
		{"an unknown reason", []string{"--jwk", public, "--exp", "1", "--revoked-reason", "lost"}, 1, `revoked_reason: "lost" is not one of unspecified, compromised, superseded`},
	} {
		r := run(append([]string{"signing", "retire"}, c.args...)...)
		if r.code != c.code || !strings.Contains(r.stderr, c.stderr) {
			t.Errorf("%s: exit %d, stderr %q; want exit %d and %q", c.name, r.code, r.stderr, c.code, c.stderr)
		}
	}
	if r := run("signing", "list"); !strings.Contains(r.stdout, "(compromised)") || strings.Count(r.stdout, "\n") != 2 {
		t.Errorf("refusals changed the retired keys: %+v", r)
	}
}
