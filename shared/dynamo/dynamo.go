// Package dynamo implements the application's stores on DynamoDB: resources,
// users and API keys, the audit journal and the audit log reader, plus the
// creation of tables from their shared definitions.
package dynamo

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// LocalConfig is the configuration for a local DynamoDB endpoint: static
// dummy credentials (requests must still be signed) and a fixed region.
//
// Connections are not kept alive: the local server (moto, single-threaded,
// HTTP/1.0) closes each one, and a pooled connection it has closed makes the
// SDK retry a request that may have been applied, which would count an
// atomic ADD twice or fail a conditional put that had succeeded.
func LocalConfig(endpoint string) aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
		BaseEndpoint: aws.String(endpoint),
		HTTPClient:   LocalHTTPClient(),
	}
}

// LocalHTTPClient is the HTTP client for a local endpoint: it keeps no
// connection alive (see LocalConfig).
func LocalHTTPClient() *awshttp.BuildableClient {
	return awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.DisableKeepAlives = true
	})
}

// NewClient returns a DynamoDB client for cfg.
func NewClient(cfg aws.Config, optFns ...func(*dynamodb.Options)) *dynamodb.Client {
	return dynamodb.NewFromConfig(cfg, optFns...)
}

// Helpers to build attribute values.
func str(s string) types.AttributeValue   { return &types.AttributeValueMemberS{Value: s} }
func num(n int64) types.AttributeValue    { return &types.AttributeValueMemberN{Value: fmt.Sprint(n)} }
func boolean(b bool) types.AttributeValue { return &types.AttributeValueMemberBOOL{Value: b} }

// cancellationCode returns the cancellation reason code of the i-th item of
// a cancelled transaction, or "" when err is not such a cancellation.
func cancellationReasons(err error) []types.CancellationReason {
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) {
		return tce.CancellationReasons
	}
	return nil
}

func reasonCode(reasons []types.CancellationReason, i int) string {
	if i < len(reasons) {
		return aws.ToString(reasons[i].Code)
	}
	return ""
}

// LambdaConfig is the configuration inside AWS Lambda, read from the
// environment Lambda sets: the region and the function role's credentials
// (AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN),
// and AWS_ENDPOINT_URL when set. It leaves out the SDK's shared-config
// loader (profiles, SSO, STS, IMDS), which a function never uses, and so
// keeps the function binaries small.
func LambdaConfig(getenv func(string) string) aws.Config {
	cfg := aws.Config{
		Region:      getenv("AWS_REGION"),
		Credentials: credentials.NewStaticCredentialsProvider(getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY"), getenv("AWS_SESSION_TOKEN")),
	}
	if endpoint := getenv("AWS_ENDPOINT_URL"); endpoint != "" {
		cfg.BaseEndpoint = aws.String(endpoint)
	}
	return cfg
}
