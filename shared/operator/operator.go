// Package operator holds the operator commands of inmorctl, mirroring Inmor's
// management commands: create and list users, and create, list and revoke
// their API keys, straight against the auth table.
package operator

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/inmor/inmor-serverless/shared/app"
	"github.com/inmor/inmor-serverless/shared/audit"
	"github.com/inmor/inmor-serverless/shared/auth"
	"github.com/inmor/inmor-serverless/shared/dynamo"
	"github.com/inmor/inmor-serverless/shared/resource"
	"github.com/inmor/inmor-serverless/shared/tables"
)

// Exit codes of Run.
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitUsage   = 2
)

// Store is what the commands need of the auth table; *dynamo.Auth has it.
type Store interface {
	CreateUser(ctx context.Context, u auth.User) (auth.User, error)
	UserByUsername(ctx context.Context, username string) (auth.User, error)
	Users(ctx context.Context) ([]auth.User, error)
	CreateAPIKey(ctx context.Context, k auth.APIKey) error
	APIKeys(ctx context.Context, username string) ([]auth.APIKey, error)
	DeactivateAPIKey(ctx context.Context, hash string) (wasActive bool, err error)
	// SetPassword stores a user's new password hash (NotFound: no user).
	SetPassword(ctx context.Context, username, hash string) error
	// SetUserFlags sets is_staff and is_superuser (nil: as they are); false
	// when there is no such user.
	SetUserFlags(ctx context.Context, username string, staff, superuser *bool) (exists bool, err error)
	// DeactivateUser deactivates a user; false when not active or absent.
	DeactivateUser(ctx context.Context, username string) (wasActive bool, err error)
}

// Env is everything Run takes from its process.
type Env struct {
	// Getenv reads the environment (INMOR_PASSWORD, AUTH_TABLE); os.Getenv when nil.
	Getenv func(string) string
	// Stdin is where `user create` reads the password when INMOR_PASSWORD is unset.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Store opens the auth table; when nil, the standard AWS SDK configuration
	// and the table named by AUTH_TABLE (as the functions find it). It is called
	// only by commands that need it, so usage errors need no AWS configuration.
	Store func(ctx context.Context) (Store, error)
	// DynamoDB returns the client of the audit commands; when nil, one from
	// the standard AWS SDK configuration.
	DynamoDB func(ctx context.Context) (*dynamodb.Client, error)
}

// Run runs the inmorctl command line args (without the program name) and
// returns the process exit code: ExitOK, ExitFailure or ExitUsage.
func Run(ctx context.Context, args []string, env Env) int {
	c := newCLI(env)
	return c.exitCode(c.dispatch(ctx, args))
}

// cli is one invocation: its environment with the defaults filled in.
type cli struct {
	getenv         func(string) string
	stdin          io.Reader
	stdout, stderr io.Writer
	openStore      func(ctx context.Context) (Store, error)
	openDynamoDB   func(ctx context.Context) (*dynamodb.Client, error)
	// command is the command being run ("user create"), which the audit
	// log shows as the endpoint of its writes.
	command string
}

func newCLI(env Env) *cli {
	c := &cli{getenv: env.Getenv, stdin: env.Stdin, stdout: env.Stdout, stderr: env.Stderr, openStore: env.Store, openDynamoDB: env.DynamoDB}
	if c.getenv == nil {
		c.getenv = os.Getenv
	}
	if c.stdin == nil {
		c.stdin = strings.NewReader("")
	}
	if c.stdout == nil {
		c.stdout = io.Discard
	}
	if c.stderr == nil {
		c.stderr = io.Discard
	}
	if c.openStore == nil {
		c.openStore = c.dynamoStore
	}
	if c.openDynamoDB == nil {
		c.openDynamoDB = func(ctx context.Context) (*dynamodb.Client, error) {
			cfg, err := loadAWSConfig(ctx, c.getenv)
			if err != nil {
				return nil, fmt.Errorf("load AWS configuration: %w", err)
			}
			return dynamo.NewClient(cfg), nil
		}
	}
	return c
}

// loadAWSConfig is the SDK's standard configuration. Against an endpoint of
// one's own (AWS_ENDPOINT_URL or AWS_ENDPOINT_URL_DYNAMODB, the local stack)
// it keeps no connection alive, as the local stack's clients do: the local
// server closes each one, and a retry on a closed connection may repeat a
// write that was applied.
func loadAWSConfig(ctx context.Context, getenv func(string) string) (aws.Config, error) {
	var opts []func(*config.LoadOptions) error
	if localEndpoint(getenv) {
		opts = append(opts, config.WithHTTPClient(dynamo.LocalHTTPClient()))
	}
	return config.LoadDefaultConfig(ctx, opts...)
}

// dynamoStore opens the auth table the way the functions do (its client
// is the audit commands'). Its user and
// key writes are attributed to the operator (see operatorAttribution),
// signed with the attribution key the functions read (ATTRIBUTION_KEY,
// ATTRIBUTION_KEY_FILE); without one they are recorded out-of-band.
func (c *cli) dynamoStore(ctx context.Context) (Store, error) {
	client, err := c.openDynamoDB(ctx)
	if err != nil {
		return nil, err
	}
	key, err := app.AttributionKey.FromEnv(c.getenv)
	if err != nil {
		return nil, fmt.Errorf("attribution key: %w", err)
	}
	operator, err := c.operatorAttribution(ctx)
	if err != nil {
		return nil, err
	}
	if key == nil {
		fmt.Fprintf(c.stderr, "inmorctl: no attribution key (%s or %s): changes are recorded as out-of-band\n", app.EnvAttributionKey, app.EnvAttributionKeyFile)
	}
	return &dynamo.Auth{Client: client, Table: tables.Auth.Name(c.getenv), AttributionKey: key, Operator: operator}, nil
}

// operatorAttribution is who the audit log names for this command's
// writes: auth method cli, the AWS caller identity's ARN (STS
// GetCallerIdentity; audit.LocalOperator against a local endpoint), the
// command as the endpoint.
func (c *cli) operatorAttribution(ctx context.Context) (*resource.Attribution, error) {
	who := audit.LocalOperator
	if !localEndpoint(c.getenv) {
		cfg, err := loadAWSConfig(ctx, c.getenv)
		if err != nil {
			return nil, fmt.Errorf("load AWS configuration: %w", err)
		}
		out, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			return nil, fmt.Errorf("identify the operator (sts:GetCallerIdentity): %w", err)
		}
		who = aws.ToString(out.Arn)
	}
	return &resource.Attribution{Username: who, AuthMethod: audit.AuthCLI, UserAgent: "inmorctl", Path: "inmorctl " + c.command}, nil
}

// localEndpoint reports whether the AWS endpoint is one's own
// (AWS_ENDPOINT_URL or AWS_ENDPOINT_URL_DYNAMODB, the local stack).
func localEndpoint(getenv func(string) string) bool {
	return getenv("AWS_ENDPOINT_URL") != "" || getenv("AWS_ENDPOINT_URL_DYNAMODB") != ""
}

func (c *cli) store(ctx context.Context) (Store, error) {
	s, err := c.openStore(ctx)
	if err != nil {
		return nil, fmt.Errorf("open the auth table: %w", err)
	}
	return s, nil
}

// command is one subcommand: `inmorctl <group> <name> <flags>`.
type command struct {
	group, name string
	// synopsis is the command line, as in the usage text.
	synopsis string
	// help is the indented description under the synopsis.
	help string
	run  func(c *cli, ctx context.Context, args []string) error
}

// commands lists every command, in the order of the usage text. (A function,
// not a variable: the commands' flag sets read it for their synopses.)
func commands() []command {
	return append([]command{
		{"user", "create", "user create --username U [--email E] [--superuser] [--staff]",
			"Create an active user (--superuser implies --staff). The password is\n" +
				"$INMOR_PASSWORD, or else the first line of standard input (never a terminal).",
			(*cli).userCreate},
		{"user", "list", "user list",
			"List every user.",
			(*cli).userList},
		{"user", "set-password", "user set-password --username U",
			"Set a user's password: $INMOR_PASSWORD, or else the first line of standard\n" +
				"input (never a terminal).",
			(*cli).userSetPassword},
		{"user", "set-flags", "user set-flags --username U [--staff=true|false] [--superuser=true|false]",
			"Change a user's flags (--superuser=true implies --staff=true; --staff=false\n" +
				"of a superuser is refused).",
			(*cli).userSetFlags},
		{"user", "deactivate", "user deactivate --username U",
			"Deactivate a user: their sessions and API keys stop working.",
			(*cli).userDeactivate},
		{"apikey", "create", "apikey create --username U [--name N] [--tenant T] [--expires RFC3339] [--scope admin|audit:read]",
			"Create an API key and print only the key on standard output; it is shown\n" +
				"this once. Defaults: name \"default\", tenant \"default\", scope admin (audit:read\n" +
				"for a user who is not staff: only staff manage the federation, and --scope\n" +
				"admin for anyone else is refused), no expiry.",
			(*cli).apikeyCreate},
		{"apikey", "list", "apikey list (--username U | --all)",
			"List the API keys of one user, or of every user.",
			(*cli).apikeyList},
		{"apikey", "revoke", "apikey revoke --username U --name N",
			"Deactivate every active API key of that name of that user.",
			(*cli).apikeyRevoke},
	}, append(append(mfaCommands(), signingCommands()...), auditCommands()...)...)
}

const usageFooter = `  help
        Show this text.

--name also answers to Inmor's --key-name. Flags take one or two dashes.

The auth table is $AUTH_TABLE (default inmor-auth). Credentials, region and
endpoint come from the standard AWS SDK configuration: set AWS_ENDPOINT_URL
(or AWS_ENDPOINT_URL_DYNAMODB) to use the local stack.

Exit status: 0 success, 1 failure, 2 usage error.
`

func (c *cli) usage() {
	var b strings.Builder
	b.WriteString("Usage: inmorctl <command> [flags]\n\nManage the users and API keys of the Inmor admin API.\n\nCommands:\n")
	for _, cmd := range commands() {
		fmt.Fprintf(&b, "  %s\n", cmd.synopsis)
		for line := range strings.SplitSeq(cmd.help, "\n") {
			fmt.Fprintf(&b, "        %s\n", line)
		}
	}
	b.WriteString(usageFooter)
	fmt.Fprint(c.stderr, b.String())
}

func (c *cli) dispatch(ctx context.Context, args []string) error {
	if len(args) == 0 {
		c.usage()
		return usageError{}
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		c.usage()
		return nil
	}
	group, name := args[0], ""
	if len(args) > 1 {
		name = args[1]
	}
	known := false
	for _, cmd := range commands() {
		if cmd.group != group {
			continue
		}
		known = true
		if cmd.name == name {
			c.command = group + " " + name
			return cmd.run(c, ctx, args[2:])
		}
	}
	if known {
		if name == "" {
			return usageError{msg: fmt.Sprintf("%s needs a command; run 'inmorctl help'", group)}
		}
		return usageError{msg: fmt.Sprintf("unknown command %q; run 'inmorctl help'", group+" "+name)}
	}
	return usageError{msg: fmt.Sprintf("unknown command %q; run 'inmorctl help'", group)}
}

// usageError is a command line that cannot be run: exit code 2.
type usageError struct {
	// msg is printed after "inmorctl: "; empty when the usage was printed already.
	msg string
}

func (e usageError) Error() string { return e.msg }

// failure is an operational failure worded for the operator, in Inmor's
// words (hence capitalised): exit code 1.
type failure string

func (f failure) Error() string { return string(f) }

// exitCode reports err on stderr and maps it to an exit code.
func (c *cli) exitCode(err error) int {
	var usage usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return ExitOK
	case errors.As(err, &usage):
		if usage.msg != "" {
			fmt.Fprintf(c.stderr, "inmorctl: %s\n", usage.msg)
		}
		return ExitUsage
	default:
		fmt.Fprintf(c.stderr, "inmorctl: %v\n", err)
		return ExitFailure
	}
}

// flags is the flag set of one command, with its usage and checks.
type flags struct {
	*flag.FlagSet
	c        *cli
	cmd      string
	synopsis string
}

func (c *cli) flags(group, name string) *flags {
	fs := flag.NewFlagSet("inmorctl "+group+" "+name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	synopsis := group + " " + name
	for _, cmd := range commands() {
		if cmd.group == group && cmd.name == name {
			synopsis = cmd.synopsis
		}
	}
	fs.Usage = func() {
		fmt.Fprintf(c.stderr, "usage: inmorctl %s\n", synopsis)
		fs.PrintDefaults()
	}
	return &flags{FlagSet: fs, c: c, cmd: group + " " + name, synopsis: synopsis}
}

// parse parses args; it takes no positional arguments.
func (f *flags) parse(args []string) error {
	if err := f.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		// The flag package has printed the error and the usage.
		return usageError{}
	}
	if f.NArg() > 0 {
		return f.fail("unexpected argument %q", f.Arg(0))
	}
	return nil
}

// fail reports a usage error of this command with its synopsis.
func (f *flags) fail(format string, args ...any) error {
	fmt.Fprintf(f.c.stderr, "inmorctl %s: %s\nusage: inmorctl %s\n", f.cmd, fmt.Sprintf(format, args...), f.synopsis)
	return usageError{}
}

// given reports whether the flag was set on the command line.
func (f *flags) given(name string) bool {
	set := false
	f.Visit(func(fl *flag.Flag) { set = set || fl.Name == name })
	return set
}

// require fails unless the flag was given a non-empty value.
func (f *flags) require(name, value string) error {
	if value == "" {
		return f.fail("--%s is required", name)
	}
	return nil
}

// CommandNames lists every command as "<group> <name>", in the order of
// the usage text (for the test that every writing command is audited).
func CommandNames() []string {
	var names []string
	for _, cmd := range commands() {
		names = append(names, cmd.group+" "+cmd.name)
	}
	return names
}
