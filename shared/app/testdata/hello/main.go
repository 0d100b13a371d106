// Command hello is the smallest aws-lambda-go function, the baseline of
// BenchmarkColdStart.
package main

import "github.com/aws/aws-lambda-go/lambda"

func main() { lambda.Start(func() error { return nil }) }
