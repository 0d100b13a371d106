// Package memstore keeps the project's stores in memory, with the rules of
// the DynamoDB stores (package dynamo): ids from a counter per resource
// type, an Exists error and the holder for a taken unique value, a Stale
// error for a replace of an older version, NotFound for what is not there,
// lists in id order. The handler packages' tests (adminapi, adminui) run
// on it without a DynamoDB; the local stack's end-to-end tests keep the
// real one. Values are kept as given: a caller must not change the maps of
// a resource it has stored or read.
package memstore

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/inmor/inmor-serverless/shared/apperr"
	"github.com/inmor/inmor-serverless/shared/auth"
	"github.com/inmor/inmor-serverless/shared/resource"
)

const op = apperr.Op("memstore")

// Store implements resource.TrustMarkTypeStore, TrustMarkStore,
// SubordinateStore, ServerStore and AttemptRecorder, and auth.KeyStore, KeyToucher,
// SessionStore and LoginThrottle. Its zero value is empty and ready; it is
// safe for concurrent use.
type Store struct {
	mu             sync.Mutex
	trustMarkTypes table[resource.TrustMarkType]
	trustMarks     table[resource.TrustMark]
	subordinates   table[resource.Subordinate]
	serverEntity   singleton[resource.ServerEntity]
	historicalKeys singleton[resource.HistoricalKeys]
	attributions   []resource.Attribution
	attempts       []resource.Attempt

	lastUserID int64
	users      map[string]auth.User
	keys       map[string]auth.APIKey
	sessions   map[string]auth.Session
	failures   map[string]loginFailures
}

type loginFailures struct {
	count     int
	windowEnd time.Time
}

// table is the items of one resource type, in id order.
type table[T any] struct {
	rows   []T
	lastID int64
}

// ids reads and sets a resource's id and version, and names its unique
// value (tmtype, tmt_id and domain, entityid).
type ids[T any] struct {
	get    func(T) (id, version int64)
	set    func(t *T, id, version int64)
	unique func(T) string
}

var (
	trustMarkTypeIDs = ids[resource.TrustMarkType]{
		get:    func(t resource.TrustMarkType) (int64, int64) { return t.ID, t.Version },
		set:    func(t *resource.TrustMarkType, id, v int64) { t.ID, t.Version = id, v },
		unique: func(t resource.TrustMarkType) string { return t.TMType },
	}
	trustMarkIDs = ids[resource.TrustMark]{
		get:    func(t resource.TrustMark) (int64, int64) { return t.ID, t.Version },
		set:    func(t *resource.TrustMark, id, v int64) { t.ID, t.Version = id, v },
		unique: func(t resource.TrustMark) string { return strconv.FormatInt(t.TMTID, 10) + " " + t.Domain },
	}
	subordinateIDs = ids[resource.Subordinate]{
		get:    func(s resource.Subordinate) (int64, int64) { return s.ID, s.Version },
		set:    func(s *resource.Subordinate, id, v int64) { s.ID, s.Version = id, v },
		unique: func(s resource.Subordinate) string { return s.EntityID },
	}
)

// create stores t with the next id and version 1; when its unique value is
// taken it returns the holder and an Exists error (the id is spent, as in
// DynamoDB).
func create[T any](tb *table[T], k ids[T], t T) (T, error) {
	tb.lastID++
	for _, row := range tb.rows {
		if k.unique(row) == k.unique(t) {
			return row, apperr.E(op, apperr.Exists)
		}
	}
	k.set(&t, tb.lastID, 1)
	tb.rows = append(tb.rows, t)
	return t, nil
}

func get[T any](tb *table[T], k ids[T], id int64) (T, error) {
	for _, row := range tb.rows {
		if rowID, _ := k.get(row); rowID == id {
			return row, nil
		}
	}
	var zero T
	return zero, apperr.E(op, apperr.NotFound)
}

// replace stores t, version incremented, if the stored version is t's.
func replace[T any](tb *table[T], k ids[T], t T) (T, error) {
	id, version := k.get(t)
	for i, row := range tb.rows {
		if rowID, stored := k.get(row); rowID == id {
			if stored != version {
				return t, apperr.E(op, apperr.Stale)
			}
			k.set(&t, id, version+1)
			tb.rows[i] = t
			return t, nil
		}
	}
	return t, apperr.E(op, apperr.NotFound)
}

// list returns a page of the rows keep accepts (all when nil), and how
// many it accepts in all.
func list[T any](tb *table[T], p resource.Page, keep func(T) bool) ([]T, int) {
	out, count := []T{}, 0
	for _, row := range tb.rows {
		if keep != nil && !keep(row) {
			continue
		}
		if count >= p.Offset && len(out) < p.Limit {
			out = append(out, row)
		}
		count++
	}
	return out, count
}

// Attributions returns the attribution of every write, in order.
func (s *Store) Attributions() []resource.Attribution {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.attributions)
}

// Attempts returns the failed requests recorded, in order.
func (s *Store) Attempts() []resource.Attempt {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.attempts)
}

// written records a successful write's attribution.
func (s *Store) written(err error, a resource.Attribution) {
	if err == nil {
		s.attributions = append(s.attributions, a)
	}
}

// RecordAttempt implements resource.AttemptRecorder.
func (s *Store) RecordAttempt(_ context.Context, a resource.Attempt) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attempts = append(s.attempts, a)
	return nil
}

// CreateTrustMarkType implements resource.TrustMarkTypeStore.
func (s *Store) CreateTrustMarkType(_ context.Context, t resource.TrustMarkType, a resource.Attribution) (resource.TrustMarkType, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := create(&s.trustMarkTypes, trustMarkTypeIDs, t)
	s.written(err, a)
	return t, err
}

// TrustMarkType implements resource.TrustMarkTypeStore.
func (s *Store) TrustMarkType(_ context.Context, id int64) (resource.TrustMarkType, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return get(&s.trustMarkTypes, trustMarkTypeIDs, id)
}

// TrustMarkTypeByTMType implements resource.TrustMarkTypeStore.
func (s *Store) TrustMarkTypeByTMType(_ context.Context, tmtype string) (resource.TrustMarkType, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.trustMarkTypes.rows {
		if t.TMType == tmtype {
			return t, nil
		}
	}
	return resource.TrustMarkType{}, apperr.E(op, apperr.NotFound)
}

// TrustMarkTypes implements resource.TrustMarkTypeStore.
func (s *Store) TrustMarkTypes(_ context.Context, p resource.Page) ([]resource.TrustMarkType, int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out, count := list(&s.trustMarkTypes, p, nil)
	return out, count, nil
}

// ReplaceTrustMarkType implements resource.TrustMarkTypeStore.
func (s *Store) ReplaceTrustMarkType(_ context.Context, t resource.TrustMarkType, a resource.Attribution) (resource.TrustMarkType, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := replace(&s.trustMarkTypes, trustMarkTypeIDs, t)
	s.written(err, a)
	return t, err
}

// CreateTrustMark implements resource.TrustMarkStore.
func (s *Store) CreateTrustMark(_ context.Context, t resource.TrustMark, a resource.Attribution) (resource.TrustMark, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := create(&s.trustMarks, trustMarkIDs, t)
	s.written(err, a)
	return t, err
}

// TrustMark implements resource.TrustMarkStore.
func (s *Store) TrustMark(_ context.Context, id int64) (resource.TrustMark, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return get(&s.trustMarks, trustMarkIDs, id)
}

// TrustMarks implements resource.TrustMarkStore.
func (s *Store) TrustMarks(_ context.Context, domain *string, p resource.Page) ([]resource.TrustMark, int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var keep func(resource.TrustMark) bool
	if domain != nil {
		keep = func(t resource.TrustMark) bool { return t.Domain == *domain }
	}
	out, count := list(&s.trustMarks, p, keep)
	return out, count, nil
}

// ReplaceTrustMark implements resource.TrustMarkStore.
func (s *Store) ReplaceTrustMark(_ context.Context, t resource.TrustMark, a resource.Attribution) (resource.TrustMark, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := replace(&s.trustMarks, trustMarkIDs, t)
	s.written(err, a)
	return t, err
}

// CreateSubordinate implements resource.SubordinateStore.
func (s *Store) CreateSubordinate(_ context.Context, sub resource.Subordinate, a resource.Attribution) (resource.Subordinate, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub, err := create(&s.subordinates, subordinateIDs, sub)
	s.written(err, a)
	return sub, err
}

// Subordinate implements resource.SubordinateStore.
func (s *Store) Subordinate(_ context.Context, id int64) (resource.Subordinate, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return get(&s.subordinates, subordinateIDs, id)
}

// Subordinates implements resource.SubordinateStore.
func (s *Store) Subordinates(_ context.Context, p resource.Page) ([]resource.Subordinate, int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out, count := list(&s.subordinates, p, nil)
	return out, count, nil
}

// ReplaceSubordinate implements resource.SubordinateStore.
func (s *Store) ReplaceSubordinate(_ context.Context, sub resource.Subordinate, a resource.Attribution) (resource.Subordinate, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub, err := replace(&s.subordinates, subordinateIDs, sub)
	s.written(err, a)
	return sub, err
}

// singleton is the one item of a singleton resource type, with its version
// (0 while absent).
type singleton[T any] struct {
	value   T
	version int64
}

// get returns the item, or a NotFound error while there is none.
func (one *singleton[T]) get() (T, error) {
	if one.version == 0 {
		var zero T
		return zero, apperr.E(op, apperr.NotFound)
	}
	return one.value, nil
}

// put stores t as version expected+1 if the stored version is expected.
func (one *singleton[T]) put(t T, expected int64) error {
	if one.version != expected {
		return apperr.E(op, apperr.Stale)
	}
	one.value, one.version = t, expected+1
	return nil
}

// ServerEntity implements resource.ServerStore.
func (s *Store) ServerEntity(context.Context) (resource.ServerEntity, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.serverEntity.get()
}

// PutServerEntity implements resource.ServerStore.
func (s *Store) PutServerEntity(_ context.Context, e resource.ServerEntity, a resource.Attribution) (resource.ServerEntity, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	expected := e.Version
	e.Version++
	err := s.serverEntity.put(e, expected)
	s.written(err, a)
	return e, err
}

// HistoricalKeys implements resource.ServerStore.
func (s *Store) HistoricalKeys(context.Context) (resource.HistoricalKeys, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.historicalKeys.get()
}

// PutHistoricalKeys implements resource.ServerStore.
func (s *Store) PutHistoricalKeys(_ context.Context, h resource.HistoricalKeys, a resource.Attribution) (resource.HistoricalKeys, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	expected := h.Version
	h.Version++
	err := s.historicalKeys.put(h, expected)
	s.written(err, a)
	return h, err
}

// ActiveTrustMarkTypes implements resource.ServerStore.
func (s *Store) ActiveTrustMarkTypes(context.Context) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, t := range s.trustMarkTypes.rows {
		if t.Active {
			out = append(out, t.TMType)
		}
	}
	return out, nil
}
