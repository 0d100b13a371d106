package audit

import (
	"encoding/json"
	"testing"

	"github.com/inmor/inmor-serverless/shared/auth"
)

// TestVisibility: superusers see every tenant, others only their own (the
// default tenant when none); an entry without a tenant (out-of-band) is
// visible to superusers only.
func TestVisibility(t *testing.T) {
	tenants := map[string]auth.Principal{
		"":        {IsSuperuser: true, Tenant: "acme"},
		"acme":    {IsStaff: true, Tenant: "acme"},
		"default": {IsStaff: true},
	}
	for want, p := range tenants {
		if got := VisibleTenant(p); got != want {
			t.Errorf("VisibleTenant(%+v) = %q, want %q", p, got, want)
		}
	}
	entry := func(tenant string) json.RawMessage {
		if tenant == "" {
			return json.RawMessage(`{"id": 1, "tenant": null}`)
		}
		return json.RawMessage(`{"id": 1, "tenant": "` + tenant + `"}`)
	}
	for _, c := range []struct {
		entry, visible string
		want           bool
	}{
		{"acme", "", true}, {"", "", true}, {"acme", "acme", true},
		{"other", "acme", false}, {"", "acme", false},
	} {
		if got := EntryVisible(entry(c.entry), c.visible); got != c.want {
			t.Errorf("EntryVisible(tenant %q, visible %q) = %v, want %v", c.entry, c.visible, got, c.want)
		}
	}
	if EntryVisible(json.RawMessage(`not json`), "acme") {
		t.Error("an unreadable entry is visible")
	}
}
