package dynamo

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/inmor/inmor-serverless/shared/apperr"
	"github.com/inmor/inmor-serverless/shared/audit"
	"github.com/inmor/inmor-serverless/shared/fedevents"
	"github.com/inmor/inmor-serverless/shared/resource"
	"github.com/inmor/inmor-serverless/shared/storage"
	"github.com/inmor/inmor-serverless/shared/tables"
)

// MaxExaminedPerPage bounds the items one page reads from an index when
// filters that the index does not serve must be tested item by item; the
// page then ends early with a position to continue from.
const MaxExaminedPerPage = 1000

// AuditQueryAPI is the part of the DynamoDB client the audit log reader uses.
type AuditQueryAPI interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
}

// AuditLog reads the audit table (audit.Reader). It only reads.
type AuditLog struct {
	Client AuditQueryAPI
	Table  string

	treeOnce sync.Once
	hashes   *tree
}

// equality is one equality filter an index can serve.
type equality struct {
	index tables.AuditIndex
	value string
}

// equalities lists a filter's equality conditions, in the order that
// prefers the most selective index when counts cannot tell.
func equalities(f audit.Filter) []equality {
	var eq []equality
	add := func(ix tables.AuditIndex, v string) {
		if v != "" {
			eq = append(eq, equality{ix, v})
		}
	}
	if f.ResourceID != 0 {
		add(tables.AuditResource, audit.ResourceKey(f.ResourceType, f.ResourceID))
	}
	add(tables.AuditUsername, f.Username)
	add(tables.AuditEventType, f.EventType)
	add(tables.AuditResourceType, f.ResourceType)
	add(tables.AuditAuthMethod, f.AuthMethod)
	add(tables.AuditTenant, f.Tenant)
	add(tables.AuditAction, f.Action)
	if f.Success != nil {
		add(tables.AuditSuccess, strconv.FormatBool(*f.Success))
	}
	return eq
}

// List implements audit.Reader. The count comes from a counter (on the
// first page; later pages carry it in their position); the page from the
// index of one equality filter (the smallest, when counters can tell),
// newest first, with a key condition on the time range. Other filters are
// tested item by item, at most MaxExaminedPerPage items per page. With no
// filter or one, a first page reads offset+limit items and its counter, and
// a cursor page limit+1 items, each in one query.
func (l *AuditLog) List(ctx context.Context, q audit.Query) (audit.Page, error) {
	eq := equalities(q.Filter)
	page := audit.Page{Items: make([]json.RawMessage, 0, q.Limit)}
	var key equality
	if q.After != nil {
		page.Count, page.CountExact = q.After.Count, q.After.CountExact
		var err error
		if key, err = positionIndex(q.After, eq); err != nil {
			return page, err
		}
	} else {
		bound, exact := audit.CountBound(q.Filter)
		keys := slices.Clone(bound)
		// One resource's history is always the smallest; otherwise read the
		// size of each candidate index in the same request.
		if len(eq) > 1 && eq[0].index != tables.AuditResource {
			for _, e := range eq {
				keys = append(keys, indexCountKey(e, q.Filter))
			}
		}
		slices.Sort(keys)
		keys = slices.Compact(keys)
		counts, err := l.counts(ctx, keys)
		if err != nil {
			return page, err
		}
		page.Count, page.CountExact = counts[bound[0]], exact
		key = smallest(eq, q.Filter, counts)
		if !exact {
			// Every counter read bounds the count: take the least.
			for _, k := range keys {
				page.Count = min(page.Count, counts[k])
			}
		}
		if exact && q.Offset >= page.Count {
			return page, nil
		}
	}
	in := l.queryInput(key, q.Filter)
	if q.After != nil {
		in.ExclusiveStartKey = map[string]types.AttributeValue{}
		for k, v := range q.After.Key {
			in.ExclusiveStartKey[k] = str(v)
		}
	}
	filtered := in.FilterExpression != nil
	// An exact count tells whether more follow; otherwise read one more.
	knowsRest := page.CountExact && q.After == nil
	want := q.Offset + q.Limit
	if !knowsRest {
		want++
	}
	budget := MaxExaminedPerPage + q.Offset
	chunk := max(want, 16) // items examined by the next query when filtering; doubles
	matched := 0
	var last map[string]types.AttributeValue
	base := 0 // matching entries before the query starts
	if q.After != nil {
		base = q.After.Before
	}
	next := func(item map[string]types.AttributeValue, seen int) *audit.Position {
		p := position(key.index, item)
		p.Count, p.CountExact, p.Before = page.Count, page.CountExact, seen
		return p
	}
	// Every match was met: the count is what the query met.
	end := func() {
		page.Count, page.CountExact = base+matched, true
	}
	exhausted := false
	for matched < want {
		if filtered {
			in.Limit = aws.Int32(int32(min(budget, chunk)))
			chunk *= 2
		} else {
			in.Limit = aws.Int32(int32(want - matched))
		}
		out, err := l.Client.Query(ctx, in)
		if err != nil {
			return page, fmt.Errorf("query audit log: %w", err)
		}
		for _, item := range out.Items {
			if matched >= q.Offset && len(page.Items) < q.Limit {
				s, _ := item[tables.AuditSummaryAttribute].(*types.AttributeValueMemberS)
				if s == nil {
					return page, fmt.Errorf("audit entry without summary")
				}
				page.Items = append(page.Items, json.RawMessage(s.Value))
				last = item
			}
			matched++
		}
		budget -= int(out.ScannedCount)
		if out.LastEvaluatedKey == nil {
			// The index holds no more: every match was met, the count is
			// exact, and those past this page follow by cursor.
			exhausted = true
			break
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
		if filtered && budget <= 0 && matched < want {
			// The budget is spent: continue from the last item examined.
			page.Next = next(out.LastEvaluatedKey, base+q.Offset+len(page.Items))
			return page, nil
		}
	}
	if exhausted {
		end()
	}
	more := matched > q.Offset+q.Limit || (knowsRest && q.Offset+len(page.Items) < page.Count)
	if last != nil && more {
		page.Next = next(last, base+q.Offset+len(page.Items))
	} else {
		end()
	}
	return page, nil
}

// smallest picks the index to query: one resource's history, else the
// equality whose index holds the fewest entries (by counters); the feed
// without any.
func smallest(eq []equality, f audit.Filter, counts map[string]int) equality {
	if len(eq) == 0 {
		return equality{tables.AuditFeed, storage.FeedAll}
	}
	best := eq[0]
	if best.index == tables.AuditResource {
		return best
	}
	bestKey := indexCountKey(best, f)
	for _, e := range eq[1:] {
		if k := indexCountKey(e, f); counts[k] < counts[bestKey] {
			best, bestKey = e, k
		}
	}
	return best
}

// indexCountKey names the counter of the entries an equality's index
// holds for f.
func indexCountKey(e equality, f audit.Filter) string {
	keys, _ := audit.CountBound(filterOn(e, f))
	return keys[0]
}

// positionIndex is the index a position continues in; it must serve one of
// the filter's equalities (or be the feed).
func positionIndex(p *audit.Position, eq []equality) (equality, error) {
	for _, e := range append(eq, equality{tables.AuditFeed, storage.FeedAll}) {
		if e.index.Name == p.Index {
			return e, nil
		}
	}
	return equality{}, fmt.Errorf("position index %q does not serve the filter", p.Index)
}

// filterOn is the part of f that one equality serves: its counter holds the
// size of that index's partition, which is what a query on it examines.
func filterOn(e equality, f audit.Filter) audit.Filter {
	var g audit.Filter
	switch e.index {
	case tables.AuditResource:
		g.ResourceType, g.ResourceID = f.ResourceType, f.ResourceID
	case tables.AuditTenant:
		g.Tenant = f.Tenant
	case tables.AuditUsername:
		g.Username = f.Username
	case tables.AuditEventType:
		g.EventType = f.EventType
	case tables.AuditResourceType:
		g.ResourceType = f.ResourceType
	case tables.AuditAuthMethod:
		g.AuthMethod = f.AuthMethod
	case tables.AuditAction:
		g.Action = f.Action
	case tables.AuditSuccess:
		g.Success = f.Success
	}
	return g
}

// position is the position after item in an index: its keys.
func position(ix tables.AuditIndex, item map[string]types.AttributeValue) *audit.Position {
	p := &audit.Position{Index: ix.Name, Key: map[string]string{}}
	for _, name := range []string{"pk", ix.Attribute, tables.AuditSortAttribute} {
		if s, ok := item[name].(*types.AttributeValueMemberS); ok {
			p.Key[name] = s.Value
		}
	}
	return p
}

// queryInput queries one index for key, newest first, with the time range
// as a key condition and every other filter as a filter expression.
func (l *AuditLog) queryInput(key equality, f audit.Filter) *dynamodb.QueryInput {
	names := map[string]string{"#k": key.index.Attribute}
	values := map[string]types.AttributeValue{":k": str(key.value)}
	cond := "#k = :k"
	since, until := "", ""
	if !f.Since.IsZero() {
		since = f.Since.UTC().Format(audit.TimeFormat)
	}
	if !f.Until.IsZero() {
		until = f.Until.UTC().Format(audit.TimeFormat) // "until#id" sorts after "until": excluded
	}
	if since != "" || until != "" {
		names["#s"] = tables.AuditSortAttribute
	}
	switch {
	case since != "" && until != "":
		cond += " AND #s BETWEEN :since AND :until"
		values[":since"], values[":until"] = str(since), str(until)
	case since != "":
		cond += " AND #s >= :since"
		values[":since"] = str(since)
	case until != "":
		cond += " AND #s < :until"
		values[":until"] = str(until)
	}
	var conditions []string
	for _, e := range equalities(f) {
		if e.index == key.index || (e.index == tables.AuditResourceType && key.index == tables.AuditResource) {
			continue
		}
		n := len(conditions)
		names[fmt.Sprintf("#f%d", n)] = e.index.Attribute
		values[fmt.Sprintf(":f%d", n)] = str(e.value)
		conditions = append(conditions, fmt.Sprintf("#f%d = :f%d", n, n))
	}
	if f.Q != "" {
		names["#q"] = tables.AuditSearchAttribute
		values[":q"] = str(strings.ToLower(f.Q))
		conditions = append(conditions, "contains(#q, :q)")
	}
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(l.Table),
		IndexName:                 aws.String(key.index.Name),
		KeyConditionExpression:    aws.String(cond),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
		ScanIndexForward:          aws.Bool(false),
	}
	if len(conditions) > 0 {
		in.FilterExpression = aws.String(strings.Join(conditions, " AND "))
	}
	return in
}

// counts reads counters by key (missing ones are 0): one GetItem, or one
// BatchGetItem for several.
func (l *AuditLog) counts(ctx context.Context, keys []string) (map[string]int, error) {
	out := map[string]int{}
	read := func(item map[string]types.AttributeValue) error {
		pk, _ := item["pk"].(*types.AttributeValueMemberS)
		n, _ := item["n"].(*types.AttributeValueMemberN)
		if pk == nil || n == nil {
			return nil
		}
		v, err := strconv.Atoi(n.Value)
		out[strings.TrimPrefix(pk.Value, storage.CountPrefix)] = v
		return err
	}
	if len(keys) == 1 {
		resp, err := l.Client.GetItem(ctx, &dynamodb.GetItemInput{
			TableName: aws.String(l.Table), Key: map[string]types.AttributeValue{"pk": str(storage.CountPrefix + keys[0])},
		})
		if err != nil {
			return nil, fmt.Errorf("read audit count: %w", err)
		}
		return out, read(resp.Item)
	}
	seen := map[string]bool{}
	var ks []map[string]types.AttributeValue
	for _, k := range keys {
		if !seen[k] {
			seen[k] = true
			ks = append(ks, map[string]types.AttributeValue{"pk": str(storage.CountPrefix + k)})
		}
	}
	request := map[string]types.KeysAndAttributes{l.Table: {Keys: ks}}
	for len(request) > 0 {
		resp, err := l.Client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: request})
		if err != nil {
			return nil, fmt.Errorf("read audit counts: %w", err)
		}
		for _, item := range resp.Responses[l.Table] {
			if err := read(item); err != nil {
				return nil, err
			}
		}
		request = resp.UnprocessedKeys
	}
	return out, nil
}

// optionalText is a string attribute's value, nil when the item has none
// (an entry stored before entries had that attribute).
func optionalText(item map[string]types.AttributeValue, name string) []byte {
	s, _ := item[name].(*types.AttributeValueMemberS)
	if s == nil {
		return nil
	}
	return []byte(s.Value)
}

// Get implements audit.Reader.
func (l *AuditLog) Get(ctx context.Context, id int64) (json.RawMessage, error) {
	out, err := l.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(l.Table), Key: entryKey(id)})
	if err != nil {
		return nil, fmt.Errorf("read audit entry: %w", err)
	}
	if out.Item == nil {
		return nil, apperr.E(apperr.Op("dynamo.AuditLog"), apperr.NotFound)
	}
	text := func(name string) []byte {
		s, _ := out.Item[name].(*types.AttributeValueMemberS)
		if s == nil {
			return []byte("null")
		}
		return []byte(s.Value)
	}
	detail := audit.DetailJSON(text(tables.AuditSummaryAttribute), text("snapshot_before"), text("snapshot_after"), optionalText(out.Item, "request"))
	if raw, ok := out.Item[treeHashesAttribute].(*types.AttributeValueMemberB); ok && len(raw.Value) >= tlog.HashSize {
		detail = audit.WithLeafHash(detail, tlog.Hash(raw.Value[:tlog.HashSize]).String())
	}
	return detail, nil
}

// SubordinateChanges implements fedevents.History: one query of the
// by_resource index, oldest first, reading only the attributes the events
// need (a page per MB of them).
func (l *AuditLog) SubordinateChanges(ctx context.Context, id int64) ([]fedevents.Change, error) {
	var out []fedevents.Change
	var start map[string]types.AttributeValue
	for {
		page, err := l.Client.Query(ctx, &dynamodb.QueryInput{
			TableName:              aws.String(l.Table),
			IndexName:              aws.String(tables.AuditResource.Name),
			KeyConditionExpression: aws.String("#k = :k"),
			ProjectionExpression:   aws.String("#s, #e, #a, #ok"),
			ExpressionAttributeNames: map[string]string{
				"#k": tables.AuditResource.Attribute, "#s": tables.AuditSortAttribute, "#e": tables.AuditEventType.Attribute,
				"#a": tables.AuditAuthMethod.Attribute, "#ok": tables.AuditSuccess.Attribute,
			},
			ExpressionAttributeValues: map[string]types.AttributeValue{":k": str(audit.ResourceKey(string(resource.TypeSubordinate), id))},
			ScanIndexForward:          aws.Bool(true),
			ExclusiveStartKey:         start,
		})
		if err != nil {
			return nil, fmt.Errorf("read the history of Subordinate %d: %w", id, err)
		}
		for _, item := range page.Items {
			c, err := changeOf(item)
			if err != nil {
				return nil, fmt.Errorf("the history of Subordinate %d: %w", id, err)
			}
			out = append(out, c)
		}
		if page.LastEvaluatedKey == nil {
			return out, nil
		}
		start = page.LastEvaluatedKey
	}
}

// changeOf reads an entry's index attributes: its sort key holds the
// timestamp and the id ("<time>#<20-digit id>").
func changeOf(item map[string]types.AttributeValue) (fedevents.Change, error) {
	text := func(name string) string {
		s, _ := item[name].(*types.AttributeValueMemberS)
		if s == nil {
			return ""
		}
		return s.Value
	}
	sortKey := text(tables.AuditSortAttribute)
	at, idText, ok := strings.Cut(sortKey, "#")
	committed, err := time.Parse(audit.TimeFormat, at)
	if !ok || err != nil {
		return fedevents.Change{}, fmt.Errorf("unreadable sort key %q", sortKey)
	}
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil {
		return fedevents.Change{}, fmt.Errorf("unreadable sort key %q", sortKey)
	}
	return fedevents.Change{
		EntryID: id, Committed: committed, EventType: text(tables.AuditEventType.Attribute),
		AuthMethod: text(tables.AuditAuthMethod.Attribute), Success: text(tables.AuditSuccess.Attribute) == "true",
	}, nil
}
