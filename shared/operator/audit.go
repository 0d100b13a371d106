package operator

// auditCommands are the commands of the audit log: its dead-letter records
// and its reconciliation.
func auditCommands() []command {
	return append(dlqCommands(), verifyCommands()...)
}
