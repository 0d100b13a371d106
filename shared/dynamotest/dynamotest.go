// Package dynamotest gives tests a real DynamoDB API: the endpoint in
// DYNAMODB_ENDPOINT when set, else a moto server started for the test binary.
package dynamotest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/inmor/inmor-serverless/shared/motoserver"
	"github.com/inmor/inmor-serverless/shared/tables"
)

var endpoint string

// Main runs a package's tests with a DynamoDB endpoint; call it from TestMain.
func Main(m *testing.M) {
	endpoint = os.Getenv("DYNAMODB_ENDPOINT")
	var moto *motoserver.Server
	if endpoint == "" {
		var err error
		moto, err = motoserver.Start(context.Background(), "127.0.0.1", 0, os.Stderr)
		if err != nil {
			fmt.Fprintln(os.Stderr, "dynamotest: start moto:", err)
			os.Exit(1)
		}
		endpoint = moto.Endpoint
	}
	code := m.Run()
	moto.Stop()
	os.Exit(code)
}

// Endpoint is the DynamoDB endpoint of this test binary.
func Endpoint() string { return endpoint }

// Getenv returns an environment for one test: its own table names and
// checkpoint bucket (so tests sharing an endpoint never see each other's
// data) and the given variables.
func Getenv(t testing.TB, vars map[string]string) func(string) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	suffix := hex.EncodeToString(b[:])
	env := map[string]string{}
	for _, table := range tables.All() {
		env[table.NameVariable] = table.DefaultName + "-" + suffix
	}
	env["AUDIT_CHECKPOINT_BUCKET"] = "inmor-checkpoints-" + suffix // the local stack's S3 bucket
	for k, v := range vars {
		env[k] = v
	}
	return func(name string) string { return env[name] }
}

// CreateTable creates a table of the test's own (uniquely named): one that
// exists already can only be this very create, retried by the SDK after
// its answer was lost (moto under load), so that is not an error.
func CreateTable(t testing.TB, client *dynamodb.Client, in *dynamodb.CreateTableInput) {
	t.Helper()
	_, err := client.CreateTable(context.Background(), in)
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		t.Fatalf("create table %s: %v", *in.TableName, err)
	}
}
