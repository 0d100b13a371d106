package audit

import (
	"encoding/json"

	"github.com/inmor/inmor-serverless/shared/auth"
)

// VisibleTenant is the tenant of the audit log a principal may see: ""
// (every tenant) for superusers, else the tenant they authenticated with,
// never "".
func VisibleTenant(p auth.Principal) string {
	switch {
	case p.IsSuperuser:
		return ""
	case p.Tenant == "":
		return auth.DefaultTenant
	}
	return p.Tenant
}

// EntryVisible reports whether an entry, as Reader.Get returns it, is one a
// caller who may see the tenant visible (VisibleTenant) sees.
func EntryVisible(entry json.RawMessage, visible string) bool {
	if visible == "" {
		return true
	}
	var owner struct {
		Tenant *string `json:"tenant"`
	}
	return json.Unmarshal(entry, &owner) == nil && owner.Tenant != nil && *owner.Tenant == visible
}
