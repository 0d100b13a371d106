// Command inmorctl is the operator CLI of the Inmor admin API: it creates and
// lists users and creates, lists and revokes API keys in the auth table
// (`inmorctl help` for usage).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/inmor/inmor-serverless/shared/operator"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := operator.Run(ctx, os.Args[1:], operator.Env{
		Getenv: os.Getenv, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
	})
	stop()
	os.Exit(code)
}
