package dynamo

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/inmor/inmor-serverless/shared/apperr"
	"github.com/inmor/inmor-serverless/shared/resource"
	"github.com/inmor/inmor-serverless/shared/storage"
)

func subordinateItem(sub resource.Subordinate, a resource.Attribution, key []byte) (map[string]types.AttributeValue, error) {
	w := newItemWriter()
	w.int("id", sub.ID)
	w.str("entityid", sub.EntityID)
	w.object("metadata", sub.Metadata)
	w.object("forced_metadata", sub.ForcedMetadata)
	w.object("jwks", sub.JWKS)
	w.optionalStr("required_trustmarks", sub.RequiredTrustmarks)
	w.int("valid_for", sub.ValidFor)
	w.optionalStr("expire_at", formatExpiry(sub.ExpireAt))
	w.bool("autorenew", sub.Autorenew)
	w.bool("active", sub.Active)
	if sub.Suspended { // absent unless suspended, so older items diff as before
		w.bool("suspended", true)
	}
	w.object("additional_claims", sub.AdditionalClaims)
	w.optionalStr("statement", sub.Statement)
	w.str(storage.AttrAdded, formatTime(sub.Added))
	if w.err != nil {
		return nil, w.err
	}
	return withBookkeeping(resource.TypeSubordinate, sub.ID, sub.Version, w.item, a, key)
}

func readSubordinate(item map[string]types.AttributeValue) (resource.Subordinate, error) {
	r := &itemReader{item: item}
	sub := resource.Subordinate{
		ID: r.int("id"), EntityID: r.str("entityid"), Metadata: r.object("metadata"),
		ForcedMetadata: r.object("forced_metadata"), JWKS: r.object("jwks"),
		RequiredTrustmarks: r.optionalStr("required_trustmarks"), ValidFor: r.int("valid_for"),
		ExpireAt: parseExpiry(r.optionalStr("expire_at")), Autorenew: r.bool("autorenew"), Active: r.bool("active"), Suspended: r.optionalBool("suspended"),
		AdditionalClaims: r.object("additional_claims"), Statement: r.optionalStr("statement"),
		Added: parseTime(r.str(storage.AttrAdded)), Version: r.int(storage.AttrVersion),
	}
	return sub, r.err
}

// CreateSubordinate implements resource.SubordinateStore: two requests.
func (s *Resources) CreateSubordinate(ctx context.Context, sub resource.Subordinate, a resource.Attribution) (resource.Subordinate, error) {
	id, err := s.nextID(ctx, resource.TypeSubordinate)
	if err != nil {
		return sub, err
	}
	sub.ID, sub.Version = id, 1
	item, err := subordinateItem(sub, a, s.AttributionKey)
	if err != nil {
		return sub, err
	}
	holder, err := s.createUnique(ctx, resource.TypeSubordinate, "entityid", sub.EntityID, item, id)
	if apperr.Is(apperr.Exists, err) {
		existing, getErr := s.Subordinate(ctx, holder)
		if getErr != nil {
			return existing, getErr
		}
		return existing, apperr.E(apperr.Op("dynamo.Resources"), apperr.Exists)
	}
	return sub, err
}

// Subordinate implements resource.SubordinateStore.
func (s *Resources) Subordinate(ctx context.Context, id int64) (resource.Subordinate, error) {
	item, err := s.getRawItem(ctx, resource.TypeSubordinate, id)
	if err != nil {
		return resource.Subordinate{}, err
	}
	return readSubordinate(item)
}

// Subordinates implements resource.SubordinateStore.
func (s *Resources) Subordinates(ctx context.Context, p resource.Page) ([]resource.Subordinate, int, error) {
	list := []resource.Subordinate{}
	count, err := s.listItems(ctx, resource.TypeSubordinate, nil, p, func(item map[string]types.AttributeValue) error {
		sub, err := readSubordinate(item)
		list = append(list, sub)
		return err
	})
	return list, count, err
}

// ReplaceSubordinate implements resource.SubordinateStore: one conditional put.
func (s *Resources) ReplaceSubordinate(ctx context.Context, sub resource.Subordinate, a resource.Attribution) (resource.Subordinate, error) {
	expected := sub.Version
	sub.Version++
	item, err := subordinateItem(sub, a, s.AttributionKey)
	if err != nil {
		return sub, err
	}
	return sub, s.replaceItem(ctx, item, expected)
}

// SubordinateID implements fedevents.Directory: the entity id's
// uniqueness guard, one GetItem.
func (s *Resources) SubordinateID(ctx context.Context, entityID string) (int64, error) {
	out, err := s.Client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.Table), Key: guardKey(resource.TypeSubordinate, "entityid", entityID),
		ProjectionExpression: aws.String("id"),
	})
	if err != nil {
		return 0, fmt.Errorf("find Subordinate: %w", err)
	}
	if out.Item == nil {
		return 0, apperr.E(apperr.Op("dynamo.Resources"), apperr.NotFound)
	}
	r := &itemReader{item: out.Item}
	id := r.int("id")
	return id, r.err
}
