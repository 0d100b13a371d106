// Command audit is the Lambda function that consumes the resources table's
// stream and writes one audit entry per change.
package main

import (
	"github.com/inmor/inmor-serverless/shared/app"
	_ "github.com/inmor/inmor-serverless/shared/app/audit" // registers its builder
)

func main() { app.Main("audit") }
