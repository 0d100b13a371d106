// Command federation is the Lambda function that serves the trust anchor's
// public federation endpoints: the signed Subordinate Events.
package main

import (
	"github.com/inmor/inmor-serverless/shared/app"
	_ "github.com/inmor/inmor-serverless/shared/app/federation" // registers its builder
)

func main() { app.Main("federation") }
