package dynamo

import (
	"context"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/inmor/inmor-serverless/shared/apperr"
	"github.com/inmor/inmor-serverless/shared/integrity"
	"github.com/inmor/inmor-serverless/shared/storage"
)

// treeHashesAttribute holds, on each entry item, the Merkle tree hashes its
// append stored (tlog.StoredHashes of its leaf: the leaf hash, then each
// interior node the leaf completed), concatenated.
const treeHashesAttribute = "tree_hashes"

// maxCachedHashes bounds the hashes a tree keeps in memory (40 bytes
// each); an append needs about log2(size) of them.
const maxCachedHashes = 1 << 16

// batchGetAPI is what reading tree hashes needs of DynamoDB.
type batchGetAPI interface {
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
}

// tree reads the audit log's stored hashes from the entry items, in
// tlog's layout, and caches them: a stored hash never changes.
type tree struct {
	client batchGetAPI
	table  string

	mu    sync.Mutex
	cache map[int64]tlog.Hash
}

// hashReader is a tree read under one request's context (tlog.HashReader).
type hashReader struct {
	ctx context.Context
	t   *tree
}

// storingLeaf returns the leaf index whose append stored the hash with the
// given stored-hash index, and that hash's position among the ones it stored.
func storingLeaf(index int64) (leaf int64, position int) {
	level, n := tlog.SplitStoredHashIndex(index)
	leaf = (n+1)<<level - 1
	return leaf, int(index - tlog.StoredHashIndex(0, leaf))
}

// ReadHashes implements tlog.HashReader: cached hashes, the others read in
// batches of entry items.
func (r hashReader) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	missing := map[int64][]int{} // entry id -> positions in out
	r.t.mu.Lock()
	for i, index := range indexes {
		if h, ok := r.t.cache[index]; ok {
			out[i] = h
			continue
		}
		leaf, _ := storingLeaf(index)
		missing[leaf+1] = append(missing[leaf+1], i)
	}
	r.t.mu.Unlock()
	if len(missing) == 0 {
		return out, nil
	}
	ids := make([]int64, 0, len(missing))
	for id := range missing {
		ids = append(ids, id)
	}
	stored, err := r.t.read(r.ctx, ids)
	if err != nil {
		return nil, err
	}
	for id, positions := range missing {
		hashes, ok := stored[id]
		if !ok {
			return nil, fmt.Errorf("audit entry %d has no tree hashes", id)
		}
		for _, i := range positions {
			_, position := storingLeaf(indexes[i])
			if position >= len(hashes) {
				return nil, fmt.Errorf("audit entry %d has %d tree hashes, hash %d wanted", id, len(hashes), position)
			}
			out[i] = hashes[position]
		}
	}
	return out, nil
}

// read reads the stored hashes of entries, remembering them.
func (t *tree) read(ctx context.Context, ids []int64) (map[int64][]tlog.Hash, error) {
	out := map[int64][]tlog.Hash{}
	for start := 0; start < len(ids); start += 100 {
		keys := make([]map[string]types.AttributeValue, 0, 100)
		for _, id := range ids[start:min(start+100, len(ids))] {
			keys = append(keys, entryKey(id))
		}
		request := map[string]types.KeysAndAttributes{t.table: {
			Keys: keys, ConsistentRead: aws.Bool(true),
			ProjectionExpression: aws.String("id, " + treeHashesAttribute),
		}}
		for len(request) > 0 {
			resp, err := t.client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: request})
			if err != nil {
				return nil, fmt.Errorf("read audit tree hashes: %w", err)
			}
			for _, item := range resp.Responses[t.table] {
				r := &itemReader{item: item}
				id := r.int("id")
				raw, _ := item[treeHashesAttribute].(*types.AttributeValueMemberB)
				if r.err != nil || raw == nil || len(raw.Value)%tlog.HashSize != 0 {
					return nil, fmt.Errorf("audit entry %d: unreadable tree hashes", id)
				}
				hashes := make([]tlog.Hash, len(raw.Value)/tlog.HashSize)
				for i := range hashes {
					copy(hashes[i][:], raw.Value[i*tlog.HashSize:])
				}
				out[id] = hashes
				t.remember(integrity.LeafIndex(id), hashes)
			}
			request = resp.UnprocessedKeys
		}
	}
	return out, nil
}

// remember caches the hashes the append of a leaf stored.
func (t *tree) remember(leaf int64, hashes []tlog.Hash) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cache == nil || len(t.cache)+len(hashes) > maxCachedHashes {
		t.cache = make(map[int64]tlog.Hash, 64)
	}
	first := tlog.StoredHashIndex(0, leaf)
	for i, h := range hashes {
		t.cache[first+int64(i)] = h
	}
}

// reader returns the tree read under ctx.
func (t *tree) reader(ctx context.Context) tlog.HashReader { return hashReader{ctx: ctx, t: t} }

// treeHashesValue is the attribute holding the hashes an append stores.
func treeHashesValue(hashes []tlog.Hash) types.AttributeValue {
	b := make([]byte, 0, len(hashes)*tlog.HashSize)
	for _, h := range hashes {
		b = append(b, h[:]...)
	}
	return &types.AttributeValueMemberB{Value: b}
}

func checkpointKey(size int64) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": str(fmt.Sprintf("%s%020d", storage.CheckpointPrefix, size))}
}

// tree returns the log's Merkle tree hashes.
func (l *AuditLog) tree() *tree {
	l.treeOnce.Do(func() { l.hashes = &tree{client: l.Client, table: l.Table} })
	return l.hashes
}

// checkpointNote reads the note of a checkpoint item.
func (l *AuditLog) checkpointNote(ctx context.Context, key map[string]types.AttributeValue) (string, error) {
	out, err := l.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(l.Table), Key: key, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return "", fmt.Errorf("read audit checkpoint: %w", err)
	}
	if out.Item == nil {
		return "", apperr.E(apperr.Op("dynamo.AuditLog"), apperr.NotFound)
	}
	r := &itemReader{item: out.Item}
	signed := r.str("note")
	return signed, r.err
}

// LatestCheckpoint implements integrity.Log.
func (l *AuditLog) LatestCheckpoint(ctx context.Context) (string, error) {
	return l.checkpointNote(ctx, map[string]types.AttributeValue{"pk": str(storage.LatestCheckpointPK)})
}

// CheckpointAt implements integrity.Log.
func (l *AuditLog) CheckpointAt(ctx context.Context, size int64) (string, error) {
	return l.checkpointNote(ctx, checkpointKey(size))
}

// LeafHash implements integrity.Log.
func (l *AuditLog) LeafHash(ctx context.Context, id int64) (tlog.Hash, error) {
	if id < 1 {
		return tlog.Hash{}, apperr.E(apperr.Op("dynamo.AuditLog"), apperr.NotFound)
	}
	stored, err := l.tree().read(ctx, []int64{id})
	if err != nil {
		return tlog.Hash{}, err
	}
	hashes, ok := stored[id]
	if !ok || len(hashes) == 0 {
		return tlog.Hash{}, apperr.E(apperr.Op("dynamo.AuditLog"), apperr.NotFound)
	}
	return hashes[0], nil
}

// ProveEntry implements integrity.Log.
func (l *AuditLog) ProveEntry(ctx context.Context, id, size int64) (tlog.RecordProof, error) {
	if id < 1 || id > size {
		return nil, apperr.E(apperr.Op("dynamo.AuditLog"), apperr.NotFound)
	}
	return tlog.ProveRecord(size, integrity.LeafIndex(id), l.tree().reader(ctx))
}

// ProveConsistency implements integrity.Log.
func (l *AuditLog) ProveConsistency(ctx context.Context, from, to int64) (tlog.TreeProof, error) {
	if from < 1 || from > to {
		return nil, apperr.E(apperr.Op("dynamo.AuditLog"), apperr.NotFound)
	}
	return tlog.ProveTree(to, from, l.tree().reader(ctx))
}
