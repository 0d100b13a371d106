// Command auth is the Lambda function that serves the session routes
// of the admin API: login, logout, the current user and the CSRF token.
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
	slog.SetDefault(logging.New(os.Stdout, "auth"))
	cfg := dynamo.LambdaConfig(os.Getenv)
	h := lambdas.Auth(dynamo.NewClient(cfg), lambdas.ConfigFromEnv(os.Getenv))
	lambda.Start(apigw.Handler(h))
}
