// Command trustmarktypes is the Lambda function that serves the
// TrustMarkType routes of the admin API.
package main

import (
	"github.com/inmor/inmor-serverless/shared/app"
	_ "github.com/inmor/inmor-serverless/shared/app/trustmarktypes" // registers its builder
)

func main() { app.Main("trustmarktypes") }
