// Package app is the composition root: the registry of the system's Lambda
// functions (name → what it is and how to build it) and the Main that runs
// one of them. The function binaries, the local stack, the CDK app and the
// route table's checks all iterate this one registry.
//
// The registry's list of functions (Specs) is declared here; each
// function's builder lives in a package of its own under shared/app
// (shared/app/trustmarks, ...) that registers it when imported, so a
// function's binary links only what that function serves: its main imports
// its builder package and calls Main with its name. shared/app/all imports
// every builder, for the local stack and the tests.
package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"sync"

	"golang.org/x/mod/sumdb/note"

	"github.com/inmor/inmor-serverless/shared/function"
	"github.com/inmor/inmor-serverless/shared/integrity"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/inmor/inmor-serverless/shared/apigw"
	"github.com/inmor/inmor-serverless/shared/dynamo"
	"github.com/inmor/inmor-serverless/shared/logging"
	"github.com/inmor/inmor-serverless/shared/resource"
)

// Kind says how a function is invoked.
type Kind int

// Kinds of functions.
const (
	// HTTP functions serve routes of the HTTP API (payload 2.0 events).
	HTTP Kind = iota + 1
	// Stream functions consume the resources table's stream.
	Stream
)

// Spec is what the system declares about a function, before it is built.
type Spec struct {
	// Name is the function's name: its folder under functions/ and build/,
	// and the Function of its routes in the route table.
	Name string
	Kind Kind
	// Signs: the function signs with the trust anchor's key, so it is
	// given a Signer (AWS KMS, or a key file).
	Signs bool
	// Checkpoints: the function signs the audit log's checkpoints with the
	// log's own key, so it is given a LogSigner.
	Checkpoints bool
}

// specs is the set of functions, declared once.
var specs = []Spec{
	{Name: function.TrustMarkTypes, Kind: HTTP},
	{Name: function.TrustMarks, Kind: HTTP, Signs: true},
	{Name: function.Subordinates, Kind: HTTP, Signs: true},
	{Name: function.AuditQuery, Kind: HTTP},
	{Name: function.Auth, Kind: HTTP},
	{Name: function.Federation, Kind: HTTP, Signs: true},
	{Name: function.Audit, Kind: Stream, Checkpoints: true},
}

// Specs returns every function of the system, in a stable order.
func Specs() []Spec { return slices.Clone(specs) }

// SpecOf returns the spec of the named function.
func SpecOf(name string) (Spec, bool) {
	for _, s := range specs {
		if s.Name == name {
			return s, true
		}
	}
	return Spec{}, false
}

// Deps are what a builder gets to build a function's handler.
type Deps struct {
	// Client is the function's DynamoDB client.
	Client *dynamodb.Client
	Config Config
	// Signer signs with the trust anchor's key (functions whose Spec Signs).
	Signer resource.PublishingSigner
	// LogSigner signs the audit log's checkpoints (functions whose Spec
	// Checkpoints); none are made when it is nil.
	LogSigner note.Signer
	// CheckpointArchive keeps a copy of each checkpoint (S3 with Object
	// Lock); none when nil.
	CheckpointArchive integrity.Archive
	// Logger receives the function's own logs (the default logger too).
	Logger *slog.Logger
	// Metrics, when set, receives Embedded Metric Format lines (in Lambda:
	// standard output).
	Metrics io.Writer
	// EntityConfigurations, when set, checks subordinates' entity
	// configurations in place of the strict fetcher, if the check is on
	// (the local stack's tests reach an entity on loopback); Main never
	// sets it.
	EntityConfigurations resource.EntityConfigurations
}

// Handler is a built function: HTTP for HTTP functions, Stream (a Lambda
// handler of the raw event) for stream functions.
type Handler struct {
	HTTP   http.Handler
	Stream lambda.Handler
}

// Builder builds a function's handler.
type Builder func(Deps) (Handler, error)

// SignerFactory makes the trust anchor's signer in AWS (a KMS key, or a key
// file) from the function's AWS configuration and environment.
type SignerFactory func(ctx context.Context, cfg aws.Config, getenv func(string) string) (resource.PublishingSigner, error)

// Checkpoints are what makes the audit log's checkpoints: their signer (a
// KMS key, or a key file) and the archive of their copies; each nil when
// not configured.
type Checkpoints struct {
	Signer  note.Signer
	Archive integrity.Archive
}

// CheckpointsFactory makes a function's Checkpoints from its AWS
// configuration and environment.
type CheckpointsFactory func(ctx context.Context, cfg aws.Config, getenv func(string) string) (Checkpoints, error)

type registration struct {
	build          Builder
	newSigner      SignerFactory
	newCheckpoints CheckpointsFactory
}

var (
	mu       sync.Mutex
	builders = map[string]registration{}
)

// Register registers the builder of a declared function (a builder
// package calls it from init); newSigner is required for a function that
// signs, nil otherwise. It panics on an undeclared name, a second
// registration or a missing signer factory: programming errors.
func Register(name string, build Builder, newSigner SignerFactory) {
	mu.Lock()
	defer mu.Unlock()
	spec, ok := SpecOf(name)
	switch {
	case !ok:
		panic(fmt.Sprintf("app: %q is not a declared function", name))
	case spec.Signs != (newSigner != nil):
		panic(fmt.Sprintf("app: %q: a signer factory is needed exactly when the function signs", name))
	case builders[name].build != nil:
		panic(fmt.Sprintf("app: %q registered twice", name))
	}
	builders[name] = registration{build: build, newSigner: newSigner}
}

// RegisterCheckpoints registers the checkpoints factory of a declared
// function whose Spec Checkpoints, after its builder (a builder package
// calls it from init). It panics on any other function: a programming
// error.
func RegisterCheckpoints(name string, newCheckpoints CheckpointsFactory) {
	mu.Lock()
	defer mu.Unlock()
	spec, _ := SpecOf(name)
	r, ok := builders[name]
	if !ok || !spec.Checkpoints || r.newCheckpoints != nil {
		panic(fmt.Sprintf("app: %q: a checkpoints factory goes with a registered function that makes checkpoints, once", name))
	}
	r.newCheckpoints = newCheckpoints
	builders[name] = r
}

// registered returns the registration of a function's builder.
func registered(name string) (registration, error) {
	mu.Lock()
	defer mu.Unlock()
	r, ok := builders[name]
	if !ok {
		return registration{}, fmt.Errorf("app: no builder registered for %q (import its package under shared/app)", name)
	}
	return r, nil
}

// Build builds a registered function's handler.
func Build(name string, d Deps) (Handler, error) {
	r, err := registered(name)
	if err != nil {
		return Handler{}, err
	}
	h, err := r.build(d)
	if err != nil {
		return Handler{}, fmt.Errorf("build %s: %w", name, err)
	}
	return h, nil
}

// Main runs the named function in Lambda: JSON logs on standard output,
// its configuration from the environment, its signer when it signs, then
// lambda.Start. It exits 1 when the function cannot be built.
func Main(name string) {
	logger := logging.New(os.Stdout, name)
	slog.SetDefault(logger)
	if err := start(context.Background(), name, os.Getenv, logger); err != nil {
		logger.Error("start the function", "error", err.Error())
		os.Exit(1)
	}
}

func start(ctx context.Context, name string, getenv func(string) string, logger *slog.Logger) error {
	spec, ok := SpecOf(name)
	if !ok {
		return fmt.Errorf("app: %q is not a declared function", name)
	}
	cfg := dynamo.LambdaConfig(getenv)
	d := Deps{Client: dynamo.NewClient(cfg), Config: ConfigFromEnv(getenv), Logger: logger, Metrics: os.Stdout}
	key, err := AttributionKey.FromEnv(getenv)
	if err != nil {
		return fmt.Errorf("configure the attribution key: %w", err)
	}
	if d.Config.AttributionKey = key; key == nil {
		logger.Warn("no attribution key: writes are not signed, and the audit log records every change as out-of-band", "env", EnvAttributionKeyFile)
	}
	if d.Config.MFAKey, err = MFAKey.FromEnv(getenv); err != nil {
		return fmt.Errorf("configure the MFA key: %w", err)
	}
	if spec.Signs {
		r, err := registered(name)
		if err != nil {
			return err
		}
		signer, err := r.newSigner(ctx, cfg, getenv)
		if err != nil {
			return fmt.Errorf("configure signing: %w", err)
		}
		d.Signer = signer
	}
	if spec.Checkpoints {
		r, err := registered(name)
		if err != nil {
			return err
		}
		if r.newCheckpoints != nil {
			c, err := r.newCheckpoints(ctx, cfg, getenv)
			if err != nil {
				return fmt.Errorf("configure the audit log's checkpoints: %w", err)
			}
			d.LogSigner, d.CheckpointArchive = c.Signer, c.Archive
		}
		if d.LogSigner == nil {
			logger.Warn("no audit log key: checkpoints are not signed")
		}
	}
	h, err := Build(name, d)
	if err != nil {
		return err
	}
	if spec.Kind == HTTP {
		lambda.Start(apigw.Handler(h.HTTP))
	} else {
		lambda.Start(h.Stream)
	}
	return nil
}
