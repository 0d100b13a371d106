// Package function names the system's Lambda functions. A name is the
// function's folder under functions/ and build/, its key in the registry
// (shared/app) and the Function of its routes in the route table
// (shared/adminapi). It is a leaf, so naming a function links nothing else.
package function

// The functions.
const (
	TrustMarkTypes = "trustmarktypes"
	TrustMarks     = "trustmarks"
	Subordinates   = "subordinates"
	AuditQuery     = "auditquery"
	Auth           = "auth"
	// Federation serves the public federation endpoints (Subordinate Events).
	Federation = "federation"
	// Audit consumes the resources table's stream.
	Audit = "audit"
)
