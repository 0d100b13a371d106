package fedevents

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/inmor/inmor-serverless/shared/apperr"
	"github.com/inmor/inmor-serverless/shared/audit"
	"github.com/inmor/inmor-serverless/shared/jwk"
	"github.com/inmor/inmor-serverless/shared/signing"
)

var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func change(id int64, seconds int, event, method string, success bool) Change {
	return Change{EntryID: id, Committed: t0.Add(time.Duration(seconds) * time.Second), EventType: event, AuthMethod: method, Success: success}
}

// TestEvents specifies the mapping: published types only, API changes
// only, successes only, no update at a registration's iat, the
// information_uri template.
func TestEvents(t *testing.T) {
	changes := []Change{
		change(1, 0, audit.EventRegistration, "api_key", true),
		change(2, 0, audit.EventMetadataUpdate, "api_key", true), // same second as the registration: hidden
		change(3, 5, audit.EventMetadataUpdate, "session", true),
		change(4, 6, audit.EventMetadataPolicyUpdate, "api_key", true),
		change(5, 7, audit.EventJWKSUpdate, "cli", true),
		change(6, 8, "", "api_key", true),                              // a renew: no event type
		change(7, 9, audit.EventJWKSUpdate, audit.AuthOutOfBand, true), // never published
		change(8, 10, audit.EventRevocation, "api_key", false),         // a failed attempt
		change(9, 11, audit.EventSuspension, "api_key", true),
		change(10, 12, audit.EventRegistration, "api_key", true),
		change(11, 13, audit.EventRevocation, "api_key", true),
		change(12, 14, audit.EventTrustMarkIssued, "api_key", true), // another resource's type
	}
	got := Events("https://rp.example", changes, "https://fed.example/events?sub={sub}&entry={entry}")
	want := []struct {
		seconds int
		event   string
		entry   int
	}{
		{0, "registration", 1}, {5, "metadata_update", 3}, {6, "metadata_policy_update", 4}, {7, "jwks_update", 5},
		{11, "suspension", 9}, {12, "registration", 10}, {13, "revocation", 11},
	}
	if len(got) != len(want) {
		t.Fatalf("%d events %+v, want %d", len(got), got, len(want))
	}
	for i, w := range want {
		e := got[i]
		if e.IAT != t0.Unix()+int64(w.seconds) || e.Event != w.event || e.Description == "" {
			t.Errorf("event %d: %+v, want %s at +%ds with a description", i, e, w.event, w.seconds)
		}
		if uri := "https://fed.example/events?sub=https%3A%2F%2Frp.example&entry=" + itoa(w.entry); e.InformationURI != uri {
			t.Errorf("event %d information_uri %q, want %q", i, e.InformationURI, uri)
		}
	}
	if got := Events("https://rp.example", changes[:1], ""); got[0].InformationURI != "" {
		t.Errorf("information_uri without a template: %q", got[0].InformationURI)
	}
	if got := Events("https://rp.example", nil, ""); got == nil || len(got) != 0 {
		t.Errorf("no changes: %v, want an empty list (published as [])", got)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

type fakeHistory []Change

func (h fakeHistory) SubordinateChanges(context.Context, int64) ([]Change, error) { return h, nil }

type fakeDirectory map[string]int64

func (d fakeDirectory) SubordinateID(_ context.Context, entityID string) (int64, error) {
	if id, ok := d[entityID]; ok {
		return id, nil
	}
	return 0, apperr.E(apperr.NotFound)
}

// TestStatement: the signed statement's header and claims; a missing or
// malformed sub is Invalid, an unknown one NotFound.
func TestStatement(t *testing.T) {
	signer, err := signing.GenerateLocalFile(filepath.Join(t.TempDir(), "key.json"))
	if err != nil {
		t.Fatal(err)
	}
	p := Publisher{
		History: fakeHistory{change(1, 0, audit.EventRegistration, "api_key", true)}, Directory: fakeDirectory{"https://rp.example": 1},
		Signer: signer, EntityID: "https://ta.example", TTL: 2 * time.Hour, Now: func() time.Time { return t0.Add(time.Hour) },
	}
	token, err := p.Statement(context.Background(), "https://rp.example")
	if err != nil {
		t.Fatal(err)
	}
	key, _ := signer.PublicJWK(context.Background())
	pub, _ := jwk.ParsePublic(key)
	header, claims, err := signing.Verify(token, pub)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(claims)
	want := `{"exp":` + itoa(int(t0.Add(3*time.Hour).Unix())) + `,"federation_registration_events":[{"event":"registration","event_description":"The entity was registered as a subordinate, or registered again.","iat":` +
		itoa(int(t0.Unix())) + `}],"iat":` + itoa(int(t0.Add(time.Hour).Unix())) + `,"iss":"https://ta.example","sub":"https://rp.example"}`
	if header["typ"] != JWTType || string(b) != want {
		t.Errorf("header %v\nclaims %s\nwant   %s", header, b, want)
	}
	for sub, kind := range map[string]apperr.Kind{
		"": apperr.Invalid, "not a url": apperr.Invalid, "http://rp.example": apperr.Invalid, "https://rp.example/?q=1": apperr.Invalid,
		"https://unknown.example": apperr.NotFound,
	} {
		if _, err := p.Statement(context.Background(), sub); !apperr.Is(kind, err) || apperr.MessageOf(err) == "" {
			t.Errorf("sub %q: %v, want %s with a description", sub, err, kind)
		}
	}
}
