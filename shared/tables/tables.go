// Package tables defines the DynamoDB tables of the system (keys, indexes,
// stream and TTL settings) as plain data. The local stack creates its tables
// from these definitions and the CDK app deploys them, so the two cannot drift.
package tables

import "os"

// AttributeType is a DynamoDB key attribute type.
type AttributeType string

// Key attribute types.
const (
	String AttributeType = "S"
	Number AttributeType = "N"
)

// Key is one key attribute.
type Key struct {
	Name string
	Type AttributeType
}

// Projection types of a global secondary index.
const (
	ProjectAll      = "ALL"
	ProjectKeysOnly = "KEYS_ONLY"
	ProjectInclude  = "INCLUDE"
)

// Index is a global secondary index.
type Index struct {
	Name         string
	PartitionKey Key
	SortKey      *Key
	// Projection is one of ProjectAll, ProjectKeysOnly, ProjectInclude.
	Projection string
	// NonKeyAttributes are projected when Projection is ProjectInclude.
	NonKeyAttributes []string
}

// Table is the definition of one table.
type Table struct {
	// ID names the table in code and in the CDK app (a construct id).
	ID string
	// NameVariable is the environment variable that holds the table's name.
	NameVariable string
	// DefaultName is the table's name when NameVariable is unset (local stack).
	DefaultName  string
	PartitionKey Key
	SortKey      *Key
	Indexes      []Index
	// StreamNewAndOldImages turns on a stream with both images.
	StreamNewAndOldImages bool
	// TTLAttribute, when set, is the attribute holding an item's expiry (epoch seconds).
	TTLAttribute string
}

// Name returns the table's name from the environment, or its default.
func (t Table) Name(getenv func(string) string) string {
	if getenv == nil {
		getenv = os.Getenv
	}
	if v := getenv(t.NameVariable); v != "" {
		return v
	}
	return t.DefaultName
}

// Resources holds the resource items (TrustMarkType, TrustMark, Subordinate)
// and their bookkeeping: id counters and uniqueness guards. Its stream feeds
// the audit function.
var Resources = Table{
	ID:                    "Resources",
	NameVariable:          "RESOURCES_TABLE",
	DefaultName:           "inmor-resources",
	PartitionKey:          Key{Name: "pk", Type: String},
	SortKey:               &Key{Name: "sk", Type: String},
	StreamNewAndOldImages: true,
	TTLAttribute:          "expires_at",
}

// AuditIndex is an index of the audit table: entries with one value of an
// attribute, newest first.
type AuditIndex struct {
	Name string
	// Attribute is the index's partition key: the entry attribute it serves.
	Attribute string
}

// The audit table's indexes. Every one is sorted by AuditSortAttribute.
var (
	// AuditFeed lists every entry (feed is "all" on every entry).
	AuditFeed         = AuditIndex{"by_feed", "feed"}
	AuditResource     = AuditIndex{"by_resource", "resource_key"}
	AuditUsername     = AuditIndex{"by_username", "username"}
	AuditEventType    = AuditIndex{"by_event_type", "event_type"}
	AuditResourceType = AuditIndex{"by_resource_type", "resource_type"}
	AuditAuthMethod   = AuditIndex{"by_auth_method", "auth_method"}
	AuditTenant       = AuditIndex{"by_tenant", "tenant"}
	AuditAction       = AuditIndex{"by_action", "action"}
	AuditSuccess      = AuditIndex{"by_success", "success_key"}
	// AuditIndexes lists them all.
	AuditIndexes = []AuditIndex{AuditFeed, AuditResource, AuditUsername, AuditEventType, AuditResourceType, AuditAuthMethod, AuditTenant, AuditAction, AuditSuccess}
)

// AuditSortAttribute sorts entries in every audit index: the timestamp
// (fixed width) then the id, so time ranges are key conditions.
const AuditSortAttribute = "sort"

// AuditSummaryAttribute holds an entry's list view as JSON. The indexes
// project it and the filterable attributes, and nothing else (snapshots stay
// in the table), so a page is read from one index.
const AuditSummaryAttribute = "summary"

// AuditSearchAttribute holds the lowercased text the q filter searches.
const AuditSearchAttribute = "search"

// auditIndex projects the summary, the search text and every other
// filterable attribute (10 for by_feed, 9 for each other index: 82 over all
// indexes, below DynamoDB's 100; infra's TestDocumentedCounts checks the
// figure docs/architecture.md gives).
func auditIndex(ix AuditIndex) Index {
	projected := []string{AuditSummaryAttribute, AuditSearchAttribute}
	for _, other := range AuditIndexes {
		if other.Attribute != ix.Attribute && other != AuditFeed {
			projected = append(projected, other.Attribute)
		}
	}
	return Index{
		Name:             ix.Name,
		PartitionKey:     Key{Name: ix.Attribute, Type: String},
		SortKey:          &Key{Name: AuditSortAttribute, Type: String},
		Projection:       ProjectInclude,
		NonKeyAttributes: projected,
	}
}

func auditIndexes() []Index {
	out := make([]Index, len(AuditIndexes))
	for i, ix := range AuditIndexes {
		out[i] = auditIndex(ix)
	}
	return out
}

// Audit holds the audit entries, the entry id sequence, the per-filter counts
// and the markers that make stream processing idempotent. Only the audit
// function writes it.
var Audit = Table{
	ID:           "Audit",
	NameVariable: "AUDIT_TABLE",
	DefaultName:  "inmor-audit",
	PartitionKey: Key{Name: "pk", Type: String},
	Indexes:      auditIndexes(),
	TTLAttribute: "expires_at",
}

// AuthKindIndex lists the users, or the API keys (by owner), of the auth table.
const AuthKindIndex = "by_kind"

// Auth holds users, API keys, sessions and login throttling. Sessions,
// throttling items and session events expire (TTL). Its stream feeds the
// audit function too (users, keys, logins and logouts).
var Auth = Table{
	ID:           "Auth",
	NameVariable: "AUTH_TABLE",
	DefaultName:  "inmor-auth",
	PartitionKey: Key{Name: "pk", Type: String},
	Indexes: []Index{{
		Name:         AuthKindIndex,
		PartitionKey: Key{Name: "kind", Type: String},
		SortKey:      &Key{Name: "sort", Type: String},
		Projection:   ProjectAll,
	}},
	StreamNewAndOldImages: true,
	TTLAttribute:          "expires_at",
}

// All lists every table of the system.
func All() []Table { return []Table{Resources, Audit, Auth} }
