package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"

	"github.com/inmor/inmor-serverless/shared/archive"
	"github.com/inmor/inmor-serverless/shared/mfa"

	"github.com/inmor/inmor-serverless/shared/function"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsbackup"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudtrail"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/inmor/inmor-serverless/shared/adminapi"
	"github.com/inmor/inmor-serverless/shared/app"
	"github.com/inmor/inmor-serverless/shared/auditstream"
	"github.com/inmor/inmor-serverless/shared/resource"
	"github.com/inmor/inmor-serverless/shared/signing"
	"github.com/inmor/inmor-serverless/shared/storage"
	"github.com/inmor/inmor-serverless/shared/tables"
)

// Stream mapping of the audit function; the reasons are in
// docs/architecture.md, "Infrastructure".
const (
	streamBatchSize        = 100
	streamBatchingWindowS  = 1
	streamRetryAttempts    = 10
	streamMaxRecordAgeS    = 6 * 60 * 60
	streamParallelization  = 1
	iteratorAgeAlarmMillis = 5 * 60 * 1000
	api5xxAlarmRate        = 0.05
)

// auditWriteMethods answer 405 on the audit paths: they are routed to the
// audit query function, whose router answers them.
var auditWriteMethods = []string{"POST", "PUT", "PATCH", "DELETE"}

// InmorStack is the whole system in one stack.
type InmorStack struct {
	Stack  awscdk.Stack
	Config Config
	// Tables by tables.Table ID.
	Tables map[string]awsdynamodb.Table
	// Functions and their roles by function name.
	Functions map[string]awslambda.Function
	Roles     map[string]awsiam.Role
	// SigningKey signs trust marks and subordinate statements.
	SigningKey awskms.Key
	// CursorKey signs the audit log's paging cursors (AUDIT_CURSOR_KEY).
	CursorKey awssecretsmanager.Secret
	// LogKey signs the audit log's checkpoints (AUDIT_LOG_KMS_KEY_ID).
	LogKey awskms.Key
	// CheckpointBucket keeps a copy of every checkpoint under Object Lock
	// in compliance mode (AUDIT_CHECKPOINT_BUCKET).
	CheckpointBucket awss3.Bucket
	// AttributionKey is the MAC key of attributions (ATTRIBUTION_KEY),
	// shared by the functions that write resources and the audit function.
	AttributionKey awssecretsmanager.Secret
	// MFAKey seals the TOTP secrets in the auth table (MFA_KEY), given to
	// the functions that serve second factors only.
	MFAKey awssecretsmanager.Secret
	API    awsapigatewayv2.HttpApi
	Stage  awsapigatewayv2.HttpStage
	// RouteKeys maps each API Gateway route key to its function.
	RouteKeys map[string]string
	// AuditFailures receives the stream batches the audit function gave up on.
	AuditFailures awssqs.Queue
	AlarmTopic    awssns.Topic
	Alarms        []awscloudwatch.Alarm
	// Alerts publish control plane calls on the keys and the audit table,
	// and foreign invocations of the audit function, to AlarmTopic.
	Alerts []awsevents.Rule
	// Trail logs the write management events and the audit function's
	// invocations into TrailBucket, for the alerts.
	Trail       awscloudtrail.Trail
	TrailBucket awss3.Bucket
	// BackupVault holds the audit table's daily backups under a vault
	// lock; BackupSelection puts the table in the plan.
	BackupVault     awsbackup.BackupVault
	BackupSelection awsbackup.BackupSelection
}

// constructName turns a function name into a construct id prefix.
func constructName(name string) string {
	r := []rune(name)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}

// routePath is the path of a route key. API Gateway refuses route paths that
// end in "/" and routes "/x/" to the route of "/x" (the raw path, with its
// slash, reaches the function, whose router tells them apart).
func routePath(p string) string {
	if len(p) > 1 {
		return strings.TrimSuffix(p, "/")
	}
	return p
}

// NewInmorStack builds the stack.
func NewInmorStack(scope constructs.Construct, cfg Config, props *awscdk.StackProps) (*InmorStack, error) {
	for _, f := range Functions() {
		bootstrap := filepath.Join(cfg.BuildDir, f.Name, "bootstrap")
		if _, err := os.Stat(bootstrap); err != nil {
			return nil, fmt.Errorf("the Lambda artifact %s is missing: run `make build` first (%v)", bootstrap, err)
		}
	}
	targets, err := RouteTargets()
	if err != nil {
		return nil, err
	}
	for key, function := range targets {
		if !deploys(function) {
			return nil, fmt.Errorf("route %s is served by %s, which infra/access.go does not deploy: add it to Functions()", key, function)
		}
	}
	if props == nil {
		props = &awscdk.StackProps{}
	}
	if props.Description == nil {
		props.Description = jsii.String("Inmor admin API (OpenID Federation trust anchor) with its audit log: HTTP API, Lambda, DynamoDB and Streams")
	}
	s := &InmorStack{
		Stack:     awscdk.NewStack(scope, jsii.String(cfg.StackName), props),
		Config:    cfg,
		Tables:    map[string]awsdynamodb.Table{},
		Functions: map[string]awslambda.Function{},
		Roles:     map[string]awsiam.Role{},
		RouteKeys: map[string]string{},
	}
	specs := Functions()
	for _, f := range specs {
		s.Roles[f.Name] = awsiam.NewRole(s.Stack, jsii.String(constructName(f.Name)+"Role"), &awsiam.RoleProps{
			AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
			Description: jsii.String("Inmor " + f.Name + " function"),
		})
	}
	s.warnWithoutBreakGlass()
	s.addSigningKey(specs)
	s.addLogKey()
	s.addCheckpointBucket()
	s.addTables()
	s.addAuditBackup()
	s.addAlarmTopic()
	s.addFunctions(specs)
	s.addStreamMapping()
	s.addAPI(targets)
	s.addAlarms(specs)
	s.addTrail()
	s.addControlPlaneAlerts()
	s.addOutputs()
	addNagSuppressions(s)
	return s, nil
}

// signingKeyPolicy is the key policy of a signing key: the account
// administers it but does not sign; only signers (sid names them) sign and
// read its public key; and no grant may let its grantee sign, otherwise
// anyone allowed kms:CreateGrant could grant itself Sign. Because KMS
// honours IAM policies only as far as the key policy delegates, no IAM
// policy elsewhere in the account can grant signing either. With a
// break-glass role, only it may change the key's policy, disable the key or
// schedule its deletion.
func signingKeyPolicy(sid string, signers []awsiam.IPrincipal, breakGlassRoleArn string) awsiam.PolicyDocument {
	statements := []awsiam.PolicyStatement{
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String("AccountAdministersButDoesNotSign"),
			Principals: &[]awsiam.IPrincipal{awsiam.NewAccountRootPrincipal()},
			NotActions: jsii.Strings("kms:Sign"),
			Resources:  jsii.Strings("*"),
		}),
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String(sid),
			Principals: &signers,
			Actions:    jsii.Strings("kms:Sign", "kms:GetPublicKey"),
			Resources:  jsii.Strings("*"),
		}),
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String("NoGrantMaySign"),
			Effect:     awsiam.Effect_DENY,
			Principals: &[]awsiam.IPrincipal{awsiam.NewAnyPrincipal()},
			Actions:    jsii.Strings("kms:CreateGrant"),
			Resources:  jsii.Strings("*"),
			Conditions: &map[string]interface{}{
				"ForAnyValue:StringEquals": map[string]interface{}{"kms:GrantOperations": []string{"Sign"}},
			},
		}),
	}
	if guard := onlyBreakGlass("OnlyTheBreakGlassRoleChangesTheKey", breakGlassRoleArn, keyControlActions); guard != nil {
		statements = append(statements, guard)
	}
	return awsiam.NewPolicyDocument(&awsiam.PolicyDocumentProps{Statements: &statements})
}

// addSigningKey creates the trust anchor's signing key. Its key policy lets
// the account administer and use the key for everything but kms:Sign, which
// only the signing functions' roles get: an IAM policy elsewhere in the
// account cannot grant signing.
func (s *InmorStack) addSigningKey(specs []Function) {
	var signers []awsiam.IPrincipal
	for _, f := range specs {
		if f.Signs {
			signers = append(signers, s.Roles[f.Name])
		}
	}
	policy := signingKeyPolicy("OnlyTheSigningFunctionsSign", signers, s.Config.BreakGlassRoleArn)
	s.SigningKey = awskms.NewKey(s.Stack, jsii.String("SigningKey"), &awskms.KeyProps{
		Description:   jsii.String("Inmor trust anchor signing key (ES256): trust marks and subordinate statements"),
		KeySpec:       awskms.KeySpec_ECC_NIST_P256,
		KeyUsage:      awskms.KeyUsage_SIGN_VERIFY,
		Policy:        policy,
		PendingWindow: awscdk.Duration_Days(jsii.Number(30)),
		// The key is the trust anchor's identity: never deleted with the stack.
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	for _, f := range specs {
		if f.Signs {
			s.Roles[f.Name].AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Actions:   jsii.Strings("kms:Sign", "kms:GetPublicKey"),
				Resources: jsii.Strings(*s.SigningKey.KeyArn()),
			}))
		}
	}
}

// addLogKey creates the audit log's own key, which signs its checkpoints:
// an Ed25519 KMS key (pure Ed25519, so checkpoints are standard signed
// notes), separate from the trust anchor's. Only the audit function's role
// may sign with it; the account administers it and reads its public key
// (what auditors verify with).
func (s *InmorStack) addLogKey() {
	audit := s.Roles[AuditFunction]
	policy := signingKeyPolicy("OnlyTheAuditFunctionSigns", []awsiam.IPrincipal{audit}, s.Config.BreakGlassRoleArn)
	s.LogKey = awskms.NewKey(s.Stack, jsii.String("AuditLogKey"), &awskms.KeyProps{
		Description:   jsii.String("Inmor audit log key (Ed25519): signs the log's checkpoints"),
		KeySpec:       awskms.KeySpec_ECC_NIST_EDWARDS25519,
		KeyUsage:      awskms.KeyUsage_SIGN_VERIFY,
		Policy:        policy,
		PendingWindow: awscdk.Duration_Days(jsii.Number(30)),
		// Checkpoints signed with it stay verifiable: never deleted with the stack.
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	audit.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("kms:Sign", "kms:GetPublicKey"),
		Resources: jsii.Strings(*s.LogKey.KeyArn()),
	}))
}

// addCheckpointBucket creates the bucket of the checkpoints' copies:
// Object Lock in compliance mode for CheckpointRetentionDays (no one, the
// account root included, can delete a copy or shorten its lock), versioned,
// encrypted, private, TLS only, kept when the stack goes. The audit function
// may only put checkpoints into it.
func (s *InmorStack) addCheckpointBucket() {
	s.CheckpointBucket = awss3.NewBucket(s.Stack, jsii.String("CheckpointBucket"), &awss3.BucketProps{
		ObjectLockEnabled:          jsii.Bool(true),
		ObjectLockDefaultRetention: awss3.ObjectLockRetention_Compliance(awscdk.Duration_Days(jsii.Number(float64(s.Config.CheckpointRetentionDays)))),
		Versioned:                  jsii.Bool(true),
		Encryption:                 awss3.BucketEncryption_S3_MANAGED,
		BlockPublicAccess:          awss3.BlockPublicAccess_BLOCK_ALL(),
		EnforceSSL:                 jsii.Bool(true),
		RemovalPolicy:              awscdk.RemovalPolicy_RETAIN,
	})
	s.Roles[AuditFunction].AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("s3:PutObject"),
		Resources: jsii.Strings(*s.CheckpointBucket.ArnForObjects(jsii.String(archive.KeyPrefix + "*"))),
	}))
}

// auditTablePolicy is the audit table's resource policy: nobody but the
// audit function's role may write items, and nobody may delete one (TTL
// expiry of markers is done by DynamoDB itself). With a break-glass role,
// only it may change the table's control plane (backups, TTL, settings,
// the policy itself) or delete the table; without one, administrators are
// bound too, until they change the policy (a CloudTrail-logged act that
// alerts).
func (s *InmorStack) auditTablePolicy() awsiam.PolicyDocument {
	var others []string
	for _, a := range writeActions {
		if a != deleteItem && a != "dynamodb:PartiQLDelete" {
			others = append(others, a)
		}
	}
	statements := []awsiam.PolicyStatement{
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String("OnlyTheAuditFunctionWrites"),
			Effect:     awsiam.Effect_DENY,
			Principals: &[]awsiam.IPrincipal{awsiam.NewAnyPrincipal()},
			Actions:    jsii.Strings(others...),
			Resources:  jsii.Strings("*"),
			Conditions: &map[string]interface{}{
				"ArnNotEquals": map[string]interface{}{"aws:PrincipalArn": s.Roles[AuditFunction].RoleArn()},
			},
		}),
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String("NobodyDeletesEntries"),
			Effect:     awsiam.Effect_DENY,
			Principals: &[]awsiam.IPrincipal{awsiam.NewAnyPrincipal()},
			Actions:    jsii.Strings(deleteItem, "dynamodb:PartiQLDelete"),
			Resources:  jsii.Strings("*"),
		}),
	}
	if guard := onlyBreakGlass("OnlyTheBreakGlassRoleChangesTheTable", s.Config.BreakGlassRoleArn, auditTableControlActions); guard != nil {
		statements = append(statements, guard)
	}
	return awsiam.NewPolicyDocument(&awsiam.PolicyDocumentProps{Statements: &statements})
}

func (s *InmorStack) addTables() {
	for _, t := range tables.All() {
		o := tableOptions{Retain: s.Config.RetainData, DeletionProtection: true}
		if t.ID == tables.Audit.ID {
			o = tableOptions{Retain: true, DeletionProtection: true, ResourcePolicy: s.auditTablePolicy()}
		}
		s.Tables[t.ID] = newTable(s.Stack, t, o)
	}
}

func (s *InmorStack) addAlarmTopic() {
	key := awskms.NewKey(s.Stack, jsii.String("AlarmTopicKey"), &awskms.KeyProps{
		Description:       jsii.String("Inmor alarm topic encryption"),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     awscdk.RemovalPolicy_DESTROY,
		PendingWindow:     awscdk.Duration_Days(jsii.Number(7)),
	})
	// CloudWatch (alarms) and EventBridge (alerts) publish to the
	// encrypted topic, for this account only.
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid: jsii.String("AlarmsAndAlertsPublish"),
		Principals: &[]awsiam.IPrincipal{
			awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil),
			awsiam.NewServicePrincipal(jsii.String("events.amazonaws.com"), nil),
		},
		Actions:   jsii.Strings("kms:Decrypt", "kms:GenerateDataKey*"),
		Resources: jsii.Strings("*"),
		Conditions: &map[string]interface{}{
			"StringEquals": map[string]interface{}{"aws:SourceAccount": s.Stack.Account()},
		},
	}), jsii.Bool(false))
	s.AlarmTopic = awssns.NewTopic(s.Stack, jsii.String("AlarmTopic"), &awssns.TopicProps{
		DisplayName: jsii.String("Inmor alarms"),
		MasterKey:   key,
		EnforceSSL:  jsii.Bool(true),
	})
	if s.Config.AlarmEmail != "" {
		s.AlarmTopic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(s.Config.AlarmEmail), nil))
	} else {
		awscdk.Annotations_Of(s.Stack).AddWarningV2(jsii.String("inmor:alarmEmail"),
			jsii.String("context alarmEmail is unset: no one is told when an alarm fires; deploy with -c alarmEmail=you@example.org or subscribe to the AlarmTopicArn output"), nil)
	}

}

// statement turns one Access into an IAM statement.
func (s *InmorStack) statement(a Access) awsiam.PolicyStatement {
	table := s.Tables[a.Table]
	resources := []string{*table.TableArn()}
	if a.Indexes {
		resources = nil
		for _, t := range tables.All() {
			if t.ID == a.Table {
				for _, idx := range t.Indexes {
					resources = append(resources, *table.TableArn()+"/index/"+idx.Name)
				}
			}
		}
	}
	if a.Index != "" {
		resources = []string{*table.TableArn() + "/index/" + a.Index}
	}
	props := &awsiam.PolicyStatementProps{Actions: jsii.Strings(a.Actions...), Resources: jsii.Strings(resources...)}
	if len(a.LeadingKeys) > 0 {
		props.Conditions = &map[string]interface{}{
			"ForAllValues:StringLike": map[string]interface{}{"dynamodb:LeadingKeys": a.LeadingKeys},
		}
	}
	return awsiam.NewPolicyStatement(props)
}

func (s *InmorStack) environment(f Function) map[string]*string {
	env := map[string]*string{}
	for _, id := range f.Tables {
		for _, t := range tables.All() {
			if t.ID == id {
				env[t.NameVariable] = s.Tables[id].TableName()
			}
		}
	}
	if f.Routes {
		// The CSRF origin check of session requests, in every API function.
		env["ALLOWED_ORIGINS"] = jsii.String(strings.Join(s.Config.AllowedOrigins, ","))
		// The second-factor policy of staff sessions, in every API function.
		env[app.EnvMFARequiredForStaff] = jsii.String(strconv.FormatBool(s.Config.MFARequiredForStaff))
	}
	if f.Signs {
		env[signing.EnvKMSKeyID] = s.SigningKey.KeyArn()
		entityID := s.Config.EntityID
		if entityID == "" {
			// A placeholder until the deployment names its entity id.
			entityID = "https://" + strings.ToLower(s.Config.StackName) + ".invalid"
			awscdk.Annotations_Of(s.Stack).AddWarningV2(jsii.String("inmor:entityId"),
				jsii.String("context entityId is unset: statements and marks are issued by "+entityID+"; deploy with -c entityId=https://your-trust-anchor"), nil)
		}
		env["TA_ENTITY_ID"] = jsii.String(entityID)
		issuer := s.Config.TrustMarkIssuer
		if issuer == "" {
			issuer = entityID
		}
		env["TRUSTMARK_ISSUER"] = jsii.String(issuer)
	}
	if f.Name == function.Auth {
		env["SESSION_COOKIE_SECURE"] = jsii.String("true")
	}
	if f.Name == function.AuditQuery && s.CursorKey != nil {
		env[cursorKeyVariable] = s.CursorKey.SecretValue().UnsafeUnwrap()
	}
	if signsAttributions(f) {
		env[app.EnvAttributionKey] = s.AttributionKey.SecretValue().UnsafeUnwrap()
	}
	if servesSecondFactors(f.Name) {
		env[app.EnvMFAKey] = s.MFAKey.SecretValue().UnsafeUnwrap()
	}
	// Optional settings, from context values: set only when given.
	optional := map[string]map[string]string{
		function.Subordinates: {
			"TA_AUTHORITY_HINTS": s.Config.Server.AuthorityHints, "TA_TRUST_MARKS": s.Config.Server.TrustMarks,
			"TA_TRUST_MARK_ISSUERS": s.Config.Server.TrustMarkIssuers, "TA_SERVER_EXPIRY_HOURS": s.Config.Server.ExpiryHours,
		},
		function.Federation: {"SUBORDINATE_EVENTS_TTL_HOURS": s.Config.EventsTTLHours, "SUBORDINATE_EVENTS_INFORMATION_URI": s.Config.EventsInformationURI},
		function.Auth:       {mfa.EnvWebAuthnRPID: s.Config.WebAuthnRPID},
	}
	for name, value := range optional[f.Name] {
		if value != "" {
			env[name] = jsii.String(value)
		}
	}
	if f.Name == function.Audit {
		env["RESOURCES_STREAM_ARN"] = s.Tables[tables.Resources.ID].TableStreamArn()
		env["AUTH_STREAM_ARN"] = s.Tables[tables.Auth.ID].TableStreamArn()
		env[signing.EnvLogKMSKeyID] = s.LogKey.KeyArn()
		env[archive.EnvBucket] = s.CheckpointBucket.BucketName()
	}
	return env
}

// signsAttributions reports whether a function holds the attribution key:
// it writes the resources table or session events (its writes carry a
// signed attribution), or it is the audit function (which checks them).
func signsAttributions(f Function) bool {
	if writesResources(f) || f.Name == function.Audit {
		return true
	}
	for _, a := range f.Access {
		if a.Table == tables.Auth.ID && slices.Contains(a.Actions, putItem) && slices.Contains(a.LeadingKeys, storage.SessionEventPrefix+"*") {
			return true
		}
	}
	return false
}

// writesResources reports whether a function writes the resources table
// (its writes carry an attribution).
func writesResources(f Function) bool {
	for _, a := range f.Access {
		if a.Table == tables.Resources.ID && slices.Contains(a.Actions, putItem) {
			return true
		}
	}
	return false
}

// cursorKeyVariable holds the key that signs the audit log's paging
// cursors; every instance of the query function must share it.
const cursorKeyVariable = "AUDIT_CURSOR_KEY"

// configVariables returns the variables the functions' configuration
// (app.ConfigFromEnv) reads.
func configVariables() map[string]bool {
	seen := map[string]bool{}
	app.ConfigFromEnv(func(k string) string { seen[k] = true; return "" })
	return seen
}

// logGroup is a log group kept when the stack is deleted (function logs
// and access logs hold source IPs and user agents: an investigation may
// need them), for the configured retention.
func (s *InmorStack) logGroup(id string) awslogs.LogGroup {
	group := awslogs.NewLogGroup(s.Stack, jsii.String(id), &awslogs.LogGroupProps{RemovalPolicy: awscdk.RemovalPolicy_RETAIN})
	group.Node().DefaultChild().(awslogs.CfnLogGroup).SetRetentionInDays(jsii.Number(float64(s.Config.LogRetentionDays)))
	return group
}

func (s *InmorStack) addFunctions(specs []Function) {
	if configVariables()[cursorKeyVariable] {
		s.CursorKey = awssecretsmanager.NewSecret(s.Stack, jsii.String("AuditCursorKey"), &awssecretsmanager.SecretProps{
			Description: jsii.String("Inmor: HMAC key of the audit log's paging cursors (" + cursorKeyVariable + " of the auditquery function)"),
			GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
				PasswordLength:     jsii.Number(64),
				ExcludePunctuation: jsii.Bool(true),
			},
			RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
		})
	}
	s.AttributionKey = awssecretsmanager.NewSecret(s.Stack, jsii.String("AttributionKey"), &awssecretsmanager.SecretProps{
		Description: jsii.String("Inmor: MAC key of the attribution of every write (" + app.EnvAttributionKey + " of the API functions that write and of the audit function)"),
		GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
			PasswordLength:     jsii.Number(64),
			ExcludePunctuation: jsii.Bool(true),
		},
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	mfaKeyRemoval := awscdk.RemovalPolicy_DESTROY
	if s.Config.RetainData {
		mfaKeyRemoval = awscdk.RemovalPolicy_RETAIN // kept with the auth table: without it no enrolled secret opens
	}
	s.MFAKey = awssecretsmanager.NewSecret(s.Stack, jsii.String("MFAKey"), &awssecretsmanager.SecretProps{
		Description: jsii.String("Inmor: key that seals the TOTP secrets of the auth table (" + app.EnvMFAKey + " of the auth and auditquery functions)"),
		GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
			PasswordLength:     jsii.Number(64),
			ExcludePunctuation: jsii.Bool(true),
		},
		RemovalPolicy: mfaKeyRemoval,
	})
	for _, f := range specs {
		name := constructName(f.Name)
		role := s.Roles[f.Name]
		logs := s.logGroup(name + "Logs")
		role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents"),
			Resources: jsii.Strings(*logs.LogGroupArn()),
		}))
		for _, a := range f.Access {
			role.AddToPrincipalPolicy(s.statement(a))
		}
		fn := awslambda.NewFunction(s.Stack, jsii.String(name+"Function"), &awslambda.FunctionProps{
			Description:  jsii.String(f.Description),
			Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
			Architecture: awslambda.Architecture_ARM_64(),
			Handler:      jsii.String("bootstrap"),
			Code:         awslambda.Code_FromAsset(jsii.String(filepath.Join(s.Config.BuildDir, f.Name)), nil),
			MemorySize:   jsii.Number(f.MemoryMB),
			Timeout:      awscdk.Duration_Seconds(jsii.Number(f.TimeoutSeconds)),
			Tracing:      awslambda.Tracing_ACTIVE,
			Role:         role,
			LogGroup:     logs,
			Environment:  &map[string]*string{},
		})
		env := s.environment(f)
		keys := make([]string, 0, len(env))
		for k := range env {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fn.AddEnvironment(jsii.String(k), env[k], nil)
		}
		s.Functions[f.Name] = fn
	}
}

// authStreamFilters keep the auth table's records the audit function
// records: users and API keys (any change; a key's last use still
// reaches the function, which records nothing for it) and session events
// (their INSERT; their TTL expiry records nothing). Sessions, login
// failure counts and the user id counter never reach the function.
func authStreamFilters() []*map[string]interface{} {
	prefixes := func(ps ...string) []interface{} {
		var out []interface{}
		for _, p := range ps {
			out = append(out, map[string]interface{}{"prefix": p})
		}
		return out
	}
	return []*map[string]interface{}{
		awslambda.FilterCriteria_Filter(&map[string]interface{}{
			"dynamodb": map[string]interface{}{"Keys": map[string]interface{}{"pk": map[string]interface{}{"S": prefixes(storage.UserPrefix, storage.APIKeyPrefix)}}},
		}),
		awslambda.FilterCriteria_Filter(&map[string]interface{}{
			"eventName": []interface{}{"INSERT"},
			"dynamodb":  map[string]interface{}{"Keys": map[string]interface{}{"pk": map[string]interface{}{"S": prefixes(storage.SessionEventPrefix)}}},
		}),
	}
}

// streamFilters keep the records the audit function records: resource
// items (any change) and attempts (their INSERT; their TTL expiry records
// nothing). Id counters and uniqueness guards are bookkeeping and never
// reach the function.
func streamFilters() []*map[string]interface{} {
	var types []interface{}
	for _, t := range resource.Types {
		types = append(types, string(t))
	}
	return []*map[string]interface{}{
		awslambda.FilterCriteria_Filter(&map[string]interface{}{
			"dynamodb": map[string]interface{}{"Keys": map[string]interface{}{"pk": map[string]interface{}{"S": types}}},
		}),
		awslambda.FilterCriteria_Filter(&map[string]interface{}{
			"eventName": []interface{}{"INSERT"},
			"dynamodb":  map[string]interface{}{"Keys": map[string]interface{}{"pk": map[string]interface{}{"S": []interface{}{storage.AttemptPK}}}},
		}),
	}
}

func (s *InmorStack) addStreamMapping() {
	s.AuditFailures = awssqs.NewQueue(s.Stack, jsii.String("AuditFailures"), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
	})
	fn := s.Functions[AuditFunction]
	// One mapping per table, with the same settings and failure queue.
	for _, source := range []struct {
		table   string
		filters []*map[string]interface{}
	}{{tables.Resources.ID, streamFilters()}, {tables.Auth.ID, authStreamFilters()}} {
		filters := source.filters
		fn.AddEventSource(awslambdaeventsources.NewDynamoEventSource(s.Tables[source.table], &awslambdaeventsources.DynamoEventSourceProps{
			StartingPosition:        awslambda.StartingPosition_TRIM_HORIZON,
			BatchSize:               jsii.Number(streamBatchSize),
			MaxBatchingWindow:       awscdk.Duration_Seconds(jsii.Number(streamBatchingWindowS)),
			BisectBatchOnError:      jsii.Bool(true),
			RetryAttempts:           jsii.Number(streamRetryAttempts),
			MaxRecordAge:            awscdk.Duration_Seconds(jsii.Number(streamMaxRecordAgeS)),
			ReportBatchItemFailures: jsii.Bool(true),
			ParallelizationFactor:   jsii.Number(streamParallelization),
			OnFailure:               awslambdaeventsources.NewSqsDlq(s.AuditFailures),
			Filters:                 &filters,
		}))
	}
}

// httpMethod converts a method name.
func httpMethod(m string) awsapigatewayv2.HttpMethod {
	switch m {
	case "GET":
		return awsapigatewayv2.HttpMethod_GET
	case "POST":
		return awsapigatewayv2.HttpMethod_POST
	case "PUT":
		return awsapigatewayv2.HttpMethod_PUT
	case "PATCH":
		return awsapigatewayv2.HttpMethod_PATCH
	case "DELETE":
		return awsapigatewayv2.HttpMethod_DELETE
	case "HEAD":
		return awsapigatewayv2.HttpMethod_HEAD
	case "OPTIONS":
		return awsapigatewayv2.HttpMethod_OPTIONS
	}
	panic("infra: unknown HTTP method " + m)
}

// accessLogFormat is one JSON line per request: who called (source IP, user
// agent), what (route, path, status) and how long, never a credential.
const accessLogFormat = `{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","userAgent":"$context.identity.userAgent",` +
	`"requestTime":"$context.requestTime","method":"$context.httpMethod","routeKey":"$context.routeKey","path":"$context.path",` +
	`"status":"$context.status","protocol":"$context.protocol","responseLength":"$context.responseLength",` +
	`"latency":"$context.responseLatency","integrationLatency":"$context.integrationLatency",` +
	`"integrationStatus":"$context.integrationStatus","integrationError":"$context.integrationErrorMessage","errorMessage":"$context.error.message"}`

// RouteTargets is every route key of the API with the function that serves
// it: one per route of adminapi.Routes (paths ending in "/" share the route of
// the path without it, which must be served by the same function), plus
// the write methods of the audit query function's paths (the audit log,
// the admin pages, the OpenAPI document), which its router answers 405.
func RouteTargets() (map[string]string, error) {
	out := map[string]string{}
	add := func(method, path, function string) error {
		key := method + " " + routePath(path)
		if prev, ok := out[key]; ok && prev != function {
			return fmt.Errorf("route %s is served by both %s and %s", key, prev, function)
		}
		out[key] = function
		return nil
	}
	auditPaths := map[string]bool{}
	for _, r := range adminapi.Routes {
		if err := add(r.Method, r.Path, r.Function); err != nil {
			return nil, err
		}
		if r.Function == function.AuditQuery {
			auditPaths[r.Path] = true
		}
	}
	for p := range auditPaths {
		for _, m := range auditWriteMethods {
			if _, ok := out[m+" "+routePath(p)]; !ok {
				if err := add(m, p, function.AuditQuery); err != nil {
					return nil, err
				}
			}
		}
	}
	return out, nil
}

// servesSecondFactors reports whether a function checks and enrols second
// factors (the auth function, and auditquery for the admin view's login):
// it needs the MFA key.
func servesSecondFactors(name string) bool {
	return name == function.Auth || name == function.AuditQuery
}

// loginRouteKeys are the route keys of the login routes (the API's and the
// admin page's), throttled harder: each runs argon2id; and of their second
// steps (/login/mfa, and the security key options of /login/mfa/webauthn),
// where codes are guessed, and of the reauthentications (argon2id too).
func loginRouteKeys(targets map[string]string) []string {
	var out []string
	for key := range targets {
		method, path, _ := strings.Cut(key, " ")
		path = strings.TrimSuffix(path, "/")
		if method == "POST" && slices.ContainsFunc([]string{"/login", "/login/mfa", "/login/mfa/webauthn", "/reauthenticate"}, func(suffix string) bool {
			return strings.HasSuffix(path, suffix)
		}) {
			out = append(out, key)
		}
	}
	sort.Strings(out)
	return out
}

// deploys reports whether the stack deploys a function.
func deploys(name string) bool {
	for _, f := range Functions() {
		if f.Name == name {
			return true
		}
	}
	return false
}

func (s *InmorStack) addAPI(targets map[string]string) {
	props := &awsapigatewayv2.HttpApiProps{
		ApiName:            jsii.String(s.Config.StackName + "-admin-api"),
		Description:        jsii.String("Inmor admin API"),
		CreateDefaultStage: jsii.Bool(false),
	}
	if len(s.Config.AllowedOrigins) > 0 {
		props.CorsPreflight = &awsapigatewayv2.CorsPreflightOptions{
			AllowOrigins:     jsii.Strings(s.Config.AllowedOrigins...),
			AllowMethods:     &[]awsapigatewayv2.CorsHttpMethod{awsapigatewayv2.CorsHttpMethod_GET, awsapigatewayv2.CorsHttpMethod_POST, awsapigatewayv2.CorsHttpMethod_PUT},
			AllowHeaders:     jsii.Strings("content-type", "x-api-key", "x-csrftoken"),
			AllowCredentials: jsii.Bool(true),
			MaxAge:           awscdk.Duration_Hours(jsii.Number(1)),
		}
	}
	s.API = awsapigatewayv2.NewHttpApi(s.Stack, jsii.String("Api"), props)
	accessLogs := s.logGroup("ApiAccessLogs")
	s.Stage = awsapigatewayv2.NewHttpStage(s.Stack, jsii.String("DefaultStage"), &awsapigatewayv2.HttpStageProps{
		HttpApi:    s.API,
		StageName:  jsii.String("$default"),
		AutoDeploy: jsii.Bool(true),
		Throttle: &awsapigatewayv2.ThrottleSettings{
			RateLimit:  jsii.Number(s.Config.APIRateLimit),
			BurstLimit: jsii.Number(s.Config.APIBurstLimit),
		},
	})
	stage := s.Stage.Node().DefaultChild().(awsapigatewayv2.CfnStage)
	stage.SetAccessLogSettings(&awsapigatewayv2.CfnStage_AccessLogSettingsProperty{
		DestinationArn: accessLogs.LogGroupArn(),
		Format:         jsii.String(accessLogFormat),
	})

	integrations := map[string]awsapigatewayv2integrations.HttpLambdaIntegration{}
	keys := make([]string, 0, len(targets))
	for k := range targets {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	logins := loginRouteKeys(targets)
	routeSettings := map[string]interface{}{}
	for _, key := range keys {
		function := targets[key]
		integration, ok := integrations[function]
		if !ok {
			integration = awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String(constructName(function)+"Integration"), s.Functions[function], &awsapigatewayv2integrations.HttpLambdaIntegrationProps{
				PayloadFormatVersion: awsapigatewayv2.PayloadFormatVersion_VERSION_2_0(),
				// One invoke permission per function for this API, rather
				// than one per route (dozens, near the size limit of a
				// function's resource policy).
				ScopePermissionToRoute: jsii.Bool(false),
			})
			integrations[function] = integration
		}
		method, path, _ := strings.Cut(key, " ")
		route := awsapigatewayv2.NewHttpRoute(s.Stack, jsii.String("Route "+key), &awsapigatewayv2.HttpRouteProps{
			HttpApi:     s.API,
			RouteKey:    awsapigatewayv2.HttpRouteKey_With(jsii.String(path), httpMethod(method)),
			Integration: integration,
		})
		s.RouteKeys[key] = function
		rate, burst := 0.0, 0.0
		switch {
		case contains(logins, key):
			rate, burst = s.Config.LoginRateLimit, s.Config.LoginBurstLimit
		case function == FederationFunction:
			rate, burst = s.Config.EventsRateLimit, s.Config.EventsBurstLimit
		}
		if rate > 0 {
			// Route settings name existing routes.
			s.Stage.Node().AddDependency(route)
			// RouteSettings is free-form JSON in CloudFormation: CloudFormation's names.
			routeSettings[key] = map[string]interface{}{"ThrottlingRateLimit": rate, "ThrottlingBurstLimit": burst}
		}
	}
	if len(routeSettings) > 0 {
		stage.SetRouteSettings(&routeSettings)
	}
}

func (s *InmorStack) alarm(id, description string, metric awscloudwatch.IMetric, threshold float64, op awscloudwatch.ComparisonOperator) {
	a := awscloudwatch.NewAlarm(s.Stack, jsii.String(id), &awscloudwatch.AlarmProps{
		AlarmDescription:   jsii.String(description),
		Metric:             metric,
		Threshold:          jsii.Number(threshold),
		EvaluationPeriods:  jsii.Number(1),
		ComparisonOperator: op,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	action := awscloudwatchactions.NewSnsAction(s.AlarmTopic)
	a.AddAlarmAction(action)
	s.Alarms = append(s.Alarms, a)
}

func (s *InmorStack) addAlarms(specs []Function) {
	five := awscdk.Duration_Minutes(jsii.Number(5))
	for _, f := range specs {
		fn := s.Functions[f.Name]
		name := constructName(f.Name)
		s.alarm(name+"ErrorsAlarm", "The "+f.Name+" function failed (errors, timeouts or crashes).",
			fn.MetricErrors(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Sum")}), 1,
			awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD)
		s.alarm(name+"ThrottlesAlarm", "The "+f.Name+" function was throttled.",
			fn.MetricThrottles(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Sum")}), 1,
			awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD)
	}
	audit := s.Functions[AuditFunction]
	s.alarm("StreamIteratorAgeAlarm", "The audit log lags: the oldest stream record waiting for the audit function is over 5 minutes old.",
		audit.Metric(jsii.String("IteratorAge"), &awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Maximum")}),
		iteratorAgeAlarmMillis, awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD)
	s.alarm("AuditFailuresAlarm", "Stream records the audit function gave up on: replay them from the stream (24 h) or record them by hand; see README.",
		s.AuditFailures.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Maximum")}), 1,
		awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD)
	// The audit function's own metrics (Embedded Metric Format lines).
	s.alarm("AuditDeadLettersAlarm", "The audit function set stream records aside as dead letters: list and replay them with inmorctl audit dlq.",
		awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace: jsii.String(auditstream.MetricsNamespace), MetricName: jsii.String("SetAside"),
			DimensionsMap: &map[string]*string{"Function": jsii.String("audit")}, Period: five, Statistic: jsii.String("Sum"),
		}), 1, awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD)
	for _, f := range specs {
		timeout := f.TimeoutSeconds * 1000
		s.alarm(constructName(f.Name)+"DurationAlarm", "The "+f.Name+" function ran for over 80% of its timeout: it is close to timing out.",
			s.Functions[f.Name].MetricDuration(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Maximum")}),
			0.8*timeout, awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD)
	}
	for _, t := range tables.All() {
		table, name := s.Tables[t.ID], constructName(t.ID)
		s.alarm(name+"TableThrottledAlarm", "Requests to the "+t.ID+" table were throttled.",
			table.Metric(jsii.String("ThrottledRequests"), &awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Sum")}), 1,
			awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD)
		s.alarm(name+"TableSystemErrorsAlarm", "DynamoDB answered the "+t.ID+" table's requests with system errors.",
			table.Metric(jsii.String("SystemErrors"), &awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Sum")}), 1,
			awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD)
	}
	s.alarm("TransactionConflictAlarm", "Transactions on the audit table conflicted more than 10 times in 5 minutes (the journal retries them, but appends slow down).",
		s.Tables[tables.Audit.ID].Metric(jsii.String("TransactionConflict"), &awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Sum")}), 10,
		awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD)
	s.alarm("AuditForeignRecordsAlarm", "The audit function was given stream records of another source than the resources table's stream (a direct invocation with a made-up event?): see its log.",
		awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace: jsii.String(auditstream.MetricsNamespace), MetricName: jsii.String("Foreign"),
			DimensionsMap: &map[string]*string{"Function": jsii.String("audit")}, Period: five, Statistic: jsii.String("Sum"),
		}), 1, awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD)
	s.alarm("Api5xxAlarm", "Over 5% of the API's requests in 5 minutes answered 5xx.",
		s.API.MetricServerError(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Average")}),
		api5xxAlarmRate, awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD)
}

func (s *InmorStack) addOutputs() {
	out := func(id, description string, value *string) {
		awscdk.NewCfnOutput(s.Stack, jsii.String(id), &awscdk.CfnOutputProps{Value: value, Description: jsii.String(description)})
	}
	out("ApiUrl", "The admin API's base URL", jsii.String(*s.API.ApiEndpoint()+adminapi.BasePath))
	for _, t := range tables.All() {
		out(t.ID+"TableName", t.NameVariable+" for inmorctl and scripts", s.Tables[t.ID].TableName())
	}
	out("SigningKeyArn", "The trust anchor's KMS signing key (ECC_NIST_P256)", s.SigningKey.KeyArn())
	out("AuditLogKeyArn", "The audit log's KMS key (Ed25519): AUDIT_LOG_KMS_KEY_ID for inmorctl audit log-key", s.LogKey.KeyArn())
	out("CheckpointBucketName", "The Object Lock bucket of the audit log's checkpoint copies", s.CheckpointBucket.BucketName())
	out("AlarmTopicArn", "Subscribe to receive the alarms and alerts", s.AlarmTopic.TopicArn())
	out("AuditBackupVaultName", "The locked AWS Backup vault of the audit table's daily backups", s.BackupVault.BackupVaultName())
	out("TrailBucketName", "The bucket of the trail's log files (write management events, the audit function's invocations)", s.TrailBucket.BucketName())
	out("AuditFailuresQueueUrl", "Stream batches the audit function gave up on", s.AuditFailures.QueueUrl())
	out("AttributionKeySecretArn", "The attribution key (ATTRIBUTION_KEY for inmorctl, so its changes are attributed to the operator)", s.AttributionKey.SecretArn())
}

func contains(list []string, v string) bool {
	for _, e := range list {
		if e == v {
			return true
		}
	}
	return false
}
