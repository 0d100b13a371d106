package audit

import "github.com/inmor/inmor-serverless/shared/resource"

// Actions recorded in the audit log.
const (
	ActionCreate = "CREATE"
	ActionUpdate = "UPDATE"
	ActionDelete = "DELETE"
)

// Event types of audit entries, per resource type.
const (
	EventTrustMarkTypeCreated     = "trustmarktype_created"
	EventTrustMarkTypeDeactivated = "trustmarktype_deactivated"
	EventTrustMarkTypeUpdated     = "trustmarktype_updated"
	EventTrustMarkTypeDeleted     = "trustmarktype_deleted"
	EventTrustMarkIssued          = "trustmark_issued"
	EventTrustMarkRenewed         = "trustmark_renewed"
	EventTrustMarkRevoked         = "trustmark_revoked"
	EventTrustMarkUpdated         = "trustmark_updated"
	EventTrustMarkDeleted         = "trustmark_deleted"
	EventRegistration             = "registration"
	EventRevocation               = "revocation"
	EventSuspension               = "suspension"
	EventMetadataPolicyUpdate     = "metadata_policy_update"
	EventMetadataUpdate           = "metadata_update"
	EventJWKSUpdate               = "jwks_update"
	EventServerEntitySigned       = "server_entity_signed"
	EventServerEntityDeleted      = "server_entity_deleted"
	EventHistoricalKeyRetired     = "historical_key_retired"
	EventHistoricalKeysSigned     = "historical_keys_signed"
	EventHistoricalKeysDeleted    = "historical_keys_deleted"
	EventUserCreated              = "user_created"
	EventUserUpdated              = "user_updated"
	EventUserDeactivated          = "user_deactivated"
	EventUserActivated            = "user_activated"
	EventPasswordChanged          = "password_changed"
	EventUserDeleted              = "user_deleted"
	EventAPIKeyCreated            = "apikey_created"
	EventAPIKeyUpdated            = "apikey_updated"
	EventAPIKeyRevoked            = "apikey_revoked"
	EventAPIKeyReactivated        = "apikey_reactivated"
	EventAPIKeyDeleted            = "apikey_deleted"
	EventLogin                    = "login"
	EventLoginFailed              = "login_failed"
	EventLogout                   = "logout"
	EventMFAEnrolled              = "mfa_enrolled"
	EventMFARemoved               = "mfa_removed"
	EventMFAReset                 = "mfa_reset"
)

// EventTypes lists every event type.
var EventTypes = []string{
	EventTrustMarkTypeCreated, EventTrustMarkTypeDeactivated, EventTrustMarkTypeUpdated, EventTrustMarkTypeDeleted,
	EventTrustMarkIssued, EventTrustMarkRenewed, EventTrustMarkRevoked, EventTrustMarkUpdated, EventTrustMarkDeleted,
	EventRegistration, EventRevocation, EventSuspension, EventMetadataPolicyUpdate, EventMetadataUpdate, EventJWKSUpdate,
	EventServerEntitySigned, EventServerEntityDeleted,
	EventHistoricalKeyRetired, EventHistoricalKeysSigned, EventHistoricalKeysDeleted,
	EventUserCreated, EventUserUpdated, EventUserDeactivated, EventUserActivated, EventPasswordChanged, EventUserDeleted,
	EventAPIKeyCreated, EventAPIKeyUpdated, EventAPIKeyRevoked, EventAPIKeyReactivated, EventAPIKeyDeleted,
	EventLogin, EventLoginFailed, EventLogout, EventMFAEnrolled, EventMFARemoved, EventMFAReset,
}

// subordinateUpdateEvents are the subordinate update events, most significant
// first, each with the field whose change raises it.
var subordinateUpdateEvents = []struct{ event, field string }{
	{EventMetadataPolicyUpdate, "forced_metadata"},
	{EventMetadataUpdate, "metadata"},
	{EventJWKSUpdate, "jwks"},
}

// EventType derives the event type of a change, or "" when
// none applies. op is the API operation that made an update ("" when unknown).
func EventType(t resource.Type, action string, op resource.Operation, before, after, diff map[string]any) string {
	deactivated := before["active"] != false && after["active"] == false
	switch t {
	case resource.TypeTrustMarkType:
		switch action {
		case ActionCreate:
			return EventTrustMarkTypeCreated
		case ActionDelete:
			return EventTrustMarkTypeDeleted
		}
		if before["active"] == true && after["active"] == false {
			return EventTrustMarkTypeDeactivated
		}
		return EventTrustMarkTypeUpdated
	case resource.TypeTrustMark:
		switch {
		case action == ActionCreate:
			return EventTrustMarkIssued
		case action == ActionDelete:
			return EventTrustMarkDeleted
		case op == resource.OpRenew:
			return EventTrustMarkRenewed
		case deactivated:
			return EventTrustMarkRevoked
		}
		return EventTrustMarkUpdated
	case resource.TypeSubordinate:
		_, suspensionChanged := diff["suspended"]
		switch {
		case action == ActionCreate:
			return EventRegistration
		case action == ActionDelete:
			return EventRevocation
		case deactivated, after["active"] == false && suspensionChanged:
			// Deactivated, or (inactive) a suspension turned into a
			// revocation or the other way round.
			if after["suspended"] == true {
				return EventSuspension
			}
			return EventRevocation
		case before["active"] == false && after["active"] == true:
			return EventRegistration // re-activated
		}
		for _, e := range subordinateUpdateEvents {
			if _, changed := diff[e.field]; changed {
				return e.event
			}
		}
	case resource.TypeServerEntity:
		if action == ActionDelete {
			return EventServerEntityDeleted
		}
		return EventServerEntitySigned
	case resource.TypeHistoricalKeys:
		switch _, keysChanged := diff["keys"]; {
		case action == ActionDelete:
			return EventHistoricalKeysDeleted
		case action == ActionCreate, keysChanged:
			// The CLI's inmorctl signing retire adds a key; the API only
			// signs the keys already there.
			return EventHistoricalKeyRetired
		}
		return EventHistoricalKeysSigned
	}
	return ""
}
