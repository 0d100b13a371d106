package dynamo

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/inmor/inmor-serverless/shared/audit"
	"github.com/inmor/inmor-serverless/shared/storage"
	"github.com/inmor/inmor-serverless/shared/tables"
)

// Lifetimes and bounds of the journal (its items: package storage).
const (
	markerLifetime = 48 * time.Hour // streams keep records 24 hours
	// maxAppendAttempts bounds retries when another writer took the next id.
	maxAppendAttempts = 8
)

func entryKey(id int64) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": str(fmt.Sprintf("%s%020d", storage.EntryPrefix, id))}
}

// Journal appends audit entries (audit.Journal). Each append is one
// transaction that writes the entry, a marker keyed by the stream record's
// event id (so a redelivered record adds nothing), the id sequence
// (conditional on its previous value, so ids have no holes and are never
// reused) and the per-filter counts.
type Journal struct {
	Client *dynamodb.Client
	Table  string
	// Now returns the current time; time.Now when nil.
	Now func() time.Time

	mu     sync.Mutex
	lastID int64
	known  bool // lastID was read from the table
}

// Append implements audit.Journal.
func (j *Journal) Append(ctx context.Context, e *audit.Entry) (bool, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for attempt := 0; attempt < maxAppendAttempts; attempt++ {
		if !j.known {
			if err := j.readSequence(ctx); err != nil {
				return false, err
			}
		}
		e.ID = j.lastID + 1
		in, err := j.appendInput(e, j.lastID)
		if err != nil {
			return false, err
		}
		_, err = j.Client.TransactWriteItems(ctx, in)
		if err == nil {
			j.lastID = e.ID
			return true, nil
		}
		reasons := cancellationReasons(err)
		switch {
		case reasonCode(reasons, 0) == "ConditionalCheckFailed":
			return false, nil // the marker exists: this record was recorded before
		case reasonCode(reasons, 3) == "ConditionalCheckFailed" && attributed(e):
			return false, audit.ErrReplayedAttribution
		case reasonCode(reasons, 1) == "ConditionalCheckFailed", reasonCode(reasons, 2) == "ConditionalCheckFailed":
			j.known = false // another writer took the id: re-read the sequence
		case reasons != nil:
			time.Sleep(time.Duration(attempt+1) * 20 * time.Millisecond) // transaction conflict
		default:
			return false, fmt.Errorf("append audit entry: %w", err)
		}
	}
	return false, fmt.Errorf("append audit entry: the id sequence kept moving")
}

func (j *Journal) readSequence(ctx context.Context) error {
	out, err := j.Client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(j.Table), Key: map[string]types.AttributeValue{"pk": str(storage.SequencePK)}, ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return fmt.Errorf("read audit id sequence: %w", err)
	}
	j.lastID = 0
	if v, ok := out.Item["value"].(*types.AttributeValueMemberN); ok {
		if j.lastID, err = strconv.ParseInt(v.Value, 10, 64); err != nil {
			return fmt.Errorf("audit id sequence: %w", err)
		}
	}
	j.known = true
	return nil
}

func (j *Journal) now() time.Time {
	if j.Now != nil {
		return j.Now()
	}
	return time.Now()
}

func (j *Journal) appendInput(e *audit.Entry, previousID int64) (*dynamodb.TransactWriteItemsInput, error) {
	item, err := entryItem(e)
	if err != nil {
		return nil, err
	}
	table := aws.String(j.Table)
	marker := map[string]types.AttributeValue{
		"pk": str(storage.MarkerPrefix + e.SourceEventID), "entry_id": num(e.ID),
		"expires_at": num(j.now().Add(markerLifetime).Unix()),
	}
	sequence := &types.Update{
		TableName: table, Key: map[string]types.AttributeValue{"pk": str(storage.SequencePK)},
		UpdateExpression:          aws.String("SET #v = :id"),
		ExpressionAttributeNames:  map[string]string{"#v": "value"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":id": num(e.ID)},
	}
	if previousID == 0 {
		sequence.ConditionExpression = aws.String("attribute_not_exists(pk)")
	} else {
		sequence.ConditionExpression = aws.String("#v = :previous")
		sequence.ExpressionAttributeValues[":previous"] = num(previousID)
	}
	items := []types.TransactWriteItem{
		{Put: &types.Put{TableName: table, Item: marker, ConditionExpression: aws.String("attribute_not_exists(pk)")}},
		{Put: &types.Put{TableName: table, Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")}},
		{Update: sequence},
	}
	if attributed(e) {
		// One API request makes one change: its request id may be claimed
		// once. The marker never expires (a backup may be restored years later).
		items = append(items, types.TransactWriteItem{Put: &types.Put{
			TableName: table, ConditionExpression: aws.String("attribute_not_exists(pk)"),
			Item: map[string]types.AttributeValue{"pk": str(storage.RequestPrefix + *e.RequestID), "entry_id": num(e.ID)},
		}})
	}
	for _, key := range audit.CountKeys(e) {
		items = append(items, types.TransactWriteItem{Update: &types.Update{
			TableName: table, Key: map[string]types.AttributeValue{"pk": str(storage.CountPrefix + key)},
			UpdateExpression:          aws.String("ADD #n :one"),
			ExpressionAttributeNames:  map[string]string{"#n": "n"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":one": num(1)},
		}})
	}
	return &dynamodb.TransactWriteItemsInput{TransactItems: items}, nil
}

// entryItem is the stored form of an entry: the filterable fields as
// attributes (index keys), the list view as JSON, and the snapshots as JSON.
func entryItem(e *audit.Entry) (map[string]types.AttributeValue, error) {
	encoded, err := e.Encode()
	if err != nil {
		return nil, err
	}
	item := entryKey(e.ID)
	item["id"] = num(e.ID)
	item[tables.AuditFeed.Attribute] = str(storage.FeedAll)
	item[tables.AuditSortAttribute] = str(audit.SortKey(e))
	item["timestamp"] = str(e.Timestamp.UTC().Format(audit.TimeFormat))
	item[tables.AuditResourceType.Attribute] = str(e.ResourceType)
	item[tables.AuditAction.Attribute] = str(e.Action)
	item[tables.AuditAuthMethod.Attribute] = str(e.AuthMethod)
	item[tables.AuditSuccess.Attribute] = str(strconv.FormatBool(e.Success))
	item[tables.AuditSearchAttribute] = str(audit.SearchText(e))
	item["event_id"] = str(e.SourceEventID)
	item["resource_version"] = num(e.ResourceVersion)
	item[tables.AuditSummaryAttribute] = str(encoded.Summary)
	item["snapshot_before"] = str(encoded.Before)
	item["snapshot_after"] = str(encoded.After)
	if e.EventType != "" {
		item[tables.AuditEventType.Attribute] = str(e.EventType)
	}
	if e.Tenant != nil {
		item[tables.AuditTenant.Attribute] = str(*e.Tenant)
	}
	if e.Username != nil {
		item[tables.AuditUsername.Attribute] = str(*e.Username)
	}
	if e.ResourceID != nil {
		item["resource_id"] = num(*e.ResourceID)
		item[tables.AuditResource.Attribute] = str(audit.ResourceKey(e.ResourceType, *e.ResourceID))
	}
	return item, nil
}

// attributed reports whether an entry claims an API request.
func attributed(e *audit.Entry) bool {
	return e.AuthMethod != audit.AuthOutOfBand && e.RequestID != nil && *e.RequestID != ""
}

// Import appends entries in bulk, in order, without stream markers: for
// bringing an existing log (such as Inmor's) into the table, and for filling
// large logs in tests. Ids follow the sequence; counts are added per call.
// It is not idempotent: an interrupted import must be finished by hand.
func (j *Journal) Import(ctx context.Context, entries []*audit.Entry) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.readSequence(ctx); err != nil {
		return err
	}
	previous := j.lastID
	counts := map[string]int64{}
	var writes []types.WriteRequest
	for _, e := range entries {
		j.lastID++
		e.ID = j.lastID
		item, err := entryItem(e)
		if err != nil {
			return err
		}
		writes = append(writes, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
		for _, k := range audit.CountKeys(e) {
			counts[k]++
		}
	}
	for start := 0; start < len(writes); start += 25 {
		request := map[string][]types.WriteRequest{j.Table: writes[start:min(start+25, len(writes))]}
		for len(request) > 0 {
			out, err := j.Client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: request})
			if err != nil {
				return fmt.Errorf("import audit entries: %w", err)
			}
			request = out.UnprocessedItems
		}
	}
	for key, n := range counts {
		_, err := j.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(j.Table), Key: map[string]types.AttributeValue{"pk": str(storage.CountPrefix + key)},
			UpdateExpression:          aws.String("ADD #n :n"),
			ExpressionAttributeNames:  map[string]string{"#n": "n"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":n": num(n)},
		})
		if err != nil {
			return fmt.Errorf("import audit counts: %w", err)
		}
	}
	update := &dynamodb.UpdateItemInput{
		TableName: aws.String(j.Table), Key: map[string]types.AttributeValue{"pk": str(storage.SequencePK)},
		UpdateExpression:          aws.String("SET #v = :id"),
		ExpressionAttributeNames:  map[string]string{"#v": "value"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":id": num(j.lastID)},
		ConditionExpression:       aws.String("attribute_not_exists(pk)"),
	}
	if previous != 0 {
		update.ConditionExpression = aws.String("#v = :previous")
		update.ExpressionAttributeValues[":previous"] = num(previous)
	}
	if _, err := j.Client.UpdateItem(ctx, update); err != nil {
		j.known = false
		return fmt.Errorf("import: advance the id sequence: %w", err)
	}
	return nil
}
