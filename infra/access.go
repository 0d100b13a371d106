package main

import (
	"fmt"
	"sort"

	"github.com/inmor/inmor-serverless/shared/function"

	"github.com/inmor/inmor-serverless/shared/adminapi"
	"github.com/inmor/inmor-serverless/shared/app"
	"github.com/inmor/inmor-serverless/shared/resource"
	"github.com/inmor/inmor-serverless/shared/storage"
	"github.com/inmor/inmor-serverless/shared/tables"
)

// AuditFunction is the function that consumes the resources table's stream.
const AuditFunction = function.Audit

// FederationFunction serves the public federation endpoints, throttled
// apart from the admin API.
const FederationFunction = function.Federation

// DynamoDB actions granted. TransactWriteItems has no IAM action of its own:
// each item of a transaction is authorised as its PutItem, UpdateItem,
// DeleteItem or ConditionCheckItem.
const (
	getItem      = "dynamodb:GetItem"
	batchGetItem = "dynamodb:BatchGetItem"
	query        = "dynamodb:Query"
	putItem      = "dynamodb:PutItem"
	updateItem   = "dynamodb:UpdateItem"
	deleteItem   = "dynamodb:DeleteItem"
)

// writeActions are the DynamoDB actions that change items.
var writeActions = []string{
	putItem, updateItem, deleteItem, "dynamodb:BatchWriteItem",
	"dynamodb:PartiQLInsert", "dynamodb:PartiQLUpdate", "dynamodb:PartiQLDelete",
}

// Access is one grant to a function: actions on a table, or on its
// indexes, optionally only on the items whose partition key matches one of
// LeadingKeys.
type Access struct {
	// Table is the table's tables.Table ID.
	Table string
	// Indexes grants on every index of the table instead of the table.
	Indexes bool
	// Index grants on that one index instead of the table.
	Index   string
	Actions []string
	// LeadingKeys are IAM StringLike patterns of the partition keys the
	// actions may touch; empty means any item.
	LeadingKeys []string
}

// Function is one Lambda function of the stack.
type Function struct {
	// Name is the folder under functions/ and build/.
	Name        string
	Description string
	// MemoryMB also buys CPU: Lambda gives CPU in proportion to memory.
	MemoryMB float64
	// TimeoutSeconds bounds one invocation.
	TimeoutSeconds float64
	// Tables are the IDs of the tables whose names the function is given
	// (tables.Table.NameVariable).
	Tables []string
	// Access is every DynamoDB permission it has.
	Access []Access
	// Signs (from the registry): the function signs with the trust anchor's KMS key
	// (kms:Sign, kms:GetPublicKey) and gets SIGNING_KMS_KEY_ID.
	Signs bool
	// Routes (from the registry: an HTTP function): it serves routes of
	// the HTTP API (API Gateway may invoke it).
	Routes bool
}

// ownedTypes returns the resource types whose state-changing routes a
// function serves (from the route table).
func ownedTypes(function string) []string {
	seen := map[string]bool{}
	for _, r := range adminapi.RoutesOf(function) {
		if r.ResourceType != "" {
			seen[string(r.ResourceType)] = true
		}
	}
	var out []string
	for t := range seen {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// apiKeyAccess is what authenticating a caller needs: read keys, users and
// sessions, and record a key's last use (last_used_at).
var apiKeyAccess = []Access{
	{Table: tables.Auth.ID, Actions: []string{getItem}},
	{Table: tables.Auth.ID, Actions: []string{updateItem}, LeadingKeys: []string{storage.APIKeyPrefix + "*"}},
}

// sessionAccess is what logging in and out needs besides authenticating:
// sessions and failed-login counts.
var sessionAccess = []Access{
	{Table: tables.Auth.ID, Actions: []string{getItem}},
	{Table: tables.Auth.ID, Actions: []string{putItem, deleteItem}, LeadingKeys: []string{storage.SessionPrefix + "*", storage.LoginFailPrefix + "*"}},
	// Logins and logouts, for the audit log: conditional puts of expiring items.
	{Table: tables.Auth.ID, Actions: []string{putItem}, LeadingKeys: []string{storage.SessionEventPrefix + "*"}},
	{Table: tables.Auth.ID, Actions: []string{updateItem}, LeadingKeys: []string{storage.LoginFailPrefix + "*", storage.APIKeyPrefix + "*"}},
	// Second factors: enrolment, their use at login, the login challenge.
	{Table: tables.Auth.ID, Actions: []string{putItem, updateItem, deleteItem}, LeadingKeys: []string{storage.MFAPrefix + "*", storage.MFAPendingPrefix + "*", storage.MFAChallengePrefix + "*"}},
}

// resourceFunction is a function that serves one resource type: it reads
// the resources table (its type, and the types it refers to), and writes
// only items of its own type, the id counters, its type's uniqueness
// guards and failed attempts.
func resourceFunction(name, description string) Function {
	writable := []string{storage.CounterPK, storage.AttemptPK}
	for _, t := range ownedTypes(name) {
		writable = append(writable, t, storage.UniquePrefix+t+".*")
	}
	return Function{
		Name: name, Description: description, MemoryMB: 256, TimeoutSeconds: 10,
		Tables: []string{tables.Resources.ID, tables.Auth.ID},
		Access: append([]Access{
			{Table: tables.Resources.ID, Actions: []string{getItem, query}},
			{Table: tables.Resources.ID, Actions: []string{putItem, updateItem}, LeadingKeys: writable},
		}, apiKeyAccess...),
	}
}

// Functions lists every function of the stack with its sizing and
// permissions. Sizing:
//   - API functions: 256 MB (a small static Go binary needs about 30 MB;
//     the rest buys CPU for JSON and TLS), 10 s (a request makes a few
//     DynamoDB calls and at most one KMS signature; API Gateway gives up at
//     30 s);
//   - auth: 512 MB, because argon2id hashes with 64 MiB and is CPU bound:
//     more memory is more CPU and a faster login;
//   - audit: 512 MB and 60 s for a batch of up to 100 stream records, one
//     DynamoDB transaction each (plus retries when another shard takes the
//     next id).
//
// The functions are the registry's (app.Specs), in its order; whether one
// signs or serves routes comes from there. A function of the registry
// without a deployment here panics: a programming error the tests catch.
func Functions() []Function {
	deployments := map[string]Function{}
	for _, f := range deploymentsByName() {
		deployments[f.Name] = f
	}
	var out []Function
	for _, spec := range app.Specs() {
		f, ok := deployments[spec.Name]
		if !ok {
			panic(fmt.Sprintf("infra: function %s of the registry has no deployment in infra/access.go", spec.Name))
		}
		f.Signs, f.Routes = spec.Signs, spec.Kind == app.HTTP
		out = append(out, f)
	}
	return out
}

// deploymentsByName are the sizing and permissions of each function.
func deploymentsByName() []Function {
	return []Function{
		resourceFunction(function.TrustMarkTypes, "Inmor admin API: TrustMarkType routes"),
		resourceFunction(function.TrustMarks, "Inmor admin API: trust mark routes; signs trust marks"),
		resourceFunction(function.Subordinates, "Inmor admin API: subordinate routes; signs subordinate statements"),
		{
			Name: function.Auth, Description: "Inmor admin API: login, logout, me, csrf",
			MemoryMB: 512, TimeoutSeconds: 10,
			Tables: []string{tables.Auth.ID},
			Access: sessionAccess,
		},
		{
			// Public: it reads a subordinate's id by its entity id (the
			// uniqueness guard) and its history (one index), and signs.
			Name: function.Federation, Description: "Inmor federation endpoints (public): signed Subordinate Events",
			MemoryMB: 256, TimeoutSeconds: 10,
			Tables: []string{tables.Resources.ID, tables.Audit.ID},
			Access: []Access{
				{Table: tables.Resources.ID, Actions: []string{getItem}, LeadingKeys: []string{storage.UniquePrefix + string(resource.TypeSubordinate) + ".entityid"}},
				{Table: tables.Audit.ID, Index: tables.AuditResource.Name, Actions: []string{query}},
			},
		},
		{
			// It also serves the admin pages, whose login opens sessions:
			// the auth function's access to the auth table, and its memory
			// for argon2id.
			Name: function.AuditQuery, Description: "Inmor admin API: the audit log (read-only), the admin pages and the OpenAPI document",
			MemoryMB: 512, TimeoutSeconds: 10,
			Tables: []string{tables.Audit.ID, tables.Auth.ID},
			Access: append([]Access{
				{Table: tables.Audit.ID, Actions: []string{getItem, batchGetItem}},
				{Table: tables.Audit.ID, Indexes: true, Actions: []string{query}},
			}, sessionAccess...),
		},
		{
			Name: AuditFunction, Description: "Inmor audit log writer: the resources and auth tables' streams to the audit table",
			MemoryMB: 512, TimeoutSeconds: 60,
			Tables: []string{tables.Audit.ID},
			Access: []Access{
				// Reads: the sequence, the markers, the tree hashes of
				// earlier entries.
				{Table: tables.Audit.ID, Actions: []string{getItem, batchGetItem}},
				// New entries, markers and checkpoints: conditional puts (IAM
				// cannot require the condition; the journal always sets one).
				{Table: tables.Audit.ID, Actions: []string{putItem}, LeadingKeys: []string{storage.EntryPrefix + "*", storage.MarkerPrefix + "*", storage.RequestPrefix + "*", storage.CheckpointPrefix + "*"}},
				// The id sequence, the counts, the failure counts and the
				// latest checkpoint: updates only; entries can never be updated.
				{Table: tables.Audit.ID, Actions: []string{updateItem}, LeadingKeys: []string{storage.SequencePK, storage.CountPrefix + "*", storage.FailurePrefix + "*", storage.LatestCheckpointPK}},
				// Records it gives up on are set aside as dead letters.
				{Table: tables.Audit.ID, Actions: []string{putItem}, LeadingKeys: []string{storage.DeadLetterPrefix + "*"}},
			},
		},
	}
}
