package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// The app is synthesized once per test binary (starting node and
// synthesizing takes about ten seconds) and every test reads the result.
var (
	synthOnce sync.Once
	synthed   *synthesis
	synthErr  error
)

// Context the tests deploy with.
const (
	testAuthorityHint    = "https://superior.example.org"
	testInformationURI   = "https://ta.example.org/events?sub={sub}"
	testTrustMarks       = `[{"trust_mark_type":"https://tm.example.org/member","trust_mark":"e30.e30.c2ln"}]`
	testTrustMarkIssuers = `{"https://tm.example.org/member":["https://issuer.example.org"]}`
	testEntityID         = "https://ta.example.org"
	testOrigin           = "https://admin.example.org"
	testOrigin2          = "http://localhost:5173"
	// testBreakGlass is the break-glass role the tests deploy with.
	testBreakGlass = "arn:aws:iam::123456789012:role/ops/InmorBreakGlass"
)

type synthesis struct {
	stack    *InmorStack
	template assertions.Template
	// resources of the template by logical id.
	resources map[string]cfnResource
	outputs   map[string]any
	// templateFile is the synthesized template on disk (for cfn-lint).
	templateFile string
	took         time.Duration
}

type cfnResource struct {
	Type           string         `json:"Type"`
	Properties     map[string]any `json:"Properties"`
	DeletionPolicy string         `json:"DeletionPolicy"`
	UpdateReplace  string         `json:"UpdateReplacePolicy"`
	DependsOn      any            `json:"DependsOn"`
}

func TestMain(m *testing.M) {
	os.Setenv("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
	code := m.Run()
	if synthed != nil {
		_ = os.RemoveAll(filepath.Dir(synthed.templateFile))
	}
	jsii.Close()
	os.Exit(code)
}

// placeholderBuild writes a stand-in bootstrap per function: the tests
// check the template, not the binaries, so they need not run `make build`.
func placeholderBuild(dir string) error {
	for _, f := range Functions() {
		if err := os.MkdirAll(filepath.Join(dir, f.Name), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, f.Name, "bootstrap"), []byte("placeholder "+f.Name), 0o755); err != nil {
			return err
		}
	}
	return nil
}

// synthesize synthesizes the app with the tests' context, in a new
// temporary folder.
func synthesize() (*synthesis, error) {
	tmp, err := os.MkdirTemp("", "inmor-infra-test-")
	if err != nil {
		return nil, err
	}
	return synthesizeIn(tmp, nil)
}

// synthesizeIn synthesizes the app in tmp with the tests' context, changed
// by override.
func synthesizeIn(tmp string, override map[string]any) (*synthesis, error) {
	start := time.Now()
	build := filepath.Join(tmp, "build")
	if err := placeholderBuild(build); err != nil {
		return nil, err
	}
	outdir := filepath.Join(tmp, "cdk.out")
	context := map[string]any{
		"buildDir":          build,
		"entityId":          testEntityID,
		"allowedOrigins":    testOrigin + ", " + testOrigin2,
		"breakGlassRoleArn": testBreakGlass,
		// Optional settings of the functions.
		"authorityHints": testAuthorityHint, "serverExpiryHours": "48",
		"trustMarks": testTrustMarks, "trustMarkIssuers": testTrustMarkIssuers,
		"subordinateEventsTtlHours": "12", "subordinateEventsInformationUri": testInformationURI,
		"webAuthnRpId": "example.org",
	}
	for k, v := range override {
		context[k] = v
	}
	app, stack, err := newApp(&awscdk.AppProps{Outdir: jsii.String(outdir), Context: &context})
	if err != nil {
		return nil, err
	}
	assembly := app.Synth(nil)
	s := &synthesis{stack: stack, took: time.Since(start)}
	s.templateFile = filepath.Join(*assembly.Directory(), *stack.Stack.TemplateFile())
	s.template = assertions.Template_FromStack(stack.Stack, nil)
	raw, err := json.Marshal(s.template.ToJSON())
	if err != nil {
		return nil, err
	}
	var parsed struct {
		Resources map[string]cfnResource `json:"Resources"`
		Outputs   map[string]any         `json:"Outputs"`
	}
	if err := json.Unmarshal(raw, &parsed); err != nil {
		return nil, err
	}
	s.resources, s.outputs = parsed.Resources, parsed.Outputs
	return s, nil
}

// synth returns the synthesized app, synthesizing it on first use.
func synth(t *testing.T) *synthesis {
	t.Helper()
	synthOnce.Do(func() {
		defer func() {
			if r := recover(); r != nil {
				synthErr = fmt.Errorf("synthesis panicked: %v", r)
			}
		}()
		synthed, synthErr = synthesize()
		if synthed != nil {
			fmt.Printf("infra: synthesized in %s\n", synthed.took.Round(time.Millisecond))
		}
	})
	if synthErr != nil {
		t.Fatalf("synthesize the app: %v", synthErr)
	}
	return synthed
}

// check runs a CDK assertion, turning its panic into a test failure.
func check(t *testing.T, what string, assertion func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s: %v", what, r)
		}
	}()
	assertion()
}

// logicalID is the template id of a construct's CloudFormation resource.
func (s *synthesis) logicalID(c constructs.IConstruct) string {
	return *s.stack.Stack.GetLogicalId(c.Node().DefaultChild().(awscdk.CfnElement))
}

// ofType returns the logical ids of the resources of a type, sorted.
func (s *synthesis) ofType(typ string) []string {
	var ids []string
	for id, r := range s.resources {
		if r.Type == typ {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// ref resolves {"Ref": id} and {"Fn::GetAtt": [id, attr]} to "id" and "id.attr".
func ref(v any) string {
	m, ok := v.(map[string]any)
	if !ok {
		return ""
	}
	if r, ok := m["Ref"].(string); ok {
		return r
	}
	if g, ok := m["Fn::GetAtt"].([]any); ok && len(g) == 2 {
		return fmt.Sprint(g[0]) + "." + fmt.Sprint(g[1])
	}
	return ""
}

// strs turns a string or a list into a sorted list of strings.
func strs(v any) []string {
	var out []string
	switch v := v.(type) {
	case string:
		out = []string{v}
	case []any:
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			} else {
				b, _ := json.Marshal(e)
				out = append(out, string(b))
			}
		}
	}
	sort.Strings(out)
	return out
}

func get(m any, path ...string) any {
	for _, p := range path {
		mm, ok := m.(map[string]any)
		if !ok {
			return nil
		}
		m = mm[p]
	}
	return m
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func sameStrings(a, b []string) bool {
	a, b = append([]string(nil), a...), append([]string(nil), b...)
	sort.Strings(a)
	sort.Strings(b)
	return strings.Join(a, "\x00") == strings.Join(b, "\x00")
}
