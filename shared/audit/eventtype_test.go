package audit

import (
	"testing"

	"github.com/inmor/inmor-serverless/shared/resource"
)

// with returns a copy of base with the given fields replaced.
func with(base obj, kv ...any) obj {
	out := make(obj, len(base))
	for k, v := range base {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

var (
	tmtSnapshot = obj{
		"id": num("1"), "tmtype": "https://tm.example/member", "autorenew": true,
		"valid_for": num("8760"), "renewal_time": num("48"), "active": true, "added": "2026-01-01T00:00:00.000000Z",
	}
	tmSnapshot = obj{
		"id": num("2"), "tmt_id": num("1"), "domain": "https://rp.example", "autorenew": true,
		"valid_for": num("8760"), "renewal_time": num("48"), "active": true, "mark": "eyJ.old.sig",
		"expire_at": "2027-01-01T00:00:00.000000Z", "additional_claims": nil, "added": "2026-01-01T00:00:00.000000Z",
	}
	subSnapshot = obj{
		"id": num("3"), "entityid": "https://op.example", "metadata": obj{"openid_provider": obj{"issuer": "https://op.example"}},
		"forced_metadata": obj{}, "jwks": obj{"keys": list{obj{"kty": "EC", "kid": "k1"}}},
		"required_trustmarks": nil, "valid_for": num("8760"), "expire_at": "2027-01-01T00:00:00.000000Z",
		"autorenew": true, "active": true, "additional_claims": nil, "statement": "eyJ.old.sig",
		"added": "2026-01-01T00:00:00.000000Z",
	}
)

var (
	serverSnapshot = obj{
		"id": num("1"), "entityid": "https://ta.example", "entity_statement": "eyJ.old.sig",
		"claims": obj{"iss": "https://ta.example", "iat": num("1")}, "added": "2026-01-01T00:00:00.000000Z",
	}
	historicalSnapshot = obj{
		"id": num("1"), "entityid": "https://ta.example", "keys": list{obj{"kid": "k0", "exp": num("1")}},
		"historical_keys_jwt": nil, "claims": nil, "added": "2026-01-01T00:00:00.000000Z",
	}
)

// TestEventType specifies the event types, one rule (or precedence) per case.
func TestEventType(t *testing.T) {
	newMetadata := obj{"openid_provider": obj{"issuer": "https://op.example", "extra": "x"}}
	newForced := obj{"openid_provider": obj{"contacts": list{"ops@example"}}}
	newJWKS := obj{"keys": list{obj{"kty": "EC", "kid": "k2"}}}
	cases := []struct {
		name          string
		typ           resource.Type
		action        string
		op            resource.Operation
		before, after obj
		want          string
	}{
		// TrustMarkType.
		{"TrustMarkType create", resource.TypeTrustMarkType, ActionCreate, resource.OpCreate, nil, tmtSnapshot, EventTrustMarkTypeCreated},
		{"TrustMarkType active true to false is deactivated", resource.TypeTrustMarkType, ActionUpdate, resource.OpUpdate,
			tmtSnapshot, with(tmtSnapshot, "active", false), EventTrustMarkTypeDeactivated},
		{"TrustMarkType deactivated together with other fields", resource.TypeTrustMarkType, ActionUpdate, resource.OpUpdate,
			tmtSnapshot, with(tmtSnapshot, "active", false, "valid_for", num("24")), EventTrustMarkTypeDeactivated},
		{"TrustMarkType active false to false is updated", resource.TypeTrustMarkType, ActionUpdate, resource.OpUpdate,
			with(tmtSnapshot, "active", false), with(tmtSnapshot, "active", false, "autorenew", false), EventTrustMarkTypeUpdated},
		{"TrustMarkType active false to true is updated", resource.TypeTrustMarkType, ActionUpdate, resource.OpUpdate,
			with(tmtSnapshot, "active", false), tmtSnapshot, EventTrustMarkTypeUpdated},
		{"TrustMarkType valid_for change is updated", resource.TypeTrustMarkType, ActionUpdate, resource.OpUpdate,
			tmtSnapshot, with(tmtSnapshot, "valid_for", num("24")), EventTrustMarkTypeUpdated},
		{"TrustMarkType write that changed nothing is updated", resource.TypeTrustMarkType, ActionUpdate, resource.OpUpdate,
			tmtSnapshot, tmtSnapshot, EventTrustMarkTypeUpdated},
		{"TrustMarkType out-of-band update (no operation) follows the same rules", resource.TypeTrustMarkType, ActionUpdate, "",
			tmtSnapshot, with(tmtSnapshot, "active", false), EventTrustMarkTypeDeactivated},
		{"TrustMarkType delete", resource.TypeTrustMarkType, ActionDelete, "", tmtSnapshot, nil, EventTrustMarkTypeDeleted},

		// TrustMark.
		{"TrustMark create is issued", resource.TypeTrustMark, ActionCreate, resource.OpCreate, nil, tmSnapshot, EventTrustMarkIssued},
		{"TrustMark renew", resource.TypeTrustMark, ActionUpdate, resource.OpRenew,
			tmSnapshot, with(tmSnapshot, "mark", "eyJ.new.sig", "expire_at", "2027-06-01T00:00:00.000000Z"), EventTrustMarkRenewed},
		{"TrustMark renew is renewed even when active changed", resource.TypeTrustMark, ActionUpdate, resource.OpRenew,
			tmSnapshot, with(tmSnapshot, "active", false, "mark", nil), EventTrustMarkRenewed},
		{"TrustMark renew of a revoked mark is renewed", resource.TypeTrustMark, ActionUpdate, resource.OpRenew,
			with(tmSnapshot, "active", false, "mark", nil), tmSnapshot, EventTrustMarkRenewed},
		{"TrustMark active to false is revoked", resource.TypeTrustMark, ActionUpdate, resource.OpUpdate,
			tmSnapshot, with(tmSnapshot, "active", false, "mark", nil), EventTrustMarkRevoked},
		{"TrustMark revoked together with other fields", resource.TypeTrustMark, ActionUpdate, resource.OpUpdate,
			tmSnapshot, with(tmSnapshot, "active", false, "mark", nil, "autorenew", false, "additional_claims", obj{"a": "b"}), EventTrustMarkRevoked},
		{"TrustMark already revoked staying false is updated", resource.TypeTrustMark, ActionUpdate, resource.OpUpdate,
			with(tmSnapshot, "active", false, "mark", nil), with(tmSnapshot, "active", false, "mark", nil, "autorenew", false), EventTrustMarkUpdated},
		{"TrustMark re-activated is updated", resource.TypeTrustMark, ActionUpdate, resource.OpUpdate,
			with(tmSnapshot, "active", false, "mark", nil), tmSnapshot, EventTrustMarkUpdated},
		{"TrustMark additional_claims change is updated", resource.TypeTrustMark, ActionUpdate, resource.OpUpdate,
			tmSnapshot, with(tmSnapshot, "additional_claims", obj{"ref": "x"}, "mark", "eyJ.new.sig"), EventTrustMarkUpdated},
		{"TrustMark write that changed nothing is updated", resource.TypeTrustMark, ActionUpdate, resource.OpUpdate,
			tmSnapshot, tmSnapshot, EventTrustMarkUpdated},
		{"TrustMark out-of-band revocation is revoked", resource.TypeTrustMark, ActionUpdate, "",
			tmSnapshot, with(tmSnapshot, "active", false), EventTrustMarkRevoked},
		{"TrustMark delete", resource.TypeTrustMark, ActionDelete, "", tmSnapshot, nil, EventTrustMarkDeleted},

		// Subordinate.
		{"Subordinate create is registration", resource.TypeSubordinate, ActionCreate, resource.OpCreate, nil, subSnapshot, EventRegistration},
		{"Subordinate active to false is revocation", resource.TypeSubordinate, ActionUpdate, resource.OpUpdate,
			subSnapshot, with(subSnapshot, "active", false), EventRevocation},
		{"Subordinate: revocation beats every other change", resource.TypeSubordinate, ActionUpdate, resource.OpUpdate,
			subSnapshot, with(subSnapshot, "active", false, "forced_metadata", newForced, "metadata", newMetadata, "jwks", newJWKS), EventRevocation},
		{"Subordinate: metadata_policy_update beats metadata_update and jwks_update", resource.TypeSubordinate, ActionUpdate, resource.OpUpdate,
			subSnapshot, with(subSnapshot, "forced_metadata", newForced, "metadata", newMetadata, "jwks", newJWKS, "statement", "eyJ.new"), EventMetadataPolicyUpdate},
		{"Subordinate: metadata_update beats jwks_update", resource.TypeSubordinate, ActionUpdate, resource.OpUpdate,
			subSnapshot, with(subSnapshot, "metadata", newMetadata, "jwks", newJWKS, "statement", "eyJ.new"), EventMetadataUpdate},
		{"Subordinate forced_metadata alone is metadata_policy_update", resource.TypeSubordinate, ActionUpdate, resource.OpUpdate,
			subSnapshot, with(subSnapshot, "forced_metadata", newForced), EventMetadataPolicyUpdate},
		{"Subordinate metadata alone (nested change) is metadata_update", resource.TypeSubordinate, ActionUpdate, resource.OpUpdate,
			subSnapshot, with(subSnapshot, "metadata", newMetadata), EventMetadataUpdate},
		{"Subordinate jwks alone is jwks_update", resource.TypeSubordinate, ActionUpdate, resource.OpUpdate,
			subSnapshot, with(subSnapshot, "jwks", newJWKS, "statement", "eyJ.new"), EventJWKSUpdate},
		{"Subordinate already inactive with a metadata change is metadata_update", resource.TypeSubordinate, ActionUpdate, resource.OpUpdate,
			with(subSnapshot, "active", false), with(subSnapshot, "active", false, "metadata", newMetadata), EventMetadataUpdate},
		{"Subordinate re-activated is registration", resource.TypeSubordinate, ActionUpdate, resource.OpUpdate,
			with(subSnapshot, "active", false), subSnapshot, EventRegistration},
		{"Subordinate re-activated from a suspension is registration", resource.TypeSubordinate, ActionUpdate, resource.OpUpdate,
			with(subSnapshot, "active", false, "suspended", true), subSnapshot, EventRegistration},
		{"Subordinate deactivated with suspended is suspension", resource.TypeSubordinate, ActionUpdate, resource.OpUpdate,
			subSnapshot, with(subSnapshot, "active", false, "suspended", true), EventSuspension},
		{"Subordinate: suspension beats every other change", resource.TypeSubordinate, ActionUpdate, resource.OpUpdate,
			subSnapshot, with(subSnapshot, "active", false, "suspended", true, "metadata", newMetadata, "jwks", newJWKS), EventSuspension},
		{"Subordinate suspended, then revoked", resource.TypeSubordinate, ActionUpdate, resource.OpUpdate,
			with(subSnapshot, "active", false, "suspended", true), with(subSnapshot, "active", false), EventRevocation},
		{"Subordinate revoked, then suspended", resource.TypeSubordinate, ActionUpdate, resource.OpUpdate,
			with(subSnapshot, "active", false), with(subSnapshot, "active", false, "suspended", true), EventSuspension},
		{"Subordinate valid_for change is none", resource.TypeSubordinate, ActionUpdate, resource.OpUpdate,
			subSnapshot, with(subSnapshot, "valid_for", num("24"), "statement", "eyJ.new", "expire_at", "2026-01-02T00:00:00.000000Z"), ""},
		{"Subordinate renew (only statement and expire_at change) is none", resource.TypeSubordinate, ActionUpdate, resource.OpRenew,
			subSnapshot, with(subSnapshot, "statement", "eyJ.new.sig", "expire_at", "2027-06-01T00:00:00.000000Z"), ""},
		{"Subordinate write with the same metadata values is none", resource.TypeSubordinate, ActionUpdate, resource.OpUpdate,
			subSnapshot, with(subSnapshot, "metadata", obj{"openid_provider": obj{"issuer": "https://op.example"}}), ""},
		{"Subordinate delete is revocation", resource.TypeSubordinate, ActionDelete, "", subSnapshot, nil, EventRevocation},

		// The trust anchor's own statements.
		{"ServerEntity first signed", resource.TypeServerEntity, ActionCreate, resource.OpCreate, nil, serverSnapshot, EventServerEntitySigned},
		{"ServerEntity signed again", resource.TypeServerEntity, ActionUpdate, resource.OpUpdate,
			serverSnapshot, with(serverSnapshot, "entity_statement", "eyJ.new.sig"), EventServerEntitySigned},
		{"ServerEntity delete", resource.TypeServerEntity, ActionDelete, "", serverSnapshot, nil, EventServerEntityDeleted},
		{"HistoricalKeys created by the first retired key", resource.TypeHistoricalKeys, ActionCreate, resource.OpCreate, nil, historicalSnapshot, EventHistoricalKeyRetired},
		{"HistoricalKeys: another key retired", resource.TypeHistoricalKeys, ActionUpdate, resource.OpUpdate,
			historicalSnapshot, with(historicalSnapshot, "keys", list{obj{"kid": "k0", "exp": num("1")}, obj{"kid": "k1", "exp": num("2")}}), EventHistoricalKeyRetired},
		{"HistoricalKeys signed (keys unchanged)", resource.TypeHistoricalKeys, ActionUpdate, resource.OpUpdate,
			historicalSnapshot, with(historicalSnapshot, "historical_keys_jwt", "eyJ.new.sig"), EventHistoricalKeysSigned},
		{"HistoricalKeys delete", resource.TypeHistoricalKeys, ActionDelete, "", historicalSnapshot, nil, EventHistoricalKeysDeleted},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			diff := Diff(c.before, c.after)
			if got := EventType(c.typ, c.action, c.op, c.before, c.after, diff); got != c.want {
				t.Errorf("EventType(%s, %s, %q) with diff %s = %q, want %q", c.typ, c.action, c.op, mustJSON(t, diff), got, c.want)
			}
		})
	}
}

// TestEventTypesListsEveryEventType: the API's event_type filter accepts
// exactly EventTypes, so it must hold every event type once.
func TestEventTypesListsEveryEventType(t *testing.T) {
	want := []string{
		"trustmarktype_created", "trustmarktype_deactivated", "trustmarktype_updated", "trustmarktype_deleted",
		"trustmark_issued", "trustmark_renewed", "trustmark_revoked", "trustmark_updated", "trustmark_deleted",
		"registration", "revocation", "suspension", "metadata_policy_update", "metadata_update", "jwks_update",
		"server_entity_signed", "server_entity_deleted", "historical_key_retired", "historical_keys_signed", "historical_keys_deleted",
		"user_created", "user_updated", "user_deactivated", "user_activated", "password_changed", "user_deleted",
		"apikey_created", "apikey_updated", "apikey_revoked", "apikey_reactivated", "apikey_deleted",
		"login", "login_failed", "logout", "mfa_enrolled", "mfa_removed", "mfa_reset",
	}
	seen := map[string]bool{}
	for _, e := range EventTypes {
		if seen[e] {
			t.Errorf("EventTypes lists %q twice", e)
		}
		seen[e] = true
	}
	for _, e := range want {
		if !seen[e] {
			t.Errorf("EventTypes misses %q", e)
		}
	}
	if len(seen) != len(want) {
		t.Errorf("EventTypes has %d distinct types, want %d: %v", len(seen), len(want), EventTypes)
	}
}
