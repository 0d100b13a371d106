package main

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/inmor/inmor-serverless/shared/tables"
)

// tableOptions are the deployment settings of a table that the shared
// definition (keys, indexes, stream, TTL) does not hold.
type tableOptions struct {
	// Retain keeps the table when the stack is deleted.
	Retain bool
	// DeletionProtection refuses DeleteTable until it is turned off.
	DeletionProtection bool
	// ResourcePolicy, when set, is the table's resource-based policy.
	ResourcePolicy awsiam.PolicyDocument
}

func attributeType(t tables.AttributeType) awsdynamodb.AttributeType {
	switch t {
	case tables.String:
		return awsdynamodb.AttributeType_STRING
	case tables.Number:
		return awsdynamodb.AttributeType_NUMBER
	}
	panic(fmt.Sprintf("infra: unknown key attribute type %q", t))
}

func attribute(k *tables.Key) *awsdynamodb.Attribute {
	if k == nil {
		return nil
	}
	return &awsdynamodb.Attribute{Name: jsii.String(k.Name), Type: attributeType(k.Type)}
}

func projectionType(p string) awsdynamodb.ProjectionType {
	switch p {
	case tables.ProjectAll:
		return awsdynamodb.ProjectionType_ALL
	case tables.ProjectKeysOnly:
		return awsdynamodb.ProjectionType_KEYS_ONLY
	case tables.ProjectInclude:
		return awsdynamodb.ProjectionType_INCLUDE
	}
	panic(fmt.Sprintf("infra: unknown projection %q", p))
}

// newTable deploys one shared table definition: its keys, indexes, stream
// and TTL exactly as the local stack creates them (dynamo.CreateTableInput),
// plus on-demand billing, point-in-time recovery and encryption at rest
// with the AWS managed key.
func newTable(scope constructs.Construct, t tables.Table, o tableOptions) awsdynamodb.Table {
	props := &awsdynamodb.TableProps{
		PartitionKey: attribute(&t.PartitionKey),
		SortKey:      attribute(t.SortKey),
		BillingMode:  awsdynamodb.BillingMode_PAY_PER_REQUEST,
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		Encryption:         awsdynamodb.TableEncryption_AWS_MANAGED,
		DeletionProtection: jsii.Bool(o.DeletionProtection),
		RemovalPolicy:      awscdk.RemovalPolicy_DESTROY,
		ResourcePolicy:     o.ResourcePolicy,
	}
	if o.Retain {
		props.RemovalPolicy = awscdk.RemovalPolicy_RETAIN
	}
	if t.StreamNewAndOldImages {
		props.Stream = awsdynamodb.StreamViewType_NEW_AND_OLD_IMAGES
	}
	if t.TTLAttribute != "" {
		props.TimeToLiveAttribute = jsii.String(t.TTLAttribute)
	}
	table := awsdynamodb.NewTable(scope, jsii.String(t.ID), props)
	for _, idx := range t.Indexes {
		gsi := &awsdynamodb.GlobalSecondaryIndexProps{
			IndexName:      jsii.String(idx.Name),
			PartitionKey:   attribute(&idx.PartitionKey),
			SortKey:        attribute(idx.SortKey),
			ProjectionType: projectionType(idx.Projection),
		}
		if idx.Projection == tables.ProjectInclude {
			gsi.NonKeyAttributes = jsii.Strings(idx.NonKeyAttributes...)
		}
		table.AddGlobalSecondaryIndex(gsi)
	}
	return table
}
