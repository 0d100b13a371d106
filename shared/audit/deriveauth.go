package audit

import (
	"fmt"
	"maps"
	"slices"

	"github.com/inmor/inmor-serverless/shared/resource"
	"github.com/inmor/inmor-serverless/shared/storage"
)

// Authentication method of changes made with inmorctl, the operator's CLI.
const AuthCLI = "cli"

// LocalOperator is the operator's name in the attribution of inmorctl's
// changes against an endpoint of one's own (the local stack), where there
// is no AWS identity; elsewhere it is the caller identity's ARN.
const LocalOperator = "local"

// AuthResourceTypes are the audited resource types of the auth table,
// besides resource.Types.
var AuthResourceTypes = []string{storage.TypeUser, storage.TypeAPIKey, storage.TypeSession}

// deriveAuth builds the entry of a change of a user or API key item. Its
// snapshots leave out the password's hash, the key's hash and
// last_used_at; an API key's update that touched only last_used_at (its
// use) is no change: ok is false.
func deriveAuth(c Change, action string, key []byte, trustAttribution bool) (e Entry, ok bool, err error) {
	var before, after storage.AuthImage
	if c.OldImage != nil {
		if before, _, err = storage.ParseAuthImage(c.OldImage); err != nil {
			return e, true, fmt.Errorf("old image: %w", err)
		}
	}
	if c.NewImage != nil {
		if after, _, err = storage.ParseAuthImage(c.NewImage); err != nil {
			return e, true, err
		}
	}
	img := after
	if c.NewImage == nil {
		img = before
		if c.OldImage == nil {
			img, _, _ = storage.ParseAuthImage(c.Keys)
		}
	}
	if action == ActionUpdate && img.Type == storage.TypeAPIKey && onlyUse(c.OldImage, c.NewImage) {
		return e, false, nil
	}
	e = Entry{
		Action:          action,
		ResourceType:    img.Type,
		ResourceRepr:    img.Repr(),
		SnapshotBefore:  before.Snapshot,
		SnapshotAfter:   after.Snapshot,
		SourceEventID:   c.EventID,
		Success:         true,
		ResourceVersion: img.Version,
	}
	if id := img.ResourceID(); id != 0 {
		e.ResourceID = &id
	}
	// As for resources: an attribution written for exactly the new
	// version, newer than the old one, with its MAC.
	var a *resource.Attribution
	if c.NewImage != nil && after.Attribution != nil && after.AttributionVersion == after.Version && after.Version >= 1 &&
		(c.OldImage == nil || before.Version < after.Version) {
		a = after.Attribution
	}
	claim, _ := c.NewImage[storage.AttrAttribution].(map[string]any)
	pk, _ := c.NewImage[storage.AttrPK].(string)
	switch {
	case a != nil && trustAttribution && AttributionAuthentic(key, pk, "", after.Version, after.Content, claim):
		attributeAuth(&e, a)
	case a != nil:
		e.ClaimedAttribution = claim
		fallthrough
	default:
		e.AuthMethod = AuthOutOfBand
		e.Timestamp = c.ApproximateTime.UTC()
	}
	if action == ActionUpdate {
		e.Diff = Diff(before.Snapshot, after.Snapshot)
	}
	e.EventType = AuthEventType(img.Type, action, before.Content, after.Content)
	return e, true, nil
}

// onlyUse reports whether two images of an API key differ in nothing but
// last_used_at.
func onlyUse(old, new map[string]any) bool {
	if old == nil || new == nil {
		return false
	}
	o, n := maps.Clone(old), maps.Clone(new)
	delete(o, storage.AttrLastUsedAt)
	delete(n, storage.AttrLastUsedAt)
	return len(Diff(o, n)) == 0
}

// deriveSessionEvent builds the entry of a session event's INSERT: a
// login (CREATE) or logout (DELETE) of resource type Session, failed
// unless its result is success. An event without its MAC is out-of-band,
// its claim kept.
func deriveSessionEvent(c Change, item map[string]any, key []byte) (Entry, bool, error) {
	ev, _, err := storage.ParseSessionEvent(item)
	if err != nil {
		return Entry{}, true, err
	}
	e := Entry{
		Action:        ActionCreate,
		ResourceType:  storage.TypeSession,
		SourceEventID: c.EventID,
		SnapshotAfter: ev.Content,
		EventType:     EventLogin,
	}
	switch {
	case ev.Event == storage.SessionLogout:
		e.Action, e.EventType = ActionDelete, EventLogout
		e.SnapshotBefore, e.SnapshotAfter = ev.Content, nil
	case ev.Result != storage.SessionResultSuccess:
		e.EventType = EventLoginFailed
	}
	e.ResourceRepr, _ = ev.Content["username"].(string)
	if slices.Contains(storage.MFAEvents, ev.Event) {
		// A change of the user's second factors: an update of the user.
		e.Action, e.ResourceType, e.EventType = ActionUpdate, storage.TypeUser, ev.Event
		if id, err := storage.Int(ev.Content["user_id"]); err == nil && id != 0 {
			e.ResourceID = &id
		}
	}
	pk, _ := item[storage.AttrPK].(string)
	if !AttributionAuthentic(key, pk, "", 0, ev.Content, ev.Claim) {
		e.AuthMethod = AuthOutOfBand
		e.Timestamp = c.ApproximateTime.UTC()
		e.ClaimedAttribution = ev.Claim
		return e, true, nil
	}
	attributeAuth(&e, &ev.Attribution)
	// A second factor's change is made, whatever factor its result names.
	e.Success = ev.Result == storage.SessionResultSuccess || slices.Contains(storage.MFAEvents, ev.Event)
	return e, true, nil
}

// attributeAuth is attribute for the auth table's entries: a change made
// with inmorctl has no user id and no response code (null), and success
// is the caller's to set (a change is one; a login answered 200 by the
// admin form may have failed).
func attributeAuth(e *Entry, a *resource.Attribution) {
	success := e.Success
	attribute(e, a)
	e.Success = success
	if a.UserID == 0 {
		e.UserID = nil
	}
	if a.ResponseCode == 0 {
		e.ResponseCode = nil
	}
}

// AuthEventType is the event type of a change of a user or API key:
// created, deleted (out-of-band), and for an update the most significant
// of deactivated (revoked), activated (reactivated), password_changed,
// else updated. before and after are the items' contents (with the
// password's hash, which only decides password_changed).
func AuthEventType(resourceType, action string, before, after map[string]any) string {
	user := resourceType == storage.TypeUser
	pick := func(userEvent, keyEvent string) string {
		if user {
			return userEvent
		}
		return keyEvent
	}
	switch {
	case action == ActionCreate:
		return pick(EventUserCreated, EventAPIKeyCreated)
	case action == ActionDelete:
		return pick(EventUserDeleted, EventAPIKeyDeleted)
	case before["is_active"] == true && after["is_active"] == false:
		return pick(EventUserDeactivated, EventAPIKeyRevoked)
	case before["is_active"] == false && after["is_active"] == true:
		return pick(EventUserActivated, EventAPIKeyReactivated)
	case user && before[storage.AttrPasswordHash] != after[storage.AttrPasswordHash]:
		return EventPasswordChanged
	}
	return pick(EventUserUpdated, EventAPIKeyUpdated)
}
