package dynamo

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/inmor/inmor-serverless/shared/apperr"
	"github.com/inmor/inmor-serverless/shared/resource"
	"github.com/inmor/inmor-serverless/shared/storage"
)

func serverEntityItem(e resource.ServerEntity, a resource.Attribution, key []byte) (map[string]types.AttributeValue, error) {
	w := newItemWriter()
	w.int("id", resource.ServerEntityID)
	w.str("entityid", e.EntityID)
	w.str("entity_statement", e.Statement)
	w.object("claims", e.Claims)
	w.str(storage.AttrAdded, formatTime(e.Added))
	if w.err != nil {
		return nil, w.err
	}
	return withBookkeeping(resource.TypeServerEntity, resource.ServerEntityID, e.Version, w.item, a, key)
}

func historicalKeysItem(h resource.HistoricalKeys, a resource.Attribution, key []byte) (map[string]types.AttributeValue, error) {
	w := newItemWriter()
	w.int("id", resource.HistoricalKeysID)
	w.str("entityid", h.EntityID)
	keys := make([]any, len(h.Keys))
	for i, k := range h.Keys {
		keys[i] = k
	}
	w.list("keys", keys)
	w.optionalStr("historical_keys_jwt", h.Statement)
	w.object("claims", h.Claims)
	w.str(storage.AttrAdded, formatTime(h.Added))
	if w.err != nil {
		return nil, w.err
	}
	return withBookkeeping(resource.TypeHistoricalKeys, resource.HistoricalKeysID, h.Version, w.item, a, key)
}

// ServerEntity implements resource.ServerStore.
func (s *Resources) ServerEntity(ctx context.Context) (resource.ServerEntity, error) {
	item, err := s.getRawItem(ctx, resource.TypeServerEntity, resource.ServerEntityID)
	if err != nil {
		return resource.ServerEntity{}, err
	}
	r := &itemReader{item: item}
	e := resource.ServerEntity{
		EntityID: r.str("entityid"), Statement: r.str("entity_statement"), Claims: r.object("claims"),
		Added: parseTime(r.str(storage.AttrAdded)), Version: r.int(storage.AttrVersion),
	}
	return e, r.err
}

// PutServerEntity implements resource.ServerStore: one conditional put.
func (s *Resources) PutServerEntity(ctx context.Context, e resource.ServerEntity, a resource.Attribution) (resource.ServerEntity, error) {
	expected := e.Version
	e.Version++
	item, err := serverEntityItem(e, a, s.AttributionKey)
	if err != nil {
		return e, err
	}
	return e, s.putSingleton(ctx, item, expected)
}

// HistoricalKeys implements resource.ServerStore.
func (s *Resources) HistoricalKeys(ctx context.Context) (resource.HistoricalKeys, error) {
	item, err := s.getRawItem(ctx, resource.TypeHistoricalKeys, resource.HistoricalKeysID)
	if err != nil {
		return resource.HistoricalKeys{}, err
	}
	r := &itemReader{item: item}
	h := resource.HistoricalKeys{
		EntityID: r.str("entityid"), Statement: r.optionalStr("historical_keys_jwt"), Claims: r.object("claims"),
		Added: parseTime(r.str(storage.AttrAdded)), Version: r.int(storage.AttrVersion),
	}
	for i, k := range r.list("keys") {
		key, ok := k.(map[string]any)
		if !ok {
			return h, fmt.Errorf("HistoricalKeys: keys[%d] is not a map", i)
		}
		h.Keys = append(h.Keys, key)
	}
	return h, r.err
}

// PutHistoricalKeys implements resource.ServerStore: one conditional put.
func (s *Resources) PutHistoricalKeys(ctx context.Context, h resource.HistoricalKeys, a resource.Attribution) (resource.HistoricalKeys, error) {
	expected := h.Version
	h.Version++
	item, err := historicalKeysItem(h, a, s.AttributionKey)
	if err != nil {
		return h, err
	}
	return h, s.putSingleton(ctx, item, expected)
}

// putSingleton writes a singleton item: new when expected is 0, else a
// replacement of that version.
func (s *Resources) putSingleton(ctx context.Context, item map[string]types.AttributeValue, expected int64) error {
	if expected > 0 {
		return s.replaceItem(ctx, item, expected)
	}
	_, err := s.Client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                           aws.String(s.Table),
		Item:                                item,
		ConditionExpression:                 aws.String("attribute_not_exists(pk)"),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		if sameWrite(failed.Item, item) {
			return nil // a retried put whose first attempt was applied
		}
		return apperr.E(apperr.Op("dynamo.Resources"), apperr.Stale) // created meanwhile
	}
	return err
}

// ActiveTrustMarkTypes implements resource.ServerStore: the TrustMarkType
// items, filtered on active, projecting tmtype.
func (s *Resources) ActiveTrustMarkTypes(ctx context.Context) ([]string, error) {
	var out []string
	var start map[string]types.AttributeValue
	for {
		page, err := s.Client.Query(ctx, &dynamodb.QueryInput{
			TableName:                 aws.String(s.Table),
			KeyConditionExpression:    aws.String("pk = :pk"),
			FilterExpression:          aws.String("active = :true"),
			ProjectionExpression:      aws.String("tmtype"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(string(resource.TypeTrustMarkType)), ":true": boolean(true)},
			ExclusiveStartKey:         start,
			ConsistentRead:            aws.Bool(true),
		})
		if err != nil {
			return nil, fmt.Errorf("list active TrustMarkTypes: %w", err)
		}
		for _, item := range page.Items {
			r := &itemReader{item: item}
			tmtype := r.str("tmtype")
			if r.err != nil {
				return nil, r.err
			}
			out = append(out, tmtype)
		}
		if page.LastEvaluatedKey == nil {
			return out, nil
		}
		start = page.LastEvaluatedKey
	}
}
