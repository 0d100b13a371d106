// Package all registers the builder of every function with app, for the
// local stack, the CDK app's checks and the tests that run them all.
package all

import (
	// Each registers its function's builder.
	_ "github.com/inmor/inmor-serverless/shared/app/audit"
	_ "github.com/inmor/inmor-serverless/shared/app/auditquery"
	_ "github.com/inmor/inmor-serverless/shared/app/auth"
	_ "github.com/inmor/inmor-serverless/shared/app/federation"
	_ "github.com/inmor/inmor-serverless/shared/app/subordinates"
	_ "github.com/inmor/inmor-serverless/shared/app/trustmarks"
	_ "github.com/inmor/inmor-serverless/shared/app/trustmarktypes"
)
