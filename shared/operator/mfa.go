package operator

import (
	"context"
	"fmt"

	"github.com/inmor/inmor-serverless/shared/apperr"
	"github.com/inmor/inmor-serverless/shared/mfa"
)

// mfaCommands are the commands of users' second factors.
func mfaCommands() []command {
	return []command{
		{"user", "mfa", "user mfa reset --username U",
			"Remove every second factor of a user who lost them (authenticator app,\n" +
				"recovery codes): the password alone logs them in again, and they enrol\n" +
				"anew. Recorded as the user's mfa_reset (auth method cli).",
			(*cli).userMFA},
	}
}

// userMFA runs `user mfa <subcommand>`; reset is the only one.
func (c *cli) userMFA(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "reset" {
		f := c.flags("user", "mfa")
		if len(args) == 0 {
			return f.fail("user mfa needs a command: reset")
		}
		return f.fail("unknown command %q", "user mfa "+args[0])
	}
	f := c.flags("user", "mfa")
	username := f.String("username", "", "the user whose second factors to remove (required)")
	if err := f.parse(args[1:]); err != nil {
		return err
	}
	if err := f.require("username", *username); err != nil {
		return err
	}
	store, err := c.store(ctx)
	if err != nil {
		return err
	}
	if _, err := store.UserByUsername(ctx, *username); apperr.Is(apperr.NotFound, err) {
		return failure(fmt.Sprintf("User '%s' does not exist", *username))
	} else if err != nil {
		return fmt.Errorf("find user: %w", err)
	}
	factors, ok := store.(mfa.Store) // *dynamo.Auth
	if !ok {
		return fmt.Errorf("the auth table's store keeps no second factors")
	}
	reset, err := mfa.Service{Store: factors}.Reset(ctx, *username)
	if err != nil {
		return fmt.Errorf("reset second factors: %w", err)
	}
	if !reset {
		fmt.Fprintf(c.stdout, "User '%s' has no second factor.\n", *username)
		return nil
	}
	fmt.Fprintf(c.stdout, "The second factors of '%s' were removed.\n", *username)
	return nil
}
