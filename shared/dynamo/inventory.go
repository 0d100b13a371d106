package dynamo

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/inmor/inmor-serverless/shared/audit"
	"github.com/inmor/inmor-serverless/shared/integrity"
	"github.com/inmor/inmor-serverless/shared/resource"
	"github.com/inmor/inmor-serverless/shared/storage"
	"github.com/inmor/inmor-serverless/shared/tables"
)

// ReadAPI is the part of the DynamoDB client an Inventory uses: it only
// reads.
type ReadAPI interface {
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
}

// Inventory reads the resources and the audit log whole, for the
// reconciliation (`inmorctl audit verify`): every item of a type, one
// resource's history, entries by key, and every resource the log names.
// It serves no request of the API.
type Inventory struct {
	Client         ReadAPI
	ResourcesTable string
	AuditTable     string
	// PageSize limits the items of each Query and Scan; 0 leaves it to
	// DynamoDB (1 MB pages).
	PageSize int
}

func (v *Inventory) limit() *int32 {
	if v.PageSize <= 0 {
		return nil
	}
	return aws.Int32(int32(v.PageSize))
}

// EachResourceItem calls fn for every item of one resource type's partition
// (consistent reads).
func (v *Inventory) EachResourceItem(ctx context.Context, t resource.Type, fn func(map[string]types.AttributeValue) error) error {
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(v.ResourcesTable),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": storage.AttrPK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(string(t))},
		ConsistentRead:            aws.Bool(true),
		Limit:                     v.limit(),
	}
	for {
		out, err := v.Client.Query(ctx, in)
		if err != nil {
			return fmt.Errorf("read the %s items of %s: %w", t, v.ResourcesTable, err)
		}
		for _, item := range out.Items {
			if err := fn(item); err != nil {
				return err
			}
		}
		if out.LastEvaluatedKey == nil {
			return nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// SuccessfulEntryKeys returns the partition keys (entry#<id>) of the
// successful entries of one resource (audit.ResourceKey), in the order of
// the by_resource index (timestamp order).
func (v *Inventory) SuccessfulEntryKeys(ctx context.Context, resourceKey string) ([]string, error) {
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(v.AuditTable),
		IndexName:                 aws.String(tables.AuditResource.Name),
		KeyConditionExpression:    aws.String("#k = :k"),
		FilterExpression:          aws.String("#s = :true"),
		ProjectionExpression:      aws.String("#pk"),
		ExpressionAttributeNames:  map[string]string{"#k": tables.AuditResource.Attribute, "#s": tables.AuditSuccess.Attribute, "#pk": "pk"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":k": str(resourceKey), ":true": str("true")},
		ScanIndexForward:          aws.Bool(true),
		Limit:                     v.limit(),
	}
	var keys []string
	for {
		out, err := v.Client.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("read the history of %s: %w", resourceKey, err)
		}
		for _, item := range out.Items {
			if pk, ok := item["pk"].(*types.AttributeValueMemberS); ok {
				keys = append(keys, pk.Value)
			}
		}
		if out.LastEvaluatedKey == nil {
			return keys, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// EntryVersions reads entries by partition key (at most 100): their
// action, auth method, resource version and snapshots, keyed by pk.
func (v *Inventory) EntryVersions(ctx context.Context, pks []string) (map[string]map[string]types.AttributeValue, error) {
	keys := make([]map[string]types.AttributeValue, len(pks))
	for i, pk := range pks {
		keys[i] = map[string]types.AttributeValue{"pk": str(pk)}
	}
	request := map[string]types.KeysAndAttributes{v.AuditTable: {
		Keys:                 keys,
		ConsistentRead:       aws.Bool(true),
		ProjectionExpression: aws.String("#pk, #action, #auth, #version, #before, #after"),
		ExpressionAttributeNames: map[string]string{
			"#pk": "pk", "#action": tables.AuditAction.Attribute, "#auth": tables.AuditAuthMethod.Attribute,
			"#version": "resource_version", "#before": "snapshot_before", "#after": "snapshot_after",
		},
	}}
	out := make(map[string]map[string]types.AttributeValue, len(pks))
	for len(request) > 0 {
		resp, err := v.Client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: request})
		if err != nil {
			return nil, fmt.Errorf("read audit entries: %w", err)
		}
		for _, item := range resp.Responses[v.AuditTable] {
			if pk, ok := item["pk"].(*types.AttributeValueMemberS); ok {
				out[pk.Value] = item
			}
		}
		request = resp.UnprocessedKeys
	}
	return out, nil
}

// AuditedResources calls fn with the resource key (audit.ResourceKey) of
// every successful entry, repeats included (a Scan of the by_resource
// index).
func (v *Inventory) AuditedResources(ctx context.Context, fn func(resourceKey string)) error {
	in := &dynamodb.ScanInput{
		TableName:                 aws.String(v.AuditTable),
		IndexName:                 aws.String(tables.AuditResource.Name),
		FilterExpression:          aws.String("#s = :true"),
		ProjectionExpression:      aws.String("#k"),
		ExpressionAttributeNames:  map[string]string{"#k": tables.AuditResource.Attribute, "#s": tables.AuditSuccess.Attribute},
		ExpressionAttributeValues: map[string]types.AttributeValue{":true": str("true")},
		Limit:                     v.limit(),
	}
	for {
		out, err := v.Client.Scan(ctx, in)
		if err != nil {
			return fmt.Errorf("list the audit log's resources: %w", err)
		}
		for _, item := range out.Items {
			if k, ok := item[tables.AuditResource.Attribute].(*types.AttributeValueMemberS); ok {
				fn(k.Value)
			}
		}
		if out.LastEvaluatedKey == nil {
			return nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// StoredLog reads the audit log whole for its integrity check: every entry
// (its detail form and tree hashes), every checkpoint, the latest one and
// the id sequence. It scans the audit table (consistent reads).
func (v *Inventory) StoredLog(ctx context.Context) (integrity.StoredLog, error) {
	var log integrity.StoredLog
	in := &dynamodb.ScanInput{TableName: aws.String(v.AuditTable), ConsistentRead: aws.Bool(true), Limit: v.limit()}
	for {
		out, err := v.Client.Scan(ctx, in)
		if err != nil {
			return log, fmt.Errorf("read the audit log: %w", err)
		}
		for _, item := range out.Items {
			if err := addToStoredLog(&log, item); err != nil {
				return log, err
			}
		}
		if out.LastEvaluatedKey == nil {
			return log, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// addToStoredLog adds one audit table item to the log, if it is an
// entry, a checkpoint or the sequence.
func addToStoredLog(log *integrity.StoredLog, item map[string]types.AttributeValue) error {
	r := &itemReader{item: item}
	pk := r.str("pk")
	text := func(name string) []byte {
		s, _ := item[name].(*types.AttributeValueMemberS)
		if s == nil {
			return []byte("null")
		}
		return []byte(s.Value)
	}
	switch {
	case strings.HasPrefix(pk, storage.EntryPrefix):
		id, err := strconv.ParseInt(strings.TrimPrefix(pk, storage.EntryPrefix), 10, 64)
		if err != nil {
			return fmt.Errorf("audit item %q: %w", pk, err)
		}
		e := integrity.StoredEntry{ID: id, Detail: audit.DetailJSON(text(tables.AuditSummaryAttribute), text("snapshot_before"), text("snapshot_after"), optionalText(item, "request"))}
		if raw, ok := item[treeHashesAttribute].(*types.AttributeValueMemberB); ok && len(raw.Value)%tlog.HashSize == 0 {
			for i := 0; i < len(raw.Value); i += tlog.HashSize {
				e.Hashes = append(e.Hashes, tlog.Hash(raw.Value[i:i+tlog.HashSize]))
			}
		}
		log.Entries = append(log.Entries, e)
	case strings.HasPrefix(pk, storage.CheckpointPrefix):
		size, err := strconv.ParseInt(strings.TrimPrefix(pk, storage.CheckpointPrefix), 10, 64)
		if err != nil {
			return fmt.Errorf("audit item %q: %w", pk, err)
		}
		log.Checkpoints = append(log.Checkpoints, integrity.StoredCheckpoint{Size: size, Note: string(text("note"))})
	case pk == storage.LatestCheckpointPK:
		log.Latest = string(text("note"))
	case pk == storage.SequencePK:
		log.Sequence = r.int("value")
	}
	return r.err
}
