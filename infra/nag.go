package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// Suppression is one cdk-nag finding accepted on purpose, with the reason.
type Suppression struct {
	ID     string
	Reason string
	// AppliesTo narrows IAM5 findings to the named wildcard resources or
	// actions (as cdk-nag spells them); empty: every finding of the rule.
	AppliesTo []string
}

// StackSuppressions are accepted for the whole stack.
var StackSuppressions = []Suppression{
	{
		ID: "AwsSolutions-APIG4",
		Reason: "Authentication and authorization run inside each function (API keys, sessions with CSRF, scopes): " +
			"an API Gateway authorizer cannot answer Inmor's error bodies, and public routes (login, OpenAPI) need none. " +
			"See docs/architecture.md, 'Where authentication runs'.",
	},
}

// functionSuppressions are accepted on every function role's policy.
var functionSuppressions = []Suppression{
	{
		ID: "AwsSolutions-IAM5",
		Reason: "X-Ray active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level " +
			"permissions, so CDK grants them on '*'.",
		AppliesTo: []string{"Resource::*"},
	},
}

// auditSuppressions are accepted on the audit function's role policy.
var auditSuppressions = []Suppression{
	{
		ID: "AwsSolutions-IAM5",
		Reason: "Stream event source mapping: dynamodb:ListStreams supports no resource-level permissions ('*'), " +
			"X-Ray tracing neither; every other stream action is on the resources table's stream ARN only.",
		AppliesTo: []string{"Resource::*"},
	},
	{
		ID: "AwsSolutions-IAM5",
		Reason: "The audit function puts a checkpoint per tree size under checkpoints/ (s3:PutObject only); the keys are " +
			"not known in advance, and Object Lock in compliance mode keeps every version it writes.",
		AppliesTo: []string{"Resource::<CheckpointBucketDFE4871A.Arn>/checkpoints/*"},
	},
}

// otherSuppressions are accepted on single resources.
var (
	auditFailuresSuppressions = []Suppression{{
		ID: "AwsSolutions-SQS3",
		Reason: "This queue is itself the on-failure destination of the audit stream mapping (a dead-letter queue); " +
			"its messages point at stream records and are replayed by an operator, never redriven.",
	}}
	attributionKeySuppressions = []Suppression{{
		ID: "AwsSolutions-SMG4",
		Reason: "The attribution key MACs each write so the audit function can prove who made it; a write is checked within the " +
			"stream's 24 hours, so rotating it means accepting both keys for a day, which the functions do not do yet: rotate by hand in a quiet hour.",
	}}
	mfaKeySuppressions = []Suppression{{
		ID: "AwsSolutions-SMG4",
		Reason: "The MFA key seals every enrolled TOTP secret; rotating it means sealing them again under the new key, " +
			"which the functions do not do yet (a new key makes every user enrol again).",
	}}
	checkpointBucketSuppressions = []Suppression{{
		ID: "AwsSolutions-S1",
		Reason: "Only the audit function writes the bucket (s3:PutObject of checkpoints, logged by the function), nothing " +
			"reads it but auditors, and Object Lock forbids deletes; an access log bucket would add a second bucket to keep.",
	}}
	trailBucketSuppressions = []Suppression{{
		ID: "AwsSolutions-S1",
		Reason: "Only CloudTrail writes the bucket (its log files, and digest files that prove them unchanged), and only " +
			"investigators read it; an access log bucket would add a second bucket to keep.",
	}}
	cursorKeySuppressions = []Suppression{{
		ID: "AwsSolutions-SMG4",
		Reason: "The cursor key only authenticates the audit log's paging cursors; it is injected at deploy time, and " +
			"rotating it (put a new value, redeploy) merely invalidates open cursors, so a rotation Lambda adds cost and nothing else.",
	}}
)

func nagPack(ss []Suppression) *[]*cdknag.NagPackSuppression {
	out := make([]*cdknag.NagPackSuppression, len(ss))
	for i, s := range ss {
		out[i] = &cdknag.NagPackSuppression{Id: jsii.String(s.ID), Reason: jsii.String(s.Reason)}
		if len(s.AppliesTo) > 0 {
			var applies []interface{}
			for _, a := range s.AppliesTo {
				applies = append(applies, a)
			}
			out[i].AppliesTo = &applies
		}
	}
	return &out
}

// addNagSuppressions records every accepted finding on its resource.
func addNagSuppressions(s *InmorStack) {
	cdknag.NagSuppressions_AddStackSuppressions(s.Stack, nagPack(StackSuppressions), jsii.Bool(false))
	for name, role := range s.Roles {
		ss := functionSuppressions
		if name == AuditFunction {
			ss = auditSuppressions
		}
		cdknag.NagSuppressions_AddResourceSuppressions(role, nagPack(ss), jsii.Bool(true))
	}
	cdknag.NagSuppressions_AddResourceSuppressions(s.AuditFailures, nagPack(auditFailuresSuppressions), jsii.Bool(true))
	if s.CursorKey != nil {
		cdknag.NagSuppressions_AddResourceSuppressions(s.CursorKey, nagPack(cursorKeySuppressions), jsii.Bool(true))
	}
	cdknag.NagSuppressions_AddResourceSuppressions(s.AttributionKey, nagPack(attributionKeySuppressions), jsii.Bool(true))
	cdknag.NagSuppressions_AddResourceSuppressions(s.MFAKey, nagPack(mfaKeySuppressions), jsii.Bool(true))
	cdknag.NagSuppressions_AddResourceSuppressions(s.CheckpointBucket, nagPack(checkpointBucketSuppressions), jsii.Bool(true))
	cdknag.NagSuppressions_AddResourceSuppressions(s.TrailBucket, nagPack(trailBucketSuppressions), jsii.Bool(true))
}

// checkWithNag runs cdk-nag's AwsSolutions pack over the app: findings
// become error (or warning) annotations on their constructs, and the CDK
// CLI refuses to synthesize while an error is unsuppressed.
func checkWithNag(app awscdk.App) {
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
}
