// Command auth is the Lambda function that serves the session routes
// of the admin API: login, logout, the current user and the CSRF token.
package main

import (
	"github.com/inmor/inmor-serverless/shared/app"
	_ "github.com/inmor/inmor-serverless/shared/app/auth" // registers its builder
)

func main() { app.Main("auth") }
