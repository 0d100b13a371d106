package dynamo

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/inmor/inmor-serverless/shared/tables"
)

// CreateTableInput converts a shared table definition into the request that
// creates it, with on-demand billing.
func CreateTableInput(t tables.Table, name string) *dynamodb.CreateTableInput {
	attrs := map[string]tables.AttributeType{}
	keySchema := func(pk tables.Key, sk *tables.Key) []types.KeySchemaElement {
		attrs[pk.Name] = pk.Type
		ks := []types.KeySchemaElement{{AttributeName: aws.String(pk.Name), KeyType: types.KeyTypeHash}}
		if sk != nil {
			attrs[sk.Name] = sk.Type
			ks = append(ks, types.KeySchemaElement{AttributeName: aws.String(sk.Name), KeyType: types.KeyTypeRange})
		}
		return ks
	}
	in := &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: types.BillingModePayPerRequest,
		KeySchema:   keySchema(t.PartitionKey, t.SortKey),
	}
	for _, idx := range t.Indexes {
		p := &types.Projection{ProjectionType: types.ProjectionType(idx.Projection)}
		if idx.Projection == tables.ProjectInclude {
			p.NonKeyAttributes = idx.NonKeyAttributes
		}
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, types.GlobalSecondaryIndex{
			IndexName:  aws.String(idx.Name),
			KeySchema:  keySchema(idx.PartitionKey, idx.SortKey),
			Projection: p,
		})
	}
	for name, typ := range attrs {
		in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{
			AttributeName: aws.String(name), AttributeType: types.ScalarAttributeType(typ),
		})
	}
	if t.StreamNewAndOldImages {
		in.StreamSpecification = &types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: types.StreamViewTypeNewAndOldImages}
	}
	return in
}

// CreateTables creates every table that does not exist yet, with its TTL
// setting. It is idempotent.
func CreateTables(ctx context.Context, client *dynamodb.Client, getenv func(string) string) error {
	for _, t := range tables.All() {
		name := t.Name(getenv)
		_, err := client.CreateTable(ctx, CreateTableInput(t, name))
		var inUse *types.ResourceInUseException
		if err != nil && !errors.As(err, &inUse) {
			return fmt.Errorf("create table %s: %w", name, err)
		}
		if t.TTLAttribute != "" && err != nil {
			// The table exists (from an earlier start, or an SDK retry of a
			// create that was applied): its TTL may still be off.
			ttl, err := client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(name)})
			if err != nil {
				return fmt.Errorf("read the TTL of %s: %w", name, err)
			}
			if d := ttl.TimeToLiveDescription; d != nil && (d.TimeToLiveStatus == types.TimeToLiveStatusEnabled || d.TimeToLiveStatus == types.TimeToLiveStatusEnabling) {
				continue
			}
		} else if err != nil {
			continue
		}
		if t.TTLAttribute != "" {
			_, err = client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
				TableName:               aws.String(name),
				TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(t.TTLAttribute), Enabled: aws.Bool(true)},
			})
			if err != nil {
				return fmt.Errorf("set TTL of %s: %w", name, err)
			}
		}
	}
	return nil
}
