package dynamo

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/inmor/inmor-serverless/shared/audit"
	"github.com/inmor/inmor-serverless/shared/integrity"
)

// attributeSize is the size DynamoDB bills for a value: strings and
// binaries by their bytes, numbers by about half their digits plus one,
// booleans and nulls one byte, maps and lists three bytes plus their
// elements (and one byte per element).
func attributeSize(v types.AttributeValue) int {
	switch x := v.(type) {
	case *types.AttributeValueMemberS:
		return len(x.Value)
	case *types.AttributeValueMemberN:
		digits := strings.Trim(strings.TrimLeft(x.Value, "-0"), ".")
		return (len(digits)+1)/2 + 1
	case *types.AttributeValueMemberB:
		return len(x.Value)
	case *types.AttributeValueMemberBOOL, *types.AttributeValueMemberNULL:
		return 1
	case *types.AttributeValueMemberM:
		return 3 + itemSize(x.Value) + len(x.Value)
	case *types.AttributeValueMemberL:
		n := 3
		for _, item := range x.Value {
			n += 1 + attributeSize(item)
		}
		return n
	}
	panic(fmt.Sprintf("size of %T", v))
}

// itemSize is the billed size of an item: names and values.
func itemSize(item map[string]types.AttributeValue) int {
	n := 0
	for name, v := range item {
		n += utf8.RuneCountInString(name) + attributeSize(v)
	}
	return n
}

// writeUnits is what a transactional write of an item of that size
// costs: a unit per started KB, twice.
func writeUnits(size int) int { return 2 * int(math.Ceil(float64(max(size, 1))/1024)) }

// snapshotOf is a snapshot of about n bytes of JSON.
func snapshotOf(n int, salt string) map[string]any {
	s := map[string]any{"id": int64(7), "entityid": "https://rp.example.org"}
	for i := 0; i < n/64; i++ {
		s[fmt.Sprintf("claim_%02d", i)] = strings.Repeat(salt, 40)
	}
	return s
}

// TestWriteUnitsOfAnAppend: an append of an API change with 1 KB
// snapshots costs at most 30 write units (its items with 1 KB rounding,
// twice for the transaction; 28 over the first 1,024 appends: the entry
// item stays under 3 KB until an entry stores more than 10 tree hashes, a
// tree of 2,048 entries or more, and reaches 4 KB at 21, a million), in a
// transaction of 12 items, far under DynamoDB's 100 whatever the tree's
// size: the tree hashes ride on the entry item, and the request marker is
// the record's idempotency marker too.
func TestWriteUnitsOfAnAppend(t *testing.T) {
	user, tenant, keyName, requestID := "alice", "acme", "ci", "req-0123456789abcdef"
	endpoint, method, ip, agent := "/api/v1/subordinates/7", "POST", "203.0.113.9", "inmor-client/1.0"
	resourceID, userID, code := int64(7), int64(1), 200
	j := &Journal{Table: "audit", hashes: &tree{cache: map[int64]tlog.Hash{}}}
	const appends = 1024
	total, worst, maxItems := 0, 0, 0
	for id := int64(1); id <= appends; id++ {
		e := &audit.Entry{
			ID: id, Timestamp: time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC), UserID: &userID, Username: &user,
			AuthMethod: "api_key", APIKeyName: &keyName, Tenant: &tenant, IPAddress: &ip, UserAgent: &agent, RequestID: &requestID,
			Action: audit.ActionUpdate, ResourceType: "Subordinate", ResourceID: &resourceID, ResourceRepr: "https://rp.example.org",
			Endpoint: &endpoint, HTTPMethod: &method, ResponseCode: &code, Success: true, EventType: audit.EventMetadataUpdate,
			SnapshotBefore: snapshotOf(1024, "a"), SnapshotAfter: snapshotOf(1024, "b"),
			Diff: map[string]any{"claim_00": map[string]any{"old": "a", "new": "b"}}, SourceEventID: "ev-1", ResourceVersion: 3,
		}
		in, hashes, err := j.appendInput(context.Background(), e, id-1)
		if err != nil {
			t.Fatal(err)
		}
		j.hashes.remember(integrity.LeafIndex(id), hashes) // as a successful append does
		units := 0
		for _, w := range in.TransactItems {
			switch {
			case w.Put != nil:
				units += writeUnits(itemSize(w.Put.Item))
			case w.Update != nil:
				units += writeUnits(itemSize(w.Update.Key) + 16) // a key and a small number
			}
		}
		total, worst, maxItems = total+units, max(worst, units), max(maxItems, len(in.TransactItems))
		if id == 1 || id == appends {
			t.Logf("entry %d: %d items, %d tree hashes, entry item %d bytes, %d write units", id, len(in.TransactItems), len(hashes),
				itemSize(in.TransactItems[1].Put.Item), units)
		}
	}
	average := float64(total) / appends
	t.Logf("%d appends: %.2f write units on average, %d at most, %d items at most", appends, average, worst, maxItems)
	if average > 30 || worst > 30 {
		t.Errorf("%.2f write units per append on average and %d at most, want at most 30", average, worst)
	}
	if maxItems > 12 {
		t.Errorf("%d items in an append's transaction, want at most 12", maxItems)
	}
}

// TestWriteUnitsOfAuthAppends: the entries of the auth table (a user made
// with inmorctl, a key revoked, a login, a refused login) cost what a
// resource's entry does, or less: their snapshots are small.
func TestWriteUnitsOfAuthAppends(t *testing.T) {
	operatorARN, cli, ua, endpoint := "arn:aws:iam::123456789012:user/ops", audit.AuthCLI, "inmorctl", "inmorctl user create"
	user, tenant, ip, agent, requestID, login := "alice", "default", "203.0.113.9", "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0", "req-0123456789abcdef", "/api/v1/auth/login"
	method, userID, ok, refused := "POST", int64(7), 200, 401
	cliRequest := "cli-AbCdEfGhIjKlMnOpQrStUv"
	userSnapshot := map[string]any{
		"id": json.Number("7"), "username": "alice", "email": "alice@example.org", "is_staff": true, "is_superuser": false,
		"is_active": true, "date_joined": "2026-11-28T12:00:00.123456789Z",
	}
	key := func(active bool) map[string]any {
		return map[string]any{
			"prefix": "AbCdEfGh", "name": "deploy", "username": "alice", "user_id": json.Number("7"), "tenant": "default",
			"scope": "admin", "is_active": active, "created_at": "2026-11-28T12:00:00.123456789Z", "key_expires_at": "2027-11-28T12:00:00Z",
		}
	}
	session := func(result string) map[string]any {
		return map[string]any{"event": "login", "result": result, "username": "alice", "user_id": json.Number("7")}
	}
	keyRepr := "alice/deploy/AbCdEfGh"
	entries := map[string]*audit.Entry{
		"user_created": {
			Username: &operatorARN, AuthMethod: cli, UserAgent: &ua, RequestID: &cliRequest, Endpoint: &endpoint,
			Action: audit.ActionCreate, ResourceType: "User", ResourceID: &userID, ResourceRepr: "alice",
			Success: true, EventType: audit.EventUserCreated, SnapshotAfter: userSnapshot, ResourceVersion: 1,
		},
		"apikey_revoked": {
			Username: &operatorARN, AuthMethod: cli, UserAgent: &ua, RequestID: &cliRequest, Endpoint: &endpoint,
			Action: audit.ActionUpdate, ResourceType: "APIKey", ResourceRepr: keyRepr, Success: true, EventType: audit.EventAPIKeyRevoked,
			SnapshotBefore: key(true), SnapshotAfter: key(false), Diff: map[string]any{"is_active": map[string]any{"old": true, "new": false}}, ResourceVersion: 2,
		},
		"login": {
			UserID: &userID, Username: &user, AuthMethod: "session", Tenant: &tenant, IPAddress: &ip, UserAgent: &agent, RequestID: &requestID,
			Action: audit.ActionCreate, ResourceType: "Session", ResourceRepr: "alice", Endpoint: &login, HTTPMethod: &method, ResponseCode: &ok,
			Success: true, EventType: audit.EventLogin, SnapshotAfter: session("success"),
		},
		"login_failed": {
			Username: &user, AuthMethod: "session", Tenant: &tenant, IPAddress: &ip, UserAgent: &agent, RequestID: &requestID,
			Action: audit.ActionCreate, ResourceType: "Session", ResourceRepr: "alice", Endpoint: &login, HTTPMethod: &method, ResponseCode: &refused,
			EventType: audit.EventLoginFailed, SnapshotAfter: session("invalid_credentials"),
		},
	}
	for name, template := range entries {
		j := &Journal{Table: "audit", hashes: &tree{cache: map[int64]tlog.Hash{}}}
		const appends = 1024
		total, worst, maxItems, entrySize := 0, 0, 0, 0
		for id := int64(1); id <= appends; id++ {
			e := *template
			e.ID, e.Timestamp, e.SourceEventID = id, time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC), "ev-1"
			in, hashes, err := j.appendInput(context.Background(), &e, id-1)
			if err != nil {
				t.Fatal(err)
			}
			j.hashes.remember(integrity.LeafIndex(id), hashes)
			units := 0
			for _, w := range in.TransactItems {
				switch {
				case w.Put != nil:
					units += writeUnits(itemSize(w.Put.Item))
				case w.Update != nil:
					units += writeUnits(itemSize(w.Update.Key) + 16)
				}
			}
			total, worst, maxItems = total+units, max(worst, units), max(maxItems, len(in.TransactItems))
			entrySize = max(entrySize, itemSize(in.TransactItems[1].Put.Item))
		}
		t.Logf("%s: %.2f write units on average, %d at most, %d items at most, entry item up to %d bytes",
			name, float64(total)/appends, worst, maxItems, entrySize)
		if worst > 28 || maxItems > 12 {
			t.Errorf("%s: %d write units in %d items, want at most 28 in 12", name, worst, maxItems)
		}
	}
}
