// Command subordinates is the Lambda function that serves the
// subordinate routes of the admin API, signing statements.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/inmor/inmor-serverless/shared/apigw"
	"github.com/inmor/inmor-serverless/shared/dynamo"
	"github.com/inmor/inmor-serverless/shared/lambdas"
	"github.com/inmor/inmor-serverless/shared/logging"
)

func main() {
	slog.SetDefault(logging.New(os.Stdout, "subordinates"))
	ctx := context.Background()
	cfg, err := dynamo.LoadConfig(ctx)
	if err != nil {
		slog.Error("load AWS configuration", "error", err.Error())
		os.Exit(1)
	}
	signer, err := lambdas.Signer(ctx, os.Getenv, cfg)
	if err != nil {
		slog.Error("configure signing", "error", err.Error())
		os.Exit(1)
	}
	h := lambdas.Subordinates(dynamo.NewClient(cfg), lambdas.ConfigFromEnv(os.Getenv), signer)
	lambda.Start(apigw.Handler(h))
}
