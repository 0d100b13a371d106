package dynamo

import (
	"context"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/inmor/inmor-serverless/shared/apperr"
	"github.com/inmor/inmor-serverless/shared/resource"
	"github.com/inmor/inmor-serverless/shared/storage"
)

func parseExpiry(s *string) *resource.Expiry {
	if s == nil {
		return nil
	}
	t, err := time.Parse(resource.ExpiryFormat, *s)
	if err != nil {
		return nil
	}
	return &resource.Expiry{Time: t}
}

func formatExpiry(e *resource.Expiry) *string {
	if e == nil {
		return nil
	}
	s := e.UTC().Format(resource.ExpiryFormat)
	return &s
}

func trustMarkItem(t resource.TrustMark, a resource.Attribution, key []byte) (map[string]types.AttributeValue, error) {
	w := newItemWriter()
	w.int("id", t.ID)
	w.int("tmt_id", t.TMTID)
	w.str("domain", t.Domain)
	w.bool("autorenew", t.Autorenew)
	w.int("valid_for", t.ValidFor)
	w.int("renewal_time", t.RenewalTime)
	w.bool("active", t.Active)
	w.optionalStr("mark", t.Mark)
	w.optionalStr("expire_at", formatExpiry(t.ExpireAt))
	w.object("additional_claims", t.AdditionalClaims)
	w.str(storage.AttrAdded, formatTime(t.Added))
	if w.err != nil {
		return nil, w.err
	}
	return withBookkeeping(resource.TypeTrustMark, t.ID, t.Version, w.item, a, key)
}

func readTrustMark(item map[string]types.AttributeValue) (resource.TrustMark, error) {
	r := &itemReader{item: item}
	t := resource.TrustMark{
		ID: r.int("id"), TMTID: r.int("tmt_id"), Domain: r.str("domain"), Autorenew: r.bool("autorenew"),
		ValidFor: r.int("valid_for"), RenewalTime: r.int("renewal_time"), Active: r.bool("active"),
		Mark: r.optionalStr("mark"), ExpireAt: parseExpiry(r.optionalStr("expire_at")),
		AdditionalClaims: r.object("additional_claims"), Added: parseTime(r.str(storage.AttrAdded)),
		Version: r.int(storage.AttrVersion),
	}
	return t, r.err
}

// trustMarkUnique is the unique value of a trust mark: its type and domain.
func trustMarkUnique(t resource.TrustMark) string {
	return strconv.FormatInt(t.TMTID, 10) + " " + t.Domain
}

// CreateTrustMark implements resource.TrustMarkStore: two requests.
func (s *Resources) CreateTrustMark(ctx context.Context, t resource.TrustMark, a resource.Attribution) (resource.TrustMark, error) {
	id, err := s.nextID(ctx, resource.TypeTrustMark)
	if err != nil {
		return t, err
	}
	t.ID, t.Version = id, 1
	item, err := trustMarkItem(t, a, s.AttributionKey)
	if err != nil {
		return t, err
	}
	holder, err := s.createUnique(ctx, resource.TypeTrustMark, "tmt_id+domain", trustMarkUnique(t), item, id)
	if apperr.Is(apperr.Exists, err) {
		existing, getErr := s.TrustMark(ctx, holder)
		if getErr != nil {
			return existing, getErr
		}
		return existing, apperr.E(apperr.Op("dynamo.Resources"), apperr.Exists)
	}
	return t, err
}

// TrustMark implements resource.TrustMarkStore.
func (s *Resources) TrustMark(ctx context.Context, id int64) (resource.TrustMark, error) {
	item, err := s.getRawItem(ctx, resource.TypeTrustMark, id)
	if err != nil {
		return resource.TrustMark{}, err
	}
	return readTrustMark(item)
}

// TrustMarks implements resource.TrustMarkStore.
func (s *Resources) TrustMarks(ctx context.Context, domain *string, p resource.Page) ([]resource.TrustMark, int, error) {
	var filter *equalsFilter
	if domain != nil {
		filter = &equalsFilter{attribute: "domain", value: *domain}
	}
	list := []resource.TrustMark{}
	count, err := s.listItems(ctx, resource.TypeTrustMark, filter, p, func(item map[string]types.AttributeValue) error {
		t, err := readTrustMark(item)
		list = append(list, t)
		return err
	})
	return list, count, err
}

// ReplaceTrustMark implements resource.TrustMarkStore: one conditional put.
func (s *Resources) ReplaceTrustMark(ctx context.Context, t resource.TrustMark, a resource.Attribution) (resource.TrustMark, error) {
	expected := t.Version
	t.Version++
	item, err := trustMarkItem(t, a, s.AttributionKey)
	if err != nil {
		return t, err
	}
	return t, s.replaceItem(ctx, item, expected)
}
