package audit

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/inmor/inmor-serverless/shared/resource"
	"github.com/inmor/inmor-serverless/shared/storage"
)

// cliWrite is an attribution as inmorctl writes it.
func cliWrite(op resource.Operation) *resource.Attribution {
	return &resource.Attribution{
		Username: "arn:aws:iam::123456789012:user/ops", AuthMethod: AuthCLI, RequestID: "cli-" + string(op),
		UserAgent: "inmorctl", Path: "inmorctl", Operation: op, CommittedAt: createdAt,
	}
}

// authItem is a user or key item of version `version`, attributed to a
// (signed with key) when a is not nil.
func authItem(pk string, version int64, fields obj, a *resource.Attribution, key []byte) obj {
	item := obj{storage.AttrPK: pk}
	for k, v := range fields {
		item[k] = v
	}
	if version > 0 {
		item[storage.AttrVersion] = num(strconv.FormatInt(version, 10))
	}
	if a != nil {
		claim := asStream(storage.AttributionMap(*a, version)).(map[string]any)
		if err := SignAttribution(key, pk, "", version, storage.AuthContent(item), claim); err != nil {
			panic(err)
		}
		item[storage.AttrAttribution] = claim
	}
	return item
}

const secretHash = "$argon2id$v=19$m=65536,t=1,p=4$c2FsdA$aGFzaA"

func userFields(active bool, hash string) obj {
	return obj{
		"kind": "user", "sort": "alice", "id": num("7"), "username": "alice", "email": "a@example.org",
		"is_staff": true, "is_superuser": false, "is_active": active, storage.AttrPasswordHash: hash,
		"date_joined": "2026-03-01T12:00:00Z",
	}
}

const keyHash = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"

func keyFields(active bool) obj {
	return obj{
		"kind": "apikey", "sort": "alice#2026-03-01T12:00:00Z", "hash": keyHash, "prefix": "AbCdEfGh", "name": "deploy",
		"username": "alice", "user_id": num("7"), "tenant": "default", "scope": "admin", "is_active": active,
		"created_at": "2026-03-01T12:00:00Z",
	}
}

// noSecrets fails when an entry's encoded form holds a secret.
func noSecrets(t *testing.T, e *Entry, secrets ...string) {
	t.Helper()
	encoded, err := e.Encode()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range append(secrets, storage.AttrPasswordHash, `"hash"`, storage.AttrLastUsedAt) {
		if strings.Contains(string(encoded.Detail()), s) {
			t.Errorf("entry holds %q: %s", s, encoded.Detail())
		}
	}
}

func TestDeriveUserChanges(t *testing.T) {
	pk := storage.UserPrefix + "alice"
	created := authItem(pk, 1, userFields(true, secretHash), cliWrite(resource.OpCreate), testAttributionKey)
	for _, c := range []struct {
		name      string
		old, new  obj
		event     string
		action    string
		diffEmpty bool
	}{
		{"create", nil, created, EventUserCreated, ActionCreate, false},
		{"password", created, authItem(pk, 2, userFields(true, secretHash+"x"), cliWrite(resource.OpUpdate), testAttributionKey), EventPasswordChanged, ActionUpdate, true},
		{"deactivate", created, authItem(pk, 2, userFields(false, secretHash), cliWrite(resource.OpUpdate), testAttributionKey), EventUserDeactivated, ActionUpdate, false},
		{"activate", authItem(pk, 1, userFields(false, secretHash), nil, nil), authItem(pk, 2, userFields(true, secretHash), cliWrite(resource.OpUpdate), testAttributionKey), EventUserActivated, ActionUpdate, false},
		{"flags", created, authItem(pk, 2, func() obj { f := userFields(true, secretHash); f["is_superuser"] = true; return f }(), cliWrite(resource.OpUpdate), testAttributionKey), EventUserUpdated, ActionUpdate, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			name := EventModify
			if c.old == nil {
				name = EventInsert
			}
			e, ok, err := Derive(Change{EventID: "ev-" + c.name, EventName: name, OldImage: c.old, NewImage: c.new, ApproximateTime: streamSeen}, testAttributionKey)
			if err != nil || !ok {
				t.Fatalf("Derive: ok %v, %v", ok, err)
			}
			if e.ResourceType != storage.TypeUser || e.EventType != c.event || e.Action != c.action || e.AuthMethod != AuthCLI {
				t.Errorf("entry %s %s %s %s, want User %s %s cli", e.ResourceType, e.Action, e.EventType, e.AuthMethod, c.action, c.event)
			}
			if e.ResourceID == nil || *e.ResourceID != 7 || e.ResourceRepr != "alice" || e.UserID != nil || e.ResponseCode != nil || !e.Success {
				t.Errorf("resource %v %q, user id %v, code %v, success %v", e.ResourceID, e.ResourceRepr, e.UserID, e.ResponseCode, e.Success)
			}
			if c.diffEmpty && len(e.Diff) != 0 {
				t.Errorf("password change diff %v, want none", e.Diff)
			}
			noSecrets(t, &e, secretHash)
		})
	}
}

func TestDeriveAPIKeyChanges(t *testing.T) {
	pk := storage.APIKeyPrefix + keyHash
	created := authItem(pk, 1, keyFields(true), cliWrite(resource.OpCreate), testAttributionKey)
	e, ok, err := Derive(Change{EventID: "1", EventName: EventInsert, NewImage: created}, testAttributionKey)
	if err != nil || !ok || e.EventType != EventAPIKeyCreated || e.ResourceType != storage.TypeAPIKey || e.AuthMethod != AuthCLI {
		t.Fatalf("create: %+v %v %v", e, ok, err)
	}
	if e.ResourceID != nil || e.ResourceRepr != "alice/deploy/AbCdEfGh" {
		t.Errorf("resource %v %q", e.ResourceID, e.ResourceRepr)
	}
	noSecrets(t, &e, keyHash)

	// last_used_at churn is no change.
	used := authItem(pk, 1, keyFields(true), cliWrite(resource.OpCreate), testAttributionKey)
	used[storage.AttrLastUsedAt] = "2026-03-02T08:30:00Z"
	if _, ok, err := Derive(Change{EventID: "2", EventName: EventModify, OldImage: created, NewImage: used}, testAttributionKey); ok || err != nil {
		t.Errorf("last_used_at update: ok %v, %v; want no entry", ok, err)
	}

	revoked := authItem(pk, 2, keyFields(false), cliWrite(resource.OpUpdate), testAttributionKey)
	revoked[storage.AttrLastUsedAt] = "2026-03-02T08:30:00Z"
	e, ok, err = Derive(Change{EventID: "3", EventName: EventModify, OldImage: used, NewImage: revoked}, testAttributionKey)
	if err != nil || !ok || e.EventType != EventAPIKeyRevoked || e.AuthMethod != AuthCLI {
		t.Fatalf("revoke: %s %s %v %v", e.EventType, e.AuthMethod, ok, err)
	}
	if mustJSON(t, e.Diff) != `{"is_active":{"new":false,"old":true}}` {
		t.Errorf("revoke diff %s", mustJSON(t, e.Diff))
	}
	noSecrets(t, &e, keyHash)

	scoped := authItem(pk, 3, func() obj { f := keyFields(false); f["scope"] = "audit:read"; return f }(), cliWrite(resource.OpUpdate), testAttributionKey)
	if e, _, _ := Derive(Change{EventID: "4", EventName: EventModify, OldImage: revoked, NewImage: scoped}, testAttributionKey); e.EventType != EventAPIKeyUpdated {
		t.Errorf("scope change: %s", e.EventType)
	}

	// A delete is out-of-band.
	e, ok, err = Derive(Change{EventID: "5", EventName: EventRemove, OldImage: revoked, ApproximateTime: streamSeen}, testAttributionKey)
	if err != nil || !ok || e.EventType != EventAPIKeyDeleted || e.AuthMethod != AuthOutOfBand || e.Action != ActionDelete {
		t.Errorf("delete: %s %s %s %v %v", e.Action, e.EventType, e.AuthMethod, ok, err)
	}
	noSecrets(t, &e, keyHash)
}

func TestDeriveForgedAuthAttribution(t *testing.T) {
	pk := storage.UserPrefix + "alice"
	forged := authItem(pk, 1, userFields(true, secretHash), cliWrite(resource.OpCreate), []byte("another key, not the functions'!"))
	e, ok, err := Derive(Change{EventID: "1", EventName: EventInsert, NewImage: forged, ApproximateTime: streamSeen}, testAttributionKey)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if e.AuthMethod != AuthOutOfBand || e.ClaimedAttribution == nil || e.Username != nil || !e.Timestamp.Equal(streamSeen) {
		t.Errorf("forged: %s claimed %v user %v at %v", e.AuthMethod, e.ClaimedAttribution, e.Username, e.Timestamp)
	}
	noSecrets(t, &e, secretHash)
}

func TestDeriveSkipsAuthBookkeeping(t *testing.T) {
	for _, item := range []obj{
		{storage.AttrPK: storage.SessionPrefix + "abc", "username": "alice", "user_id": num("7"), "expires_at": num("1900000000")},
		{storage.AttrPK: storage.LoginFailPrefix + "alice", "count": num("2"), "expires_at": num("1900000000")},
		{storage.AttrPK: storage.UserCounterPK, "value": num("7")},
	} {
		for _, name := range []string{EventInsert, EventModify, EventRemove} {
			c := Change{EventID: "x", EventName: name, NewImage: item}
			if name == EventRemove {
				c = Change{EventID: "x", EventName: name, OldImage: item}
			}
			if _, ok, err := Derive(c, testAttributionKey); ok || err != nil {
				t.Errorf("%s of %s: ok %v, %v", name, item[storage.AttrPK], ok, err)
			}
		}
	}
}

// sessionEvent is a session event item signed with key.
func sessionEvent(requestID, event, result string, userID int64, code int, key []byte) obj {
	pk := storage.SessionEventPrefix + requestID
	item := obj{storage.AttrPK: pk, storage.AttrSessionEvent: event, storage.AttrSessionResult: result, "username": "alice", "expires_at": num("1900000000")}
	if userID != 0 {
		item["user_id"] = num(strconv.FormatInt(userID, 10))
	}
	a := resource.Attribution{
		UserID: userID, Username: "alice", AuthMethod: "session", Tenant: "default", RequestID: requestID,
		SourceIP: "192.0.2.1", UserAgent: "curl/8", Path: "/api/v1/auth/login", Method: "POST", ResponseCode: code, CommittedAt: updatedAt,
	}
	claim := asStream(storage.AttributionMap(a, 0)).(map[string]any)
	if err := SignAttribution(key, pk, "", 0, storage.SessionEventContent(item), claim); err != nil {
		panic(err)
	}
	item[storage.AttrAttribution] = claim
	return item
}

func TestDeriveSessionEvents(t *testing.T) {
	for _, c := range []struct {
		event, result string
		userID        int64
		code          int
		action, want  string
		success       bool
	}{
		{storage.SessionLogin, storage.SessionResultSuccess, 7, 200, ActionCreate, EventLogin, true},
		{storage.SessionLogin, storage.SessionResultInvalid, 0, 401, ActionCreate, EventLoginFailed, false},
		{storage.SessionLogin, storage.SessionResultThrottled, 0, 429, ActionCreate, EventLoginFailed, false},
		{storage.SessionLogin, storage.SessionResultNotStaff, 7, 200, ActionCreate, EventLoginFailed, false},
		{storage.SessionLogout, storage.SessionResultSuccess, 7, 200, ActionDelete, EventLogout, true},
		{storage.SessionLogin, storage.SessionResultInvalidCode, 7, 401, ActionCreate, EventLoginFailed, false},
		// A change of the user's second factors is the user's update.
		{storage.SessionMFAEnrolled, "totp", 7, 200, ActionUpdate, EventMFAEnrolled, true},
		{storage.SessionMFARemoved, "totp", 7, 200, ActionUpdate, EventMFARemoved, true},
		{storage.SessionMFAReset, "all", 7, 200, ActionUpdate, EventMFAReset, true},
	} {
		t.Run(c.event+"-"+c.result, func(t *testing.T) {
			item := sessionEvent("req-1", c.event, c.result, c.userID, c.code, testAttributionKey)
			e, ok, err := Derive(Change{EventID: "1", EventName: EventInsert, NewImage: item}, testAttributionKey)
			if err != nil || !ok {
				t.Fatal(ok, err)
			}
			resourceType := storage.TypeSession
			if slices.Contains(storage.MFAEvents, c.event) {
				resourceType = storage.TypeUser
				if e.ResourceID == nil || *e.ResourceID != c.userID {
					t.Errorf("the user's id: %v, want %d", e.ResourceID, c.userID)
				}
			}
			if e.ResourceType != resourceType || e.Action != c.action || e.EventType != c.want || e.Success != c.success {
				t.Errorf("entry %s %s %s success %v", e.ResourceType, e.Action, e.EventType, e.Success)
			}
			if e.Username == nil || *e.Username != "alice" || e.ResourceRepr != "alice" || e.ResponseCode == nil || *e.ResponseCode != c.code ||
				e.IPAddress == nil || e.UserAgent == nil || e.RequestID == nil || *e.RequestID != "req-1" {
				t.Errorf("attribution: %+v", e)
			}
			if (e.UserID == nil) != (c.userID == 0) {
				t.Errorf("user id %v, want %d", e.UserID, c.userID)
			}
			// Its expiry records nothing.
			if _, ok, err := Derive(Change{EventID: "2", EventName: EventRemove, OldImage: item}, testAttributionKey); ok || err != nil {
				t.Errorf("expiry: ok %v, %v", ok, err)
			}
		})
	}
	forged := sessionEvent("req-2", storage.SessionLogin, storage.SessionResultSuccess, 7, 200, []byte("another key, not the functions'!"))
	e, ok, err := Derive(Change{EventID: "3", EventName: EventInsert, NewImage: forged, ApproximateTime: streamSeen}, testAttributionKey)
	if err != nil || !ok || e.AuthMethod != AuthOutOfBand || e.ClaimedAttribution == nil || e.Username != nil || e.RequestID != nil {
		t.Errorf("forged: %+v %v %v", e, ok, err)
	}
}
