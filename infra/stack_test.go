package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/inmor/inmor-serverless/shared/archive"

	"github.com/aws/aws-sdk-go-v2/aws"

	appaudit "github.com/inmor/inmor-serverless/shared/app/audit"
	"github.com/inmor/inmor-serverless/shared/integrity"
	"github.com/inmor/inmor-serverless/shared/mfa"

	"github.com/inmor/inmor-serverless/shared/function"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/inmor/inmor-serverless/shared/adminapi"
	"github.com/inmor/inmor-serverless/shared/app"
	"github.com/inmor/inmor-serverless/shared/dynamo"
	"github.com/inmor/inmor-serverless/shared/resource"
	"github.com/inmor/inmor-serverless/shared/signing"
	"github.com/inmor/inmor-serverless/shared/storage"
	"github.com/inmor/inmor-serverless/shared/tables"
)

// canonical key schema, attributes and indexes of a table, comparable
// between the CloudFormation template and dynamo.CreateTableInput.
type tableShape struct {
	KeySchema  []string          // "name HASH", "name RANGE"
	Attributes map[string]string // name -> S|N
	Indexes    map[string]string // name -> "keys|projection|sorted non-key attributes"
	Stream     string
	Billing    string
}

func shapeFromInput(t tables.Table) tableShape {
	in := dynamo.CreateTableInput(t, "name")
	s := tableShape{Attributes: map[string]string{}, Indexes: map[string]string{}, Billing: string(in.BillingMode)}
	for _, k := range in.KeySchema {
		s.KeySchema = append(s.KeySchema, *k.AttributeName+" "+string(k.KeyType))
	}
	for _, a := range in.AttributeDefinitions {
		s.Attributes[*a.AttributeName] = string(a.AttributeType)
	}
	for _, g := range in.GlobalSecondaryIndexes {
		var keys []string
		for _, k := range g.KeySchema {
			keys = append(keys, *k.AttributeName+" "+string(k.KeyType))
		}
		nonKey := append([]string(nil), g.Projection.NonKeyAttributes...)
		sort.Strings(nonKey)
		s.Indexes[*g.IndexName] = strings.Join(keys, ",") + "|" + string(g.Projection.ProjectionType) + "|" + strings.Join(nonKey, ",")
	}
	if in.StreamSpecification != nil {
		s.Stream = string(in.StreamSpecification.StreamViewType)
	}
	return s
}

func shapeFromTemplate(props map[string]any) tableShape {
	s := tableShape{Attributes: map[string]string{}, Indexes: map[string]string{}, Billing: fmt.Sprint(props["BillingMode"])}
	keys := func(v any) []string {
		var out []string
		for _, k := range v.([]any) {
			out = append(out, fmt.Sprint(get(k, "AttributeName"))+" "+fmt.Sprint(get(k, "KeyType")))
		}
		return out
	}
	s.KeySchema = keys(props["KeySchema"])
	for _, a := range props["AttributeDefinitions"].([]any) {
		s.Attributes[fmt.Sprint(get(a, "AttributeName"))] = fmt.Sprint(get(a, "AttributeType"))
	}
	if gsis, ok := props["GlobalSecondaryIndexes"].([]any); ok {
		for _, g := range gsis {
			nonKey := strs(get(g, "Projection", "NonKeyAttributes"))
			s.Indexes[fmt.Sprint(get(g, "IndexName"))] = strings.Join(keys(get(g, "KeySchema")), ",") + "|" +
				fmt.Sprint(get(g, "Projection", "ProjectionType")) + "|" + strings.Join(nonKey, ",")
		}
	}
	if v, ok := get(props, "StreamSpecification", "StreamViewType").(string); ok {
		s.Stream = v
	}
	return s
}

// The deployed tables have exactly the keys, attributes, indexes
// (projections included), stream and TTL of the definitions the local
// stack creates its tables from.
func TestTablesMatchSharedDefinitions(t *testing.T) {
	s := synth(t)
	if got := len(s.ofType("AWS::DynamoDB::Table")); got != len(tables.All()) {
		t.Errorf("%d tables in the template, want %d", got, len(tables.All()))
	}
	for _, def := range tables.All() {
		id := s.logicalID(s.stack.Tables[def.ID])
		props := s.resources[id].Properties
		got, want := shapeFromTemplate(props), shapeFromInput(def)
		if jsonString(got) != jsonString(want) {
			t.Errorf("table %s differs from dynamo.CreateTableInput:\n got %s\nwant %s", def.ID, jsonString(got), jsonString(want))
		}
		ttl, _ := get(props, "TimeToLiveSpecification", "AttributeName").(string)
		if ttl != def.TTLAttribute || (ttl != "" && get(props, "TimeToLiveSpecification", "Enabled") != true) {
			t.Errorf("table %s: TTL %v, want %q", def.ID, props["TimeToLiveSpecification"], def.TTLAttribute)
		}
	}
}

// Every table: on demand, point-in-time recovery, encrypted with KMS. The
// audit table is retained, deletion protected, and its resource policy
// lets only the audit function write and nobody delete.
func TestTableSettings(t *testing.T) {
	s := synth(t)
	for _, def := range tables.All() {
		id := s.logicalID(s.stack.Tables[def.ID])
		check(t, def.ID+" settings", func() {
			s.template.HasResource(jsii.String("AWS::DynamoDB::Table"), map[string]any{
				"Properties": assertions.Match_ObjectLike(&map[string]any{
					"BillingMode":                      "PAY_PER_REQUEST",
					"PointInTimeRecoverySpecification": map[string]any{"PointInTimeRecoveryEnabled": true},
					"SSESpecification":                 map[string]any{"SSEEnabled": true},
					"KeySchema":                        s.resources[id].Properties["KeySchema"],
				}),
				"DeletionPolicy": "Retain",
			})
		})
	}
	for _, def := range tables.All() {
		if p := s.resources[s.logicalID(s.stack.Tables[def.ID])].Properties; p["DeletionProtectionEnabled"] != true {
			t.Errorf("%s table: deletion protection %v, want true", def.ID, p["DeletionProtectionEnabled"])
		}
	}
	audit := s.resources[s.logicalID(s.stack.Tables[tables.Audit.ID])]
	if audit.DeletionPolicy != "Retain" || audit.UpdateReplace != "Retain" || audit.Properties["DeletionProtectionEnabled"] != true {
		t.Errorf("audit table: deletion policy %q, update replace policy %q, deletion protection %v; want Retain, Retain, true",
			audit.DeletionPolicy, audit.UpdateReplace, audit.Properties["DeletionProtectionEnabled"])
	}
	policy := get(audit.Properties, "ResourcePolicy", "PolicyDocument", "Statement")
	auditRole := s.logicalID(s.stack.Roles[AuditFunction]) + ".Arn"
	var deniedToOthers, deniedToAll []string
	for _, st := range policy.([]any) {
		if get(st, "Effect") != "Deny" || jsonString(get(st, "Principal")) != `{"AWS":"*"}` {
			t.Errorf("audit table policy: unexpected statement %s", jsonString(st))
			continue
		}
		if get(st, "Sid") == "OnlyTheBreakGlassRoleChangesTheTable" {
			continue // TestBreakGlassGuards
		}
		if c := get(st, "Condition"); c != nil {
			if ref(get(c, "ArnNotEquals", "aws:PrincipalArn")) != auditRole {
				t.Errorf("audit table policy: condition %s, want ArnNotEquals the audit role", jsonString(c))
			}
			deniedToOthers = append(deniedToOthers, strs(get(st, "Action"))...)
		} else {
			deniedToAll = append(deniedToAll, strs(get(st, "Action"))...)
		}
	}
	for _, a := range writeActions {
		isDelete := a == deleteItem || a == "dynamodb:PartiQLDelete"
		if (isDelete && !contains(deniedToAll, a)) || (!isDelete && !contains(deniedToOthers, a)) {
			t.Errorf("audit table policy does not deny %s (to others: %v, to all: %v)", a, deniedToOthers, deniedToAll)
		}
	}
}

// Every folder of functions/ is deployed, and nothing else.
func TestEveryFunctionIsDeployed(t *testing.T) {
	entries, err := os.ReadDir("../functions")
	if err != nil {
		t.Fatal(err)
	}
	var folders, deployed []string
	for _, e := range entries {
		if e.IsDir() {
			folders = append(folders, e.Name())
		}
	}
	for _, f := range Functions() {
		deployed = append(deployed, f.Name)
	}
	if !sameStrings(folders, deployed) {
		t.Errorf("functions/ holds %v, the stack deploys %v", folders, deployed)
	}
	if len(deploymentsByName()) != len(app.Specs()) {
		t.Errorf("infra/access.go sizes %d functions, the registry declares %d", len(deploymentsByName()), len(app.Specs()))
	}
	s := synth(t)
	if got := len(s.ofType("AWS::Lambda::Function")); got != len(deployed) {
		t.Errorf("%d Lambda functions in the template, want %d (no helper functions)", got, len(deployed))
	}
}

// Every function: provided.al2023 on arm64, the build artifact, its memory
// and timeout, active tracing, its own log group with a retention, and its
// environment.
func TestFunctions(t *testing.T) {
	s := synth(t)
	for _, f := range Functions() {
		id := s.logicalID(s.stack.Functions[f.Name])
		p := s.resources[id].Properties
		check(t, f.Name+" function", func() {
			s.template.HasResourceProperties(jsii.String("AWS::Lambda::Function"), assertions.Match_ObjectLike(&map[string]any{
				"Runtime":       "provided.al2023",
				"Architectures": []any{"arm64"},
				"Handler":       "bootstrap",
				"MemorySize":    f.MemoryMB,
				"Timeout":       f.TimeoutSeconds,
				"TracingConfig": map[string]any{"Mode": "Active"},
				"Role":          map[string]any{"Fn::GetAtt": []any{s.logicalID(s.stack.Roles[f.Name]), "Arn"}},
				"Description":   f.Description,
			}))
		})
		logGroup := ref(get(p, "LoggingConfig", "LogGroup"))
		if lg, ok := s.resources[logGroup]; !ok || lg.Type != "AWS::Logs::LogGroup" || lg.Properties["RetentionInDays"] != float64(90) || lg.DeletionPolicy != "Retain" {
			t.Errorf("%s: log group %q (%v, deletion %q), want its own, retained, with 90 days' retention", f.Name, logGroup, lg.Properties, lg.DeletionPolicy)
		}
		if _, reserved := p["ReservedConcurrentExecutions"]; reserved {
			t.Errorf("%s: reserved concurrency set; the stage throttles instead (see docs)", f.Name)
		}
		env, _ := get(p, "Environment", "Variables").(map[string]any)
		want := map[string]bool{}
		for _, tid := range f.Tables {
			for _, def := range tables.All() {
				if def.ID == tid {
					want[def.NameVariable] = true
					if got := ref(env[def.NameVariable]); got != s.logicalID(s.stack.Tables[tid]) {
						t.Errorf("%s: %s = %v, want the %s table", f.Name, def.NameVariable, env[def.NameVariable], tid)
					}
				}
			}
		}
		if f.Routes {
			want["ALLOWED_ORIGINS"] = true
			if env["ALLOWED_ORIGINS"] != testOrigin+","+testOrigin2 {
				t.Errorf("%s: ALLOWED_ORIGINS = %v", f.Name, env["ALLOWED_ORIGINS"])
			}
		}
		if f.Signs {
			want[signing.EnvKMSKeyID], want["TA_ENTITY_ID"], want["TRUSTMARK_ISSUER"] = true, true, true
			if ref(env[signing.EnvKMSKeyID]) != s.logicalID(s.stack.SigningKey)+".Arn" || env["TA_ENTITY_ID"] != testEntityID || env["TRUSTMARK_ISSUER"] != testEntityID {
				t.Errorf("%s: signing environment %v", f.Name, env)
			}
		}
		if f.Routes {
			want[app.EnvMFARequiredForStaff] = true
			if env[app.EnvMFARequiredForStaff] != "false" {
				t.Errorf("%s: %s = %v, want false (the default)", f.Name, app.EnvMFARequiredForStaff, env[app.EnvMFARequiredForStaff])
			}
		}
		if f.Name == function.Auth {
			want["SESSION_COOKIE_SECURE"] = true
			if env["SESSION_COOKIE_SECURE"] != "true" {
				t.Errorf("auth: SESSION_COOKIE_SECURE = %v, want true", env["SESSION_COOKIE_SECURE"])
			}
		}
		if signsAttributions(f) {
			want[app.EnvAttributionKey] = true
			if !strings.Contains(jsonString(env[app.EnvAttributionKey]), "resolve:secretsmanager") {
				t.Errorf("%s: %s = %v, want the attribution key secret", f.Name, app.EnvAttributionKey, env[app.EnvAttributionKey])
			}
		}
		if f.Name == function.Auth || f.Name == function.AuditQuery {
			want[app.EnvMFAKey] = true
			if !strings.Contains(jsonString(env[app.EnvMFAKey]), "resolve:secretsmanager") || !strings.Contains(jsonString(env[app.EnvMFAKey]), "MFAKey") {
				t.Errorf("%s: %s = %v, want the MFA key secret", f.Name, app.EnvMFAKey, env[app.EnvMFAKey])
			}
		}
		// The optional settings the tests' context gives, on their function.
		for name, value := range map[string]map[string]string{
			function.Subordinates: {
				"TA_AUTHORITY_HINTS": testAuthorityHint, "TA_SERVER_EXPIRY_HOURS": "48",
				"TA_TRUST_MARKS": testTrustMarks, "TA_TRUST_MARK_ISSUERS": testTrustMarkIssuers,
			},
			function.Federation: {"SUBORDINATE_EVENTS_TTL_HOURS": "12", "SUBORDINATE_EVENTS_INFORMATION_URI": testInformationURI},
			function.Auth:       {mfa.EnvWebAuthnRPID: "example.org"},
		}[f.Name] {
			want[name] = true
			if env[name] != value {
				t.Errorf("%s: %s = %v, want %q", f.Name, name, env[name], value)
			}
		}
		if f.Name == function.Audit {
			want["RESOURCES_STREAM_ARN"], want["AUTH_STREAM_ARN"], want[signing.EnvLogKMSKeyID], want[archive.EnvBucket] = true, true, true, true
			if !strings.Contains(jsonString(env["AUTH_STREAM_ARN"]), s.logicalID(s.stack.Tables[tables.Auth.ID])) {
				t.Errorf("audit: AUTH_STREAM_ARN = %v, want the auth table's stream", env["AUTH_STREAM_ARN"])
			}
			if ref(env[signing.EnvLogKMSKeyID]) != s.logicalID(s.stack.LogKey)+".Arn" {
				t.Errorf("audit: %s = %v, want the log key", signing.EnvLogKMSKeyID, env[signing.EnvLogKMSKeyID])
			}
			if !strings.Contains(jsonString(env["RESOURCES_STREAM_ARN"]), "StreamArn") {
				t.Errorf("audit: RESOURCES_STREAM_ARN = %v, want the resources table's stream", env["RESOURCES_STREAM_ARN"])
			}
		}
		if f.Name == function.AuditQuery && configVariables()[cursorKeyVariable] {
			want[cursorKeyVariable] = true
			if !strings.Contains(jsonString(env[cursorKeyVariable]), "resolve:secretsmanager") {
				t.Errorf("auditquery: AUDIT_CURSOR_KEY = %v, want the cursor key secret", env["AUDIT_CURSOR_KEY"])
			}
		}
		var got []string
		for k := range env {
			got = append(got, k)
		}
		var wanted []string
		for k := range want {
			wanted = append(wanted, k)
		}
		if !sameStrings(got, wanted) {
			t.Errorf("%s: environment %v, want %v", f.Name, got, wanted)
		}
	}
}

// recordEnv returns the variables a configuration reader reads.
func recordEnv(read func(getenv func(string) string)) []string {
	seen := map[string]bool{}
	read(func(k string) string { seen[k] = true; return "" })
	var out []string
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// unsetVariables are read by the functions but deliberately left unset in
// AWS, with the reason.
var unsetVariables = map[string]string{
	signing.EnvKeyFile:              "the local stack's key file; in AWS the functions sign with KMS",
	app.EnvAttributionKeyFile:       "the local stack's key file; in AWS ATTRIBUTION_KEY holds the key",
	app.EnvMFAKeyFile:               "the local stack's key file; in AWS MFA_KEY holds the key",
	integrity.EnvKeyFile:            "the local stack's log key file; in AWS the audit function signs checkpoints with KMS",
	app.EnvEntityConfigurationCheck: "the entity configuration check is on unless it is off; only the local stack turns it off",
}

// The stack sets every variable the functions read (app.ConfigFromEnv
// and the signer), unless it is deliberately left unset, and no variable
// that nothing reads.
func TestEnvironmentIsWhatTheFunctionsRead(t *testing.T) {
	read := recordEnv(func(getenv func(string) string) { app.ConfigFromEnv(getenv) })
	read = append(read, recordEnv(func(getenv func(string) string) { _, _ = app.AttributionKey.FromEnv(getenv) })...)
	read = append(read, recordEnv(func(getenv func(string) string) { _, _ = app.MFAKey.FromEnv(getenv) })...)
	read = append(read, recordEnv(func(getenv func(string) string) {
		_, _ = appaudit.CheckpointsFromEnv(context.Background(), aws.Config{}, getenv)
	})...)
	read = append(read, recordEnv(func(getenv func(string) string) {
		_, _ = signing.NewFromEnv(context.Background(), getenv, nil)
	})...)
	s := synth(t)
	set := map[string]bool{}
	for _, f := range Functions() {
		env, _ := get(s.resources[s.logicalID(s.stack.Functions[f.Name])].Properties, "Environment", "Variables").(map[string]any)
		for k := range env {
			set[k] = true
		}
	}
	for _, k := range read {
		if _, ok := unsetVariables[k]; !set[k] && !ok {
			t.Errorf("the functions read %s, which no function is given: set it in infra or list it in unsetVariables", k)
		}
	}
	for k := range set {
		if !contains(read, k) {
			t.Errorf("the stack sets %s, which the functions do not read", k)
		}
	}
}

// integrationTargets maps each route key of the template to the function
// its integration invokes.
func integrationTargets(t *testing.T, s *synthesis) map[string]string {
	functions := map[string]string{}
	for name, fn := range s.stack.Functions {
		functions[s.logicalID(fn)+".Arn"] = name
	}
	integrations := map[string]string{}
	for _, id := range s.ofType("AWS::ApiGatewayV2::Integration") {
		p := s.resources[id].Properties
		if p["IntegrationType"] != "AWS_PROXY" || p["PayloadFormatVersion"] != "2.0" {
			t.Errorf("integration %s: type %v, payload %v; want AWS_PROXY, 2.0", id, p["IntegrationType"], p["PayloadFormatVersion"])
		}
		integrations[id] = functions[ref(p["IntegrationUri"])]
	}
	out := map[string]string{}
	for _, id := range s.ofType("AWS::ApiGatewayV2::Route") {
		p := s.resources[id].Properties
		if at, ok := p["AuthorizationType"]; ok && at != "NONE" {
			t.Errorf("route %v has authorization %v; authentication runs in the functions", p["RouteKey"], at)
		}
		target := jsonString(p["Target"]) // {"Fn::Join":["",["integrations/",{"Ref":id}]]}
		var integration string
		for id := range integrations {
			if strings.Contains(target, `"Ref":"`+id+`"`) {
				integration = id
			}
		}
		out[fmt.Sprint(p["RouteKey"])] = integrations[integration]
	}
	return out
}

// One route per route of the route table, to the function that owns it; the
// write methods of the audit paths go to the audit query function (405);
// nothing else, and no authorizer.
func TestRoutes(t *testing.T) {
	s := synth(t)
	got := integrationTargets(t, s)
	for _, r := range adminapi.Routes {
		key := r.Method + " " + routePath(r.Path)
		if got[key] != r.Function {
			t.Errorf("route %s (%s): served by %q, want %s", r.Key(), r.OperationID, got[key], r.Function)
		}
	}
	for _, r := range adminapi.Routes {
		if r.Function != function.AuditQuery {
			continue
		}
		for _, m := range auditWriteMethods {
			if key := m + " " + routePath(r.Path); got[key] != function.AuditQuery {
				t.Errorf("%s: served by %q, want the audit query function (it answers 405)", key, got[key])
			}
		}
	}
	want, err := RouteTargets()
	if err != nil {
		t.Fatal(err)
	}
	if jsonString(got) != jsonString(want) {
		t.Errorf("routes:\n got %s\nwant %s", jsonString(got), jsonString(want))
	}
	if n := len(s.ofType("AWS::ApiGatewayV2::Authorizer")); n != 0 {
		t.Errorf("%d authorizers; authentication runs in the functions", n)
	}
	for key := range got {
		if strings.HasPrefix(key, "$default") || strings.Contains(key, "{proxy+}") || strings.HasPrefix(key, "ANY ") {
			t.Errorf("catch-all route %s: unknown routes must answer API Gateway's 404", key)
		}
	}
}

// Route keys never end in "/"; a path with a trailing slash shares the
// route of the path without it, with the same function.
func TestTrailingSlashRoutes(t *testing.T) {
	targets, err := RouteTargets()
	if err != nil {
		t.Fatal(err)
	}
	for key := range targets {
		if _, path, _ := strings.Cut(key, " "); path != "/" && strings.HasSuffix(path, "/") {
			t.Errorf("route key %q ends in a slash, which API Gateway refuses", key)
		}
	}
	for _, r := range adminapi.Routes {
		if strings.HasSuffix(r.Path, "/") {
			if targets[r.Method+" "+routePath(r.Path)] != r.Function {
				t.Errorf("%s shares a route served by another function", r.Key())
			}
		}
	}
}

// The stage: access logs to a log group with retention, throttling for
// every route and harder for login; CORS only for the configured origins.
func TestStageAndCORS(t *testing.T) {
	s := synth(t)
	stages := s.ofType("AWS::ApiGatewayV2::Stage")
	if len(stages) != 1 {
		t.Fatalf("%d stages, want 1", len(stages))
	}
	p := s.resources[stages[0]].Properties
	if p["StageName"] != "$default" || p["AutoDeploy"] != true {
		t.Errorf("stage %v (auto deploy %v), want $default auto-deployed", p["StageName"], p["AutoDeploy"])
	}
	logGroup := strings.TrimSuffix(ref(get(p, "AccessLogSettings", "DestinationArn")), ".Arn")
	if lg, ok := s.resources[logGroup]; !ok || lg.Type != "AWS::Logs::LogGroup" || lg.Properties["RetentionInDays"] != float64(90) || lg.DeletionPolicy != "Retain" {
		t.Errorf("access logs go to %q, want a retained log group with 90 days' retention", logGroup)
	}
	format, _ := get(p, "AccessLogSettings", "Format").(string)
	var fields map[string]string
	if err := json.Unmarshal([]byte(format), &fields); err != nil {
		t.Errorf("access log format is not JSON: %v", err)
	}
	for _, v := range []string{"$context.requestId", "$context.identity.sourceIp", "$context.routeKey", "$context.status"} {
		if !strings.Contains(format, v) {
			t.Errorf("access log format lacks %s", v)
		}
	}
	if get(p, "DefaultRouteSettings", "ThrottlingRateLimit") != float64(50) || get(p, "DefaultRouteSettings", "ThrottlingBurstLimit") != float64(100) {
		t.Errorf("default throttling %v", p["DefaultRouteSettings"])
	}
	targets, _ := RouteTargets()
	logins := loginRouteKeys(targets)
	for _, want := range []string{"POST " + adminapi.BasePath + "/auth/login", "POST " + adminapi.BasePath + "/auth/login/mfa", "POST " + adminapi.BasePath + "/auth/login/mfa/webauthn", "POST " + adminapi.BasePath + "/auth/reauthenticate", "POST /admin/login", "POST /admin/login/mfa", "POST /admin/mfa/reauthenticate"} {
		if !contains(logins, want) {
			t.Errorf("login routes %v lack %s", logins, want)
		}
	}
	for _, key := range logins {
		login := get(p, "RouteSettings", key)
		if get(login, "ThrottlingRateLimit") != float64(5) || get(login, "ThrottlingBurstLimit") != float64(10) {
			t.Errorf("login route %q throttling %v, want rate 5, burst 10", key, login)
		}
	}
	var federation []string
	for key, function := range targets {
		if function == FederationFunction {
			federation = append(federation, key)
		}
	}
	if !contains(federation, "GET "+adminapi.SubordinateEventsPath) || !contains(federation, "POST "+adminapi.SubordinateEventsPath) {
		t.Errorf("federation routes %v lack Subordinate Events", federation)
	}
	for _, key := range federation {
		events := get(p, "RouteSettings", key)
		if get(events, "ThrottlingRateLimit") != float64(20) || get(events, "ThrottlingBurstLimit") != float64(40) {
			t.Errorf("public route %q throttling %v, want rate 20, burst 40 of its own", key, events)
		}
	}
	if n := len(get(p, "RouteSettings").(map[string]any)); n != len(logins)+len(federation) {
		t.Errorf("%d route settings, want %d (the login and federation routes)", n, len(logins)+len(federation))
	}
	apis := s.ofType("AWS::ApiGatewayV2::Api")
	if len(apis) != 1 {
		t.Fatalf("%d APIs, want 1", len(apis))
	}
	cors := get(s.resources[apis[0]].Properties, "CorsConfiguration")
	if !sameStrings(strs(get(cors, "AllowOrigins")), []string{testOrigin, testOrigin2}) || get(cors, "AllowCredentials") != true {
		t.Errorf("CORS %s, want exactly the configured origins, with credentials", jsonString(cors))
	}
	for _, h := range []string{"x-api-key", "x-csrftoken", "content-type"} {
		if !contains(strs(get(cors, "AllowHeaders")), h) {
			t.Errorf("CORS does not allow the %s header", h)
		}
	}
}

// The context: origins are validated, defaults apply, no origins means no CORS.
func TestConfigFromContext(t *testing.T) {
	app := func(ctx map[string]any) awscdk.App { return awscdk.NewApp(&awscdk.AppProps{Context: &ctx}) }
	c, err := ConfigFromContext(app(map[string]any{}))
	if err != nil || jsonString(c) != jsonString(DefaultConfig()) {
		t.Errorf("empty context: %+v, %v; want the defaults", c, err)
	}
	c, err = ConfigFromContext(app(map[string]any{"allowedOrigins": " https://a.example , http://localhost:3000", "retainData": "false", "apiRateLimit": 20.0, "checkpointRetentionDays": 3650.0, "logRetentionDays": "365", "breakGlassRoleArn": " " + testBreakGlass}))
	if err != nil || !sameStrings(c.AllowedOrigins, []string{"https://a.example", "http://localhost:3000"}) || c.RetainData || c.APIRateLimit != 20 || c.CheckpointRetentionDays != 3650 || c.LogRetentionDays != 365 || c.BreakGlassRoleArn != testBreakGlass {
		t.Errorf("got %+v, %v", c, err)
	}
	if c, err := ConfigFromContext(app(map[string]any{"mfaRequiredForStaff": true})); err != nil || !c.MFARequiredForStaff || DefaultConfig().MFARequiredForStaff {
		t.Errorf("mfaRequiredForStaff: %+v, %v", c, err)
	}
	// The functions' optional settings: lists and objects as cdk.json gives
	// them, or their JSON; each checked as the function reads it.
	c, err = ConfigFromContext(app(map[string]any{
		"authorityHints": []any{"https://a.example", "https://b.example"}, "trustMarks": []any{map[string]any{"trust_mark_type": "https://t.example", "trust_mark": "x.y.z"}},
		"trustMarkIssuers": `{"https://t.example": ["https://i.example"]}`, "serverExpiryHours": 48.0,
		"subordinateEventsTtlHours": "12", "subordinateEventsInformationUri": "https://fed.example/events?sub={sub}", "webAuthnRpId": "Example.ORG",
	}))
	if err != nil || c.Server.AuthorityHints != "https://a.example,https://b.example" || c.Server.TrustMarks != `[{"trust_mark":"x.y.z","trust_mark_type":"https://t.example"}]` ||
		c.Server.TrustMarkIssuers != `{"https://t.example": ["https://i.example"]}` || c.Server.ExpiryHours != "48" || c.EventsTTLHours != "12" ||
		c.EventsInformationURI != "https://fed.example/events?sub={sub}" || c.WebAuthnRPID != "example.org" {
		t.Errorf("function settings: %+v, %v", c, err)
	}
	for key, value := range map[string]any{
		"authorityHints": "not a url", "trustMarks": `{"not":"an array"}`, "trustMarkIssuers": "[]", "serverExpiryHours": "0",
		"subordinateEventsTtlHours": "169", "subordinateEventsInformationUri": "http://fed.example/{sub}", "webAuthnRpId": "127.0.0.1",
	} {
		if _, err := ConfigFromContext(app(map[string]any{key: value})); err == nil || !strings.Contains(err.Error(), "context "+key+":") {
			t.Errorf("context %s=%v: %v, want an error naming it", key, value, err)
		}
	}
	for _, bad := range []map[string]any{
		{"allowedOrigins": "*"}, {"allowedOrigins": "https://a.example/"}, {"allowedOrigins": "a.example"},
		{"retainData": "maybe"}, {"apiBurstLimit": "-1"}, {"breakGlassRoleArn": "InmorBreakGlass"}, {"breakGlassRoleArn": "arn:aws:iam::123456789012:user/ops"}, {"checkpointRetentionDays": "0"}, {"checkpointRetentionDays": "forever"}, {"logRetentionDays": "42"}, {"mfaRequiredForStaff": "maybe"},
	} {
		if _, err := ConfigFromContext(app(bad)); err == nil {
			t.Errorf("context %v accepted", bad)
		}
	}
}

// Without `make build`, the app says so instead of failing obscurely.
func TestMissingArtifacts(t *testing.T) {
	cfg := DefaultConfig()
	cfg.BuildDir = t.TempDir()
	_, err := NewInmorStack(awscdk.NewApp(nil), cfg, nil)
	if err == nil || !strings.Contains(err.Error(), "make build") {
		t.Errorf("got %v, want an error that names make build", err)
	}
}

// The audit function reads the stream from its start, in bounded batches,
// bisecting failures, with bounded retries and record age, partial batch
// responses and an encrypted, SSL-only on-failure queue.
func TestStreamMapping(t *testing.T) {
	s := synth(t)
	mappings := s.ofType("AWS::Lambda::EventSourceMapping")
	if len(mappings) != 2 {
		t.Fatalf("%d event source mappings, want 2 (the resources and auth tables' streams)", len(mappings))
	}
	for _, table := range []string{tables.Resources.ID, tables.Auth.ID} {
		checkStreamMapping(t, s, streamMapping(t, s, table), table)
	}
}

// streamMapping is the logical id of the audit function's mapping of a
// table's stream.
func streamMapping(t *testing.T, s *synthesis, table string) string {
	t.Helper()
	arn := jsonString(map[string]any{"Fn::GetAtt": []any{s.logicalID(s.stack.Tables[table]), "StreamArn"}})
	for _, id := range s.ofType("AWS::Lambda::EventSourceMapping") {
		if jsonString(s.resources[id].Properties["EventSourceArn"]) == arn {
			return id
		}
	}
	t.Fatalf("no event source mapping of the %s table's stream", table)
	return ""
}

func checkStreamMapping(t *testing.T, s *synthesis, mapping, table string) {
	t.Helper()
	p := s.resources[mapping].Properties
	queue := s.logicalID(s.stack.AuditFailures)
	want := map[string]any{
		"FunctionName":                   map[string]any{"Ref": s.logicalID(s.stack.Functions[AuditFunction])},
		"EventSourceArn":                 map[string]any{"Fn::GetAtt": []any{s.logicalID(s.stack.Tables[table]), "StreamArn"}},
		"StartingPosition":               "TRIM_HORIZON",
		"BatchSize":                      float64(streamBatchSize),
		"MaximumBatchingWindowInSeconds": float64(streamBatchingWindowS),
		"BisectBatchOnFunctionError":     true,
		"MaximumRetryAttempts":           float64(streamRetryAttempts),
		"MaximumRecordAgeInSeconds":      float64(streamMaxRecordAgeS),
		"ParallelizationFactor":          float64(1),
		"FunctionResponseTypes":          []any{"ReportBatchItemFailures"},
		"DestinationConfig":              map[string]any{"OnFailure": map[string]any{"Destination": map[string]any{"Fn::GetAtt": []any{queue, "Arn"}}}},
	}
	for k, v := range want {
		if jsonString(p[k]) != jsonString(v) {
			t.Errorf("mapping %s = %s, want %s", k, jsonString(p[k]), jsonString(v))
		}
	}
	if age := p["MaximumRecordAgeInSeconds"].(float64); age <= 0 || age >= 24*3600 {
		t.Errorf("maximum record age %v s: must be bounded and leave stream retention (24 h) to replay", age)
	}
	q := s.resources[queue].Properties
	if q["SqsManagedSseEnabled"] != true && q["KmsMasterKeyId"] == nil {
		t.Errorf("the on-failure queue is not encrypted: %v", q)
	}
	sslEnforced := false
	for _, id := range s.ofType("AWS::SQS::QueuePolicy") {
		qp := s.resources[id].Properties
		for _, st := range get(qp, "PolicyDocument", "Statement").([]any) {
			if get(st, "Effect") == "Deny" && get(st, "Condition", "Bool", "aws:SecureTransport") == "false" && strings.Contains(jsonString(qp["Queues"]), queue) {
				sslEnforced = true
			}
		}
	}
	if !sslEnforced {
		t.Error("the on-failure queue does not deny requests without SSL")
	}
}

// matches reports whether an event matches a Lambda filter pattern (the
// subset used here: nested objects whose leaves list the allowed values
// or prefixes).
func matches(pattern, event any) bool {
	switch p := pattern.(type) {
	case map[string]any:
		e, ok := event.(map[string]any)
		if !ok {
			return false
		}
		for k, sub := range p {
			if !matches(sub, e[k]) {
				return false
			}
		}
		return true
	case []any:
		for _, v := range p {
			if m, isMap := v.(map[string]any); isMap {
				prefix, _ := m["prefix"].(string)
				if e, ok := event.(string); ok && prefix != "" && strings.HasPrefix(e, prefix) {
					return true
				}
			} else if v == event {
				return true
			}
		}
		return false
	}
	return false
}

// The stream filters pass resource items and attempt inserts, and drop
// id counters, uniqueness guards and expiring attempts.
func TestStreamFilters(t *testing.T) {
	s := synth(t)
	passes := mappingFilter(t, s, tables.Resources.ID)
	record := func(name, pk, sk string) map[string]any {
		return map[string]any{"eventName": name, "dynamodb": map[string]any{"Keys": map[string]any{"pk": map[string]any{"S": pk}, "sk": map[string]any{"S": sk}}}}
	}
	for _, rt := range resource.Types {
		for _, name := range []string{"INSERT", "MODIFY", "REMOVE"} {
			if !passes(record(name, string(rt), storage.SortKey(1))) {
				t.Errorf("%s %s is filtered out", name, rt)
			}
		}
	}
	if !passes(record("INSERT", storage.AttemptPK, "request-1")) {
		t.Error("an attempt's INSERT is filtered out")
	}
	for _, r := range []map[string]any{
		record("REMOVE", storage.AttemptPK, "request-1"),
		record("INSERT", storage.CounterPK, "TrustMarkType"), record("MODIFY", storage.CounterPK, "TrustMark"),
		record("INSERT", storage.UniquePrefix+"TrustMarkType.tmtype", "abc"), record("REMOVE", storage.UniquePrefix+"Subordinate.entityid", "abc"),
	} {
		if passes(r) {
			t.Errorf("bookkeeping record %s passes the filters", jsonString(r))
		}
	}
	// The sample stream batches: counters drop, resources pass.
	files, _ := filepath.Glob("../events/stream/*.json")
	if len(files) == 0 {
		t.Fatal("no sample stream batches in events/stream")
	}
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var batch struct{ Records []map[string]any }
		if err := json.Unmarshal(raw, &batch); err != nil {
			t.Fatal(err)
		}
		for _, r := range batch.Records {
			pk, _ := get(r, "dynamodb", "Keys", "pk", "S").(string)
			bookkeeping := pk == storage.CounterPK || strings.HasPrefix(pk, storage.UniquePrefix) || (pk == storage.AttemptPK && r["eventName"] != "INSERT")
			if passes(r) == bookkeeping {
				t.Errorf("%s: record %s %s passes=%v", filepath.Base(file), r["eventName"], pk, passes(r))
			}
		}
	}
}

// mappingFilter is the filter of the audit function's mapping of a
// table's stream: whether a record passes it.
func mappingFilter(t *testing.T, s *synthesis, table string) func(event any) bool {
	t.Helper()
	p := s.resources[streamMapping(t, s, table)].Properties
	var patterns []any
	for _, f := range get(p, "FilterCriteria", "Filters").([]any) {
		var pat any
		if err := json.Unmarshal([]byte(get(f, "Pattern").(string)), &pat); err != nil {
			t.Fatalf("filter pattern %v: %v", f, err)
		}
		patterns = append(patterns, pat)
	}
	return func(event any) bool {
		for _, pat := range patterns {
			if matches(pat, event) {
				return true
			}
		}
		return false
	}
}

// The auth stream's filters pass users and API keys (any change) and
// session events' inserts, and drop sessions, login failure counts, the
// user id counter and expiring session events.
func TestAuthStreamFilters(t *testing.T) {
	passes := mappingFilter(t, synth(t), tables.Auth.ID)
	record := func(name, pk string) map[string]any {
		return map[string]any{"eventName": name, "dynamodb": map[string]any{"Keys": map[string]any{"pk": map[string]any{"S": pk}}}}
	}
	for _, name := range []string{"INSERT", "MODIFY", "REMOVE"} {
		for _, pk := range []string{storage.UserPrefix + "alice", storage.APIKeyPrefix + "0f1e"} {
			if !passes(record(name, pk)) {
				t.Errorf("%s %s is filtered out", name, pk)
			}
		}
		for _, pk := range []string{storage.SessionPrefix + "0f1e", storage.LoginFailPrefix + "alice", storage.UserCounterPK} {
			if passes(record(name, pk)) {
				t.Errorf("%s %s passes the filters", name, pk)
			}
		}
	}
	if !passes(record("INSERT", storage.SessionEventPrefix+"request-1")) || passes(record("REMOVE", storage.SessionEventPrefix+"request-1")) {
		t.Error("session events: want their INSERT only")
	}
}

// canonicalResource names a policy resource: table:<ID>, table:<ID>/index/<name>,
// stream:<ID>, or the raw value.
func (s *synthesis) canonicalResource(v any) string {
	tableIDs := map[string]string{}
	for id, table := range s.stack.Tables {
		tableIDs[s.logicalID(table)] = id
	}
	if v == "*" {
		return "*"
	}
	r := ref(v)
	if id, attr, ok := strings.Cut(r, "."); ok && tableIDs[id] != "" {
		switch attr {
		case "Arn":
			return "table:" + tableIDs[id]
		case "StreamArn":
			return "stream:" + tableIDs[id]
		}
	}
	if parts, ok := get(v, "Fn::Join").([]any); ok && len(parts) == 2 {
		if list, ok := parts[1].([]any); ok && len(list) == 2 {
			if id, attr, _ := strings.Cut(ref(list[0]), "."); tableIDs[id] != "" && attr == "Arn" {
				return "table:" + tableIDs[id] + fmt.Sprint(list[1])
			}
		}
	}
	if r != "" {
		return r
	}
	return jsonString(v)
}

// grant is one (action, resource, leading keys) of a policy.
type grant struct{ Action, Resource, LeadingKeys string }

// roleGrants lists every Allow of a role's policies, one per action and resource.
func (s *synthesis) roleGrants(t *testing.T, function string) []grant {
	role := s.logicalID(s.stack.Roles[function])
	if mp := s.resources[role].Properties["ManagedPolicyArns"]; mp != nil {
		t.Errorf("%s role has managed policies %v", function, mp)
	}
	if inline := s.resources[role].Properties["Policies"]; inline != nil {
		t.Errorf("%s role has inline policies %v", function, inline)
	}
	var out []grant
	for _, id := range s.ofType("AWS::IAM::Policy") {
		p := s.resources[id].Properties
		if !strings.Contains(jsonString(p["Roles"]), `"Ref":"`+role+`"`) {
			continue
		}
		for _, st := range get(p, "PolicyDocument", "Statement").([]any) {
			if get(st, "Effect") != "Allow" {
				t.Errorf("%s: unexpected statement %s", function, jsonString(st))
				continue
			}
			lk := strs(get(st, "Condition", "ForAllValues:StringLike", "dynamodb:LeadingKeys"))
			if c := get(st, "Condition"); c != nil && len(lk) == 0 {
				t.Errorf("%s: unexpected condition %s", function, jsonString(c))
			}
			resources := get(st, "Resource")
			list, ok := resources.([]any)
			if !ok {
				list = []any{resources}
			}
			for _, a := range strs(get(st, "Action")) {
				for _, r := range list {
					out = append(out, grant{a, s.canonicalResource(r), strings.Join(lk, ",")})
				}
			}
		}
	}
	return out
}

func expectedDynamoGrants(f Function) []grant {
	var out []grant
	for _, a := range f.Access {
		resources := []string{"table:" + a.Table}
		if a.Indexes {
			resources = nil
			for _, def := range tables.All() {
				if def.ID == a.Table {
					for _, idx := range def.Indexes {
						resources = append(resources, "table:"+a.Table+"/index/"+idx.Name)
					}
				}
			}
		}
		if a.Index != "" {
			resources = []string{"table:" + a.Table + "/index/" + a.Index}
		}
		lk := append([]string(nil), a.LeadingKeys...)
		sort.Strings(lk)
		for _, act := range a.Actions {
			for _, r := range resources {
				out = append(out, grant{act, r, strings.Join(lk, ",")})
			}
		}
	}
	return out
}

func grantStrings(gs []grant) []string {
	var out []string
	for _, g := range gs {
		out = append(out, g.Action+" on "+g.Resource+" keys "+g.LeadingKeys)
	}
	sort.Strings(out)
	return out
}

// streamActions are what the event source mapping needs to read the stream.
var streamActions = []string{"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"}

// Each role has exactly its function's DynamoDB grants, its own log group,
// X-Ray, and nothing else; the audit role adds the stream and the failure
// queue; the signing roles add the key.
func TestLeastPrivilege(t *testing.T) {
	s := synth(t)
	signingKey := s.logicalID(s.stack.SigningKey) + ".Arn"
	for _, f := range Functions() {
		var dynamoGrants []grant
		logGroup := ref(get(s.resources[s.logicalID(s.stack.Functions[f.Name])].Properties, "LoggingConfig", "LogGroup")) + ".Arn"
		for _, g := range s.roleGrants(t, f.Name) {
			switch {
			case strings.HasPrefix(g.Action, "dynamodb:") && !contains(streamActions, g.Action):
				dynamoGrants = append(dynamoGrants, g)
			case contains(streamActions, g.Action):
				wantResources := []string{"stream:" + tables.Resources.ID, "stream:" + tables.Auth.ID}
				if g.Action == "dynamodb:ListStreams" {
					wantResources = []string{"*"}
				}
				if f.Name != AuditFunction || !contains(wantResources, g.Resource) {
					t.Errorf("%s: %s on %s", f.Name, g.Action, g.Resource)
				}
			case g.Action == "logs:CreateLogStream" || g.Action == "logs:PutLogEvents":
				if g.Resource != logGroup {
					t.Errorf("%s: %s on %s, want its log group %s", f.Name, g.Action, g.Resource, logGroup)
				}
			case g.Action == "xray:PutTraceSegments" || g.Action == "xray:PutTelemetryRecords":
			case g.Action == "kms:Sign" || g.Action == "kms:GetPublicKey":
				signsStatements := f.Signs && g.Resource == signingKey
				signsCheckpoints := f.Name == AuditFunction && g.Resource == s.logicalID(s.stack.LogKey)+".Arn"
				if !signsStatements && !signsCheckpoints {
					t.Errorf("%s: %s on %s", f.Name, g.Action, g.Resource)
				}
			case g.Action == "s3:PutObject":
				if f.Name != AuditFunction || !strings.Contains(g.Resource, s.logicalID(s.stack.CheckpointBucket)) || !strings.Contains(g.Resource, "/checkpoints/*") {
					t.Errorf("%s: %s on %s", f.Name, g.Action, g.Resource)
				}
			case strings.HasPrefix(g.Action, "sqs:"):
				if f.Name != AuditFunction || g.Resource != s.logicalID(s.stack.AuditFailures)+".Arn" || !contains([]string{"sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"}, g.Action) {
					t.Errorf("%s: %s on %s", f.Name, g.Action, g.Resource)
				}
			default:
				t.Errorf("%s: unexpected %s on %s", f.Name, g.Action, g.Resource)
			}
		}
		got, want := grantStrings(dynamoGrants), grantStrings(expectedDynamoGrants(f))
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s: DynamoDB grants\n got %s\nwant %s", f.Name, strings.Join(got, "\n     "), strings.Join(want, "\n     "))
		}
	}
}

// The invariants, whatever the grants: only the audit function writes the
// audit table, never with DeleteItem, and only the keys it owns; the query
// function writes nothing there; resource functions write only their own
// types; nothing scans or uses wildcard DynamoDB actions.
func TestAuditTableIsAppendOnly(t *testing.T) {
	s := synth(t)
	for _, f := range Functions() {
		for _, g := range s.roleGrants(t, f.Name) {
			if strings.Contains(g.Action, "*") || g.Action == "dynamodb:Scan" || strings.HasPrefix(g.Action, "dynamodb:PartiQL") || strings.HasPrefix(g.Action, "dynamodb:Batch") && g.Action != batchGetItem {
				t.Errorf("%s: %s on %s", f.Name, g.Action, g.Resource)
			}
			onAudit := strings.HasPrefix(g.Resource, "table:"+tables.Audit.ID)
			if !onAudit || !contains(writeActions, g.Action) {
				continue
			}
			switch {
			case f.Name != AuditFunction:
				t.Errorf("%s may %s the audit table", f.Name, g.Action)
			case g.Action == deleteItem:
				t.Errorf("the audit function may delete audit items")
			case g.LeadingKeys == "":
				t.Errorf("the audit function may %s any audit item", g.Action)
			case g.Action == updateItem && strings.Contains(g.LeadingKeys, storage.EntryPrefix):
				t.Errorf("the audit function may update entries (%s)", g.LeadingKeys)
			}
		}
	}
	for _, f := range Functions() {
		types := ownedTypes(f.Name)
		for _, g := range s.roleGrants(t, f.Name) {
			if g.Resource != "table:"+tables.Resources.ID || !contains(writeActions, g.Action) {
				continue
			}
			if g.LeadingKeys == "" {
				t.Errorf("%s may %s any resource item", f.Name, g.Action)
			}
			for _, other := range resource.Types {
				if !contains(types, string(other)) && contains(strings.Split(g.LeadingKeys, ","), string(other)) {
					t.Errorf("%s may %s %s items", f.Name, g.Action, other)
				}
			}
		}
	}
}

// The signing key: ECC_NIST_P256 for signing, kept forever, and its key
// policy lets only the signing functions sign (the account keeps every
// other right, so the key stays manageable).
func TestSigningKey(t *testing.T) {
	s := synth(t)
	id := s.logicalID(s.stack.SigningKey)
	k := s.resources[id]
	if k.Properties["KeySpec"] != "ECC_NIST_P256" || k.Properties["KeyUsage"] != "SIGN_VERIFY" || k.DeletionPolicy != "Retain" {
		t.Errorf("signing key %v, deletion %q", k.Properties, k.DeletionPolicy)
	}
	var signers []string
	for _, f := range Functions() {
		if f.Signs {
			signers = append(signers, s.logicalID(s.stack.Roles[f.Name])+".Arn")
		}
	}
	want := []string{s.logicalID(s.stack.Roles[function.TrustMarks]) + ".Arn", s.logicalID(s.stack.Roles[function.Subordinates]) + ".Arn", s.logicalID(s.stack.Roles[function.Federation]) + ".Arn"}
	if !sameStrings(signers, want) {
		t.Errorf("signers %v, want the trustmarks, subordinates and federation roles", signers)
	}
	deniesSigningGrants := false
	for _, st := range get(k.Properties, "KeyPolicy", "Statement").([]any) {
		principals := get(st, "Principal", "AWS")
		list, ok := principals.([]any)
		if !ok {
			list = []any{principals}
		}
		var who []string
		for _, p := range list {
			who = append(who, ref(p))
		}
		actions := strs(get(st, "Action"))
		switch {
		case get(st, "NotAction") != nil:
			if jsonString(get(st, "NotAction")) != `"kms:Sign"` {
				t.Errorf("account statement excludes %v, want kms:Sign", get(st, "NotAction"))
			}
		case contains(actions, "kms:Sign"):
			if !sameStrings(who, signers) || get(st, "Effect") != "Allow" {
				t.Errorf("kms:Sign granted to %v, want only %v", who, signers)
			}
		case get(st, "Sid") == "OnlyTheBreakGlassRoleChangesTheKey":
			// TestBreakGlassGuards
		case get(st, "Sid") == "NoGrantMaySign":
			deniesSigningGrants = get(st, "Effect") == "Deny" && jsonString(get(st, "Action")) == `"kms:CreateGrant"` &&
				jsonString(get(st, "Condition")) == `{"ForAnyValue:StringEquals":{"kms:GrantOperations":["Sign"]}}`
		default:
			t.Errorf("unexpected key policy statement %s", jsonString(st))
		}
	}
	if !deniesSigningGrants {
		t.Error("the signing key's policy does not deny grants that would sign")
	}
	for _, f := range Functions() {
		for _, g := range s.roleGrants(t, f.Name) {
			if strings.HasPrefix(g.Action, "kms:") && !f.Signs && g.Resource != s.logicalID(s.stack.LogKey)+".Arn" {
				t.Errorf("%s may %s on %s", f.Name, g.Action, g.Resource)
			}
		}
	}
}

// The bucket of checkpoint copies: Object Lock in compliance mode for the
// configured days, versioned, encrypted, private, TLS only, kept.
func TestCheckpointBucket(t *testing.T) {
	s := synth(t)
	b := s.resources[s.logicalID(s.stack.CheckpointBucket)]
	lock := jsonString(get(b.Properties, "ObjectLockConfiguration"))
	if get(b.Properties, "ObjectLockEnabled") != true || !strings.Contains(lock, `"Mode":"COMPLIANCE"`) || !strings.Contains(lock, `"Days":400`) {
		t.Errorf("object lock %v %s", get(b.Properties, "ObjectLockEnabled"), lock)
	}
	if get(b.Properties, "VersioningConfiguration", "Status") != "Enabled" || b.DeletionPolicy != "Retain" ||
		get(b.Properties, "PublicAccessBlockConfiguration", "BlockPublicPolicy") != true || get(b.Properties, "BucketEncryption") == nil {
		t.Errorf("bucket %s, deletion %q", jsonString(b.Properties), b.DeletionPolicy)
	}
}

// The audit log's key: Ed25519 for signing checkpoints, kept forever; its
// key policy and the roles let only the audit function sign with it.
func TestLogKey(t *testing.T) {
	s := synth(t)
	k := s.resources[s.logicalID(s.stack.LogKey)]
	if k.Properties["KeySpec"] != "ECC_NIST_EDWARDS25519" || k.Properties["KeyUsage"] != "SIGN_VERIFY" || k.DeletionPolicy != "Retain" {
		t.Errorf("log key %v, deletion %q", k.Properties, k.DeletionPolicy)
	}
	audit := s.logicalID(s.stack.Roles[AuditFunction]) + ".Arn"
	deniesSigningGrants := false
	for _, st := range get(k.Properties, "KeyPolicy", "Statement").([]any) {
		if contains(strs(get(st, "Action")), "kms:Sign") && ref(get(st, "Principal", "AWS")) != audit {
			t.Errorf("kms:Sign on the log key granted to %v, want only the audit role", get(st, "Principal", "AWS"))
		}
		deniesSigningGrants = deniesSigningGrants || get(st, "Sid") == "NoGrantMaySign" && get(st, "Effect") == "Deny"
	}
	if !deniesSigningGrants {
		t.Error("the log key's policy does not deny grants that would sign")
	}
	for _, f := range Functions() {
		for _, g := range s.roleGrants(t, f.Name) {
			if g.Resource == s.logicalID(s.stack.LogKey)+".Arn" && f.Name != AuditFunction {
				t.Errorf("%s may %s on the log key", f.Name, g.Action)
			}
		}
	}
}

// Alarms: stream iterator age, the failure queue, the audit function's dead
// letters, each function's errors and throttles, the API's 5xx rate; all to
// the encrypted, SSL-only topic.
func TestAlarms(t *testing.T) {
	s := synth(t)
	topic := s.logicalID(s.stack.AlarmTopic)
	type alarm struct{ metric, dimension string }
	var alarms []alarm
	for _, id := range s.ofType("AWS::CloudWatch::Alarm") {
		p := s.resources[id].Properties
		if actions := get(p, "AlarmActions").([]any); len(actions) != 1 || ref(actions[0]) != topic {
			t.Errorf("alarm %s notifies %v, want the topic", id, get(p, "AlarmActions"))
		}
		var dim string
		for _, d := range get(p, "Dimensions").([]any) {
			dim = ref(get(d, "Value"))
		}
		alarms = append(alarms, alarm{fmt.Sprint(p["Namespace"], "/", p["MetricName"]), strings.TrimSuffix(dim, ".QueueName")})
	}
	want := []alarm{
		{"AWS/Lambda/IteratorAge", s.logicalID(s.stack.Functions[AuditFunction])},
		{"AWS/SQS/ApproximateNumberOfMessagesVisible", s.logicalID(s.stack.AuditFailures)},
		{"AWS/ApiGateway/5xx", s.logicalID(s.stack.API)},
	}
	for _, f := range Functions() {
		fn := s.logicalID(s.stack.Functions[f.Name])
		want = append(want, alarm{"AWS/Lambda/Errors", fn}, alarm{"AWS/Lambda/Throttles", fn}, alarm{"AWS/Lambda/Duration", fn})
		check(t, f.Name+" duration alarm at 80% of the timeout", func() {
			s.template.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), assertions.Match_ObjectLike(&map[string]any{
				"MetricName": "Duration", "Threshold": 0.8 * f.TimeoutSeconds * 1000,
				"Dimensions": []any{map[string]any{"Name": "FunctionName", "Value": map[string]any{"Ref": fn}}},
			}))
		})
	}
	for _, def := range tables.All() {
		table := s.logicalID(s.stack.Tables[def.ID])
		want = append(want, alarm{"AWS/DynamoDB/ThrottledRequests", table}, alarm{"AWS/DynamoDB/SystemErrors", table})
	}
	want = append(want, alarm{"AWS/DynamoDB/TransactionConflict", s.logicalID(s.stack.Tables[tables.Audit.ID])})
	for _, w := range want {
		found := false
		for _, a := range alarms {
			found = found || a == w
		}
		if !found {
			t.Errorf("no alarm on %s of %s (alarms: %v)", w.metric, w.dimension, alarms)
		}
	}
	check(t, "alarm on records of another stream (the audit function's EMF metric)", func() {
		s.template.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), assertions.Match_ObjectLike(&map[string]any{
			"Namespace": "Inmor/Audit", "MetricName": "Foreign", "Threshold": 1,
			"Dimensions": []any{map[string]any{"Name": "Function", "Value": "audit"}},
		}))
	})
	check(t, "alarm on the audit function's dead letters (its EMF metric)", func() {
		s.template.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), assertions.Match_ObjectLike(&map[string]any{
			"Namespace": "Inmor/Audit", "MetricName": "SetAside", "Threshold": 1,
			"Dimensions": []any{map[string]any{"Name": "Function", "Value": "audit"}},
		}))
	})
	tp := s.resources[topic].Properties
	if tp["KmsMasterKeyId"] == nil {
		t.Error("the alarm topic is not encrypted")
	}
	check(t, "alarm topic SSL policy", func() {
		s.template.HasResourceProperties(jsii.String("AWS::SNS::TopicPolicy"), assertions.Match_ObjectLike(&map[string]any{
			"PolicyDocument": assertions.Match_ObjectLike(&map[string]any{
				"Statement": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{
					"Effect": "Deny", "Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
				})}),
			}),
		}))
	})
}

// The outputs a deployer needs: the API URL and the table names for inmorctl.
func TestOutputs(t *testing.T) {
	s := synth(t)
	for _, name := range []string{"ApiUrl", "ResourcesTableName", "AuditTableName", "AuthTableName", "SigningKeyArn", "AuditLogKeyArn", "CheckpointBucketName", "AlarmTopicArn", "AuditBackupVaultName", "TrailBucketName", "AuditFailuresQueueUrl", "AttributionKeySecretArn"} {
		if s.outputs[name] == nil {
			t.Errorf("no output %s", name)
		}
	}
	if !strings.HasSuffix(jsonString(s.outputs["ApiUrl"]), adminapi.BasePath+`"]]}}`) {
		t.Errorf("ApiUrl %s does not end in %s", jsonString(s.outputs["ApiUrl"]), adminapi.BasePath)
	}
}

// cdk-nag's AwsSolutions pack finds nothing unsuppressed, and each
// suppression says why.
func TestNagAwsSolutions(t *testing.T) {
	s := synth(t)
	annotations := assertions.Annotations_FromStack(s.stack.Stack)
	for _, level := range []string{"error", "warning"} {
		var found *[]*cxapiMessage
		check(t, "nag "+level+"s", func() {
			if level == "error" {
				found = toMessages(annotations.FindError(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))))
			} else {
				found = toMessages(annotations.FindWarning(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))))
			}
		})
		if found == nil {
			continue
		}
		for _, m := range *found {
			t.Errorf("cdk-nag %s at %s: %s", level, m.Path, m.Data)
		}
	}
	all := append(append(append(append([]Suppression{}, StackSuppressions...), functionSuppressions...), auditSuppressions...), auditFailuresSuppressions...)
	for _, sup := range append(append(append(append(all, cursorKeySuppressions...), attributionKeySuppressions...), checkpointBucketSuppressions...), trailBucketSuppressions...) {
		if len(sup.Reason) < 60 {
			t.Errorf("suppression %s: reason %q is too thin", sup.ID, sup.Reason)
		}
	}
}

// cxapiMessage is the part of a synthesis message a failure shows.
type cxapiMessage struct{ Path, Data string }

func toMessages[T any](msgs *[]*T) *[]*cxapiMessage {
	var out []*cxapiMessage
	if msgs == nil {
		return &out
	}
	for _, m := range *msgs {
		raw, _ := json.Marshal(m)
		var v struct {
			ID    string `json:"id"`
			Entry struct {
				Data any `json:"data"`
			} `json:"entry"`
		}
		_ = json.Unmarshal(raw, &v)
		out = append(out, &cxapiMessage{v.ID, fmt.Sprint(v.Entry.Data)})
	}
	return &out
}

// cfn-lint finds no error in the synthesized template. (W3005, "dependency
// already enforced", is how CDK writes a role's policy dependency.)
func TestCfnLint(t *testing.T) {
	s := synth(t)
	bin, err := exec.LookPath("cfn-lint")
	if err != nil {
		t.Fatal("cfn-lint is not installed: pip install cfn-lint (make deps-infra does)")
	}
	out, err := exec.Command(bin, "--ignore-checks", "W3005", "--", s.templateFile).CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && exit.ExitCode()&2 == 0:
		t.Logf("cfn-lint warnings (exit %d):\n%s", exit.ExitCode(), out)
	default:
		t.Errorf("cfn-lint: %v\n%s", err, out)
	}
}

// storeKeys returns the key constants (names ending in Prefix or PK) a
// store file of shared/dynamo defines.
func storageKeys(t *testing.T) map[string]map[string]string {
	b, err := os.ReadFile("../shared/storage/keys.go")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]string{}
	for _, block := range regexp.MustCompile(`(?s)// \S[^\n]* of the (\w+) table[^\n]*\n(?://[^\n]*\n)*const \((.*?)\n\)`).FindAllStringSubmatch(string(b), -1) {
		keys := out[block[1]] // a table's keys may come in several blocks
		if keys == nil {
			keys = map[string]string{}
		}
		for _, m := range regexp.MustCompile(`(?m)^\s*(\w+(?:Prefix|PK))\s*=\s*"([^"]+)"`).FindAllStringSubmatch(block[2], -1) {
			keys[m[1]] = m[2]
		}
		out[block[1]] = keys
	}
	return out
}

// operatorOnlyKeys are auth table items that only inmorctl writes.
var operatorOnlyKeys = map[string]string{
	"user#":        "users are created by inmorctl",
	"counter#user": "user ids are allocated by inmorctl",
}

// Every kind of item the stores write (the keys of shared/storage, which
// the IAM conditions of infra/access.go also use) is covered by a grant: a
// new kind of item fails here until infra/access.go grants it.
func TestKeyPrefixesMatchStores(t *testing.T) {
	keysOf := storageKeys(t)
	writable := func(functions ...string) []string {
		var out []string
		for _, f := range Functions() {
			if !contains(functions, f.Name) {
				continue
			}
			for _, a := range f.Access {
				for _, act := range a.Actions {
					if contains(writeActions, act) {
						out = append(out, a.LeadingKeys...)
					}
				}
			}
		}
		return out
	}
	covered := func(key string, patterns []string) bool {
		for _, p := range patterns {
			if p == key || (strings.HasSuffix(p, "*") && strings.HasPrefix(key, strings.TrimSuffix(p, "*"))) || p == key+"*" {
				return true
			}
		}
		return false
	}
	for _, c := range []struct {
		table     string
		functions []string
	}{
		{"audit", []string{AuditFunction}},
		{"resources", []string{function.TrustMarkTypes, function.TrustMarks, function.Subordinates}},
		{"auth", []string{function.Auth, function.TrustMarkTypes, function.AuditQuery}},
	} {
		keys := keysOf[c.table]
		if len(keys) == 0 {
			t.Errorf("shared/storage/keys.go defines no keys of the %s table", c.table)
		}
		patterns := writable(c.functions...)
		for name, key := range keys {
			probe := key
			if strings.HasSuffix(name, "Prefix") {
				probe = key + "x"
			}
			if name == "UniquePrefix" {
				probe = key + string(resource.TypeTrustMarkType) + ".tmtype"
			}
			if _, ok := operatorOnlyKeys[key]; !ok && !covered(probe, patterns) {
				t.Errorf("%s table: %s = %q: no function of %v may write it; grant it in infra/access.go (or list it as operator-only)", c.table, name, key, c.functions)
			}
		}
	}
}

// API Gateway may invoke each API function, from this API only; nobody
// else may.
func TestInvokePermissions(t *testing.T) {
	s := synth(t)
	api := s.logicalID(s.stack.API)
	invoked := map[string]bool{}
	for _, id := range s.ofType("AWS::Lambda::Permission") {
		p := s.resources[id].Properties
		if p["Principal"] != "apigateway.amazonaws.com" || p["Action"] != "lambda:InvokeFunction" || !strings.Contains(jsonString(p["SourceArn"]), `"Ref":"`+api+`"`) {
			t.Errorf("permission %s: %s", id, jsonString(p))
		}
		invoked[strings.TrimSuffix(ref(p["FunctionName"]), ".Arn")] = true
	}
	for _, f := range Functions() {
		if id := s.logicalID(s.stack.Functions[f.Name]); invoked[id] != f.Routes {
			t.Errorf("%s: API Gateway may invoke it: %v, want %v", f.Name, invoked[id], f.Routes)
		}
	}
}

// Without alarmEmail, synthesis warns that no one hears the alarms, as it
// does for a missing entityId.
func TestWarnsWithoutAlarmEmail(t *testing.T) {
	s := synth(t)
	annotations := assertions.Annotations_FromStack(s.stack.Stack)
	var found *[]*cxapiMessage
	check(t, "alarmEmail warning", func() {
		found = toMessages(annotations.FindWarning(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("context alarmEmail is unset.*"))))
	})
	if found == nil || len(*found) != 1 {
		t.Errorf("warnings about alarmEmail: %v, want one", found)
	}
}
