package operator

import (
	"context"
	"fmt"

	"github.com/inmor/inmor-serverless/shared/reconcile"
	"github.com/inmor/inmor-serverless/shared/tables"
)

// verifyCommands are the commands that reconcile the audit log.
func verifyCommands() []command {
	return []command{
		{"audit", "verify", "audit verify",
			"Check the audit log ($AUDIT_TABLE, default inmor-audit) against the\n" +
				"resources ($RESOURCES_TABLE, default inmor-resources): each resource has\n" +
				"exactly one successful API entry per version; each entry's snapshot_before\n" +
				"is the previous one's snapshot_after (null for the CREATE); the last shows\n" +
				"the item as it is; a resource that is gone was deleted by its last entry.\n" +
				"Out-of-band entries are part of the chain; failed ones are ignored. Prints\n" +
				"a line per problem, `<Type>#<id> <where>: <kind>: <detail>`, then\n" +
				"`Verified N resources and M entries: K problem(s).`; exits 1 when K > 0.\n" +
				"Changes are recorded a moment after they are made: run it on a quiet log\n" +
				"(no writes in flight, the stream drained), or the newest changes show up\n" +
				"as missing or stale.",
			(*cli).auditVerify},
	}
}

func (c *cli) auditVerify(ctx context.Context, args []string) error {
	f := c.flags("audit", "verify")
	if err := f.parse(args); err != nil {
		return err
	}
	client, err := c.openDynamoDB(ctx)
	if err != nil {
		return err
	}
	v := &reconcile.Verifier{
		Client:         client,
		ResourcesTable: tables.Resources.Name(c.getenv),
		AuditTable:     tables.Audit.Name(c.getenv),
	}
	sum, err := v.Run(ctx, func(p reconcile.Problem) { fmt.Fprintln(c.stdout, p) })
	if err != nil {
		return fmt.Errorf("audit verify: %w (after %d resources, %d problem(s) so far)", err, sum.Resources, sum.Problems)
	}
	fmt.Fprintln(c.stdout, sum)
	if sum.Problems > 0 {
		return failure(fmt.Sprintf("The audit log is inconsistent: %d problem(s)", sum.Problems))
	}
	return nil
}
