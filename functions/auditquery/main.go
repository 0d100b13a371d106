// Command auditquery is the Lambda function that serves the read-only
// audit log routes of the admin API and its OpenAPI document.
package main

import (
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/inmor/inmor-serverless/shared/apigw"
	"github.com/inmor/inmor-serverless/shared/dynamo"
	"github.com/inmor/inmor-serverless/shared/lambdas"
	"github.com/inmor/inmor-serverless/shared/logging"
)

func main() {
	slog.SetDefault(logging.New(os.Stdout, "auditquery"))
	cfg := dynamo.LambdaConfig(os.Getenv)
	h, err := lambdas.AuditQuery(dynamo.NewClient(cfg), lambdas.ConfigFromEnv(os.Getenv))
	if err != nil {
		slog.Error("build the handler", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(apigw.Handler(h))
}
