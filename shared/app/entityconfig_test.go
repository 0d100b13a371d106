package app_test

import (
	"testing"

	"github.com/inmor/inmor-serverless/shared/app"
)

// TestEntityConfigurationCheck: on unless ENTITY_CONFIGURATION_CHECK is
// off; anything else fails the cold start, naming the variable.
func TestEntityConfigurationCheck(t *testing.T) {
	for value, want := range map[string]bool{"": true, "on": true, "ON": true, "off": false, " Off ": false} {
		c := app.ConfigFromEnv(func(name string) string {
			if name == app.EnvEntityConfigurationCheck {
				return value
			}
			return ""
		})
		if got, err := c.CheckEntityConfigurations(); got != want || err != nil {
			t.Errorf("%q: %v %v, want %v", value, got, err, want)
		}
	}
	for _, value := range []string{"false", "0", "no"} {
		if _, err := (app.Config{EntityConfigurationCheck: value}).CheckEntityConfigurations(); err == nil {
			t.Errorf("%q accepted", value)
		}
	}
	if _, err := app.Build("subordinates", app.Deps{Config: app.Config{EntityConfigurationCheck: "maybe"}}); err == nil {
		t.Error("the subordinates function built with ENTITY_CONFIGURATION_CHECK=maybe")
	}
}
