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
	EventMetadataPolicyUpdate     = "metadata_policy_update"
	EventMetadataUpdate           = "metadata_update"
	EventJWKSUpdate               = "jwks_update"
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
)

// EventTypes lists every event type.
var EventTypes = []string{
	EventTrustMarkTypeCreated, EventTrustMarkTypeDeactivated, EventTrustMarkTypeUpdated, EventTrustMarkTypeDeleted,
	EventTrustMarkIssued, EventTrustMarkRenewed, EventTrustMarkRevoked, EventTrustMarkUpdated, EventTrustMarkDeleted,
	EventRegistration, EventRevocation, EventMetadataPolicyUpdate, EventMetadataUpdate, EventJWKSUpdate,
	EventUserCreated, EventUserUpdated, EventUserDeactivated, EventUserActivated, EventPasswordChanged, EventUserDeleted,
	EventAPIKeyCreated, EventAPIKeyUpdated, EventAPIKeyRevoked, EventAPIKeyReactivated, EventAPIKeyDeleted,
	EventLogin, EventLoginFailed, EventLogout,
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
		switch {
		case action == ActionCreate:
			return EventRegistration
		case action == ActionDelete, deactivated:
			return EventRevocation
		}
		for _, e := range subordinateUpdateEvents {
			if _, changed := diff[e.field]; changed {
				return e.event
			}
		}
	}
	return ""
}
