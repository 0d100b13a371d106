package main

import (
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsbackup"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudtrail"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/interfaces/interfacesawsevents"
	"github.com/aws/jsii-runtime-go"

	"github.com/inmor/inmor-serverless/shared/tables"
)

// The control plane of what keeps the audit log trustworthy: the actions
// that only the break-glass role may call, and those that alert whoever
// calls them. The reasons are in docs/architecture.md, "Control plane".
var (
	// keyControlActions change a KMS key's policy, disable it or delete it.
	keyControlActions = []string{"kms:PutKeyPolicy", "kms:DisableKey", "kms:ScheduleKeyDeletion"}
	// keyAlertActions alert on either key: the control actions and
	// kms:CreateGrant (a grant gives rights the key policy does not).
	keyAlertActions = append(slices.Clone(keyControlActions), "kms:CreateGrant")
	// auditTableControlActions change how the audit table is kept: its
	// backups, its TTL, its settings and indexes, its resource policy, or
	// delete it.
	auditTableControlActions = []string{
		"dynamodb:UpdateContinuousBackups", "dynamodb:UpdateTimeToLive", "dynamodb:UpdateTable",
		"dynamodb:DeleteTable", "dynamodb:PutResourcePolicy", "dynamodb:DeleteResourcePolicy",
	}
)

// Backups of the audit table: daily, kept auditBackupRetentionDays, in a
// vault whose lock refuses shorter retention and, after
// vaultLockChangeableDays (AWS Backup's minimum grace time), becomes
// immutable (compliance mode).
const (
	auditBackupRetentionDays = 35
	vaultLockChangeableDays  = 3
)

// cloudTrailAPICall is the detail-type of the CloudTrail events EventBridge
// receives for API calls (management events, and data events a trail logs).
const cloudTrailAPICall = "AWS API Call via CloudTrail"

// eventNames turns IAM actions ("kms:PutKeyPolicy") into CloudTrail event
// names ("PutKeyPolicy").
func eventNames(actions []string) []interface{} {
	out := make([]interface{}, len(actions))
	for i, a := range actions {
		_, name, _ := strings.Cut(a, ":")
		out[i] = name
	}
	return out
}

// onlyBreakGlass denies actions to every principal but the break-glass role
// (a resource policy statement), or is nil when no role is configured.
func onlyBreakGlass(sid, breakGlassRoleArn string, actions []string) awsiam.PolicyStatement {
	if breakGlassRoleArn == "" {
		return nil
	}
	return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String(sid),
		Effect:     awsiam.Effect_DENY,
		Principals: &[]awsiam.IPrincipal{awsiam.NewAnyPrincipal()},
		Actions:    jsii.Strings(actions...),
		Resources:  jsii.Strings("*"),
		Conditions: &map[string]interface{}{
			"ArnNotEquals": map[string]interface{}{"aws:PrincipalArn": breakGlassRoleArn},
		},
	})
}

// warnWithoutBreakGlass warns, at synthesis, that no role is named: the key
// and audit table control planes are then not restricted (restricting them
// to nobody would lock everyone out), only alerted on.
func (s *InmorStack) warnWithoutBreakGlass() {
	if s.Config.BreakGlassRoleArn == "" {
		awscdk.Annotations_Of(s.Stack).AddWarningV2(jsii.String("inmor:breakGlassRoleArn"),
			jsii.String("context breakGlassRoleArn is unset: any administrator may change the keys' policies, disable or delete the keys and "+
				"change the audit table's backups, TTL, settings or policy (the alerts still fire); deploy with -c breakGlassRoleArn=arn:aws:iam::<account>:role/<name>, "+
				"see docs/architecture.md, \"Control plane\""), nil)
	}
}

// addAuditBackup backs the audit table up daily into a locked vault: the
// lock refuses backups kept less than auditBackupRetentionDays and, after
// its grace time, no one (the account root included) can delete a backup
// early or lift the lock. AWS Backup takes them with a role of its own that
// may only back up the audit table.
func (s *InmorStack) addAuditBackup() {
	retention := awscdk.Duration_Days(jsii.Number(auditBackupRetentionDays))
	s.BackupVault = awsbackup.NewBackupVault(s.Stack, jsii.String("AuditBackupVault"), &awsbackup.BackupVaultProps{
		LockConfiguration: &awsbackup.LockConfiguration{
			MinRetention:  retention,
			ChangeableFor: awscdk.Duration_Days(jsii.Number(vaultLockChangeableDays)),
		},
		// A locked vault cannot be deleted while it holds backups.
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	plan := awsbackup.NewBackupPlan(s.Stack, jsii.String("AuditBackupPlan"), &awsbackup.BackupPlanProps{
		BackupVault: s.BackupVault,
		BackupPlanRules: &[]awsbackup.BackupPlanRule{awsbackup.NewBackupPlanRule(&awsbackup.BackupPlanRuleProps{
			RuleName:           jsii.String("DailyAuditTable"),
			ScheduleExpression: awsevents.Schedule_Cron(&awsevents.CronOptions{Hour: jsii.String("3"), Minute: jsii.String("0")}),
			DeleteAfter:        retention,
		})},
	})
	table := s.Tables[tables.Audit.ID]
	role := awsiam.NewRole(s.Stack, jsii.String("AuditBackupRole"), &awsiam.RoleProps{
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("backup.amazonaws.com"), &awsiam.ServicePrincipalOpts{
			Conditions: &map[string]interface{}{"StringEquals": map[string]interface{}{"aws:SourceAccount": s.Stack.Account()}},
		}),
		Description: jsii.String("Inmor: AWS Backup takes the audit table's backups"),
	})
	// AWS Backup's own DynamoDB backups (advanced features): the table's
	// description and tags, and the backup job.
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("dynamodb:DescribeTable", "dynamodb:ListTagsOfResource", "dynamodb:StartAwsBackupJob"),
		Resources: jsii.Strings(*table.TableArn()),
	}))
	s.BackupSelection = plan.AddSelection(jsii.String("AuditTable"), &awsbackup.BackupSelectionOptions{
		Resources: &[]awsbackup.BackupResource{awsbackup.BackupResource_FromDynamoDbTable(table)},
		Role:      role,
		// Not AWS Backup's managed policy (every table, every service).
		DisableDefaultBackupPolicy: jsii.Bool(true),
	})
}

// addTrail logs, in its own bucket, this region's write management events
// (EventBridge receives CloudTrail's API call events only while a trail
// logs them) and the audit function's invocations (a data event no trail
// logs by default). CloudTrail may only check the bucket's ACL and write
// its log files; the files are kept LogRetentionDays.
func (s *InmorStack) addTrail() {
	s.TrailBucket = awss3.NewBucket(s.Stack, jsii.String("TrailBucket"), &awss3.BucketProps{
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		EnforceSSL:        jsii.Bool(true),
		Versioned:         jsii.Bool(true),
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Expiration:                  awscdk.Duration_Days(jsii.Number(float64(s.Config.LogRetentionDays))),
			NoncurrentVersionExpiration: awscdk.Duration_Days(jsii.Number(1)),
		}},
	})
	s.Trail = awscloudtrail.NewTrail(s.Stack, jsii.String("Trail"), &awscloudtrail.TrailProps{
		Bucket:                     s.TrailBucket,
		IsMultiRegionTrail:         jsii.Bool(false),
		IncludeGlobalServiceEvents: jsii.Bool(false),
		EnableFileValidation:       jsii.Bool(true),
		ManagementEvents:           awscloudtrail.ReadWriteType_WRITE_ONLY,
	})
	s.Trail.AddLambdaEventSelector(&[]awslambda.IFunction{s.Functions[AuditFunction]}, &awscloudtrail.AddEventSelectorOptions{
		IncludeManagementEvents: jsii.Bool(false),
		ReadWriteType:           awscloudtrail.ReadWriteType_ALL,
	})
}

// addControlPlaneAlerts publishes to the alarm topic every control plane
// call on the keys and the audit table, whoever makes it (the break-glass
// role and CloudFormation included), and every invocation of the audit
// function that its stream mapping did not make.
func (s *InmorStack) addControlPlaneAlerts() {
	table := s.Tables[tables.Audit.ID]
	audit := s.Functions[AuditFunction]
	// KMS records the key a call acted on, however the caller named it
	// (key id, ARN or alias), in the event's resources.
	s.alert("KeyControlPlaneAlert", "A control plane call on the signing key or the audit log key (policy, disabling, deletion, grants).",
		"aws.kms", map[string]interface{}{
			"eventSource": []interface{}{"kms.amazonaws.com"},
			"eventName":   eventNames(keyAlertActions),
			"resources":   map[string]interface{}{"ARN": []interface{}{s.SigningKey.KeyArn(), s.LogKey.KeyArn()}},
		})
	// DynamoDB's control plane names the table by name or ARN in
	// tableName, or by ARN in resourceArn (the resource policy calls).
	s.alert("AuditTableControlPlaneAlert", "A control plane call on the audit table (backups, TTL, settings, deletion, resource policy).",
		"aws.dynamodb", map[string]interface{}{
			"eventSource": []interface{}{"dynamodb.amazonaws.com"},
			"eventName":   eventNames(auditTableControlActions),
			"$or": []interface{}{
				map[string]interface{}{"requestParameters": map[string]interface{}{"tableName": []interface{}{table.TableName(), table.TableArn()}}},
				map[string]interface{}{"requestParameters": map[string]interface{}{"resourceArn": []interface{}{table.TableArn()}}},
			},
		})
	// The stream mapping's invocations are made by the Lambda service
	// itself. CloudTrail names the service that made a call in
	// userIdentity.invokedBy (a Step Functions task's Invoke has
	// "states.amazonaws.com", beside the role it ran as), so the mapping's
	// have "lambda.amazonaws.com". Any other Invoke (a user or a role: no
	// invokedBy; another service: another one) alerts, since the audit
	// function must only ever see its stream's records. The function is
	// matched in resources, which names it unqualified (requestParameters
	// may be null).
	s.alert("AuditFunctionInvokeAlert", "The audit function was invoked by someone other than its stream mapping.",
		"aws.lambda", map[string]interface{}{
			"eventSource": []interface{}{"lambda.amazonaws.com"},
			"eventName":   []interface{}{"Invoke"},
			"resources": map[string]interface{}{"ARN": []interface{}{
				audit.FunctionArn(),
				// A qualified invocation (a version or an alias).
				map[string]interface{}{"prefix": *audit.FunctionArn() + ":"},
			}},
			"$or": []interface{}{
				map[string]interface{}{"userIdentity": map[string]interface{}{"invokedBy": []interface{}{map[string]interface{}{"exists": false}}}},
				map[string]interface{}{"userIdentity": map[string]interface{}{"invokedBy": []interface{}{map[string]interface{}{"anything-but": []interface{}{"lambda.amazonaws.com"}}}}},
			},
		})
}

// alert is an EventBridge rule that publishes the CloudTrail API call
// events of source matching detail to the alarm topic.
func (s *InmorStack) alert(id, description, source string, detail map[string]interface{}) {
	rule := awsevents.NewRule(s.Stack, jsii.String(id), &awsevents.RuleProps{
		Description: jsii.String(description),
		EventPattern: &awsevents.EventPattern{
			Source:     jsii.Strings(source),
			DetailType: jsii.Strings(cloudTrailAPICall),
			Detail:     &detail,
		},
	})
	rule.AddTarget(&topicTarget{s.AlarmTopic})
	s.Alerts = append(s.Alerts, rule)
	// Only this stack's rules may publish (awseventstargets.SnsTopic would
	// let any rule of any account publish, and use the topic's key).
	s.AlarmTopic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String(id + "Publishes"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("events.amazonaws.com"), nil)},
		Actions:    jsii.Strings("sns:Publish"),
		Resources:  jsii.Strings(*s.AlarmTopic.TopicArn()),
		Conditions: &map[string]interface{}{"ArnEquals": map[string]interface{}{"aws:SourceArn": rule.RuleArn()}},
	}))
}

// topicTarget is a rule target that publishes the event to a topic whose
// policies already allow the rule to (see alert).
type topicTarget struct{ topic awssns.ITopic }

// Bind implements awsevents.IRuleTarget.
func (t *topicTarget) Bind(interfacesawsevents.IRuleRef, *string) *awsevents.RuleTargetConfig {
	return &awsevents.RuleTargetConfig{Arn: t.topic.TopicArn()}
}
