package localstack_test

import (
	"net/http"
	"testing"

	"github.com/inmor/inmor-serverless/shared/app"
	"github.com/inmor/inmor-serverless/shared/entityconfig/entityconfigtest"
	"github.com/inmor/inmor-serverless/shared/jwk"
	"github.com/inmor/inmor-serverless/shared/localstack"
)

// TestEntityConfigurationCheckOnTheLocalStack: with
// ENTITY_CONFIGURATION_CHECK=on the subordinates function fetches the
// entity's configuration (an https server on loopback, reached with the
// guard's test allowance): a registration with keys that did not sign it
// is 400 with Inmor's message and audited as a failed attempt; one with
// the entity's keys is registered; fetch-config answers the configuration
// and leaves no entry.
func TestEntityConfigurationCheckOnTheLocalStack(t *testing.T) {
	e := entityconfigtest.Start(t, app.DefaultEntityID)
	s := startStack(t, func(o *localstack.Options) {
		getenv := o.Getenv
		o.Getenv = func(name string) string {
			if name == app.EnvEntityConfigurationCheck {
				return "on"
			}
			return getenv(name)
		}
		o.EntityConfigurations = e.Fetcher()
	})
	body := func(jwks map[string]any) string {
		return mustJSON(t, map[string]any{"entityid": e.ID, "metadata": map[string]any{}, "forced_metadata": map[string]any{}, "jwks": jwks})
	}
	loadSubKeys(t)
	otherKey, err := jwk.PublicJWK(&subKeys.ec.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	assertMessage(t, call(t, s, http.MethodPost, "/api/v1/subordinates", body(map[string]any{"keys": []any{otherKey}})), 400,
		"Entity configuration signature validation failed.")
	created(t, s, "/api/v1/subordinates", body(e.JWKS(t)))

	r := call(t, s, http.MethodPost, "/api/v1/subordinates/fetch-config", `{"url":"`+e.ID+`"}`)
	mustStatus(t, r, http.StatusOK)
	if got := r.JSON(t); got["jwks"] == nil || got["authority_hints"].([]any)[0] != app.DefaultEntityID {
		t.Errorf("fetch-config: %v", got)
	}

	log := settle(t, s)
	if log.Count != 2 {
		t.Fatalf("%d entries, want the failed registration and the registration: %v", log.Count, log.Items)
	}
	failed, registered := log.Items[1], log.Items[0] // newest first
	if failed["success"] != false || failed["response_code"] != 400.0 || failed["resource_type"] != "Subordinate" || failed["endpoint"] != "/api/v1/subordinates" {
		t.Errorf("failed attempt: %v", failed)
	}
	if registered["event_type"] != "registration" || registered["resource_repr"] != e.ID {
		t.Errorf("registration: %v", registered)
	}
}
