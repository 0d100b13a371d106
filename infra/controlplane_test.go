package main

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/jsii-runtime-go"

	"github.com/inmor/inmor-serverless/shared/function"
	"github.com/inmor/inmor-serverless/shared/tables"
)

// statementsAt returns the policy statements at path of a resource's properties.
func statementsAt(props map[string]any, path ...string) []any {
	list, _ := get(props, path...).([]any)
	return list
}

// withSid returns the statement with the sid, or nil.
func withSid(statements []any, sid string) any {
	for _, st := range statements {
		if get(st, "Sid") == sid {
			return st
		}
	}
	return nil
}

// warningsLike returns the stack's warnings that match a regular expression.
func warningsLike(t *testing.T, s *synthesis, pattern string) []*cxapiMessage {
	t.Helper()
	var found *[]*cxapiMessage
	check(t, "warnings "+pattern, func() {
		found = toMessages(assertions.Annotations_FromStack(s.stack.Stack).FindWarning(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String(pattern))))
	})
	if found == nil {
		return nil
	}
	return *found
}

// The break-glass role guards: on both keys, kms:PutKeyPolicy, DisableKey
// and ScheduleKeyDeletion are denied to every principal but the break-glass
// role; on the audit table, its control plane is. Neither key bypasses
// KMS's lock-out safety check, so deploying a guarded policy as another
// role fails instead of locking that role out; and synthesis does not warn.
func TestBreakGlassGuards(t *testing.T) {
	s := synth(t)
	onlyBreakGlass := jsonString(map[string]any{"ArnNotEquals": map[string]any{"aws:PrincipalArn": testBreakGlass}})
	guard := func(what string, st any, actions []string) {
		t.Helper()
		if st == nil {
			t.Errorf("%s: no break-glass statement", what)
			return
		}
		if get(st, "Effect") != "Deny" || jsonString(get(st, "Principal")) != `{"AWS":"*"}` || get(st, "Resource") != "*" ||
			!sameStrings(strs(get(st, "Action")), actions) || jsonString(get(st, "Condition")) != onlyBreakGlass {
			t.Errorf("%s: break-glass statement %s, want a Deny of %v to all but %s", what, jsonString(st), actions, testBreakGlass)
		}
	}
	for name, key := range map[string]awskms.Key{"signing key": s.stack.SigningKey, "audit log key": s.stack.LogKey} {
		p := s.resources[s.logicalID(key)].Properties
		guard(name, withSid(statementsAt(p, "KeyPolicy", "Statement"), "OnlyTheBreakGlassRoleChangesTheKey"),
			[]string{"kms:PutKeyPolicy", "kms:DisableKey", "kms:ScheduleKeyDeletion"})
		if p["BypassPolicyLockoutSafetyCheck"] != nil {
			t.Errorf("%s: BypassPolicyLockoutSafetyCheck %v, want unset (KMS checks the deploying role keeps PutKeyPolicy)", name, p["BypassPolicyLockoutSafetyCheck"])
		}
	}
	audit := s.resources[s.logicalID(s.stack.Tables[tables.Audit.ID])].Properties
	guard("audit table", withSid(statementsAt(audit, "ResourcePolicy", "PolicyDocument", "Statement"), "OnlyTheBreakGlassRoleChangesTheTable"),
		[]string{"dynamodb:UpdateContinuousBackups", "dynamodb:UpdateTimeToLive", "dynamodb:UpdateTable", "dynamodb:DeleteTable", "dynamodb:PutResourcePolicy", "dynamodb:DeleteResourcePolicy"})
	if w := warningsLike(t, s, "context breakGlassRoleArn is unset.*"); len(w) != 0 {
		t.Errorf("warnings about breakGlassRoleArn with one set: %v", w)
	}
}

// Without breakGlassRoleArn, nothing is denied to everybody (that would
// lock everyone out of the keys and the table for good): the guards are
// left out, synthesis warns once, and the alerts remain.
func TestWithoutBreakGlass(t *testing.T) {
	synth(t)
	s, err := synthesizeIn(t.TempDir(), map[string]any{"breakGlassRoleArn": ""})
	if err != nil {
		t.Fatal(err)
	}
	if w := warningsLike(t, s, "context breakGlassRoleArn is unset.*"); len(w) != 1 {
		t.Errorf("warnings about breakGlassRoleArn: %v, want one", w)
	}
	var policies []any
	for _, key := range []awskms.Key{s.stack.SigningKey, s.stack.LogKey} {
		policies = append(policies, statementsAt(s.resources[s.logicalID(key)].Properties, "KeyPolicy", "Statement")...)
	}
	policies = append(policies, statementsAt(s.resources[s.logicalID(s.stack.Tables[tables.Audit.ID])].Properties, "ResourcePolicy", "PolicyDocument", "Statement")...)
	for _, st := range policies {
		actions := strs(get(st, "Action"))
		if get(st, "Effect") == "Deny" && (contains(actions, "kms:PutKeyPolicy") || contains(actions, "dynamodb:UpdateTable")) {
			t.Errorf("without a break-glass role: %s", jsonString(st))
		}
	}
	if n := len(s.ofType("AWS::Events::Rule")); n != 3 {
		t.Errorf("%d alert rules without a break-glass role, want 3", n)
	}
}

// The audit table's backups: a daily rule into a vault whose lock (which
// becomes immutable after its grace days) refuses shorter retention, the
// rule's retention at least the lock's minimum, the vault kept; the
// selection is the audit table alone, taken by a role that may only back
// that table up (no managed policy) and only AWS Backup of this account
// may assume.
func TestAuditBackup(t *testing.T) {
	s := synth(t)
	vaultID := s.logicalID(s.stack.BackupVault)
	vault := s.resources[vaultID]
	lock := get(vault.Properties, "LockConfiguration")
	minDays, _ := get(lock, "MinRetentionDays").(float64)
	if minDays < 35 || get(lock, "ChangeableForDays") == nil || vault.DeletionPolicy != "Retain" {
		t.Errorf("vault %s, deletion %q: want a lock of at least 35 days that becomes immutable, kept", jsonString(vault.Properties), vault.DeletionPolicy)
	}
	plans := s.ofType("AWS::Backup::BackupPlan")
	if len(plans) != 1 {
		t.Fatalf("backup plans %v, want one", plans)
	}
	rules := get(s.resources[plans[0]].Properties, "BackupPlan", "BackupPlanRule").([]any)
	for _, r := range rules {
		days, _ := get(r, "Lifecycle", "DeleteAfterDays").(float64)
		if ref(get(r, "TargetBackupVault")) != vaultID+".BackupVaultName" || days < minDays || !strings.HasPrefix(fmt.Sprint(get(r, "ScheduleExpression")), "cron(") {
			t.Errorf("backup rule %s: want a schedule into the locked vault, kept at least %v days", jsonString(r), minDays)
		}
	}
	if len(rules) != 1 {
		t.Errorf("backup rules %s, want one", jsonString(rules))
	}
	selection := s.resources[s.logicalID(s.stack.BackupSelection)].Properties
	if jsonString(get(selection, "BackupSelection", "Resources")) != jsonString([]any{map[string]any{"Fn::GetAtt": []any{s.logicalID(s.stack.Tables[tables.Audit.ID]), "Arn"}}}) ||
		ref(get(selection, "BackupPlanId")) != plans[0]+".BackupPlanId" {
		t.Errorf("backup selection %s: want the audit table alone, in the plan", jsonString(selection))
	}
	roleID := strings.TrimSuffix(ref(get(selection, "BackupSelection", "IamRoleArn")), ".Arn")
	role := s.resources[roleID].Properties
	trust := statementsAt(role, "AssumeRolePolicyDocument", "Statement")
	if len(trust) != 1 || jsonString(get(trust[0], "Principal")) != `{"Service":"backup.amazonaws.com"}` ||
		jsonString(get(trust[0], "Condition")) != `{"StringEquals":{"aws:SourceAccount":{"Ref":"AWS::AccountId"}}}` || role["ManagedPolicyArns"] != nil {
		t.Errorf("backup role %s: want AWS Backup of this account, no managed policy", jsonString(role))
	}
	var granted []string
	for _, id := range s.ofType("AWS::IAM::Policy") {
		p := s.resources[id].Properties
		if !strings.Contains(jsonString(p["Roles"]), `"Ref":"`+roleID+`"`) {
			continue
		}
		for _, st := range statementsAt(p, "PolicyDocument", "Statement") {
			for _, a := range strs(get(st, "Action")) {
				granted = append(granted, a+" "+s.canonicalResource(get(st, "Resource")))
			}
		}
	}
	audit := "table:" + tables.Audit.ID
	if want := []string{"dynamodb:DescribeTable " + audit, "dynamodb:ListTagsOfResource " + audit, "dynamodb:StartAwsBackupJob " + audit}; !sameStrings(granted, want) {
		t.Errorf("backup role grants %v, want %v", granted, want)
	}
}

// The trail: this region's write management events (EventBridge gets
// CloudTrail's API call events only while a trail logs them) and the audit
// function's invocations, nothing else, into its own private, encrypted,
// TLS-only bucket that CloudTrail alone may write (its log files, under
// AWSLogs/<account>/), kept when the stack goes and expiring after the log
// retention.
func TestTrail(t *testing.T) {
	s := synth(t)
	trails := s.ofType("AWS::CloudTrail::Trail")
	if len(trails) != 1 {
		t.Fatalf("trails %v, want one", trails)
	}
	tr := s.resources[trails[0]].Properties
	bucketID := s.logicalID(s.stack.TrailBucket)
	if ref(tr["S3BucketName"]) != bucketID || tr["IsLogging"] != true || tr["EnableLogFileValidation"] != true || tr["IsMultiRegionTrail"] != false {
		t.Errorf("trail %s", jsonString(tr))
	}
	audit := s.logicalID(s.stack.Functions[AuditFunction])
	want := jsonString([]any{
		map[string]any{"IncludeManagementEvents": true, "ReadWriteType": "WriteOnly"},
		map[string]any{"DataResources": []any{map[string]any{"Type": "AWS::Lambda::Function", "Values": []any{map[string]any{"Fn::GetAtt": []any{audit, "Arn"}}}}}, "IncludeManagementEvents": false, "ReadWriteType": "All"},
	})
	if got := jsonString(tr["EventSelectors"]); got != want || tr["AdvancedEventSelectors"] != nil {
		t.Errorf("trail event selectors %s, want %s", got, want)
	}
	b := s.resources[bucketID]
	if b.DeletionPolicy != "Retain" || get(b.Properties, "PublicAccessBlockConfiguration", "BlockPublicPolicy") != true || get(b.Properties, "BucketEncryption") == nil ||
		!strings.Contains(jsonString(get(b.Properties, "LifecycleConfiguration")), fmt.Sprintf(`"ExpirationInDays":%d`, DefaultConfig().LogRetentionDays)) {
		t.Errorf("trail bucket %s, deletion %q", jsonString(b.Properties), b.DeletionPolicy)
	}
	var allows []string
	for _, id := range s.ofType("AWS::S3::BucketPolicy") {
		p := s.resources[id].Properties
		if ref(p["Bucket"]) != bucketID {
			continue
		}
		for _, st := range statementsAt(p, "PolicyDocument", "Statement") {
			if get(st, "Effect") == "Allow" {
				allows = append(allows, jsonString(get(st, "Principal"))+" "+strings.Join(strs(get(st, "Action")), ",")+" "+jsonString(get(st, "Resource")))
			} else if jsonString(get(st, "Condition")) != `{"Bool":{"aws:SecureTransport":"false"}}` {
				t.Errorf("trail bucket policy: unexpected %s", jsonString(st))
			}
		}
	}
	arn := `{"Fn::GetAtt":["` + bucketID + `","Arn"]}`
	wantAllows := []string{
		`{"Service":"cloudtrail.amazonaws.com"} s3:GetBucketAcl ` + arn,
		`{"Service":"cloudtrail.amazonaws.com"} s3:PutObject {"Fn::Join":["",[` + arn + `,"/AWSLogs/",{"Ref":"AWS::AccountId"},"/*"]]}`,
	}
	if !sameStrings(allows, wantAllows) {
		t.Errorf("trail bucket policy allows\n%s\nwant\n%s", strings.Join(allows, "\n"), strings.Join(wantAllows, "\n"))
	}
}

// resolve replaces the intrinsic functions of a template value by the
// names ref gives them ("id", "id.attr"), joined where Fn::Join joins them.
func resolve(v any) any {
	switch v := v.(type) {
	case map[string]any:
		if r := ref(v); r != "" {
			return r
		}
		if j, ok := v["Fn::Join"].([]any); ok && len(j) == 2 {
			var parts []string
			for _, p := range j[1].([]any) {
				parts = append(parts, fmt.Sprint(resolve(p)))
			}
			return strings.Join(parts, fmt.Sprint(j[0]))
		}
		out := map[string]any{}
		for k, e := range v {
			out[k] = resolve(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = resolve(e)
		}
		return out
	}
	return v
}

// eventMatches reports whether an EventBridge event pattern matches an
// event, for the part of the pattern language the alerts use: nested
// objects, lists of values, prefix, exists, anything-but and $or. An array
// in the event matches when one of its elements does.
func eventMatches(pattern map[string]any, event any) bool {
	fields, _ := event.(map[string]any)
	for k, p := range pattern {
		if k == "$or" {
			matched := false
			for _, alt := range p.([]any) {
				matched = matched || eventMatches(alt.(map[string]any), event)
			}
			if !matched {
				return false
			}
			continue
		}
		v, present := fields[k]
		switch p := p.(type) {
		case map[string]any:
			elems, isList := v.([]any)
			if !isList {
				elems = []any{v}
			}
			matched := false
			for _, e := range elems {
				_, isObject := e.(map[string]any)
				matched = matched || (present && isObject && eventMatches(p, e))
			}
			if !matched {
				return false
			}
		case []any:
			if !valueMatches(p, v, present) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// valueMatches reports whether a field (one value or a list) matches one
// of a pattern's matchers.
func valueMatches(matchers []any, v any, present bool) bool {
	values, isList := v.([]any)
	if !isList {
		values = []any{v}
	}
	for _, m := range matchers {
		op, isOp := m.(map[string]any)
		if isOp && op["exists"] != nil {
			if op["exists"] == present {
				return true
			}
			continue
		}
		if !present {
			continue
		}
		for _, val := range values {
			s, isString := val.(string)
			switch {
			case !isOp:
				if val == m {
					return true
				}
			case op["prefix"] != nil:
				if isString && strings.HasPrefix(s, fmt.Sprint(op["prefix"])) {
					return true
				}
			case op["anything-but"] != nil:
				if isString && !contains(strs(op["anything-but"]), s) {
					return true
				}
			}
		}
	}
	return false
}

// apiCall is a CloudTrail "AWS API Call via CloudTrail" event as EventBridge
// delivers it.
func apiCall(service, name string, identity, request map[string]any, resources ...string) map[string]any {
	detail := map[string]any{
		"eventSource": service + ".amazonaws.com", "eventName": name,
		"userIdentity": identity, "requestParameters": request,
	}
	if len(resources) > 0 {
		var rs []any
		for _, r := range resources {
			rs = append(rs, map[string]any{"accountId": "123456789012", "ARN": r})
		}
		detail["resources"] = rs
	}
	return map[string]any{"source": "aws." + service, "detail-type": "AWS API Call via CloudTrail", "detail": detail}
}

// The alerts: one EventBridge rule each for the keys' control plane, the
// audit table's control plane and foreign invocations of the audit
// function, each publishing to the alarm topic alone, whose policy lets
// exactly these rules publish and whose key lets EventBridge encrypt. The
// patterns are run over made-up CloudTrail events: the calls alert,
// whoever makes them and however they name the resource; other calls and
// other resources do not; the stream mapping's invocations (made by the
// Lambda service) do not.
func TestControlPlaneAlerts(t *testing.T) {
	s := synth(t)
	topic := s.logicalID(s.stack.AlarmTopic)
	patterns := map[string]map[string]any{}
	var rules []string
	for _, rule := range s.stack.Alerts {
		id := s.logicalID(rule)
		rules = append(rules, id+".Arn")
		p := s.resources[id].Properties
		if targets := p["Targets"].([]any); len(targets) != 1 || ref(get(targets[0], "Arn")) != topic {
			t.Errorf("rule %s targets %s, want the alarm topic alone", id, jsonString(p["Targets"]))
		}
		pattern := resolve(p["EventPattern"]).(map[string]any)
		patterns[strs(pattern["source"])[0]] = pattern
	}
	if len(patterns) != 3 || len(s.ofType("AWS::Events::Rule")) != 3 {
		t.Fatalf("alert rules by source: %v, want aws.kms, aws.dynamodb, aws.lambda", patterns)
	}
	alerts := func(e map[string]any) bool {
		p, ok := patterns[e["source"].(string)]
		return ok && eventMatches(p, e)
	}
	admin := map[string]any{"type": "AssumedRole", "arn": "arn:aws:sts::123456789012:assumed-role/Admin/alice"}
	cfn := map[string]any{"type": "AssumedRole", "arn": "arn:aws:sts::123456789012:assumed-role/InmorBreakGlass/AWSCloudFormation", "invokedBy": "cloudformation.amazonaws.com"}
	signing, logKey, topicKey := s.logicalID(s.stack.SigningKey)+".Arn", s.logicalID(s.stack.LogKey)+".Arn", ""
	for _, id := range s.ofType("AWS::KMS::Key") {
		if id+".Arn" != signing && id+".Arn" != logKey {
			topicKey = id + ".Arn"
		}
	}
	for _, key := range []string{signing, logKey} {
		for _, name := range []string{"PutKeyPolicy", "DisableKey", "ScheduleKeyDeletion", "CreateGrant"} {
			for _, who := range []map[string]any{admin, cfn} {
				if e := apiCall("kms", name, who, map[string]any{"keyId": "alias/anything"}, key); !alerts(e) {
					t.Errorf("no alert on %s", jsonString(e))
				}
			}
		}
		for _, name := range []string{"Sign", "GetPublicKey", "DescribeKey", "EnableKeyRotation"} {
			if e := apiCall("kms", name, admin, map[string]any{"keyId": key}, key); alerts(e) {
				t.Errorf("alert on %s", jsonString(e))
			}
		}
	}
	if e := apiCall("kms", "PutKeyPolicy", admin, map[string]any{"keyId": topicKey}, topicKey); alerts(e) {
		t.Errorf("alert on another key: %s", jsonString(e))
	}
	table := s.logicalID(s.stack.Tables[tables.Audit.ID])
	other := s.logicalID(s.stack.Tables[tables.Resources.ID])
	for _, name := range []string{"UpdateContinuousBackups", "UpdateTimeToLive", "UpdateTable", "DeleteTable"} {
		for _, tableName := range []string{table, table + ".Arn"} {
			if e := apiCall("dynamodb", name, admin, map[string]any{"tableName": tableName}); !alerts(e) {
				t.Errorf("no alert on %s", jsonString(e))
			}
		}
		if e := apiCall("dynamodb", name, admin, map[string]any{"tableName": other}); alerts(e) {
			t.Errorf("alert on another table: %s", jsonString(e))
		}
	}
	for _, name := range []string{"PutResourcePolicy", "DeleteResourcePolicy"} {
		if e := apiCall("dynamodb", name, cfn, map[string]any{"resourceArn": table + ".Arn"}); !alerts(e) {
			t.Errorf("no alert on %s", jsonString(e))
		}
		if e := apiCall("dynamodb", name, admin, map[string]any{"resourceArn": other + ".Arn"}); alerts(e) {
			t.Errorf("alert on another table: %s", jsonString(e))
		}
	}
	if e := apiCall("dynamodb", "DescribeTable", admin, map[string]any{"tableName": table}); alerts(e) {
		t.Errorf("alert on a read: %s", jsonString(e))
	}
	audit := s.logicalID(s.stack.Functions[AuditFunction]) + ".Arn"
	// A service's call names it in invokedBy, beside the role it ran as.
	byService := func(service string) map[string]any {
		return map[string]any{"type": "AssumedRole", "invokedBy": service, "arn": "arn:aws:sts::123456789012:assumed-role/AuditRole/session",
			"sessionContext": map[string]any{"sessionIssuer": map[string]any{"type": "Role", "arn": s.logicalID(s.stack.Roles[AuditFunction]) + ".Arn"}}}
	}
	mapping := byService("lambda.amazonaws.com")
	for _, who := range []map[string]any{admin, byService("states.amazonaws.com"), byService("apigateway.amazonaws.com")} {
		for _, fn := range []string{audit, audit + ":$LATEST"} {
			if e := apiCall("lambda", "Invoke", who, map[string]any{"functionName": fn}, fn); !alerts(e) {
				t.Errorf("no alert on %s", jsonString(e))
			}
		}
	}
	if e := apiCall("lambda", "Invoke", mapping, nil, audit); alerts(e) {
		t.Errorf("alert on the stream mapping's invocation: %s", jsonString(e))
	}
	for _, fn := range []string{s.logicalID(s.stack.Functions[AuditFunction]) + "2.Arn", audit + "2", s.logicalID(s.stack.Functions[function.Auth]) + ".Arn"} {
		if e := apiCall("lambda", "Invoke", admin, map[string]any{"functionName": fn}, fn); alerts(e) {
			t.Errorf("alert on another function: %s", jsonString(e))
		}
	}
	// Only these rules may publish to the topic, and encrypt with its key.
	var publishers []string
	for _, id := range s.ofType("AWS::SNS::TopicPolicy") {
		for _, st := range statementsAt(s.resources[id].Properties, "PolicyDocument", "Statement") {
			if get(st, "Effect") != "Allow" {
				continue
			}
			if jsonString(get(st, "Principal")) != `{"Service":"events.amazonaws.com"}` || get(st, "Action") != "sns:Publish" || ref(get(st, "Resource")) != topic {
				t.Errorf("topic policy: unexpected %s", jsonString(st))
			}
			publishers = append(publishers, ref(get(st, "Condition", "ArnEquals", "aws:SourceArn")))
		}
	}
	if !sameStrings(publishers, rules) {
		t.Errorf("events.amazonaws.com may publish for rules %v, want %v", publishers, rules)
	}
	check(t, "the topic's key lets EventBridge encrypt for this account", func() {
		s.template.HasResourceProperties(jsii.String("AWS::KMS::Key"), assertions.Match_ObjectLike(&map[string]any{
			"KeyPolicy": assertions.Match_ObjectLike(&map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{
				"Effect":    "Allow",
				"Principal": map[string]any{"Service": assertions.Match_ArrayWith(&[]any{"events.amazonaws.com"})},
				"Action":    assertions.Match_ArrayWith(&[]any{"kms:Decrypt", "kms:GenerateDataKey*"}),
				"Condition": map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": map[string]any{"Ref": "AWS::AccountId"}}},
			})})}),
		}))
	})
}

// numberWords are the numbers the docs spell out.
var numberWords = map[string]int{"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12}

// The figures README.md and docs/architecture.md give of the template
// (alarms, alert rules, KMS keys, secrets, tables, Lambda functions,
// projected attributes) are its figures; alarms and projected attributes
// must be stated.
func TestDocumentedCounts(t *testing.T) {
	s := synth(t)
	projected := 0
	for _, idx := range s.resources[s.logicalID(s.stack.Tables[tables.Audit.ID])].Properties["GlobalSecondaryIndexes"].([]any) {
		projected += len(strs(get(idx, "Projection", "NonKeyAttributes")))
	}
	actual := map[string]int{
		"alarms":               len(s.ofType("AWS::CloudWatch::Alarm")),
		"alert rules":          len(s.ofType("AWS::Events::Rule")),
		"EventBridge rules":    len(s.ofType("AWS::Events::Rule")),
		"KMS keys":             len(s.ofType("AWS::KMS::Key")),
		"secrets":              len(s.ofType("AWS::SecretsManager::Secret")),
		"DynamoDB tables":      len(s.ofType("AWS::DynamoDB::Table")),
		"Lambda functions":     len(s.ofType("AWS::Lambda::Function")),
		"projected attributes": projected,
	}
	var kinds []string
	for k := range actual {
		kinds = append(kinds, strings.ReplaceAll(regexp.QuoteMeta(k), " ", `\s+`))
	}
	figure := regexp.MustCompile(`\b((?i:\d+|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve))\s+(` + strings.Join(kinds, "|") + `)\b`)
	stated := map[string]bool{}
	for _, file := range []string{"../README.md", "../docs/architecture.md"} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range figure.FindAllStringSubmatch(string(b), -1) {
			n, err := strconv.Atoi(m[1])
			if err != nil {
				n = numberWords[strings.ToLower(m[1])]
			}
			kind := strings.Join(strings.Fields(m[2]), " ")
			stated[kind] = true
			if n != actual[kind] {
				t.Errorf("%s: %q, but the template has %d %s", file, m[0], actual[kind], kind)
			}
		}
	}
	for _, kind := range []string{"alarms", "projected attributes"} {
		if !stated[kind] {
			t.Errorf("the docs state no number of %s (the template has %d)", kind, actual[kind])
		}
	}
	if projected > 100 {
		t.Errorf("%d projected attributes over the audit indexes, DynamoDB allows 100", projected)
	}
}
