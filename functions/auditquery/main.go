// Command auditquery is the Lambda function that serves the read-only
// audit log routes of the admin API and its OpenAPI document.
package main

import (
	"github.com/inmor/inmor-serverless/shared/app"
	_ "github.com/inmor/inmor-serverless/shared/app/auditquery" // registers its builder
)

func main() { app.Main("auditquery") }
