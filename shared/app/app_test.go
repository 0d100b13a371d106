package app_test

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/inmor/inmor-serverless/shared/function"
	"github.com/inmor/inmor-serverless/shared/mfa"

	"github.com/inmor/inmor-serverless/shared/adminapi"
	"github.com/inmor/inmor-serverless/shared/app"
	_ "github.com/inmor/inmor-serverless/shared/app/all"
)

// TestRegistryAndRouteTable: the route table's functions are the
// registry's HTTP functions; each serves routes; every route has one.
func TestRegistryAndRouteTable(t *testing.T) {
	routed := 0
	for _, spec := range app.Specs() {
		n := len(adminapi.RoutesOf(spec.Name))
		routed += n
		if (spec.Kind == app.HTTP) != (n > 0) {
			t.Errorf("%s: kind %v with %d routes; HTTP functions, and only they, serve routes", spec.Name, spec.Kind, n)
		}
	}
	if routed != len(adminapi.Routes) {
		t.Errorf("the registry's functions serve %d routes of %d", routed, len(adminapi.Routes))
	}
	for _, r := range adminapi.Routes {
		if _, ok := app.SpecOf(r.Function); !ok {
			t.Errorf("route %s is served by %q, which the registry does not declare", r.Key(), r.Function)
		}
	}
}

// TestEveryFunctionIsBuiltAndHasABinary: shared/app/all registers a builder
// for every function of the registry, each builds its kind of handler, and
// each has its binary under functions/ that runs app.Main with its name and
// imports only its own builder.
func TestEveryFunctionIsBuiltAndHasABinary(t *testing.T) {
	config := app.ConfigFromEnv(func(string) string { return "" })
	config.MFAKey = make([]byte, mfa.MinKeySize)
	for _, spec := range app.Specs() {
		h, err := app.Build(spec.Name, app.Deps{Config: config})
		if err != nil {
			t.Errorf("%s: %v", spec.Name, err)
			continue
		}
		if (h.HTTP != nil) != (spec.Kind == app.HTTP) || (h.Stream != nil) != (spec.Kind == app.Stream) {
			t.Errorf("%s: built %+v for kind %v", spec.Name, h, spec.Kind)
		}
		main, err := os.ReadFile("../../functions/" + spec.Name + "/main.go")
		if err != nil {
			t.Errorf("%s has no binary: %v", spec.Name, err)
			continue
		}
		if !strings.Contains(string(main), `app.Main("`+spec.Name+`")`) ||
			strings.Count(string(main), `"github.com/inmor/inmor-serverless/shared/`) != 2 ||
			!strings.Contains(string(main), `"github.com/inmor/inmor-serverless/shared/app/`+spec.Name+`"`) {
			t.Errorf("functions/%s/main.go is not app.Main(%q) with its builder only:\n%s", spec.Name, spec.Name, main)
		}
	}
	if _, err := app.Build("nonexistent", app.Deps{}); err == nil {
		t.Error("building an unknown function gave no error")
	}
}

// TestRegisterRefusesMistakes: an undeclared name, a second registration
// and a signing function without a signer factory are programming errors.
func TestRegisterRefusesMistakes(t *testing.T) {
	build := func(app.Deps) (app.Handler, error) { return app.Handler{}, nil }
	for _, c := range []struct {
		name, want string
		register   func()
	}{
		{"undeclared", "not a declared function", func() { app.Register("nonexistent", build, nil) }},
		{"twice", "registered twice", func() { app.Register(function.Auth, build, nil) }},
		{"signs, no signer", "signer factory", func() { app.Register(function.TrustMarks, build, nil) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				if got := fmt.Sprint(recover()); !strings.Contains(got, c.want) {
					t.Errorf("panic %q, want one saying %q", got, c.want)
				}
			}()
			c.register()
		})
	}
}

// TestSecondFactorsNeedTheMFAKey: the functions that check second factors
// do not start without the MFA key (they would let a password alone pass).
func TestSecondFactorsNeedTheMFAKey(t *testing.T) {
	for _, name := range []string{function.Auth, function.AuditQuery} {
		_, err := app.Build(name, app.Deps{Config: app.ConfigFromEnv(func(string) string { return "" })})
		if err == nil || !strings.Contains(err.Error(), "MFA_KEY") {
			t.Errorf("%s without the MFA key: %v", name, err)
		}
	}
	short := func(name string) string {
		return map[string]string{app.EnvMFAKey: "too short"}[name]
	}
	if _, err := app.MFAKey.FromEnv(short); err == nil || !strings.Contains(err.Error(), "MFA_KEY: want at least 32 bytes") {
		t.Errorf("a short MFA_KEY: %v", err)
	}
}

// TestFunctionsLinkWhatTheyServe: only the auditquery function links the
// admin pages (their templates cost the others cold-start time), and only
// the functions that sign (statements and marks, or the audit log's
// checkpoints) link the KMS client, only the function that keeps copies
// of the checkpoints links S3, and only the auth function links go-webauthn
// (about 2.2 MB: the admin pages' function would pass the 12 MB bound
// with it).
func TestFunctionsLinkWhatTheyServe(t *testing.T) {
	for _, spec := range app.Specs() {
		out, err := exec.Command("go", "list", "-deps", "../../functions/"+spec.Name).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", spec.Name, err)
		}
		deps := strings.Fields(string(out))
		if got, want := slices.Contains(deps, "github.com/inmor/inmor-serverless/shared/adminui"), spec.Name == function.AuditQuery; got != want {
			t.Errorf("%s links the admin pages: %v, want %v", spec.Name, got, want)
		}
		if got, want := slices.Contains(deps, "github.com/aws/aws-sdk-go-v2/service/kms"), spec.Signs || spec.Checkpoints; got != want {
			t.Errorf("%s links the KMS client: %v, want %v", spec.Name, got, want)
		}
		if got, want := slices.Contains(deps, "github.com/aws/aws-sdk-go-v2/service/s3"), spec.Checkpoints; got != want {
			t.Errorf("%s links the S3 client: %v, want %v", spec.Name, got, want)
		}
		if got, want := slices.Contains(deps, "github.com/go-webauthn/webauthn/webauthn"), spec.Name == function.Auth; got != want {
			t.Errorf("%s links go-webauthn: %v, want %v", spec.Name, got, want)
		}
	}
}

// TestLayers: domain packages import no AWS package, and no storage or
// domain package imports a Lambda handler package, the transport or the
// composition root.
func TestLayers(t *testing.T) {
	const module = "github.com/inmor/inmor-serverless/shared/"
	handlers := []string{module + "auditstream", module + "adminapi", module + "adminui", module + "apigw", module + "app", "github.com/aws/aws-lambda-go/lambda"}
	for _, c := range []struct {
		pkg   string
		noAWS bool
	}{
		{"resource", true}, {"audit", true}, {"auth", true}, {"apperr", true}, {"memstore", true}, {"function", true}, {"fedevents", true}, {"integrity", true}, {"entityconfig", true},
		{"dynamo", false}, {"reconcile", false}, {"tables", false},
	} {
		out, err := exec.Command("go", "list", "-deps", "../"+c.pkg).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", c.pkg, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			if slices.Contains(handlers, dep) {
				t.Errorf("%s imports %s", c.pkg, dep)
			}
			if c.noAWS && strings.HasPrefix(dep, "github.com/aws/") {
				t.Errorf("domain package %s imports %s", c.pkg, dep)
			}
		}
	}
}
