package audit

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/inmor/inmor-serverless/shared/resource"
	"github.com/inmor/inmor-serverless/shared/storage"
)

// asStream converts Go integers to json.Number, recursively, as the stream
// decoder delivers numbers.
func asStream(v any) any {
	switch x := v.(type) {
	case int:
		return json.Number(strconv.Itoa(x))
	case int64:
		return json.Number(strconv.FormatInt(x, 10))
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = asStream(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = asStream(e)
		}
		return out
	}
	return v
}

// storedItem mirrors what the store writes for version `version` of a
// resource: its fields plus pk, sk, version and, when a is not nil, the
// attribution written for attrVersion (the item's version for a write
// through the API).
func storedItem(t resource.Type, id, version int64, fields obj, a *resource.Attribution, attrVersion int64) obj {
	item := obj{}
	for k, v := range fields {
		item[k] = v
	}
	item[storage.AttrPK] = string(t)
	item[storage.AttrSK] = storage.SortKey(id)
	item[storage.AttrID] = json.Number(strconv.FormatInt(id, 10))
	if version > 0 {
		item[storage.AttrVersion] = json.Number(strconv.FormatInt(version, 10))
	}
	if a != nil {
		claim := asStream(storage.AttributionMap(*a, attrVersion)).(map[string]any)
		content := obj{}
		for k, v := range item {
			if k != storage.AttrPK && k != storage.AttrSK && k != storage.AttrVersion {
				content[k] = v
			}
		}
		if err := SignAttribution(testAttributionKey, string(t), storage.SortKey(id), attrVersion, content, claim); err != nil {
			panic(err)
		}
		item[storage.AttrAttribution] = claim
	}
	return item
}

// testAttributionKey is the API functions' and the audit function's
// attribution key in these tests.
var testAttributionKey = []byte("0123456789abcdef0123456789abcdef")

var (
	createdAt  = time.Date(2026, 3, 1, 12, 0, 0, 123456000, time.UTC)
	updatedAt  = time.Date(2026, 3, 2, 8, 30, 0, 0, time.UTC)
	streamSeen = time.Date(2026, 3, 3, 9, 0, 5, 0, time.FixedZone("CET", 3600))
)

func apiKeyWrite(op resource.Operation, method, path string, code int, at time.Time) *resource.Attribution {
	return &resource.Attribution{
		UserID: 42, Username: "alice", AuthMethod: "api_key", Tenant: "acme", APIKeyName: "ci-key",
		RequestID: "req-" + string(op), SourceIP: "203.0.113.9", UserAgent: "inmor-client/1.0",
		Path: path, Method: method, Operation: op, ResponseCode: code, CommittedAt: at,
	}
}

// tmtFields are a TrustMarkType's fields as the store writes them (id apart).
func tmtFields(active bool, validFor string) obj {
	return obj{
		"id": num("7"), "tmtype": "https://tm.example/member", "autorenew": true,
		"valid_for": num(validFor), "renewal_time": num("48"), "active": active, "added": "2026-03-01T12:00:00.123456Z",
	}
}

// TestDerive specifies how a stream record becomes an audit entry.
func TestDerive(t *testing.T) {
	create := apiKeyWrite(resource.OpCreate, "POST", "/api/v1/trustmarktypes", 201, createdAt)
	update := apiKeyWrite(resource.OpUpdate, "PUT", "/api/v1/trustmarktypes/7", 200, updatedAt)
	v1 := storedItem(resource.TypeTrustMarkType, 7, 1, tmtFields(true, "8760"), create, 1)
	v2 := storedItem(resource.TypeTrustMarkType, 7, 2, tmtFields(false, "24"), update, 2)

	// What an API write records about its author.
	attributed := func(a *resource.Attribution, e Entry) Entry {
		e.Timestamp = a.CommittedAt
		e.UserID = ptr(a.UserID)
		e.Username = ptr(a.Username)
		e.AuthMethod = a.AuthMethod
		e.APIKeyName = ptr(a.APIKeyName)
		e.Tenant = ptr(a.Tenant)
		e.IPAddress = ptr(a.SourceIP)
		e.UserAgent = ptr(a.UserAgent)
		e.RequestID = ptr(a.RequestID)
		e.Endpoint = ptr(a.Path)
		e.HTTPMethod = ptr(a.Method)
		e.ResponseCode = ptr(a.ResponseCode)
		e.Success = true
		return e
	}
	// What a change made outside the API records: nobody, dated by the stream.
	outOfBand := func(e Entry) Entry {
		e.Timestamp = streamSeen.UTC()
		e.AuthMethod = AuthOutOfBand
		e.Success = true
		return e
	}
	// An out-of-band change of an item the API wrote last: in the tenant of
	// that write (its attribution proves itself), so that tenant's
	// auditors see it.
	outOfBandInTenant := func(e Entry) Entry {
		e = outOfBand(e)
		e.Tenant = ptr(create.Tenant)
		return e
	}

	cases := []struct {
		name   string
		change Change
		want   Entry
	}{
		{
			name:   "INSERT through the API: CREATE with every attribution field, the after snapshot and the event type",
			change: Change{EventID: "ev-1", EventName: EventInsert, ApproximateTime: streamSeen, NewImage: v1},
			want: attributed(create, Entry{
				Action: ActionCreate, ResourceType: "TrustMarkType", ResourceID: ptr(int64(7)),
				ResourceRepr: "https://tm.example/member", EventType: EventTrustMarkTypeCreated,
				SnapshotAfter: tmtFields(true, "8760"), SourceEventID: "ev-1",
			}),
		},
		{
			name: "MODIFY through the API (version+1, fresh attribution): UPDATE with the diff and both snapshots",
			change: Change{EventID: "ev-2", EventName: EventModify, ApproximateTime: streamSeen,
				Keys: obj{"pk": "TrustMarkType", "sk": storage.SortKey(7)}, OldImage: v1, NewImage: v2},
			want: attributed(update, Entry{
				Action: ActionUpdate, ResourceType: "TrustMarkType", ResourceID: ptr(int64(7)),
				ResourceRepr: "https://tm.example/member", EventType: EventTrustMarkTypeDeactivated,
				Diff: obj{
					"active":    obj{"old": true, "new": false},
					"valid_for": obj{"old": num("8760"), "new": num("24")},
				},
				SnapshotBefore: tmtFields(true, "8760"), SnapshotAfter: tmtFields(false, "24"), SourceEventID: "ev-2",
			}),
		},
		{
			name: "MODIFY whose new image keeps the old version and attribution (someone edited the table): out_of_band",
			change: Change{EventID: "ev-3", EventName: EventModify, ApproximateTime: streamSeen, OldImage: v1,
				NewImage: storedItem(resource.TypeTrustMarkType, 7, 1, tmtFields(false, "8760"), create, 1)},
			want: outOfBandInTenant(Entry{
				Action: ActionUpdate, ResourceType: "TrustMarkType", ResourceID: ptr(int64(7)),
				ResourceRepr: "https://tm.example/member", EventType: EventTrustMarkTypeDeactivated,
				Diff:           obj{"active": obj{"old": true, "new": false}},
				SnapshotBefore: tmtFields(true, "8760"), SnapshotAfter: tmtFields(false, "8760"), SourceEventID: "ev-3",
			}),
		},
		{
			name: "MODIFY that bumps the version but keeps the old attribution (attribution version differs): out_of_band",
			change: Change{EventID: "ev-4", EventName: EventModify, ApproximateTime: streamSeen, OldImage: v1,
				NewImage: storedItem(resource.TypeTrustMarkType, 7, 2, tmtFields(true, "24"), create, 1)},
			want: outOfBandInTenant(Entry{
				Action: ActionUpdate, ResourceType: "TrustMarkType", ResourceID: ptr(int64(7)),
				ResourceRepr: "https://tm.example/member", EventType: EventTrustMarkTypeUpdated,
				Diff:           obj{"valid_for": obj{"old": num("8760"), "new": num("24")}},
				SnapshotBefore: tmtFields(true, "8760"), SnapshotAfter: tmtFields(true, "24"), SourceEventID: "ev-4",
			}),
		},
		{
			name: "an attribution written for a later version than the item's: out_of_band",
			change: Change{EventID: "ev-5", EventName: EventModify, ApproximateTime: streamSeen, OldImage: v1,
				NewImage: storedItem(resource.TypeTrustMarkType, 7, 2, tmtFields(true, "24"), update, 3)},
			want: outOfBandInTenant(Entry{
				Action: ActionUpdate, ResourceType: "TrustMarkType", ResourceID: ptr(int64(7)),
				ResourceRepr: "https://tm.example/member", EventType: EventTrustMarkTypeUpdated,
				Diff:           obj{"valid_for": obj{"old": num("8760"), "new": num("24")}},
				SnapshotBefore: tmtFields(true, "8760"), SnapshotAfter: tmtFields(true, "24"), SourceEventID: "ev-5",
			}),
		},
		{
			name: "INSERT without version or attribution (item put by hand): out_of_band CREATE",
			change: Change{EventID: "ev-6", EventName: EventInsert, ApproximateTime: streamSeen,
				NewImage: storedItem(resource.TypeTrustMarkType, 7, 0, tmtFields(true, "8760"), nil, 0)},
			want: outOfBand(Entry{
				Action: ActionCreate, ResourceType: "TrustMarkType", ResourceID: ptr(int64(7)),
				ResourceRepr: "https://tm.example/member", EventType: EventTrustMarkTypeCreated,
				SnapshotAfter: tmtFields(true, "8760"), SourceEventID: "ev-6",
			}),
		},
		{
			name:   "REMOVE of a TrustMarkType (never through the API): out_of_band DELETE with the before snapshot",
			change: Change{EventID: "ev-7", EventName: EventRemove, ApproximateTime: streamSeen, OldImage: v2},
			want: outOfBandInTenant(Entry{
				Action: ActionDelete, ResourceType: "TrustMarkType", ResourceID: ptr(int64(7)),
				ResourceRepr: "https://tm.example/member", EventType: EventTrustMarkTypeDeleted,
				SnapshotBefore: tmtFields(false, "24"), SourceEventID: "ev-7",
			}),
		},
		{
			name: "REMOVE of a TrustMark: trustmark_deleted, repr is the domain",
			change: Change{EventID: "ev-8", EventName: EventRemove, ApproximateTime: streamSeen,
				OldImage: storedItem(resource.TypeTrustMark, 9, 1, obj{"id": num("9"), "domain": "https://rp.example", "active": true}, create, 1)},
			want: outOfBandInTenant(Entry{
				Action: ActionDelete, ResourceType: "TrustMark", ResourceID: ptr(int64(9)),
				ResourceRepr: "https://rp.example", EventType: EventTrustMarkDeleted,
				SnapshotBefore: obj{"id": num("9"), "domain": "https://rp.example", "active": true}, SourceEventID: "ev-8",
			}),
		},
		{
			name: "REMOVE of a Subordinate: revocation, repr is the entityid",
			change: Change{EventID: "ev-9", EventName: EventRemove, ApproximateTime: streamSeen,
				OldImage: storedItem(resource.TypeSubordinate, 3, 1, obj{"id": num("3"), "entityid": "https://op.example"}, nil, 0)},
			want: outOfBand(Entry{
				Action: ActionDelete, ResourceType: "Subordinate", ResourceID: ptr(int64(3)),
				ResourceRepr: "https://op.example", EventType: EventRevocation,
				SnapshotBefore: obj{"id": num("3"), "entityid": "https://op.example"}, SourceEventID: "ev-9",
			}),
		},
		{
			name: "REMOVE with keys only: the id comes from the sort key",
			change: Change{EventID: "ev-10", EventName: EventRemove, ApproximateTime: streamSeen,
				Keys: obj{"pk": "TrustMarkType", "sk": storage.SortKey(12)}},
			want: outOfBand(Entry{
				Action: ActionDelete, ResourceType: "TrustMarkType", ResourceID: ptr(int64(12)),
				EventType: EventTrustMarkTypeDeleted, SourceEventID: "ev-10",
			}),
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok, err := Derive(c.change, testAttributionKey)
			if err != nil || !ok {
				t.Fatalf("Derive: ok=%v err=%v; want ok=true, no error", ok, err)
			}
			if got.ID != 0 {
				t.Errorf("ID = %d; Derive must leave ids to the journal", got.ID)
			}
			// The entry records the item's version after the change (before it, for a delete).
			image := c.change.NewImage
			if image == nil {
				image = c.change.OldImage
			}
			img, _, _ := storage.ParseImage(image)
			if got.ResourceVersion != img.Version {
				t.Errorf("ResourceVersion = %d, want the item's %d", got.ResourceVersion, img.Version)
			}
			c.want.ResourceVersion = img.Version
			// The snapshot's JSON, written to check the MAC, is what Encode
			// writes for it.
			withJSON, err := got.Encode()
			if err != nil {
				t.Fatal(err)
			}
			got.afterJSON = nil
			if without, _ := got.Encode(); without != withJSON {
				t.Errorf("Encode with the MAC's JSON of the snapshot\n got %+v\nwant %+v", withJSON, without)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("Derive entry\n got %s\nwant %s", mustJSON(t, got), mustJSON(t, c.want))
			}
			for _, snap := range []obj{got.SnapshotBefore, got.SnapshotAfter} {
				for _, k := range []string{storage.AttrPK, storage.AttrSK, storage.AttrVersion, storage.AttrAttribution} {
					if _, present := snap[k]; present {
						t.Errorf("snapshot holds the bookkeeping attribute %q: %s", k, mustJSON(t, snap))
					}
				}
			}
			if c.change.EventName == EventModify && got.Diff == nil {
				t.Errorf("an UPDATE must have a non-nil diff")
			}
			if c.change.EventName != EventModify && got.Diff != nil {
				t.Errorf("Diff = %s; only updates have a diff", mustJSON(t, got.Diff))
			}
		})
	}
}

// TestDeriveSuccessFollowsResponseCode: success is 200 <= code < 300.
func TestDeriveSuccessFollowsResponseCode(t *testing.T) {
	for _, c := range []struct {
		code int
		want bool
	}{{199, false}, {200, true}, {201, true}, {299, true}, {300, false}, {403, false}, {500, false}} {
		t.Run(strconv.Itoa(c.code), func(t *testing.T) {
			a := apiKeyWrite(resource.OpCreate, "POST", "/api/v1/trustmarktypes", c.code, createdAt)
			e, ok, err := Derive(Change{EventID: "e", EventName: EventInsert,
				NewImage: storedItem(resource.TypeTrustMarkType, 1, 1, tmtFields(true, "1"), a, 1)}, testAttributionKey)
			if err != nil || !ok {
				t.Fatalf("Derive: ok=%v err=%v", ok, err)
			}
			if e.Success != c.want || e.ResponseCode == nil || *e.ResponseCode != c.code {
				t.Errorf("response code %d: success=%v code=%v; want success=%v", c.code, e.Success, e.ResponseCode, c.want)
			}
		})
	}
}

// TestDeriveEmptyAttributionStrings: strings the attribution leaves out
// (a session has no key name) are null in the entry, not "".
func TestDeriveEmptyAttributionStrings(t *testing.T) {
	a := &resource.Attribution{UserID: 5, Username: "bob", AuthMethod: "session", Tenant: "default",
		Path: "/api/v1/trustmarktypes", Method: "POST", Operation: resource.OpCreate, ResponseCode: 201, CommittedAt: createdAt}
	e, ok, err := Derive(Change{EventID: "e", EventName: EventInsert,
		NewImage: storedItem(resource.TypeTrustMarkType, 1, 1, tmtFields(true, "1"), a, 1)}, testAttributionKey)
	if err != nil || !ok {
		t.Fatalf("Derive: ok=%v err=%v", ok, err)
	}
	if e.APIKeyName != nil || e.IPAddress != nil || e.UserAgent != nil || e.RequestID != nil {
		t.Errorf("absent attribution strings must be nil: key=%v ip=%v ua=%v req=%v", e.APIKeyName, e.IPAddress, e.UserAgent, e.RequestID)
	}
	if e.AuthMethod != "session" || e.Username == nil || *e.Username != "bob" {
		t.Errorf("auth_method=%q username=%v; want session, bob", e.AuthMethod, e.Username)
	}
}

// TestDeriveSkipsBookkeepingItems: counters and uniqueness guards live in the
// resources table too, but are not resources.
func TestDeriveSkipsBookkeepingItems(t *testing.T) {
	items := map[string]obj{
		"id counter":       {"pk": "counter", "sk": "TrustMarkType", "value": num("8")},
		"uniqueness guard": {"pk": "unique#TrustMarkType.tmtype", "sk": "9f86d081884c7d65", "id": num("7")},
		"no pk at all":     {"sk": "x"},
	}
	for name, item := range items {
		for _, ev := range []string{EventInsert, EventModify, EventRemove} {
			t.Run(name+" "+ev, func(t *testing.T) {
				c := Change{EventID: "e", EventName: ev, Keys: obj{"pk": item["pk"], "sk": item["sk"]}}
				if ev != EventRemove {
					c.NewImage = item
				}
				if ev != EventInsert {
					c.OldImage = item
				}
				e, ok, err := Derive(c, testAttributionKey)
				if ok || err != nil {
					t.Errorf("Derive(%s) = ok %v, err %v, entry %s; want ok=false and no error", mustJSON(t, item), ok, err, mustJSON(t, e))
				}
			})
		}
	}
}

// TestDeriveErrors: what Derive cannot read is an error, not a silent entry.
func TestDeriveErrors(t *testing.T) {
	good := storedItem(resource.TypeTrustMarkType, 7, 1, tmtFields(true, "1"), nil, 0)
	cases := map[string]Change{
		"unknown event name": {EventID: "e", EventName: "UPSERT", NewImage: good},
		"empty event name":   {EventID: "e", EventName: "", NewImage: good},
		"id that is not an integer": {EventID: "e", EventName: EventInsert,
			NewImage: obj{"pk": "TrustMarkType", "sk": storage.SortKey(7), "id": "seven"}},
		"version that is not an integer": {EventID: "e", EventName: EventInsert,
			NewImage: obj{"pk": "TrustMarkType", "sk": storage.SortKey(7), "id": num("7"), "version": num("1.5")}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if _, _, err := Derive(c, testAttributionKey); err == nil {
				t.Errorf("Derive(%s) gave no error", name)
			}
		})
	}
}

// attemptItem mirrors what the store writes for a failed request.
func attemptItem(requestID string, t resource.Type, resourceID int64, a *resource.Attribution) obj {
	return detailedAttemptItem(resource.Attempt{RequestID: requestID, ResourceType: t, ResourceID: resourceID, Attribution: *a})
}

// detailedAttemptItem mirrors what the store writes for a failed request,
// with its error, request and resource repr.
func detailedAttemptItem(at resource.Attempt) obj {
	claim := asStream(storage.AttributionMap(at.Attribution, 0)).(map[string]any)
	if err := SignAttribution(testAttributionKey, storage.AttemptPK, at.RequestID, 0, AttemptContent(at), claim); err != nil {
		panic(err)
	}
	item := obj{
		storage.AttrPK: storage.AttemptPK, storage.AttrSK: at.RequestID, "resource_type": string(at.ResourceType),
		storage.AttrAttribution: claim, storage.AttrExpiresAt: num("1900000000"),
	}
	if at.ResourceID != 0 {
		item["resource_id"] = json.Number(strconv.FormatInt(at.ResourceID, 10))
	}
	for k, v := range map[string]string{"resource_repr": at.ResourceRepr, "error": at.Error, "request": at.Request} {
		if v != "" {
			item[k] = v
		}
	}
	return item
}

// TestDeriveFailedAttemptDetails: a failed entry carries the attempt's
// error, request and resource repr, the MAC covers each of them (one
// changed makes the entry out-of-band, what it claims kept), and an
// attempt written before attempts had them still derives.
func TestDeriveFailedAttemptDetails(t *testing.T) {
	at := resource.Attempt{
		RequestID: "req-d", ResourceType: resource.TypeTrustMarkType, ResourceRepr: "https://tm.example/dup",
		Error: "TrustMarkType exists already.", Request: `{"body":{"tmtype":"https://tm.example/dup","valid_for":8760}}`,
		Attribution: *apiKeyWrite(resource.OpCreate, "POST", "/api/v1/trustmarktypes", 403, updatedAt),
	}
	e, ok, err := Derive(Change{EventID: "ev-d", EventName: EventInsert, NewImage: detailedAttemptItem(at)}, testAttributionKey)
	if err != nil || !ok {
		t.Fatalf("Derive: ok=%v err=%v", ok, err)
	}
	wantRequest := obj{"body": obj{"tmtype": "https://tm.example/dup", "valid_for": json.Number("8760")}}
	if e.AuthMethod != "api_key" || e.ResourceRepr != at.ResourceRepr || e.Error == nil || *e.Error != at.Error ||
		!reflect.DeepEqual(e.Request, wantRequest) {
		t.Errorf("entry %+v, request %v", e, e.Request)
	}
	if !strings.Contains(SearchText(&e), "https://tm.example/dup") || !strings.Contains(SearchText(&e), "exists already") {
		t.Errorf("search text %q lacks the repr or the error", SearchText(&e))
	}

	for _, c := range []struct{ attr, forged string }{
		{"error", "Forbidden"},
		{"request", `{"body":{"tmtype":"https://evil.example"}}`},
		{"resource_repr", "https://evil.example"},
		{"request", "not JSON"},
	} {
		t.Run("forged "+c.attr, func(t *testing.T) {
			item := detailedAttemptItem(at)
			item[c.attr] = c.forged
			e, ok, err := Derive(Change{EventID: "ev-f", EventName: EventInsert, NewImage: item, ApproximateTime: streamSeen}, testAttributionKey)
			if err != nil || !ok {
				t.Fatalf("Derive: ok=%v err=%v", ok, err)
			}
			if e.AuthMethod != AuthOutOfBand || e.Username != nil || e.ClaimedAttribution == nil {
				t.Errorf("entry attributed: %+v", e)
			}
			if c.attr == "request" && c.forged == "not JSON" && e.Request != nil {
				t.Errorf("an unreadable forged request was kept: %v", e.Request)
			}
		})
	}
	t.Run("an unreadable signed request fails the record", func(t *testing.T) {
		bad := at
		bad.Request = "[1]"
		if _, _, err := Derive(Change{EventID: "ev-b", EventName: EventInsert, NewImage: detailedAttemptItem(bad)}, testAttributionKey); err == nil {
			t.Error("no error")
		}
	})
	t.Run("an attempt without the new attributes", func(t *testing.T) {
		old := at
		old.ResourceRepr, old.Error, old.Request = "", "", ""
		e, ok, err := Derive(Change{EventID: "ev-o", EventName: EventInsert, NewImage: detailedAttemptItem(old)}, testAttributionKey)
		if err != nil || !ok || e.AuthMethod != "api_key" || e.Error != nil || e.Request != nil || e.ResourceRepr != "" {
			t.Errorf("entry %+v ok=%v err=%v", e, ok, err)
		}
	})
}

// TestDeriveFailedAttempts: the INSERT of an attempt item becomes a failed
// entry: who, the answer, the resource named, and no
// snapshots, diff or event type. Its expiry (REMOVE) records nothing.
func TestDeriveFailedAttempts(t *testing.T) {
	cases := []struct {
		name       string
		op         resource.Operation
		method     string
		code       int
		resourceID int64
		wantAction string
	}{
		{"refused create", resource.OpCreate, "POST", 403, 0, ActionCreate},
		{"update of a missing resource", resource.OpUpdate, "PUT", 404, 9, ActionUpdate},
		{"renew refused", resource.OpRenew, "POST", 400, 3, ActionUpdate},
		{"server error", resource.OpUpdate, "POST", 500, 3, ActionUpdate},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := apiKeyWrite(c.op, c.method, "/api/v1/trustmarks", c.code, updatedAt)
			item := attemptItem("req-1", resource.TypeTrustMark, c.resourceID, a)
			e, ok, err := Derive(Change{EventID: "ev-1", EventName: EventInsert, NewImage: item, ApproximateTime: streamSeen}, testAttributionKey)
			if err != nil || !ok {
				t.Fatalf("Derive: ok=%v err=%v", ok, err)
			}
			if e.Success || e.ResponseCode == nil || *e.ResponseCode != c.code || e.Action != c.wantAction ||
				e.ResourceType != "TrustMark" || e.Diff != nil || e.EventType != "" ||
				e.SnapshotBefore != nil || e.SnapshotAfter != nil || e.SourceEventID != "ev-1" {
				t.Errorf("entry %+v", e)
			}
			if c.resourceID == 0 && e.ResourceID != nil || c.resourceID != 0 && (e.ResourceID == nil || *e.ResourceID != c.resourceID) {
				t.Errorf("resource id %v, want %d", e.ResourceID, c.resourceID)
			}
			if e.Username == nil || *e.Username != "alice" || e.AuthMethod != "api_key" || !e.Timestamp.Equal(updatedAt) ||
				e.Endpoint == nil || *e.Endpoint != "/api/v1/trustmarks" || e.HTTPMethod == nil || *e.HTTPMethod != c.method {
				t.Errorf("attribution of entry %+v", e)
			}
			if _, ok, err := Derive(Change{EventID: "ev-2", EventName: EventRemove, OldImage: item}, testAttributionKey); ok || err != nil {
				t.Errorf("the expiry of an attempt was recorded: ok=%v err=%v", ok, err)
			}
		})
	}
	bad := attemptItem("req-2", resource.TypeTrustMark, 0, apiKeyWrite(resource.OpCreate, "POST", "/p", 400, updatedAt))
	bad["resource_type"] = "Nope"
	if _, _, err := Derive(Change{EventName: EventInsert, NewImage: bad}, testAttributionKey); err == nil {
		t.Error("an attempt of an unknown resource type must fail the record")
	}
}

// TestDeriveUnattributed: when the journal finds the attribution claimed
// before, the same change is recorded as out-of-band, and a replayed
// attempt item records nothing.
func TestDeriveUnattributed(t *testing.T) {
	a := apiKeyWrite(resource.OpCreate, "POST", "/api/v1/trustmarktypes", 201, createdAt)
	item := storedItem(resource.TypeTrustMarkType, 7, 1, tmtFields(true, "8760"), a, 1)
	c := Change{EventID: "ev-copy", EventName: EventInsert, NewImage: item, ApproximateTime: streamSeen}
	e, ok, err := DeriveUnattributed(c, testAttributionKey)
	if err != nil || !ok {
		t.Fatalf("ok=%v err=%v", ok, err)
	}
	if e.AuthMethod != AuthOutOfBand || e.Username != nil || e.RequestID != nil || e.ResponseCode != nil ||
		!e.Timestamp.Equal(streamSeen) || e.Action != ActionCreate || e.EventType != EventTrustMarkTypeCreated {
		t.Errorf("entry %+v", e)
	}
	attempt := attemptItem("req-9", resource.TypeTrustMark, 0, apiKeyWrite(resource.OpCreate, "POST", "/p", 403, updatedAt))
	if _, ok, err := DeriveUnattributed(Change{EventName: EventInsert, NewImage: attempt}, testAttributionKey); ok || err != nil {
		t.Errorf("a replayed attempt: ok=%v err=%v, want nothing recorded", ok, err)
	}
}

// TestForgedAttributionIsOutOfBand: an attribution that does not carry
// the MAC of its item under the key, whatever was forged, makes the change
// out-of-band, the claim kept; so does an attempt item without its MAC,
// which is never a failed call by the user it names.
func TestForgedAttributionIsOutOfBand(t *testing.T) {
	a := apiKeyWrite(resource.OpCreate, "POST", "/api/v1/trustmarktypes", 201, createdAt)
	signed := func() obj { return storedItem(resource.TypeTrustMarkType, 7, 1, tmtFields(true, "8760"), a, 1) }
	claim := func(item obj) obj { return item[storage.AttrAttribution].(map[string]any) }
	for _, c := range []struct {
		name     string
		item     func() obj
		key      []byte
		username string // the claimed username kept
	}{
		{"no MAC", func() obj { item := signed(); delete(claim(item), AttrMAC); return item }, testAttributionKey, "alice"},
		{"another key's MAC", func() obj { return signed() }, []byte("another key, not the functions'."), "alice"},
		{"the username changed", func() obj { item := signed(); claim(item)["username"] = "mallory"; return item }, testAttributionKey, "mallory"},
		{"the request id changed", func() obj { item := signed(); claim(item)["request_id"] = "req-other"; return item }, testAttributionKey, "alice"},
		{"the content changed", func() obj { item := signed(); item["valid_for"] = num("1"); return item }, testAttributionKey, "alice"},
		{"the audit function has no key", func() obj { return signed() }, nil, "alice"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, ok, err := Derive(Change{EventID: "ev", EventName: EventInsert, NewImage: c.item(), ApproximateTime: streamSeen}, c.key)
			if err != nil || !ok {
				t.Fatalf("ok=%v err=%v", ok, err)
			}
			if e.AuthMethod != AuthOutOfBand || e.Username != nil || e.RequestID != nil || !e.Timestamp.Equal(streamSeen) {
				t.Errorf("entry attributed: %+v", e)
			}
			if e.ClaimedAttribution == nil || e.ClaimedAttribution["username"] != c.username {
				t.Errorf("claimed attribution %v, want the claim of %q kept", e.ClaimedAttribution, c.username)
			}
		})
	}
	if e, _, err := Derive(Change{EventID: "ev", EventName: EventInsert, NewImage: signed()}, testAttributionKey); err != nil || e.AuthMethod != "api_key" || e.ClaimedAttribution != nil {
		t.Errorf("the signed item: %+v %v, want it attributed", e, err)
	}

	attempt := attemptItem("req-frame", resource.TypeTrustMark, 3, apiKeyWrite(resource.OpUpdate, "PUT", "/api/v1/trustmarks/3", 403, updatedAt))
	claim(attempt)["username"] = "bob" // framing bob
	e, ok, err := Derive(Change{EventID: "ev-a", EventName: EventInsert, NewImage: attempt, ApproximateTime: streamSeen}, testAttributionKey)
	if err != nil || !ok {
		t.Fatalf("forged attempt: ok=%v err=%v", ok, err)
	}
	if e.AuthMethod != AuthOutOfBand || e.Username != nil || e.ResponseCode != nil || e.Success || e.ClaimedAttribution["username"] != "bob" ||
		e.ResourceID == nil || *e.ResourceID != 3 || !e.Timestamp.Equal(streamSeen) {
		t.Errorf("forged attempt entry %+v", e)
	}
}

// TestOutOfBandTenant: an out-of-band change takes the tenant of the
// API write that made the old image only when that write's attribution
// proves itself; a forged one, or a changed old image, gives no tenant.
func TestOutOfBandTenant(t *testing.T) {
	write := apiKeyWrite(resource.OpCreate, "POST", "/api/v1/trustmarktypes", 201, createdAt)
	signed := storedItem(resource.TypeTrustMarkType, 7, 1, tmtFields(true, "8760"), write, 1)
	forged := storedItem(resource.TypeTrustMarkType, 7, 1, tmtFields(true, "8760"), write, 1)
	forged[storage.AttrAttribution].(map[string]any)["tenant"] = "someone-else"
	edited := storedItem(resource.TypeTrustMarkType, 7, 1, tmtFields(true, "8760"), write, 1)
	edited["valid_for"] = num("1") // changed after its MAC was made
	for _, c := range []struct {
		name string
		old  obj
		want *string
	}{
		{"a provable last write", signed, ptr(write.Tenant)},
		{"a forged tenant", forged, nil},
		{"an old image changed behind the API", edited, nil},
	} {
		e, ok, err := Derive(Change{EventID: "ev", EventName: EventRemove, ApproximateTime: streamSeen, OldImage: c.old}, testAttributionKey)
		if !ok || err != nil || e.AuthMethod != AuthOutOfBand {
			t.Fatalf("%s: %+v %v %v", c.name, e, ok, err)
		}
		if (e.Tenant == nil) != (c.want == nil) || e.Tenant != nil && *e.Tenant != *c.want {
			t.Errorf("%s: tenant %v, want %v", c.name, deref(e.Tenant), deref(c.want))
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}
