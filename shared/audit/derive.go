package audit

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/inmor/inmor-serverless/shared/resource"
	"github.com/inmor/inmor-serverless/shared/storage"
)

// Stream event names.
const (
	EventInsert = "INSERT"
	EventModify = "MODIFY"
	EventRemove = "REMOVE"
)

// Change is one stream record of the resources table or the auth table,
// images as plain values.
type Change struct {
	EventID   string
	EventName string
	// ApproximateTime is when the stream saw the change; it dates changes
	// that carry no attribution.
	ApproximateTime time.Time
	Keys            map[string]any
	OldImage        map[string]any
	NewImage        map[string]any
}

// Derive builds the audit entry of a change: of a resource item, of an
// attempt item (a failed request), of a user or API key item, or of a
// session event item (a login or logout). ok is false for the other items
// (bookkeeping: counters, uniqueness guards, expiring attempts and session
// events, sessions, login failure counts, and an API key's update that
// touched only last_used_at). The entry's
// ID is left to the journal. An attribution is trusted only when it
// carries the MAC of its item under key (AttributionMAC): one that
// does not is recorded as an out-of-band change, the attribution it claims
// kept in ClaimedAttribution.
func Derive(c Change, key []byte) (e Entry, ok bool, err error) {
	return derive(c, key, true)
}

// DeriveUnattributed builds the entry of a change whose attribution must not
// be trusted (the journal found it used before: a copied or restored item),
// so it is out-of-band. A replayed attempt item is not a change: ok is false.
func DeriveUnattributed(c Change, key []byte) (e Entry, ok bool, err error) {
	return derive(c, key, false)
}

func derive(c Change, key []byte, trustAttribution bool) (e Entry, ok bool, err error) {
	action, err := actionOf(c.EventName)
	if err != nil {
		return e, false, err
	}
	item := c.NewImage
	if item == nil {
		item = c.OldImage
	}
	if item == nil {
		item = c.Keys
	}
	if pk, _ := item[storage.AttrPK].(string); pk == storage.AttemptPK {
		if c.EventName != EventInsert || !trustAttribution {
			return e, false, nil // an attempt expiring, or rewritten: nothing happened
		}
		a, _, err := storage.ParseAttempt(item)
		if err != nil {
			return e, true, err
		}
		claim, _ := item[storage.AttrAttribution].(map[string]any)
		sk, _ := item[storage.AttrSK].(string)
		if !AttributionAuthentic(key, storage.AttemptPK, sk, 0, AttemptContent(a), claim) {
			return forgedAttemptEntry(c, a, claim), true, nil
		}
		e = failedEntry(c, a)
		if e.Request, err = requestOf(a); err != nil {
			return e, true, err
		}
		return e, true, nil
	}
	if pk, _ := item[storage.AttrPK].(string); strings.HasPrefix(pk, storage.SessionEventPrefix) {
		if c.EventName != EventInsert || !trustAttribution {
			return e, false, nil // an event expiring, or rewritten: nothing happened
		}
		return deriveSessionEvent(c, item, key)
	} else if storage.AuthType(pk) != "" {
		return deriveAuth(c, action, key, trustAttribution)
	}
	img, isResource, err := storage.ParseImage(item)
	if !isResource || err != nil {
		return e, isResource, err
	}
	var before, after storage.Image
	switch {
	case c.NewImage != nil:
		after = img
		if c.OldImage != nil {
			if before, _, err = storage.ParseImage(c.OldImage); err != nil {
				return e, true, fmt.Errorf("old image: %w", err)
			}
		}
	case c.OldImage != nil:
		before = img // item is the old image, already parsed
	}

	e = Entry{
		Action:         action,
		ResourceType:   string(img.Type),
		ResourceRepr:   img.Repr(),
		SnapshotBefore: before.Fields,
		SnapshotAfter:  after.Fields,
		SourceEventID:  c.EventID,
		Success:        true,
	}
	id := img.ID
	e.ResourceID = &id
	e.ResourceVersion = img.Version
	var op resource.Operation
	a := freshAttribution(c, before, after)
	claim, _ := c.NewImage[storage.AttrAttribution].(map[string]any)
	pk, _ := c.NewImage[storage.AttrPK].(string)
	sk, _ := c.NewImage[storage.AttrSK].(string)
	authentic, afterJSON := false, []byte(nil)
	if a != nil && trustAttribution {
		authentic, afterJSON = attributionAuthentic(key, pk, sk, after.Version, after.Fields, claim)
	}
	switch {
	case authentic:
		op = a.Operation
		attribute(&e, a)
		e.afterJSON = afterJSON // the MAC's form of the content: the snapshot's JSON, when not nil
	case a != nil:
		// A fresh attribution without its MAC, or one claimed before: who
		// wrote it cannot be told; what it claims is kept.
		e.ClaimedAttribution = claim
		fallthrough
	default:
		e.AuthMethod = AuthOutOfBand
		e.Timestamp = c.ApproximateTime.UTC()
		e.Tenant = lastAttributedTenant(key, c.OldImage, before)
	}
	if action == ActionUpdate {
		e.Diff = Diff(before.Fields, after.Fields)
	}
	e.EventType = EventType(img.Type, action, op, before.Fields, after.Fields, e.Diff)
	return e, true, nil
}

// lastAttributedTenant is the tenant of the API write that made the old
// image, when its attribution proves itself (its MAC over that image): an
// out-of-band change or delete is then shown to the auditors of the tenant
// whose resource it changed. nil without an old image (an out-of-band
// create) or without a provable attribution.
func lastAttributedTenant(key []byte, old map[string]any, before storage.Image) *string {
	if old == nil || before.Attribution == nil || before.AttributionVersion != before.Version || before.Attribution.Tenant == "" {
		return nil
	}
	claim, _ := old[storage.AttrAttribution].(map[string]any)
	pk, _ := old[storage.AttrPK].(string)
	sk, _ := old[storage.AttrSK].(string)
	if !AttributionAuthentic(key, pk, sk, before.Version, before.Fields, claim) {
		return nil
	}
	return optional(before.Attribution.Tenant)
}

// forgedAttemptEntry is the entry of an attempt item that does not carry
// its MAC: written by someone who is not an API function, so not a failed
// call by the user it names; out-of-band, what it claims kept (its request
// only when it is a JSON object).
func forgedAttemptEntry(c Change, a resource.Attempt, claim map[string]any) Entry {
	e := failedEntry(c, a)
	e.Request, _ = requestOf(a)
	e.UserID, e.Username, e.APIKeyName, e.Tenant, e.IPAddress, e.UserAgent = nil, nil, nil, nil, nil, nil
	e.RequestID, e.Endpoint, e.HTTPMethod, e.ResponseCode = nil, nil, nil, nil
	e.AuthMethod = AuthOutOfBand
	e.Timestamp = c.ApproximateTime.UTC()
	e.ClaimedAttribution = claim
	return e
}

// failedEntry is the entry of a failed request: who tried what, and the
// answer; no snapshots, no diff, no event type.
func failedEntry(c Change, a resource.Attempt) Entry {
	e := Entry{
		Action:        ActionUpdate,
		ResourceType:  string(a.ResourceType),
		SourceEventID: c.EventID,
	}
	if a.Attribution.Operation == resource.OpCreate {
		e.Action = ActionCreate
	}
	if a.ResourceID != 0 {
		id := a.ResourceID
		e.ResourceID = &id
	}
	e.ResourceRepr = a.ResourceRepr
	e.Error = optional(a.Error)
	attribute(&e, &a.Attribution)
	return e
}

// requestOf reads an attempt's request: a JSON object, nil when none was
// recorded.
func requestOf(a resource.Attempt) (map[string]any, error) {
	if a.Request == "" {
		return nil, nil
	}
	d := json.NewDecoder(strings.NewReader(a.Request))
	d.UseNumber()
	var request map[string]any
	if err := d.Decode(&request); err != nil || request == nil || d.More() {
		return nil, fmt.Errorf("attempt %s: request is not one JSON object", a.RequestID)
	}
	return request, nil
}

func actionOf(eventName string) (string, error) {
	switch eventName {
	case EventInsert:
		return ActionCreate, nil
	case EventModify:
		return ActionUpdate, nil
	case EventRemove:
		return ActionDelete, nil
	}
	return "", fmt.Errorf("unknown stream event %q", eventName)
}

// freshAttribution returns the attribution of the write that made this change,
// or nil when the change did not come through the API: the new image must
// carry an attribution written for exactly its version, and that version must
// be newer than the old image's. Deletes never come through the API.
func freshAttribution(c Change, before, after storage.Image) *resource.Attribution {
	if c.NewImage == nil || after.Attribution == nil || after.AttributionVersion != after.Version || after.Version < 1 {
		return nil
	}
	if c.OldImage != nil && before.Version >= after.Version {
		return nil
	}
	return after.Attribution
}

func attribute(e *Entry, a *resource.Attribution) {
	e.Timestamp = a.CommittedAt
	userID := a.UserID
	e.UserID = &userID
	e.Username = optional(a.Username)
	e.AuthMethod = a.AuthMethod
	e.APIKeyName = optional(a.APIKeyName)
	e.Tenant = optional(a.Tenant)
	e.IPAddress = optional(a.SourceIP)
	e.UserAgent = optional(a.UserAgent)
	e.RequestID = optional(a.RequestID)
	e.Endpoint = optional(a.Path)
	e.HTTPMethod = optional(a.Method)
	code := a.ResponseCode
	e.ResponseCode = &code
	e.Success = code >= 200 && code < 300
	if a.AuthMethod == AuthCLI && code == 0 {
		// inmorctl answers no HTTP request: no response code, no user id;
		// a change it made is a success.
		e.ResponseCode, e.Success = nil, true
		if a.UserID == 0 {
			e.UserID = nil
		}
	}
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
