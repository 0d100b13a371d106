package operator

// dlqCommands are the commands of the dead-letter records.
func dlqCommands() []command { return nil }
