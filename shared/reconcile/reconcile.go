// Package reconcile checks the audit log against the resources table
// (`inmorctl audit verify`): every resource item must have exactly one
// successful API entry per version, the successful entries of a resource must
// chain (each snapshot_before is the previous snapshot_after), and the last
// one must show the item as it is. A resource that is gone must have been
// deleted by its last entry.
//
// The audit function is asynchronous: a change is recorded a moment after
// it is made. Verify a quiet log (no writes in flight, the stream drained);
// otherwise the newest changes show up as missing or stale.
package reconcile

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/inmor/inmor-serverless/shared/audit"
	"github.com/inmor/inmor-serverless/shared/dynamo"
	"github.com/inmor/inmor-serverless/shared/resource"
	"github.com/inmor/inmor-serverless/shared/storage"
	"github.com/inmor/inmor-serverless/shared/tables"
)

// Kind classifies a problem.
type Kind string

// The kinds of problems.
const (
	// Missing: versions of a resource that no successful API entry records.
	Missing Kind = "missing"
	// Duplicate: a version recorded by more than one successful API entry.
	Duplicate Kind = "duplicate"
	// BrokenChain: an entry's snapshot_before is not the previous successful
	// entry's snapshot_after (null for the first: a CREATE).
	BrokenChain Kind = "broken-chain"
	// Stale: the item is not what its last entry shows.
	Stale Kind = "stale"
	// Untraced: an item without any successful entry.
	Untraced Kind = "untraced"
	// DeletedWithoutTrace: a resource that no longer exists, whose last
	// successful entry is not a DELETE.
	DeletedWithoutTrace Kind = "deleted-without-trace"
	// VersionOrder: an API entry, or the item, whose version goes back.
	VersionOrder Kind = "version-order"
	// Unreadable: an entry or item the verifier cannot read.
	Unreadable Kind = "unreadable"
)

// Problem is one inconsistency between the audit log and the resources.
type Problem struct {
	// Resource is the resource key, `<Type>#<id>` (as in the audit log).
	Resource string
	Kind     Kind
	// Entry is the entry concerned (0 when none).
	Entry int64
	// Version is the first version concerned and LastVersion the last (the
	// same for one version); 0 when none.
	Version, LastVersion int64
	// Detail says what is wrong.
	Detail string
}

// String formats a problem as one line:
//
//	<resource> <where>: <kind>: <detail>
//
// where <where> is "version N" or "versions N-M" (missing and duplicate),
// "entry N" (a problem of one entry), or "item" (the resource item itself).
func (p Problem) String() string {
	return p.Resource + " " + p.where() + ": " + string(p.Kind) + ": " + p.Detail
}

func (p Problem) where() string {
	switch {
	case (p.Kind == Missing || p.Kind == Duplicate) && p.LastVersion > p.Version:
		return fmt.Sprintf("versions %d-%d", p.Version, p.LastVersion)
	case p.Kind == Missing || p.Kind == Duplicate:
		return fmt.Sprintf("version %d", p.Version)
	case p.Entry != 0:
		return fmt.Sprintf("entry %d", p.Entry)
	default:
		return "item"
	}
}

// Summary counts what a verification read and found.
type Summary struct {
	// Resources verified: the items, and the histories of resources that
	// no longer exist.
	Resources int
	// Entries: the successful entries of those resources (failed ones are
	// not part of any history and are not read).
	Entries  int
	Problems int
}

// String is the summary line.
func (s Summary) String() string {
	return fmt.Sprintf("Verified %d resources and %d entries: %d problem(s).", s.Resources, s.Entries, s.Problems)
}

// Verifier verifies the audit log against the resources table.
//
// Cost: one paginated Query per resource type of the resources table; per
// resource, a paginated Query of the by_resource index (its successful
// entries, keys only) and one BatchGetItem per 100 of them (for versions and
// snapshots); and one paginated Scan of the by_resource index (its keys) to
// find the histories of resources that no longer exist. Memory per resource
// is a key per successful entry (about 50 bytes) and one batch of at most 100
// entries; over the whole run, the set of existing resource keys.
type Verifier struct {
	// Client reads; the verifier reads through dynamo.Inventory.
	Client         dynamo.ReadAPI
	ResourcesTable string
	AuditTable     string
	// PageSize limits the items of each request (Query, Scan; BatchGetItem
	// at most 100); 0 leaves DynamoDB's own limits. Tests set it small.
	PageSize int
}

// maxBatchGet is DynamoDB's limit of keys per BatchGetItem.
const maxBatchGet = 100

// Run verifies every resource and every history, calling report for each
// problem as it is found (report may be nil). An error means the
// verification could not finish; the summary then covers what was read.
func (v *Verifier) Run(ctx context.Context, report func(Problem)) (Summary, error) {
	var sum Summary
	emit := func(p Problem) {
		sum.Problems++
		if report != nil {
			report(p)
		}
	}
	existing := map[string]bool{}
	for _, t := range resource.Types {
		err := v.inventory().EachResourceItem(ctx, t, func(item map[string]types.AttributeValue) error {
			cur, key, err := current(t, item)
			if err != nil {
				emit(Problem{Resource: key, Kind: Unreadable, Detail: err.Error()})
				return nil
			}
			existing[key] = true
			n, err := v.verifyHistory(ctx, key, &cur, emit)
			sum.Resources++
			sum.Entries += n
			return err
		})
		if err != nil {
			return sum, err
		}
	}
	gone, err := v.historiesOfGoneResources(ctx, existing)
	if err != nil {
		return sum, err
	}
	for _, key := range gone {
		n, err := v.verifyHistory(ctx, key, nil, emit)
		if n > 0 {
			sum.Resources++
		}
		sum.Entries += n
		if err != nil {
			return sum, err
		}
	}
	return sum, nil
}

// Problems runs the verification and returns every problem found.
func (v *Verifier) Problems(ctx context.Context) ([]Problem, Summary, error) {
	var problems []Problem
	sum, err := v.Run(ctx, func(p Problem) { problems = append(problems, p) })
	return problems, sum, err
}

// inventory is the verifier's reader of the tables.
func (v *Verifier) inventory() *dynamo.Inventory {
	return &dynamo.Inventory{Client: v.Client, ResourcesTable: v.ResourcesTable, AuditTable: v.AuditTable, PageSize: v.PageSize}
}

// state is a resource as an item or an entry shows it.
type state struct {
	version int64
	// snapshot is the resource's fields as the audit function stores them
	// (JSON, decoded with numbers as json.Number); nil when it does not exist.
	snapshot any
}

// current reads a resource item: its key in the audit log, its version and
// its snapshot as the audit function would record it.
func current(t resource.Type, item map[string]types.AttributeValue) (state, string, error) {
	plain := dynamo.FromAttributeMap(item)
	key := string(t) + "#?"
	if sk, ok := plain[storage.AttrSK].(string); ok {
		if id, err := strconv.ParseInt(sk, 10, 64); err == nil {
			key = audit.ResourceKey(string(t), id)
		}
	}
	img, ok, err := storage.ParseImage(plain)
	if !ok {
		return state{}, key, fmt.Errorf("not a resource item")
	}
	if err != nil {
		return state{}, key, err
	}
	key = audit.ResourceKey(string(img.Type), img.ID)
	snapshot, err := audit.SnapshotJSON(img.Fields)
	if err != nil {
		return state{}, key, fmt.Errorf("fields: %w", err)
	}
	s := state{version: img.Version}
	if s.snapshot, err = decodeJSON(snapshot); err != nil {
		return state{}, key, fmt.Errorf("fields: %w", err)
	}
	return s, key, nil
}

func decodeJSON(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if d.More() {
		return nil, fmt.Errorf("trailing data after JSON value")
	}
	return v, nil
}

// ref is a successful entry of a resource's history, as its index lists it.
type ref struct {
	id int64
	pk string
}

// entry is what the verifier reads of a successful entry.
type entry struct {
	id         int64
	action     string
	authMethod string
	version    int64
	before     any
	after      any
}

// history lists the successful entries of one resource, oldest first: in
// the order of their ids, which is the order the audit function appended
// them (the stream's order). The index sorts by timestamp, and an
// out-of-band change is dated by the stream, so the two can differ.
func (v *Verifier) history(ctx context.Context, key string) ([]ref, error) {
	pks, err := v.inventory().SuccessfulEntryKeys(ctx, key)
	if err != nil {
		return nil, err
	}
	refs := make([]ref, 0, len(pks))
	for _, pk := range pks {
		id, err := entryID(pk)
		if err != nil {
			return nil, fmt.Errorf("history of %s: %w", key, err)
		}
		refs = append(refs, ref{id: id, pk: pk})
	}
	slices.SortStableFunc(refs, func(a, b ref) int { return cmp.Compare(a.id, b.id) })
	return refs, nil
}

func entryID(pk string) (int64, error) {
	s, ok := strings.CutPrefix(pk, storage.EntryPrefix)
	if !ok {
		return 0, fmt.Errorf("index item %q is not an entry", pk)
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("entry key %q: %w", pk, err)
	}
	return id, nil
}

// verifyHistory walks one resource's successful entries and compares the
// last with cur (nil when the resource no longer exists). It returns the
// number of entries read.
func (v *Verifier) verifyHistory(ctx context.Context, key string, cur *state, emit func(Problem)) (int, error) {
	refs, err := v.history(ctx, key)
	if err != nil {
		return 0, err
	}
	w := newWalker(key, emit)
	batch := maxBatchGet
	if v.PageSize > 0 {
		batch = min(batch, v.PageSize)
	}
	for start := 0; start < len(refs); start += batch {
		chunk := refs[start:min(start+batch, len(refs))]
		items, err := v.entries(ctx, chunk)
		if err != nil {
			return 0, fmt.Errorf("history of %s: %w", key, err)
		}
		for _, r := range chunk {
			item, found := items[r.pk]
			if !found {
				continue // removed since the index was read
			}
			e, err := readEntry(r.id, item)
			if err != nil {
				emit(Problem{Resource: key, Kind: Unreadable, Entry: r.id, Detail: err.Error()})
				w.skip(r.id)
				continue
			}
			w.step(e)
		}
	}
	w.finish(cur)
	return len(refs), nil
}

// entries reads the entries of refs (at most 100) from the table.
func (v *Verifier) entries(ctx context.Context, refs []ref) (map[string]map[string]types.AttributeValue, error) {
	pks := make([]string, len(refs))
	for i, r := range refs {
		pks[i] = r.pk
	}
	return v.inventory().EntryVersions(ctx, pks)
}

func readEntry(id int64, item map[string]types.AttributeValue) (entry, error) {
	e := entry{id: id}
	text := func(name string) (string, error) {
		s, ok := item[name].(*types.AttributeValueMemberS)
		if !ok {
			return "", fmt.Errorf("no %s", name)
		}
		return s.Value, nil
	}
	var err error
	if e.action, err = text(tables.AuditAction.Attribute); err != nil {
		return e, err
	}
	if e.authMethod, err = text(tables.AuditAuthMethod.Attribute); err != nil {
		return e, err
	}
	n, ok := item["resource_version"].(*types.AttributeValueMemberN)
	if !ok {
		return e, fmt.Errorf("no resource_version")
	}
	if e.version, err = strconv.ParseInt(n.Value, 10, 64); err != nil {
		return e, fmt.Errorf("resource_version: %w", err)
	}
	for _, s := range []struct {
		name string
		into *any
	}{{"snapshot_before", &e.before}, {"snapshot_after", &e.after}} {
		raw, err := text(s.name)
		if err != nil {
			return e, err
		}
		if *s.into, err = decodeJSON([]byte(raw)); err != nil {
			return e, fmt.Errorf("%s is not JSON: %w", s.name, err)
		}
		if _, isObject := (*s.into).(map[string]any); *s.into != nil && !isObject {
			return e, fmt.Errorf("%s is neither an object nor null", s.name)
		}
	}
	return e, nil
}

// walker checks a resource's successful entries in order.
type walker struct {
	key  string
	emit func(Problem)
	// version and after are the resource as the last entry left it
	// (version 0 and after nil: it does not exist).
	version int64
	after   any
	last    *entry
	// unknown: the last entry was unreadable, so the next one cannot be
	// checked against it.
	unknown bool
	// recorded maps each version an API entry recorded to that entry, since
	// the resource last came into existence or was rolled back.
	recorded map[int64]int64
}

func newWalker(key string, emit func(Problem)) *walker {
	return &walker{key: key, emit: emit, recorded: map[int64]int64{}}
}

func (w *walker) problem(kind Kind, entry, version, last int64, format string, args ...any) {
	w.emit(Problem{Resource: w.key, Kind: kind, Entry: entry, Version: version, LastVersion: last, Detail: fmt.Sprintf(format, args...)})
}

// step checks one entry against the state the previous ones left.
//
// An API write makes version n+1 of a resource at version n (1 for a
// create). An out-of-band change keeps the version it found, except a
// create (a copy or a restore brings its own version) or an update that
// rolls the item back to an older copy; a delete ends the resource's
// versions.
func (w *walker) step(e entry) {
	if w.unknown {
		// Nothing to check e against: start again from it.
		w.unknown = false
		if e.authMethod != audit.AuthOutOfBand && e.version > 0 {
			w.recorded[e.version] = e.id
		}
		w.adopt(e)
		return
	}
	gap := false // versions are missing before e: its snapshot_before cannot follow
	if e.authMethod != audit.AuthOutOfBand {
		switch {
		case e.version == w.version+1:
		case e.version > w.version+1:
			w.missing(w.version+1, e.version-1, e.id, "no successful API entry: the next one, entry %d, records version %d", e.id, e.version)
			gap = true
		default:
			if first, dup := w.recorded[e.version]; dup {
				w.problem(Duplicate, e.id, e.version, e.version, "entries %d and %d both record it", first, e.id)
				return // recorded already: not part of the chain
			}
			switch {
			case e.version < 1:
				w.problem(VersionOrder, e.id, 0, 0, "an API entry without a resource version (%d)", e.version)
			case w.last == nil:
				w.problem(VersionOrder, e.id, e.version, e.version, "records version %d first", e.version)
			default:
				w.problem(VersionOrder, e.id, e.version, e.version, "records version %d after version %d (entry %d)", e.version, w.version, w.last.id)
			}
		}
		if e.version > 0 {
			w.recorded[e.version] = e.id
		}
	} else {
		switch {
		case e.action == audit.ActionCreate:
			clear(w.recorded)
		case e.version > w.version:
			w.missing(w.version+1, e.version, e.id, "no successful API entry: the out-of-band %s that follows, entry %d, found version %d", e.action, e.id, e.version)
			gap = true
		case e.version < w.version:
			clear(w.recorded) // rolled back to an older copy: its versions are made again
		}
	}
	if !gap && !audit.Equal(e.before, w.after) {
		switch {
		case w.last == nil:
			w.problem(BrokenChain, e.id, e.version, e.version, "snapshot_before is not null, but no earlier entry records the resource (its CREATE)")
		case w.after == nil:
			w.problem(BrokenChain, e.id, e.version, e.version, "snapshot_before is not null, but the previous entry, %d, deleted the resource", w.last.id)
		case e.before == nil:
			w.problem(BrokenChain, e.id, e.version, e.version, "snapshot_before is null, as for a creation, but the resource exists since entry %d", w.last.id)
		default:
			w.problem(BrokenChain, e.id, e.version, e.version, "snapshot_before differs from the snapshot_after of entry %d (fields: %s)", w.last.id, differing(w.after, e.before))
		}
	}
	w.adopt(e)
}

// adopt makes e the last entry.
func (w *walker) adopt(e entry) {
	w.version, w.after, w.last = e.version, e.after, &e
	if e.after == nil {
		w.version = 0
		clear(w.recorded)
	}
}

// skip passes over an unreadable entry.
func (w *walker) skip(id int64) {
	w.unknown = true
	w.last = &entry{id: id}
}

func (w *walker) missing(first, last, entry int64, format string, args ...any) {
	w.problem(Missing, entry, first, last, format, args...)
}

// finish compares the state the entries left with the item (nil: the
// resource no longer exists).
func (w *walker) finish(cur *state) {
	if w.unknown {
		return // the last entry is unreadable (reported): nothing to compare with
	}
	if cur == nil {
		if w.last != nil && w.after != nil {
			w.problem(DeletedWithoutTrace, w.last.id, 0, 0, "the resource no longer exists, but its last entry is a %s (version %d), not a DELETE", w.last.action, w.last.version)
		}
		return
	}
	switch {
	case w.last == nil:
		w.problem(Untraced, 0, 0, 0, "version %d exists, but no successful entry records the resource", cur.version)
	case w.after == nil:
		w.problem(Stale, 0, 0, 0, "version %d exists, but its last entry, %d, deleted the resource", cur.version, w.last.id)
	case cur.version > w.version:
		w.missing(w.version+1, cur.version, 0, "no successful API entry: the item is at version %d, its last entry, %d, records version %d", cur.version, w.last.id, w.version)
	case cur.version < w.version:
		w.problem(VersionOrder, 0, 0, 0, "the item is at version %d, behind its last entry, %d, at version %d", cur.version, w.last.id, w.version)
	case !audit.Equal(cur.snapshot, w.after):
		w.problem(Stale, 0, 0, 0, "differs from the snapshot_after of its last entry, %d (fields: %s)", w.last.id, differing(w.after, cur.snapshot))
	}
}

// differing lists the top-level fields in which two snapshots differ.
func differing(a, b any) string {
	am, _ := a.(map[string]any)
	bm, _ := b.(map[string]any)
	keys := make([]string, 0)
	for k := range audit.Diff(am, bm) {
		keys = append(keys, k)
	}
	// Diff leaves out fields missing on one side and null on the other; a
	// snapshot keeps nulls, so tell those apart too.
	for k, v := range am {
		if _, present := bm[k]; !present && v == nil {
			keys = append(keys, k)
		}
	}
	for k, v := range bm {
		if _, present := am[k]; !present && v == nil {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	if len(keys) == 0 {
		return "none by value"
	}
	return strings.Join(keys, ", ")
}

// historiesOfGoneResources lists the resource keys of the audit log's
// successful entries that name no existing item, in type and id order.
// Only the resources table's types are checked: users (the auth table's)
// are not reconciled.
func (v *Verifier) historiesOfGoneResources(ctx context.Context, existing map[string]bool) ([]string, error) {
	gone := map[string]bool{}
	err := v.inventory().AuditedResources(ctx, func(key string) {
		t, _, _ := strings.Cut(key, "#")
		if !existing[key] && resource.IsType(t) {
			gone[key] = true
		}
	})
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(gone))
	for k := range gone {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareKeys)
	return keys, nil
}

// compareKeys orders resource keys by type (in resource.Types order) and id.
func compareKeys(a, b string) int {
	split := func(k string) (int, int64, string) {
		t, id, _ := strings.Cut(k, "#")
		n, _ := strconv.ParseInt(id, 10, 64)
		i := slices.Index(resource.Types, resource.Type(t))
		if i < 0 {
			i = len(resource.Types)
		}
		return i, n, k
	}
	ai, an, ak := split(a)
	bi, bn, bk := split(b)
	return cmp.Or(cmp.Compare(ai, bi), cmp.Compare(an, bn), strings.Compare(ak, bk))
}
