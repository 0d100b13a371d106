package dynamo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/inmor/inmor-serverless/shared/audit"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/inmor/inmor-serverless/shared/apperr"
	"github.com/inmor/inmor-serverless/shared/resource"
	"github.com/inmor/inmor-serverless/shared/storage"
)

// Resources stores resources in the resources table.
type Resources struct {
	Client *dynamodb.Client
	Table  string
	// AttributionKey signs every write's attribution and every attempt
	// (audit.AttributionMAC), so the audit function can tell them from
	// items written by anyone else; they are written unsigned without it.
	AttributionKey []byte
}

func resourceKey(t resource.Type, id int64) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{storage.AttrPK: str(string(t)), storage.AttrSK: str(storage.SortKey(id))}
}

func guardKey(t resource.Type, field, value string) map[string]types.AttributeValue {
	sum := sha256.Sum256([]byte(value))
	return map[string]types.AttributeValue{
		storage.AttrPK: str(storage.UniquePrefix + string(t) + "." + field),
		storage.AttrSK: str(hex.EncodeToString(sum[:])),
	}
}

// nextID allocates the next id of a resource type from its atomic counter.
// An id whose write then fails is not reused: ids may have holes.
func (s *Resources) nextID(ctx context.Context, t resource.Type) (int64, error) {
	id, err := incrementCounter(ctx, s.Client, s.Table, map[string]types.AttributeValue{storage.AttrPK: str(storage.CounterPK), storage.AttrSK: str(string(t))})
	if err != nil {
		return 0, fmt.Errorf("allocate %s id: %w", t, err)
	}
	return id, nil
}

// createUnique writes a new resource item together with the guard of its
// unique value, in one transaction. When the value is taken it returns the
// holder's id and an Exists error.
func (s *Resources) createUnique(ctx context.Context, t resource.Type, field, value string, item map[string]types.AttributeValue, id int64) (int64, error) {
	guard := guardKey(t, field, value)
	guard["id"] = num(id)
	guard["value"] = str(value)
	_, err := s.Client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{
			TableName: aws.String(s.Table), Item: guard,
			ConditionExpression:                 aws.String("attribute_not_exists(pk)"),
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		}},
		{Put: &types.Put{
			TableName: aws.String(s.Table), Item: item,
			ConditionExpression: aws.String("attribute_not_exists(pk)"),
		}},
	}})
	reasons := cancellationReasons(err)
	if reasonCode(reasons, 0) == "ConditionalCheckFailed" {
		holder := &itemReader{item: reasons[0].Item}
		holderID := holder.int("id")
		if holder.err != nil || holderID == 0 {
			return 0, fmt.Errorf("read uniqueness guard of %s %q: %v", t, value, holder.err)
		}
		if holderID == id {
			// The guard holds our own id: the SDK retried a transaction that
			// had been applied but whose answer was lost.
			return id, nil
		}
		return holderID, apperr.E(apperr.Op("dynamo.Resources"), apperr.Exists)
	}
	if err != nil {
		return 0, fmt.Errorf("create %s: %w", t, err)
	}
	return id, nil
}

// getRawItem reads one resource item, or a NotFound error.
func (s *Resources) getRawItem(ctx context.Context, t resource.Type, id int64) (map[string]types.AttributeValue, error) {
	out, err := s.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.Table), Key: resourceKey(t, id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("read %s %d: %w", t, id, err)
	}
	if out.Item == nil {
		return nil, apperr.E(apperr.Op("dynamo.Resources"), apperr.NotFound)
	}
	return out.Item, nil
}

// replaceItem overwrites a resource item if its version is still expected.
func (s *Resources) replaceItem(ctx context.Context, item map[string]types.AttributeValue, expected int64) error {
	_, err := s.Client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                           aws.String(s.Table),
		Item:                                item,
		ConditionExpression:                 aws.String("#v = :expected"),
		ExpressionAttributeNames:            map[string]string{"#v": storage.AttrVersion},
		ExpressionAttributeValues:           map[string]types.AttributeValue{":expected": num(expected)},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		if failed.Item == nil {
			return apperr.E(apperr.Op("dynamo.Resources"), apperr.NotFound)
		}
		if sameWrite(failed.Item, item) {
			return nil // a retried put whose first attempt was applied
		}
		return apperr.E(apperr.Op("dynamo.Resources"), apperr.Stale)
	}
	return err
}

// sameWrite reports whether the stored item is the very write of item: the
// same version made by the same request (the SDK retried a put that had
// been applied, and its answer was lost).
func sameWrite(stored, item map[string]types.AttributeValue) bool {
	requestID := func(it map[string]types.AttributeValue) string {
		m, _ := it[storage.AttrAttribution].(*types.AttributeValueMemberM)
		if m == nil {
			return ""
		}
		s, _ := m.Value["request_id"].(*types.AttributeValueMemberS)
		if s == nil {
			return ""
		}
		return s.Value
	}
	version := func(it map[string]types.AttributeValue) string {
		n, _ := it[storage.AttrVersion].(*types.AttributeValueMemberN)
		if n == nil {
			return ""
		}
		return n.Value
	}
	id := requestID(item)
	return id != "" && id == requestID(stored) && version(item) == version(stored)
}

// equalsFilter keeps the items whose attribute equals a string value.
type equalsFilter struct {
	attribute, value string
}

// listItems reads one page of a type's items ordered by id, and the count;
// with a filter, of the matching items (reading every item of the type).
func (s *Resources) listItems(ctx context.Context, t resource.Type, filter *equalsFilter, p resource.Page, each func(map[string]types.AttributeValue) error) (int, error) {
	values := map[string]types.AttributeValue{":pk": str(string(t))}
	var filterExpr *string
	var names map[string]string
	if filter != nil {
		values[":f"] = str(filter.value)
		names = map[string]string{"#f": filter.attribute}
		filterExpr = aws.String("#f = :f")
	}
	want := p.Offset + p.Limit
	seen := 0
	var start map[string]types.AttributeValue
	for seen < want {
		in := &dynamodb.QueryInput{
			TableName:                 aws.String(s.Table),
			KeyConditionExpression:    aws.String("pk = :pk"),
			ExpressionAttributeValues: values,
			ExpressionAttributeNames:  names,
			FilterExpression:          filterExpr,
			ExclusiveStartKey:         start,
			ConsistentRead:            aws.Bool(true),
		}
		if filter == nil {
			in.Limit = aws.Int32(int32(want - seen))
		}
		out, err := s.Client.Query(ctx, in)
		if err != nil {
			return 0, fmt.Errorf("list %s: %w", t, err)
		}
		for _, item := range out.Items {
			if seen >= p.Offset {
				if err := each(item); err != nil {
					return 0, err
				}
			}
			seen++
		}
		if out.LastEvaluatedKey == nil {
			break
		}
		start = out.LastEvaluatedKey
	}
	count := 0
	start = nil
	for {
		out, err := s.Client.Query(ctx, &dynamodb.QueryInput{
			TableName:                 aws.String(s.Table),
			KeyConditionExpression:    aws.String("pk = :pk"),
			ExpressionAttributeValues: values,
			ExpressionAttributeNames:  names,
			FilterExpression:          filterExpr,
			ExclusiveStartKey:         start,
			Select:                    types.SelectCount,
		})
		if err != nil {
			return 0, fmt.Errorf("count %s: %w", t, err)
		}
		count += int(out.Count)
		if out.LastEvaluatedKey == nil {
			return count, nil
		}
		start = out.LastEvaluatedKey
	}
}

// withBookkeeping adds the keys, the version and the attribution to a
// resource's fields.
func withBookkeeping(t resource.Type, id, version int64, fields map[string]types.AttributeValue, a resource.Attribution, key []byte) (map[string]types.AttributeValue, error) {
	claim := storage.AttributionMap(a, version)
	if len(key) > 0 {
		if err := audit.SignAttribution(key, string(t), storage.SortKey(id), version, fromAttributeMap(fields), claim); err != nil {
			return nil, err
		}
	}
	attribution, err := toAttributeValue(claim)
	if err != nil {
		return nil, err
	}
	for k, v := range resourceKey(t, id) {
		fields[k] = v
	}
	fields[storage.AttrVersion] = num(version)
	fields[storage.AttrAttribution] = attribution
	return fields, nil
}

func formatTime(t time.Time) string { return t.UTC().Format(resource.TimeFormat) }

func parseTime(s string) time.Time {
	t, _ := time.Parse(resource.TimeFormat, s)
	return t
}

func trustMarkTypeItem(t resource.TrustMarkType, a resource.Attribution, key []byte) (map[string]types.AttributeValue, error) {
	w := newItemWriter()
	w.int("id", t.ID)
	w.str("tmtype", t.TMType)
	w.bool("autorenew", t.Autorenew)
	w.int("valid_for", t.ValidFor)
	w.int("renewal_time", t.RenewalTime)
	w.bool("active", t.Active)
	w.str(storage.AttrAdded, formatTime(t.Added))
	return withBookkeeping(resource.TypeTrustMarkType, t.ID, t.Version, w.item, a, key)
}

func readTrustMarkType(item map[string]types.AttributeValue) (resource.TrustMarkType, error) {
	r := &itemReader{item: item}
	t := resource.TrustMarkType{
		ID: r.int("id"), TMType: r.str("tmtype"), Autorenew: r.bool("autorenew"), ValidFor: r.int("valid_for"),
		RenewalTime: r.int("renewal_time"), Active: r.bool("active"), Added: parseTime(r.str(storage.AttrAdded)),
		Version: r.int(storage.AttrVersion),
	}
	return t, r.err
}

// CreateTrustMarkType implements resource.TrustMarkTypeStore: two requests,
// the id counter and one transaction with the uniqueness guard.
func (s *Resources) CreateTrustMarkType(ctx context.Context, t resource.TrustMarkType, a resource.Attribution) (resource.TrustMarkType, error) {
	id, err := s.nextID(ctx, resource.TypeTrustMarkType)
	if err != nil {
		return t, err
	}
	t.ID, t.Version = id, 1
	item, err := trustMarkTypeItem(t, a, s.AttributionKey)
	if err != nil {
		return t, err
	}
	holder, err := s.createUnique(ctx, resource.TypeTrustMarkType, "tmtype", t.TMType, item, id)
	if apperr.Is(apperr.Exists, err) {
		existing, getErr := s.TrustMarkType(ctx, holder)
		if getErr != nil {
			return existing, getErr
		}
		return existing, apperr.E(apperr.Op("dynamo.Resources"), apperr.Exists)
	}
	return t, err
}

// TrustMarkType implements resource.TrustMarkTypeStore.
func (s *Resources) TrustMarkType(ctx context.Context, id int64) (resource.TrustMarkType, error) {
	item, err := s.getRawItem(ctx, resource.TypeTrustMarkType, id)
	if err != nil {
		return resource.TrustMarkType{}, err
	}
	return readTrustMarkType(item)
}

// TrustMarkTypeByTMType implements resource.TrustMarkTypeStore: the guard
// item names the id.
func (s *Resources) TrustMarkTypeByTMType(ctx context.Context, tmtype string) (resource.TrustMarkType, error) {
	out, err := s.Client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.Table), Key: guardKey(resource.TypeTrustMarkType, "tmtype", tmtype), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return resource.TrustMarkType{}, fmt.Errorf("find TrustMarkType: %w", err)
	}
	idAttr, ok := out.Item["id"].(*types.AttributeValueMemberN)
	if !ok {
		return resource.TrustMarkType{}, apperr.E(apperr.Op("dynamo.Resources"), apperr.NotFound)
	}
	id, err := strconv.ParseInt(idAttr.Value, 10, 64)
	if err != nil {
		return resource.TrustMarkType{}, fmt.Errorf("uniqueness guard id: %w", err)
	}
	return s.TrustMarkType(ctx, id)
}

// TrustMarkTypes implements resource.TrustMarkTypeStore.
func (s *Resources) TrustMarkTypes(ctx context.Context, p resource.Page) ([]resource.TrustMarkType, int, error) {
	list := []resource.TrustMarkType{}
	count, err := s.listItems(ctx, resource.TypeTrustMarkType, nil, p, func(item map[string]types.AttributeValue) error {
		t, err := readTrustMarkType(item)
		if err != nil {
			return err
		}
		list = append(list, t)
		return nil
	})
	return list, count, err
}

// ReplaceTrustMarkType implements resource.TrustMarkTypeStore: one
// conditional put.
func (s *Resources) ReplaceTrustMarkType(ctx context.Context, t resource.TrustMarkType, a resource.Attribution) (resource.TrustMarkType, error) {
	expected := t.Version
	t.Version++
	item, err := trustMarkTypeItem(t, a, s.AttributionKey)
	if err != nil {
		return t, err
	}
	if err := s.replaceItem(ctx, item, expected); err != nil {
		return t, err
	}
	return t, nil
}

// attemptLifetime keeps an attempt item long enough for the stream (24 h).
const attemptLifetime = 48 * time.Hour

// RecordAttempt implements resource.AttemptRecorder: one put of an item
// that expires. The audit function turns its INSERT into a failed entry.
func (s *Resources) RecordAttempt(ctx context.Context, a resource.Attempt) error {
	claim := storage.AttributionMap(a.Attribution, 0)
	if len(s.AttributionKey) > 0 {
		content := audit.AttemptContent(a)
		if err := audit.SignAttribution(s.AttributionKey, storage.AttemptPK, a.RequestID, 0, content, claim); err != nil {
			return err
		}
	}
	attribution, err := toAttributeValue(claim)
	if err != nil {
		return err
	}
	item := map[string]types.AttributeValue{
		storage.AttrPK:                  str(storage.AttemptPK),
		storage.AttrSK:                  str(a.RequestID),
		storage.AttrAttemptResourceType: str(string(a.ResourceType)),
		storage.AttrAttribution:         attribution,
		storage.AttrExpiresAt:           num(a.Attribution.CommittedAt.Add(attemptLifetime).Unix()),
	}
	if a.ResourceID != 0 {
		item[storage.AttrAttemptResourceID] = num(a.ResourceID)
	}
	for name, v := range map[string]string{
		storage.AttrAttemptResourceRepr: a.ResourceRepr, storage.AttrAttemptError: a.Error, storage.AttrAttemptRequest: a.Request,
	} {
		if v != "" {
			item[name] = str(v)
		}
	}
	_, err = s.Client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.Table), Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	var exists *types.ConditionalCheckFailedException
	if errors.As(err, &exists) {
		return nil // recorded already (a retried invocation)
	}
	return err
}
