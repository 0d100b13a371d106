// Command subordinates is the Lambda function that serves the
// subordinate routes of the admin API, signing statements.
package main

import (
	"github.com/inmor/inmor-serverless/shared/app"
	_ "github.com/inmor/inmor-serverless/shared/app/subordinates" // registers its builder
)

func main() { app.Main("subordinates") }
