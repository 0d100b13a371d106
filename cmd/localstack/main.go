// Command localstack runs the whole system on one machine with no AWS
// account (`make run`): moto as DynamoDB, the tables, the API on
// 127.0.0.1:$PORT (default 8000) and the stream poller feeding the audit
// function. Ctrl-C or SIGTERM stops everything it started.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/inmor/inmor-serverless/shared/app"
	"github.com/inmor/inmor-serverless/shared/localstack"
	"github.com/inmor/inmor-serverless/shared/logging"
	"github.com/inmor/inmor-serverless/shared/tables"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "localstack:", err)
		os.Exit(1)
	}
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
	logger := logging.New(stderr, "localstack")
	slog.SetDefault(logger)
	stack, err := localstack.Start(ctx, localstack.Options{
		Port: port, DynamoDBPort: dynamoPort, Endpoint: getenv("DYNAMODB_ENDPOINT"),
		Getenv: getenv, Out: stdout, Logger: logger,
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
	fmt.Fprintf(stdout, "\n  go run ./cmd/inmorctl user list\n")
	fmt.Fprintf(stdout, "ready: %s\n", stack.URL)
	<-ctx.Done()
	fmt.Fprintln(stdout, "stopping")
	return nil
}
