package operator

// auditCommands are the commands of the audit log: its dead-letter records,
// its reconciliation and integrity check, and the auditor's proof of one
// entry.
func auditCommands() []command {
	return append(append(dlqCommands(), verifyCommands()...), proveCommands()...)
}
