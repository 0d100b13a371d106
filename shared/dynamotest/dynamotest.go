// Package dynamotest gives tests a real DynamoDB API: the endpoint in
// DYNAMODB_ENDPOINT when set, else a moto server started for the test binary.
package dynamotest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"testing"

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
