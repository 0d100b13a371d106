// Command localstack runs the whole system on one machine with no AWS
// account (`make run`): moto as DynamoDB, the tables, the API on
// 127.0.0.1:$PORT (default 8000) and the stream poller feeding the audit
// function. Ctrl-C or SIGTERM stops everything it started. The tables are
// kept in .local/state across restarts (FRESH=1 starts empty), and the dev
// admin password and API key in .local/ (unless given).
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/inmor/inmor-serverless/shared/app"
	"github.com/inmor/inmor-serverless/shared/localstack"
	"github.com/inmor/inmor-serverless/shared/logging"
	"github.com/inmor/inmor-serverless/shared/tables"
)

func main() { os.Exit(mainCode()) }

// mainCode runs the stack until a signal stops it and returns the exit
// code, once every deferred step (the terminal given back) is done.
func mainCode() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	if underMake(os.Getenv) {
		restore := takeTerminal()
		defer restore()
		go watchMake(ctx, stop)
	}
	if err := run(ctx, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "localstack:", err)
		return 1
	}
	return 0
}

func portFrom(getenv func(string) string, name string, def int) (int, error) {
	v := getenv(name)
	if v == "" {
		return def, nil
	}
	port, err := strconv.Atoi(v)
	if err != nil || port < 0 || port > 65535 {
		return 0, fmt.Errorf("%s=%q is not a port", name, v)
	}
	return port, nil
}

func run(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer) error {
	port, err := portFrom(getenv, "PORT", 8000)
	if err != nil {
		return err
	}
	dynamoPort, err := portFrom(getenv, "DYNAMODB_PORT", 8001)
	if err != nil {
		return err
	}
	// No function name on the logger: each line names the function that
	// wrote it (see logging.WithFunction).
	logger := logging.New(stderr, "")
	slog.SetDefault(logger)
	getenv, err = devCredentials(getenv, stdout)
	if err != nil {
		return err
	}
	endpoint := getenv("DYNAMODB_ENDPOINT")
	stateDir := ""
	if endpoint == "" { // an endpoint of one's own keeps its own data
		stateDir = stateDirectory
		if getenv("FRESH") == "1" {
			if err := os.RemoveAll(stateDir); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "FRESH=1: starting with empty tables (%s removed)\n", stateDir)
		}
	}
	stack, err := localstack.Start(ctx, localstack.Options{
		Port: port, DynamoDBPort: dynamoPort, Endpoint: endpoint,
		Getenv: getenv, Out: stdout, Logger: logger, StateDir: stateDir,
	})
	if err != nil {
		return err
	}
	defer stack.Stop()
	fmt.Fprintf(stdout, "inmorctl against this stack:\n  export AWS_ENDPOINT_URL=%s AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_REGION=us-east-1", stack.Endpoint)
	for _, t := range tables.All() {
		if v := getenv(t.NameVariable); v != "" {
			fmt.Fprintf(stdout, " %s=%s", t.NameVariable, v)
		}
	}
	// The attribution key, so that inmorctl's changes are attributed (cli).
	keyFile := getenv(app.EnvAttributionKeyFile)
	if keyFile == "" {
		keyFile = localstack.DefaultAttributionKeyFile
	}
	fmt.Fprintf(stdout, " %s=%s", app.EnvAttributionKeyFile, keyFile)
	fmt.Fprintf(stdout, "\n  make inmorctl && bin/inmorctl user list\n")
	fmt.Fprintf(stdout, "ready: %s\n", stack.URL)
	<-ctx.Done()
	fmt.Fprintln(stdout, "stopping")
	return nil
}

// stateDirectory keeps the local tables across restarts (git-ignored).
const stateDirectory = ".local/state"

// Files of the dev credentials, kept so that they stay the same across
// restarts (git-ignored, mode 0600).
const (
	devPasswordFile = ".local/dev-admin-password"
	devAPIKeyFile   = ".local/dev-api-key"
)

// devCredentials returns getenv with INMOR_DEV_ADMIN_PASSWORD and
// INMOR_DEV_API_KEY taken from their files in .local/ (made on first use)
// when the environment does not set them, and prints them: the same admin
// password and key at every start.
func devCredentials(getenv func(string) string, out io.Writer) (func(string) string, error) {
	values := map[string]string{}
	for variable, file := range map[string]string{"INMOR_DEV_ADMIN_PASSWORD": devPasswordFile, "INMOR_DEV_API_KEY": devAPIKeyFile} {
		if getenv(variable) != "" {
			continue
		}
		secret, err := stableSecret(file)
		if err != nil {
			return nil, err
		}
		values[variable] = secret
	}
	if len(values) > 0 {
		fmt.Fprintf(out, "dev credentials (kept in .local/, the same at every start; set INMOR_DEV_ADMIN_PASSWORD or INMOR_DEV_API_KEY to choose):\n")
		if pw := values["INMOR_DEV_ADMIN_PASSWORD"]; pw != "" {
			fmt.Fprintf(out, "  admin password: %s\n", pw)
		}
		if key := values["INMOR_DEV_API_KEY"]; key != "" {
			fmt.Fprintf(out, "  API key: %s\n", key)
		}
	}
	return func(k string) string {
		if v, ok := values[k]; ok {
			return v
		}
		return getenv(k)
	}, nil
}

// stableSecret reads a secret from its file, first writing a new random
// one there when there is none.
func stableSecret(path string) (string, error) {
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	secret := base64.RawURLEncoding.EncodeToString(b)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	return secret, os.WriteFile(path, []byte(secret+"\n"), 0o600)
}
