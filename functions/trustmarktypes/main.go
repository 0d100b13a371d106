// Command trustmarktypes is the Lambda function that serves the
// TrustMarkType routes of the admin API.
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
	slog.SetDefault(logging.New(os.Stdout, "trustmarktypes"))
	cfg := dynamo.LambdaConfig(os.Getenv)
	h := lambdas.TrustMarkTypes(dynamo.NewClient(cfg), lambdas.ConfigFromEnv(os.Getenv))
	lambda.Start(apigw.Handler(h))
}
