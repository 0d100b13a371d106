// Command trustmarks is the Lambda function that serves the
// trust mark routes of the admin API, signing marks.
package main

import (
	"github.com/inmor/inmor-serverless/shared/app"
	_ "github.com/inmor/inmor-serverless/shared/app/trustmarks" // registers its builder
)

func main() { app.Main("trustmarks") }
