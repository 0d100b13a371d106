// Command audit is the Lambda function that consumes the resources table's
// stream and writes one audit entry per change.
package main

import (
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/inmor/inmor-serverless/shared/dynamo"
	"github.com/inmor/inmor-serverless/shared/lambdas"
	"github.com/inmor/inmor-serverless/shared/logging"
)

func main() {
	logger := logging.New(os.Stdout, "audit")
	slog.SetDefault(logger)
	cfg := dynamo.LambdaConfig(os.Getenv)
	h := lambdas.Audit(dynamo.NewClient(cfg), lambdas.ConfigFromEnv(os.Getenv), logger)
	h.Metrics = os.Stdout // Embedded Metric Format lines become CloudWatch metrics
	lambda.Start(h)
}
