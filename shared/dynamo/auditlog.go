package dynamo

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/inmor/inmor-serverless/shared/audit"
	"github.com/inmor/inmor-serverless/shared/tables"
)

// AuditLog reads the audit table (audit.Reader). It only reads.
type AuditLog struct {
	Client *dynamodb.Client
	Table  string
}

// indexFor picks the index that serves a filter: the most selective
// equality filter becomes the key condition, the others filter the page.
func indexFor(f audit.Filter) (index, keyAttribute, keyValue string) {
	switch {
	case f.EventType != "":
		return tables.AuditEventTypeIndex, "event_type", f.EventType
	case f.ResourceType != "":
		return tables.AuditResourceTypeIndex, "resource_type", f.ResourceType
	case f.Action != "":
		return tables.AuditActionIndex, "action", f.Action
	default:
		return tables.AuditFeedIndex, "feed", feedAll
	}
}

// List implements audit.Reader: the count from its counter, the page from
// one index, newest first. With a single filter (or none) a page reads
// offset+limit items in one query.
func (l *AuditLog) List(ctx context.Context, q audit.Query) ([]json.RawMessage, int, error) {
	count, err := l.count(ctx, q.Filter)
	if err != nil {
		return nil, 0, err
	}
	items := make([]json.RawMessage, 0, q.Limit)
	if q.Offset >= count {
		return items, count, nil
	}
	index, keyAttr, keyValue := indexFor(q.Filter)
	names := map[string]string{"#k": keyAttr}
	values := map[string]types.AttributeValue{":k": str(keyValue)}
	var conditions []string
	for attr, value := range map[string]string{
		"event_type": q.Filter.EventType, "resource_type": q.Filter.ResourceType,
		"action": q.Filter.Action, "tenant": q.Filter.Tenant,
	} {
		if value == "" || attr == keyAttr {
			continue
		}
		n := len(conditions)
		names[fmt.Sprintf("#f%d", n)] = attr
		values[fmt.Sprintf(":f%d", n)] = str(value)
		conditions = append(conditions, fmt.Sprintf("#f%d = :f%d", n, n))
	}
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(l.Table),
		IndexName:                 aws.String(index),
		KeyConditionExpression:    aws.String("#k = :k"),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
		ProjectionExpression:      aws.String(tables.AuditSummaryAttribute),
		ScanIndexForward:          aws.Bool(false),
	}
	if len(conditions) > 0 {
		in.FilterExpression = aws.String(strings.Join(conditions, " AND "))
	}
	want := min(q.Offset+q.Limit, count)
	matched := 0
	for matched < want {
		in.Limit = aws.Int32(int32(want - matched))
		out, err := l.Client.Query(ctx, in)
		if err != nil {
			return nil, 0, fmt.Errorf("query audit log: %w", err)
		}
		for _, item := range out.Items {
			if matched >= q.Offset && len(items) < q.Limit {
				s, _ := item[tables.AuditSummaryAttribute].(*types.AttributeValueMemberS)
				if s == nil {
					return nil, 0, fmt.Errorf("audit entry without summary")
				}
				items = append(items, json.RawMessage(s.Value))
			}
			matched++
		}
		if out.LastEvaluatedKey == nil {
			break
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
	return items, count, nil
}

func (l *AuditLog) count(ctx context.Context, f audit.Filter) (int, error) {
	out, err := l.Client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(l.Table), Key: map[string]types.AttributeValue{"pk": str(countPrefix + audit.CountKey(f))},
	})
	if err != nil {
		return 0, fmt.Errorf("read audit count: %w", err)
	}
	n, ok := out.Item["n"].(*types.AttributeValueMemberN)
	if !ok {
		return 0, nil
	}
	return strconv.Atoi(n.Value)
}

// Get implements audit.Reader.
func (l *AuditLog) Get(ctx context.Context, id int64) (json.RawMessage, error) {
	out, err := l.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(l.Table), Key: entryKey(id)})
	if err != nil {
		return nil, fmt.Errorf("read audit entry: %w", err)
	}
	if out.Item == nil {
		return nil, audit.ErrNotFound
	}
	text := func(name string) []byte {
		s, _ := out.Item[name].(*types.AttributeValueMemberS)
		if s == nil {
			return []byte("null")
		}
		return []byte(s.Value)
	}
	return audit.DetailJSON(text(tables.AuditSummaryAttribute), text("snapshot_before"), text("snapshot_after")), nil
}
