// Command infra is the AWS CDK app of Inmor serverless: the DynamoDB
// tables (from shared/tables), the Lambda functions (from `make build`),
// the HTTP API (from shared/adminapi's route table), the stream mapping of the
// audit function, the signing and audit log keys, least-privilege roles,
// alarms, and what guards the audit log's control plane: the break-glass
// role's policies, locked backups, a trail and alerts.
// Run it through the CDK CLI: `make synth`, `make deploy`, `make destroy`.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

// newApp builds the app from its context (and the CLI's environment).
func newApp(props *awscdk.AppProps) (awscdk.App, *InmorStack, error) {
	app := awscdk.NewApp(props)
	cfg, err := ConfigFromContext(app)
	if err != nil {
		return nil, nil, err
	}
	var env *awscdk.Environment
	if account, region := os.Getenv("CDK_DEFAULT_ACCOUNT"), os.Getenv("CDK_DEFAULT_REGION"); account != "" || region != "" {
		env = &awscdk.Environment{}
		if account != "" {
			env.Account = jsii.String(account)
		}
		if region != "" {
			env.Region = jsii.String(region)
		}
	}
	stack, err := NewInmorStack(app, cfg, &awscdk.StackProps{Env: env})
	if err != nil {
		return nil, nil, err
	}
	checkWithNag(app)
	return app, stack, nil
}

func main() {
	defer jsii.Close()
	// No construct stack traces in the metadata: they point into the jsii
	// runtime's bundle (program.js), not this code, and the CLI printed one
	// above every warning.
	app, _, err := newApp(&awscdk.AppProps{StackTraces: jsii.Bool(false)})
	if err != nil {
		fmt.Fprintln(os.Stderr, "infra:", err)
		os.Exit(1)
	}
	app.Synth(nil)
}
