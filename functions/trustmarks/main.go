// Command trustmarks is the Lambda function that serves the
// trust mark routes of the admin API, signing marks.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/inmor/inmor-serverless/shared/apigw"
	"github.com/inmor/inmor-serverless/shared/dynamo"
	"github.com/inmor/inmor-serverless/shared/lambdas"
	"github.com/inmor/inmor-serverless/shared/logging"
	"github.com/inmor/inmor-serverless/shared/signing"
)

func main() {
	slog.SetDefault(logging.New(os.Stdout, "trustmarks"))
	ctx := context.Background()
	cfg := dynamo.LambdaConfig(os.Getenv)
	// AWS KMS when SIGNING_KMS_KEY_ID is set, else the private JWK in SIGNING_KEY_FILE.
	signer, err := signing.NewFromEnv(ctx, os.Getenv, func() (signing.KMSAPI, error) { return kms.NewFromConfig(cfg), nil })
	if err != nil {
		slog.Error("configure signing", "error", err.Error())
		os.Exit(1)
	}
	h := lambdas.TrustMarks(dynamo.NewClient(cfg), lambdas.ConfigFromEnv(os.Getenv), signer)
	lambda.Start(apigw.Handler(h))
}
