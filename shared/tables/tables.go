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

// Audit index names.
const (
	// AuditFeedIndex lists every entry, newest first.
	AuditFeedIndex = "by_feed"
	// AuditResourceTypeIndex lists the entries of one resource type.
	AuditResourceTypeIndex = "by_resource_type"
	// AuditActionIndex lists the entries of one action.
	AuditActionIndex = "by_action"
	// AuditEventTypeIndex lists the entries of one event type.
	AuditEventTypeIndex = "by_event_type"
)

// AuditSummaryAttribute holds an entry's list view as JSON. The indexes
// project it and the filterable attributes, and nothing else (snapshots stay
// in the table), so a page is read from one index.
const AuditSummaryAttribute = "summary"

// auditFilterAttributes are the entry attributes that list filters test.
var auditFilterAttributes = []string{"resource_type", "action", "event_type", "tenant"}

func auditIndex(name, partitionKey string) Index {
	projected := []string{AuditSummaryAttribute}
	for _, a := range auditFilterAttributes {
		if a != partitionKey {
			projected = append(projected, a)
		}
	}
	return Index{
		Name:             name,
		PartitionKey:     Key{Name: partitionKey, Type: String},
		SortKey:          &Key{Name: "id", Type: Number},
		Projection:       ProjectInclude,
		NonKeyAttributes: projected,
	}
}

// Audit holds the audit entries, the entry id sequence, the per-filter counts
// and the markers that make stream processing idempotent. Only the audit
// function writes it.
var Audit = Table{
	ID:           "Audit",
	NameVariable: "AUDIT_TABLE",
	DefaultName:  "inmor-audit",
	PartitionKey: Key{Name: "pk", Type: String},
	Indexes: []Index{
		auditIndex(AuditFeedIndex, "feed"),
		auditIndex(AuditResourceTypeIndex, "resource_type"),
		auditIndex(AuditActionIndex, "action"),
		auditIndex(AuditEventTypeIndex, "event_type"),
	},
	TTLAttribute: "expires_at",
}

// AuthKindIndex lists the users, or the API keys (by owner), of the auth table.
const AuthKindIndex = "by_kind"

// Auth holds users, API keys, sessions and login throttling. Sessions and
// throttling items expire (TTL).
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
	TTLAttribute: "expires_at",
}

// All lists every table of the system.
func All() []Table { return []Table{Resources, Audit, Auth} }
