package dynamo

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/inmor/inmor-serverless/shared/integrity"

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

	// Signer signs the checkpoints of the log's Merkle tree (a note key
	// whose name is the checkpoints' origin); none are made when nil.
	Signer note.Signer
	// Archive, when set, keeps a copy of every checkpoint outside the
	// table; it is written first, so the table never has a checkpoint the
	// archive lacks.
	Archive integrity.Archive
	// CheckpointInterval is the least time between two checkpoints;
	// DefaultCheckpointInterval when zero.
	CheckpointInterval time.Duration

	mu     sync.Mutex
	lastID int64
	known  bool // lastID was read from the table
	hashes *tree
	// checkpointed is the size of the last checkpoint made, at checkpointedAt.
	checkpointed   int64
	checkpointedAt time.Time
}

// DefaultCheckpointInterval: at most one checkpoint a second.
const DefaultCheckpointInterval = time.Second

// Checkpoint signs and stores the tree head of the log as this journal
// last appended to it, when the log grew since the last checkpoint and
// that one is at least CheckpointInterval old: one transaction writes
// checkpoint#<size> (never overwritten) and moves the latest checkpoint
// forward (never back, should another instance be ahead).
func (j *Journal) Checkpoint(ctx context.Context) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.Signer == nil {
		return nil
	}
	if !j.known {
		if err := j.readSequence(ctx); err != nil {
			return err
		}
	}
	interval := j.CheckpointInterval
	if interval <= 0 {
		interval = DefaultCheckpointInterval
	}
	now, size := j.now(), j.lastID
	if size == 0 || size == j.checkpointed || now.Sub(j.checkpointedAt) < interval {
		return nil
	}
	root, err := tlog.TreeHash(size, j.tree().reader(ctx))
	if err != nil {
		return fmt.Errorf("audit tree head: %w", err)
	}
	signed, err := integrity.Sign(integrity.Checkpoint{Origin: j.Signer.Name(), Size: size, Root: root}, j.Signer)
	if err != nil {
		return err
	}
	if j.Archive != nil {
		if err := j.Archive.PutCheckpoint(ctx, size, signed); err != nil {
			return err
		}
	}
	table := aws.String(j.Table)
	item := checkpointKey(size)
	item["size"], item["note"], item["created_at"] = num(size), str(signed), str(now.UTC().Format(time.RFC3339Nano))
	_, err = j.Client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: table, Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")}},
		{Update: &types.Update{
			TableName: table, Key: map[string]types.AttributeValue{"pk": str(storage.LatestCheckpointPK)},
			UpdateExpression:          aws.String("SET #s = :size, #n = :note"),
			ConditionExpression:       aws.String("attribute_not_exists(pk) OR #s < :size"),
			ExpressionAttributeNames:  map[string]string{"#s": "size", "#n": "note"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":size": num(size), ":note": str(signed)},
		}},
	}})
	if reasons := cancellationReasons(err); reasonCode(reasons, 0) == "ConditionalCheckFailed" || reasonCode(reasons, 1) == "ConditionalCheckFailed" {
		err = nil // another instance checkpointed this size, or a later one
	}
	if err != nil {
		return fmt.Errorf("store audit checkpoint: %w", err)
	}
	j.checkpointed, j.checkpointedAt = size, now
	return nil
}

// tree returns the journal's Merkle tree hashes.
func (j *Journal) tree() *tree {
	if j.hashes == nil {
		j.hashes = &tree{client: j.Client, table: j.Table}
	}
	return j.hashes
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
		in, hashes, err := j.appendInput(ctx, e, j.lastID)
		if err != nil {
			return false, err
		}
		_, err = j.Client.TransactWriteItems(ctx, in)
		if err == nil {
			j.lastID = e.ID
			j.tree().remember(integrity.LeafIndex(e.ID), hashes)
			return true, nil
		}
		reasons := cancellationReasons(err)
		switch {
		case reasonCode(reasons, 0) == "ConditionalCheckFailed":
			// The marker exists: this record was recorded before, or (a
			// request marker naming another record) the request was.
			if event, _ := reasons[0].Item["event_id"].(*types.AttributeValueMemberS); attributed(e) && event != nil && event.Value != e.SourceEventID {
				return false, audit.ErrReplayedAttribution
			}
			return false, nil
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

// appendInput is the append transaction of an entry, and the tree hashes
// it stores.
func (j *Journal) appendInput(ctx context.Context, e *audit.Entry, previousID int64) (*dynamodb.TransactWriteItemsInput, []tlog.Hash, error) {
	item, hashes, err := entryItem(e, j.tree().reader(ctx))
	if err != nil {
		return nil, nil, err
	}
	table := aws.String(j.Table)
	// One marker makes the append happen once. An entry of an API request
	// claims its request id, for good (one request makes one change, and a
	// backup may be restored years later): the marker names the stream
	// record, so a redelivery of it is told from a replay of the request.
	// Another entry's marker is its stream record's, kept as long as the
	// stream keeps records.
	marker := map[string]types.AttributeValue{
		"pk": str(storage.MarkerPrefix + e.SourceEventID), "entry_id": num(e.ID),
		"expires_at": num(j.now().Add(markerLifetime).Unix()),
	}
	if attributed(e) {
		marker = map[string]types.AttributeValue{
			"pk": str(storage.RequestPrefix + *e.RequestID), "entry_id": num(e.ID), "event_id": str(e.SourceEventID),
		}
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
		{Put: &types.Put{
			TableName: table, Item: marker, ConditionExpression: aws.String("attribute_not_exists(pk)"),
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		}},
		{Put: &types.Put{TableName: table, Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")}},
		{Update: sequence},
	}
	for _, key := range audit.CountKeys(e) {
		items = append(items, types.TransactWriteItem{Update: &types.Update{
			TableName: table, Key: map[string]types.AttributeValue{"pk": str(storage.CountPrefix + key)},
			UpdateExpression:          aws.String("ADD #n :one"),
			ExpressionAttributeNames:  map[string]string{"#n": "n"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":one": num(1)},
		}})
	}
	return &dynamodb.TransactWriteItemsInput{TransactItems: items}, hashes, nil
}

// entryItem is the stored form of an entry: the filterable fields as
// attributes (index keys), the list view as JSON, the snapshots as JSON,
// and the Merkle tree hashes its leaf stores (read from earlier entries
// through r); it returns those hashes too.
func entryItem(e *audit.Entry, r tlog.HashReader) (map[string]types.AttributeValue, []tlog.Hash, error) {
	encoded, err := e.Encode()
	if err != nil {
		return nil, nil, err
	}
	hashes, err := tlog.StoredHashesForRecordHash(integrity.LeafIndex(e.ID), tlog.Hash(encoded.LeafHash), r)
	if err != nil {
		return nil, nil, fmt.Errorf("audit tree hashes of entry %d: %w", e.ID, err)
	}
	item := entryKey(e.ID)
	item["id"] = num(e.ID)
	item[tables.AuditFeed.Attribute] = str(storage.FeedAll)
	item[tables.AuditSortAttribute] = str(audit.SortKey(e))
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
	item["request"] = str(encoded.Request)
	item[treeHashesAttribute] = treeHashesValue(hashes)
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
		item[tables.AuditResource.Attribute] = str(audit.ResourceKey(e.ResourceType, *e.ResourceID))
	}
	return item, hashes, nil
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
	// The import's own hashes are read from memory: its entries are
	// written after all of them are made.
	imported := importedHashes{hashes: map[int64]tlog.Hash{}, stored: j.tree().reader(ctx)}
	for _, e := range entries {
		j.lastID++
		e.ID = j.lastID
		item, hashes, err := entryItem(e, imported)
		if err != nil {
			return err
		}
		first := tlog.StoredHashIndex(0, integrity.LeafIndex(e.ID))
		for i, h := range hashes {
			imported.hashes[first+int64(i)] = h
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

// importedHashes reads the hashes of an import's entries from memory and
// the others from the table.
type importedHashes struct {
	hashes map[int64]tlog.Hash
	stored tlog.HashReader
}

// ReadHashes implements tlog.HashReader.
func (r importedHashes) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	var rest []int64
	for i, index := range indexes {
		if h, ok := r.hashes[index]; ok {
			out[i] = h
		} else {
			rest = append(rest, index)
		}
	}
	if len(rest) == 0 {
		return out, nil
	}
	read, err := r.stored.ReadHashes(rest)
	if err != nil {
		return nil, err
	}
	for i, index := range indexes {
		if _, ok := r.hashes[index]; !ok {
			out[i], read = read[0], read[1:]
		}
	}
	return out, nil
}
