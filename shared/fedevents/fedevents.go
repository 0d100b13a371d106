// Package fedevents publishes a subordinate's history from the audit log
// as OpenID Federation Subordinate Events (draft -01): which audit entries
// become events, and the signed entity-events-statement that carries them.
// It knows nothing of HTTP or DynamoDB.
package fedevents

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/inmor/inmor-serverless/shared/apperr"
	"github.com/inmor/inmor-serverless/shared/audit"
	"github.com/inmor/inmor-serverless/shared/resource"
)

// JWTType is the typ header of the signed answer, and ContentType its
// media type.
const (
	JWTType     = "entity-events-statement+jwt"
	ContentType = "application/entity-events-statement+jwt"
)

// DefaultTTL is how long a statement is valid (exp - iat).
const DefaultTTL = 24 * time.Hour

// Published are the audit event types the endpoint publishes, by the
// names the specification gives them.
var Published = []string{
	audit.EventRegistration, audit.EventMetadataUpdate, audit.EventMetadataPolicyUpdate,
	audit.EventJWKSUpdate, audit.EventRevocation, audit.EventSuspension,
}

// updates are the events a registration at the same iat hides.
var updates = []string{audit.EventMetadataUpdate, audit.EventMetadataPolicyUpdate, audit.EventJWKSUpdate}

// Change is one audit entry of a subordinate, as the endpoint reads it.
type Change struct {
	EntryID    int64
	Committed  time.Time
	EventType  string
	AuthMethod string
	Success    bool
}

// Event is one published event.
type Event struct {
	IAT            int64  `json:"iat"`
	Event          string `json:"event"`
	Description    string `json:"event_description,omitempty"`
	InformationURI string `json:"information_uri,omitempty"`
}

// descriptions explain each event in a sentence.
var descriptions = map[string]string{
	audit.EventRegistration:         "The entity was registered as a subordinate, or registered again.",
	audit.EventMetadataUpdate:       "The subordinate's metadata changed.",
	audit.EventMetadataPolicyUpdate: "The metadata policy the superior applies to the subordinate changed.",
	audit.EventJWKSUpdate:           "The subordinate's Federation Entity Keys changed.",
	audit.EventRevocation:           "The subordinate was revoked.",
	audit.EventSuspension:           "The subordinate was suspended.",
}

// Events maps a subordinate's changes, oldest first, to its events,
// oldest first: successful changes made through the API (never out of
// band) whose event type is published; no metadata, policy or key update
// at the iat of a registration (the draft's rule). informationURI, when
// set, is a template: {sub} becomes the entity id and {entry} the audit
// entry's id, both escaped for a URL.
func Events(sub string, changes []Change, informationURI string) []Event {
	registeredAt := map[int64]bool{}
	for _, c := range changes {
		if published(c) && c.EventType == audit.EventRegistration {
			registeredAt[c.Committed.Unix()] = true
		}
	}
	events := []Event{}
	for _, c := range changes {
		if !published(c) {
			continue
		}
		iat := c.Committed.Unix()
		if registeredAt[iat] && slices.Contains(updates, c.EventType) {
			continue
		}
		e := Event{IAT: iat, Event: c.EventType, Description: descriptions[c.EventType]}
		if informationURI != "" {
			e.InformationURI = strings.NewReplacer(
				"{sub}", url.QueryEscape(sub), "{entry}", strconv.FormatInt(c.EntryID, 10),
			).Replace(informationURI)
		}
		events = append(events, e)
	}
	return events
}

func published(c Change) bool {
	return c.Success && c.AuthMethod != audit.AuthOutOfBand && slices.Contains(Published, c.EventType)
}

// History reads a subordinate's changes from the audit log, oldest first.
type History interface {
	SubordinateChanges(ctx context.Context, id int64) ([]Change, error)
}

// Directory finds a subordinate's id by its entity id; a NotFound error
// when there is none.
type Directory interface {
	SubordinateID(ctx context.Context, entityID string) (int64, error)
}

// Publisher answers the Subordinate Events endpoint.
type Publisher struct {
	History   History
	Directory Directory
	Signer    resource.Signer
	// EntityID is the trust anchor's entity id, the statement's iss.
	EntityID string
	// TTL is exp - iat; DefaultTTL when zero.
	TTL time.Duration
	// InformationURI is the template of each event's information_uri
	// (see Events); none when empty.
	InformationURI string
	// Now returns the current time; time.Now when nil.
	Now func() time.Time
}

// Errors of the endpoint, in the OpenID Federation error format: Code is
// the error and the message its description.
const (
	CodeInvalidRequest = "invalid_request"
	CodeNotFound       = "not_found"
)

// Statement returns the signed entity-events-statement about sub. An
// invalid sub is an Invalid error, an unknown one NotFound; both carry the
// description to answer.
func (p Publisher) Statement(ctx context.Context, sub string) (string, error) {
	if sub == "" {
		return "", apperr.New(apperr.Invalid, 0, "sub is required: the entity id of a subordinate")
	}
	if err := resource.CheckEntityID("sub", sub); err != nil {
		return "", apperr.New(apperr.Invalid, 0, "sub is not an entity identifier: "+apperr.MessageOf(err))
	}
	id, err := p.Directory.SubordinateID(ctx, sub)
	if apperr.Is(apperr.NotFound, err) {
		return "", apperr.New(apperr.NotFound, 0, "No subordinate with the entity id "+sub+".")
	}
	if err != nil {
		return "", err
	}
	changes, err := p.History.SubordinateChanges(ctx, id)
	if err != nil {
		return "", err
	}
	now := time.Now()
	if p.Now != nil {
		now = p.Now()
	}
	ttl := p.TTL
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	events := Events(sub, changes, p.InformationURI)
	list := make([]any, len(events))
	for i, e := range events {
		m := map[string]any{"iat": e.IAT, "event": e.Event}
		if e.Description != "" {
			m["event_description"] = e.Description
		}
		if e.InformationURI != "" {
			m["information_uri"] = e.InformationURI
		}
		list[i] = m
	}
	claims := map[string]any{
		"iss": p.EntityID, "sub": sub, "iat": now.Unix(), "exp": now.Add(ttl).Unix(),
		"federation_registration_events": list,
	}
	jwt, err := p.Signer.Sign(ctx, JWTType, claims)
	if err != nil {
		return "", fmt.Errorf("sign the subordinate events: %w", err)
	}
	return jwt, nil
}
