package storage

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/inmor/inmor-serverless/shared/resource"
)

// Resource types of the auth table's audited items, as the audit log
// records them.
const (
	// TypeUser is a user (user#<username>).
	TypeUser = "User"
	// TypeAPIKey is an API key (apikey#<hash>).
	TypeAPIKey = "APIKey"
	// TypeSession is a login or a logout (a session event item).
	TypeSession = "Session"
)

// Attributes of the auth table's audited items.
const (
	// AttrPasswordHash is a user's argon2id hash: covered by the
	// attribution's MAC, never in a snapshot or diff.
	AttrPasswordHash = "password_hash"
	// AttrKeyHash is an API key's hash (also in its partition key): never
	// in a snapshot or diff.
	AttrKeyHash = "hash"
	// AttrLastUsedAt is when a key was last used: its use, not a change of
	// it, so not part of what is audited.
	AttrLastUsedAt = "last_used_at"
	// AttrKind and AttrSort are the by_kind index's attributes.
	AttrKind = "kind"
	AttrSort = "sort"
)

// authBookkeeping are left out of an audited auth item's content (what
// the attribution's MAC covers).
var authBookkeeping = []string{AttrPK, AttrVersion, AttrAttribution, AttrExpiresAt, AttrLastUsedAt}

// authHidden are in the content but never in a snapshot: secrets and the
// index's attributes.
var authHidden = []string{AttrPasswordHash, AttrKeyHash, AttrKind, AttrSort}

// AuthImage is a user or API key item as read from the auth table or its
// stream.
type AuthImage struct {
	// Type is TypeUser or TypeAPIKey.
	Type    string
	Version int64
	// Attribution is the stored attribution, nil when absent or unreadable.
	Attribution *resource.Attribution
	// AttributionVersion is the version the attribution was written with.
	AttributionVersion int64
	// Content is what the attribution's MAC covers (AuthContent).
	Content map[string]any
	// Snapshot is the content without secrets (the password's hash, the
	// key's hash) and index attributes: what the audit log shows.
	Snapshot map[string]any
}

// AuthType is the audited resource type of an auth table item by its
// partition key: TypeUser, TypeAPIKey, or "" for the rest (sessions,
// login failures, the user id counter, session events).
func AuthType(pk string) string {
	switch {
	case strings.HasPrefix(pk, UserPrefix):
		return TypeUser
	case strings.HasPrefix(pk, APIKeyPrefix):
		return TypeAPIKey
	}
	return ""
}

// AuthContent is what the attribution MAC of a user or key item covers:
// its attributes without the key, version, attribution, expiry and
// last_used_at. It is a new map.
func AuthContent(item map[string]any) map[string]any {
	content := maps.Clone(item)
	for _, k := range authBookkeeping {
		delete(content, k)
	}
	return content
}

// ParseAuthImage reads a user or API key item (attribute values as plain
// Go values). ok is false for the auth table's other items.
func ParseAuthImage(item map[string]any) (im AuthImage, ok bool, err error) {
	pk, _ := item[AttrPK].(string)
	if im.Type = AuthType(pk); im.Type == "" {
		return AuthImage{}, false, nil
	}
	im.Content = AuthContent(item)
	im.Snapshot = maps.Clone(im.Content)
	for _, k := range authHidden {
		delete(im.Snapshot, k)
	}
	if v, present := item[AttrVersion]; present {
		if im.Version, err = Int(v); err != nil {
			return im, true, fmt.Errorf("version: %w", err)
		}
	}
	if m, isMap := item[AttrAttribution].(map[string]any); isMap {
		im.Attribution, im.AttributionVersion = parseAttribution(m)
	}
	return im, true, nil
}

// Repr is the human-readable identifier of a user (the username) or an
// API key ("<owner>/<name>/<prefix>": never the key or its hash).
func (im AuthImage) Repr() string {
	str := func(k string) string { s, _ := im.Content[k].(string); return s }
	if im.Type == TypeUser {
		return str("username")
	}
	return str("username") + "/" + str("name") + "/" + str("prefix")
}

// ResourceID is a user's id (stable, never reused), 0 for an API key
// (keys have no id: Repr names them).
func (im AuthImage) ResourceID() int64 {
	if im.Type != TypeUser {
		return 0
	}
	id, _ := Int(im.Content[AttrID])
	return id
}

// Session event items: sessionevent#<request id>, one per login (or failed
// login) and logout, written by the function that answered it with its
// attribution, expiring (AttrExpiresAt) once the stream has carried them.
const (
	// SessionEventPrefix starts a session event's partition key.
	SessionEventPrefix = "sessionevent#"
	// AttrSessionEvent is SessionLogin or SessionLogout.
	AttrSessionEvent = "event"
	// AttrSessionResult is the outcome: SessionResultSuccess or the reason
	// of a failure.
	AttrSessionResult = "result"
)

// Session events. The second-factor events are recorded the same way (a
// signed event item): their result is the factor (totp, recovery_codes,
// all) and their entry a User's.
const (
	SessionLogin       = "login"
	SessionLogout      = "logout"
	SessionMFAEnrolled = "mfa_enrolled"
	SessionMFARemoved  = "mfa_removed"
	SessionMFAReset    = "mfa_reset"
)

// MFAEvents are the session events that change a user's second factors.
var MFAEvents = []string{SessionMFAEnrolled, SessionMFARemoved, SessionMFAReset}

// Outcomes of a session event.
const (
	SessionResultSuccess = "success"
	// SessionResultInvalid: unknown user, wrong password or inactive user.
	SessionResultInvalid = "invalid_credentials"
	// SessionResultThrottled: too many failed logins for the username.
	SessionResultThrottled = "throttled"
	// SessionResultNotStaff: the right password of a user who may not use
	// the admin view (its login form).
	SessionResultNotStaff = "not_staff"
	// SessionResultInvalidCode: a wrong, used or expired second factor
	// (the login's second step).
	SessionResultInvalidCode = "invalid_code"
)

// SessionEvent is a session event item as read back.
type SessionEvent struct {
	RequestID string
	// Event is SessionLogin or SessionLogout; Result its outcome.
	Event, Result string
	// Content is what the attribution's MAC covers: the item without its
	// key, attribution and expiry.
	Content     map[string]any
	Attribution resource.Attribution
	// Claim is the attribution map as stored.
	Claim map[string]any
}

// ParseSessionEvent reads a session event item. ok is false when the item
// is not one.
func ParseSessionEvent(item map[string]any) (ev SessionEvent, ok bool, err error) {
	pk, _ := item[AttrPK].(string)
	requestID, isEvent := strings.CutPrefix(pk, SessionEventPrefix)
	if !isEvent {
		return ev, false, nil
	}
	ev.RequestID = requestID
	ev.Event, _ = item[AttrSessionEvent].(string)
	ev.Result, _ = item[AttrSessionResult].(string)
	if ev.Event != SessionLogin && ev.Event != SessionLogout && !slices.Contains(MFAEvents, ev.Event) {
		return ev, true, fmt.Errorf("session event %s: unknown event %q", requestID, ev.Event)
	}
	ev.Content = SessionEventContent(item)
	ev.Claim, _ = item[AttrAttribution].(map[string]any)
	attribution, _ := parseAttribution(ev.Claim)
	if attribution == nil {
		return ev, true, fmt.Errorf("session event %s: no readable attribution", requestID)
	}
	ev.Attribution = *attribution
	return ev, true, nil
}

// SessionEventContent is what the attribution MAC of a session event
// covers: the item without its key, attribution and expiry. It is a new
// map.
func SessionEventContent(item map[string]any) map[string]any {
	content := maps.Clone(item)
	for _, k := range []string{AttrPK, AttrAttribution, AttrExpiresAt} {
		delete(content, k)
	}
	return content
}
