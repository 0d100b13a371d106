package app_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/inmor/inmor-serverless/shared/app"
)

// env is a getenv of the given variables.
func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// TestServerConfig: the entity configuration's settings are read from the
// environment, and a malformed one is an error naming its variable (the
// function then fails its cold start instead of signing something else).
func TestServerConfig(t *testing.T) {
	c, err := app.ConfigFromEnv(env(map[string]string{
		"TA_ENTITY_ID": "https://ta.example", "TA_AUTHORITY_HINTS": " https://a.example , https://b.example ",
		"TA_TRUST_MARKS":         `[{"trust_mark_type":"https://tm.example/self","trust_mark":"eyJ.x.y","n":1}]`,
		"TA_TRUST_MARK_ISSUERS":  `{"https://tm.example/open":[],"https://tm.example/x":["https://issuer.example"]}`,
		"TA_SERVER_EXPIRY_HOURS": "48",
	})).ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	marks, _ := json.Marshal(c.TrustMarks)
	if c.EntityID != "https://ta.example" || c.TrustMarkIssuer != "https://ta.example" ||
		strings.Join(c.AuthorityHints, " ") != "https://a.example https://b.example" ||
		string(marks) != `[{"n":1,"trust_mark":"eyJ.x.y","trust_mark_type":"https://tm.example/self"}]` ||
		c.TrustMarkIssuers["https://tm.example/open"] == nil || len(c.TrustMarkIssuers["https://tm.example/open"]) != 0 ||
		c.TrustMarkIssuers["https://tm.example/x"][0] != "https://issuer.example" || c.Expiry != 48*time.Hour {
		t.Errorf("config %+v", c)
	}
	if c, err := app.ConfigFromEnv(env(nil)).ServerConfig(); err != nil || c.Expiry != 8760*time.Hour || c.AuthorityHints != nil || c.TrustMarks != nil {
		t.Errorf("defaults: %+v %v", c, err)
	}
	for variable, value := range map[string]string{
		"TA_AUTHORITY_HINTS":     "https://a.example,not a url",
		"TA_TRUST_MARKS":         `{"not":"an array"}`,
		"TA_TRUST_MARK_ISSUERS":  `["not an object"]`,
		"TA_SERVER_EXPIRY_HOURS": "0",
	} {
		if _, err := app.ConfigFromEnv(env(map[string]string{variable: value})).ServerConfig(); err == nil || !strings.Contains(err.Error(), variable) {
			t.Errorf("%s=%q: %v, want an error naming the variable", variable, value, err)
		}
	}
	if _, err := app.ConfigFromEnv(env(map[string]string{"TA_SERVER_EXPIRY_HOURS": "87601"})).ServerConfig(); err == nil {
		t.Error("an expiry over ten years is accepted")
	}
}

// TestEventsTTL: the Subordinate Events statements' lifetime, 24 h by
// default, 1 to 168 hours, else an error naming the variable.
func TestEventsTTL(t *testing.T) {
	if ttl, err := app.ConfigFromEnv(env(nil)).EventsTTL(); err != nil || ttl != 24*time.Hour {
		t.Errorf("default: %v %v", ttl, err)
	}
	if ttl, err := app.ConfigFromEnv(env(map[string]string{"SUBORDINATE_EVENTS_TTL_HOURS": "2"})).EventsTTL(); err != nil || ttl != 2*time.Hour {
		t.Errorf("2 hours: %v %v", ttl, err)
	}
	for _, bad := range []string{"0", "169", "a day"} {
		if _, err := app.ConfigFromEnv(env(map[string]string{"SUBORDINATE_EVENTS_TTL_HOURS": bad})).EventsTTL(); err == nil || !strings.Contains(err.Error(), "SUBORDINATE_EVENTS_TTL_HOURS") {
			t.Errorf("%q: %v, want an error naming the variable", bad, err)
		}
	}
}
