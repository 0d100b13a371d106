package operator

import (
	"context"
	"fmt"
	"time"

	"github.com/inmor/inmor-serverless/shared/apperr"
	"github.com/inmor/inmor-serverless/shared/auth"
	"github.com/inmor/inmor-serverless/shared/mfa"
	"github.com/inmor/inmor-serverless/shared/resource"
	"github.com/inmor/inmor-serverless/shared/storage"
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
	user, err := store.UserByUsername(ctx, *username)
	if apperr.Is(apperr.NotFound, err) {
		return failure(fmt.Sprintf("User '%s' does not exist", *username))
	} else if err != nil {
		return fmt.Errorf("find user: %w", err)
	}
	factors, ok := store.(mfa.Store) // *dynamo.Auth
	if !ok {
		return fmt.Errorf("the auth table's store keeps no second factors")
	}
	// Who resets, known before anything changes: the reset is recorded
	// in the audit log with it.
	operator, err := c.operatorAttribution(ctx)
	if err != nil {
		return err
	}
	reset, err := mfa.Service{Store: factors}.Reset(ctx, *username)
	if err != nil {
		return fmt.Errorf("reset second factors: %w", err)
	}
	if !reset {
		fmt.Fprintf(c.stdout, "User '%s' has no second factor.\n", *username)
		return nil
	}
	if err := recordReset(ctx, store, user, *operator); err != nil {
		return fmt.Errorf("record the reset in the audit log: %w", err)
	}
	fmt.Fprintf(c.stdout, "The second factors of '%s' were removed.\n", *username)
	return nil
}

// userEvents records events about a user made by another (dynamo.Auth
// does).
type userEvents interface {
	RecordUserEvent(ctx context.Context, event, result, username string, userID int64, a resource.Attribution) error
}

// recordReset records the reset as the user's mfa_reset, attributed to
// the operator (auth method cli) and signed as the store signs its writes.
func recordReset(ctx context.Context, store Store, user auth.User, a resource.Attribution) error {
	events, ok := store.(userEvents)
	if !ok {
		return nil // a store that records nothing (the tests' in-memory one)
	}
	a.CommittedAt = time.Now().UTC()
	return events.RecordUserEvent(ctx, storage.SessionMFAReset, mfa.FactorAll, user.Username, user.ID, a)
}
