package localstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/inmor/inmor-serverless/shared/archive"

	"github.com/inmor/inmor-serverless/shared/integrity"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"

	"github.com/inmor/inmor-serverless/shared/adminapi"
	"github.com/inmor/inmor-serverless/shared/apigw"
	"github.com/inmor/inmor-serverless/shared/app"
	_ "github.com/inmor/inmor-serverless/shared/app/all" // every function's builder
	"github.com/inmor/inmor-serverless/shared/dynamo"
	"github.com/inmor/inmor-serverless/shared/motoserver"
	"github.com/inmor/inmor-serverless/shared/resource"
	"github.com/inmor/inmor-serverless/shared/signing"
	"github.com/inmor/inmor-serverless/shared/tables"
)

// Options configure a local stack.
type Options struct {
	// Host and Port of the API (Port 0 picks a free port).
	Host string
	Port int
	// Endpoint of an existing DynamoDB endpoint; when empty, a moto server
	// is started on DynamoDBPort.
	Endpoint     string
	DynamoDBPort int
	// Getenv reads configuration (table names, bootstrap secrets).
	Getenv func(string) string
	// Out receives what an operator must see (credentials, the ready line).
	Out io.Writer
	// Logger receives request and stream logs.
	Logger *slog.Logger
	// DynamoDBOptions are added to the API functions' DynamoDB client (tests
	// use them to count requests); the audit handler has a client of its own.
	DynamoDBOptions []func(*dynamodb.Options)
	// Audit wraps the audit handler (tests use it to inject faults).
	Audit func(StreamHandler) StreamHandler
	// PollInterval is the poller's pause when the stream is idle.
	PollInterval time.Duration
	// ManualPolling: the stack does not run its poller; the caller hands
	// the stream to the audit function with Poller.PollOnce (tests that
	// decide what a batch holds).
	ManualPolling bool
	// StateDir keeps the tables across restarts (see State): restored at
	// start, saved every StateInterval while there were changes, and at
	// Stop. Empty: the tables live as long as moto does.
	StateDir string
	// StateInterval is how often changes are saved; DefaultStateInterval
	// when zero.
	StateInterval time.Duration
	// EntityConfigurations, when set, checks subordinates' entity
	// configurations (with ENTITY_CONFIGURATION_CHECK=on) in place of the
	// strict fetcher: tests that serve an entity on loopback.
	EntityConfigurations resource.EntityConfigurations
}

// DefaultStateInterval bounds what a crash of the local stack loses.
const DefaultStateInterval = 10 * time.Second

// Stack is a running local stack.
type Stack struct {
	// URL of the API.
	URL string
	// Endpoint of DynamoDB (moto, or the one given).
	Endpoint string
	// APIKey is the dev key's plaintext.
	APIKey string
	// Client is the API functions' DynamoDB client; Config their configuration.
	Client *dynamodb.Client
	Config app.Config
	// Poller feeds the audit handler.
	Poller *Poller
	// Signer signs trust marks and subordinate statements.
	Signer *signing.Local
	// LogKey signs the audit log's checkpoints.
	LogKey integrity.KeyFile
	// Checkpoints keeps the checkpoints' copies in moto's S3, in a bucket
	// with Object Lock, as AWS does; nil when the endpoint serves no S3.
	Checkpoints *archive.S3

	moto    *motoserver.Server
	server  *http.Server
	gateway *Gateway
	cancel  context.CancelFunc
	done    chan struct{}
	// state keeps the tables across restarts; nil when not kept.
	state  *State
	logger *slog.Logger
	// saved is the count of changes (API writes and stream records
	// handled) at the last save; saverDone closes when the periodic saver
	// has stopped.
	saved     int64
	saverDone chan struct{}
}

// Start starts moto (unless an endpoint is given), creates the tables,
// bootstraps the dev credentials, and serves the API and the stream poller.
func Start(ctx context.Context, o Options) (s *Stack, err error) {
	if o.Host == "" {
		o.Host = "127.0.0.1"
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	s = &Stack{done: make(chan struct{})}
	defer func() {
		if err != nil {
			s.moto.Stop()
		}
	}()
	endpoint := o.Endpoint
	if endpoint == "" {
		if s.moto, err = motoserver.Start(ctx, o.Host, o.DynamoDBPort, o.Out); err != nil {
			return nil, err
		}
		endpoint = s.moto.Endpoint
	}
	s.Endpoint = endpoint
	cfg := dynamo.LocalConfig(endpoint)
	s.Config = app.ConfigFromEnv(o.Getenv)
	s.Config.SessionCookieSecure = false // the local stack serves plain HTTP
	if o.Getenv(app.EnvEntityConfigurationCheck) == "" {
		// Entity ids made up locally (https://rp.example.org) do not
		// resolve: subordinates' entity configurations are not fetched
		// unless ENTITY_CONFIGURATION_CHECK=on asks for it.
		s.Config.EntityConfigurationCheck = "off"
	}
	if s.Config.AttributionKey, err = localKey(app.AttributionKey, DefaultAttributionKeyFile, o.Getenv, o.Out); err != nil {
		return nil, err
	}
	if s.Config.MFAKey, err = localKey(app.MFAKey, DefaultMFAKeyFile, o.Getenv, o.Out); err != nil {
		return nil, err
	}
	s.Client = dynamo.NewClient(cfg, o.DynamoDBOptions...)
	if err = dynamo.CreateTables(ctx, dynamo.NewClient(cfg), o.Getenv); err != nil {
		return nil, err
	}
	restored := 0
	if o.StateDir != "" {
		s.state = &State{Dir: o.StateDir, Client: dynamo.NewClient(cfg)}
		for _, t := range tables.All() {
			s.state.Tables = append(s.state.Tables, t.Name(o.Getenv))
		}
		if restored, err = s.state.Restore(ctx); err != nil {
			return nil, err
		}
		if restored > 0 {
			fmt.Fprintf(o.Out, "restored %d items from %s (make run FRESH=1 starts empty)\n", restored, o.StateDir)
		}
	}
	if s.APIKey, err = Bootstrap(ctx, &dynamo.Auth{Client: s.Client, Table: s.Config.AuthTable}, o.Getenv, o.Out); err != nil {
		return nil, err
	}
	table, err := s.Client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(s.Config.ResourcesTable)})
	if err != nil {
		return nil, fmt.Errorf("describe %s: %w", s.Config.ResourcesTable, err)
	}
	s.Config.StreamARN = aws.ToString(table.Table.LatestStreamArn)
	authTable, err := s.Client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(s.Config.AuthTable)})
	if err != nil {
		return nil, fmt.Errorf("describe %s: %w", s.Config.AuthTable, err)
	}
	s.Config.AuthStreamARN = aws.ToString(authTable.Table.LatestStreamArn)
	signer, err := localSigner(o.Getenv, o.Out)
	if err != nil {
		return nil, err
	}
	s.Signer = signer
	logKey, err := localLogKey(o.Getenv, o.Out)
	if err != nil {
		return nil, err
	}
	s.LogKey = logKey
	if s.Checkpoints, err = checkpointBucket(ctx, cfg, o.Getenv); err != nil {
		// An endpoint of one's own (DynamoDB Local) may serve no S3: the
		// checkpoints are then kept in the audit table only.
		fmt.Fprintf(o.Out, "no copies of the audit log's checkpoints: %v\n", err)
		s.Checkpoints = nil
	}
	// Every function of the registry, built as Lambda builds it: the API
	// functions share one client (tests add their options to it); the
	// stream function has a client of its own.
	gateway := &Gateway{Routes: adminapi.Routes, Functions: map[string]HTTPFunction{}, Logger: o.Logger}
	s.gateway, s.logger = gateway, o.Logger
	var audit StreamHandler
	for _, spec := range app.Specs() {
		d := app.Deps{Client: s.Client, Config: s.Config, Logger: o.Logger.With("function", spec.Name), EntityConfigurations: o.EntityConfigurations}
		if spec.Signs {
			d.Signer = signer
		}
		if spec.Checkpoints {
			d.LogSigner = logKey.Signer
			if s.Checkpoints != nil {
				d.CheckpointArchive = s.Checkpoints
			}
		}
		if spec.Kind == app.Stream {
			d.Client = dynamo.NewClient(cfg)
		}
		h, err := app.Build(spec.Name, d)
		if err != nil {
			return nil, err
		}
		if spec.Kind == app.HTTP {
			gateway.Functions[spec.Name] = apigw.Handler(h.HTTP)
		} else {
			audit = h.Stream
		}
	}
	if o.Audit != nil {
		audit = o.Audit(audit)
	}
	s.Poller = &Poller{
		Streams:        dynamodbstreams.NewFromConfig(cfg),
		StreamARN:      s.Config.StreamARN,
		MoreStreamARNs: []string{s.Config.AuthStreamARN},
		Handler:        audit,
		Interval:       o.PollInterval,
		Logger:         o.Logger,
	}
	// The auth table's stream is read from after the bootstrap: the dev
	// credentials every start makes sure of are not audited (a test's log
	// holds only what it did).
	if err = s.Poller.skipRecords(ctx, s.Config.AuthStreamARN); err != nil {
		return nil, fmt.Errorf("auth stream: %w", err)
	}
	if restored > 0 {
		// The restored items' stream records: their changes are in the
		// restored audit log already.
		if err := s.Poller.SkipToEnd(ctx); err != nil {
			return nil, err
		}
	}
	listener, err := net.Listen("tcp", net.JoinHostPort(o.Host, strconv.Itoa(o.Port)))
	if err != nil {
		return nil, err
	}
	s.URL = "http://" + listener.Addr().String()
	s.server = &http.Server{Handler: gateway, ReadHeaderTimeout: 10 * time.Second}
	runCtx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go func() {
		defer close(s.done)
		if !o.ManualPolling {
			_ = s.Poller.Run(runCtx)
		}
	}()
	if s.state != nil {
		interval := o.StateInterval
		if interval <= 0 {
			interval = DefaultStateInterval
		}
		s.saverDone = make(chan struct{})
		go s.saveEvery(runCtx, interval)
	}
	go func() {
		if err := s.server.Serve(listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			o.Logger.Error("server failed", "error", err.Error())
		}
	}()
	return s, nil
}

// DefaultSigningKeyFile is where the local stack keeps its signing key when
// SIGNING_KEY_FILE is unset (git-ignored).
const DefaultSigningKeyFile = ".local/signing-key.json"

// localSigner loads the local signing key, generating it on first start.
func localSigner(getenv func(string) string, out io.Writer) (*signing.Local, error) {
	path := getenv(signing.EnvKeyFile)
	if path == "" {
		path = DefaultSigningKeyFile
	}
	signer, err := signing.LoadLocalFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if signer, err = signing.GenerateLocalFile(path); err == nil {
			fmt.Fprintf(out, "signing key generated: %s (kid %s)\n", path, signer.KeyID())
		}
	}
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", path, err)
	}
	return signer, nil
}

// DefaultCheckpointBucket is the local stack's bucket of checkpoint copies
// when AUDIT_CHECKPOINT_BUCKET is unset.
const DefaultCheckpointBucket = "inmor-audit-checkpoints"

// checkpointBucket makes the bucket of checkpoint copies (Object Lock in
// compliance mode for a day: the local stack's data is not kept for long)
// unless it exists.
func checkpointBucket(ctx context.Context, cfg aws.Config, getenv func(string) string) (*archive.S3, error) {
	bucket := getenv(archive.EnvBucket)
	if bucket == "" {
		bucket = DefaultCheckpointBucket
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	_, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket), ObjectLockEnabledForBucket: aws.Bool(true)})
	var owned *s3types.BucketAlreadyOwnedByYou
	if err != nil && !errors.As(err, &owned) {
		return nil, fmt.Errorf("create the checkpoint bucket %s: %w", bucket, err)
	}
	_, err = client.PutObjectLockConfiguration(ctx, &s3.PutObjectLockConfigurationInput{
		Bucket: aws.String(bucket),
		ObjectLockConfiguration: &s3types.ObjectLockConfiguration{
			ObjectLockEnabled: s3types.ObjectLockEnabledEnabled,
			Rule: &s3types.ObjectLockRule{DefaultRetention: &s3types.DefaultRetention{
				Mode: s3types.ObjectLockRetentionModeCompliance, Days: aws.Int32(1),
			}},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("lock the checkpoint bucket %s: %w", bucket, err)
	}
	return &archive.S3{Client: client, Bucket: bucket}, nil
}

// Where the local stack keeps its keys when their file variables are
// unset (git-ignored): the attribution key (ATTRIBUTION_KEY_FILE) and the
// MFA key (MFA_KEY_FILE).
const (
	DefaultAttributionKeyFile = ".local/attribution-key"
	DefaultMFAKeyFile         = ".local/mfa-key"
)

// localKey loads one of the functions' keys from its file, generating it
// on first start.
func localKey(k app.SecretKey, defaultFile string, getenv func(string) string, out io.Writer) ([]byte, error) {
	path := getenv(k.FileEnv)
	if path == "" {
		path = defaultFile
	}
	key, generated, err := k.LoadOrGenerate(path)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", k.Name, path, err)
	}
	if generated {
		fmt.Fprintf(out, "%s generated: %s\n", k.Name, path)
	}
	return key, nil
}

// localLogKey loads the audit log's key, generating it on first start.
func localLogKey(getenv func(string) string, out io.Writer) (integrity.KeyFile, error) {
	path := getenv(integrity.EnvKeyFile)
	if path == "" {
		path = integrity.DefaultKeyFile
	}
	k, generated, err := integrity.LoadOrGenerateKeyFile(path, integrity.DefaultOrigin)
	if err != nil {
		return k, fmt.Errorf("audit log key %s: %w", path, err)
	}
	if generated {
		fmt.Fprintf(out, "audit log key generated: %s (verifier key %s)\n", path, k.VerifierKey)
	}
	return k, nil
}

// Moto is the moto server the stack started, nil when it was given an
// endpoint.
func (s *Stack) Moto() *motoserver.Server { return s.moto }

// Stop stops the server and the poller, hands the stream's last records to
// the audit function, saves the tables when they are kept, and stops moto
// (if it started it).
func (s *Stack) Stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.server.Shutdown(ctx)
	s.cancel()
	<-s.done
	if s.state != nil {
		<-s.saverDone
		saveCtx, cancelSave := context.WithTimeout(context.Background(), time.Minute)
		if err := s.drainAndSave(saveCtx); err != nil {
			s.logger.Error("save the local tables", "dir", s.state.Dir, "error", err.Error())
		}
		cancelSave()
	}
	s.moto.Stop()
}

// changes counts what may have changed the tables: API writes and stream
// records handled (inmorctl writes show there).
func (s *Stack) changes() int64 { return s.gateway.Writes() + s.Poller.Handled() }

// drainAndSave hands the stream's pending records to the audit function,
// then saves the tables, so that the saved audit log covers the saved
// resources.
func (s *Stack) drainAndSave(ctx context.Context) error {
	for range 100 {
		n, err := s.Poller.PollOnce(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			break
		}
	}
	changes := s.changes()
	if err := s.state.Save(ctx); err != nil {
		return err
	}
	s.saved = changes
	return nil
}

// saveEvery saves the tables every interval while there were changes, so
// that a crash loses at most an interval's work.
func (s *Stack) saveEvery(ctx context.Context, interval time.Duration) {
	defer close(s.saverDone)
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		if s.changes() == s.saved {
			continue
		}
		if err := s.drainAndSave(ctx); err != nil && ctx.Err() == nil {
			s.logger.Error("save the local tables", "dir", s.state.Dir, "error", err.Error())
		}
	}
}
