package storage

// Partition keys and key prefixes of the resources table (besides the
// resource items themselves, whose partition key is their type).
const (
	// CounterPK holds the id counters; the sort key is the resource type.
	CounterPK = "counter"
	// UniquePrefix starts a uniqueness guard: unique#<Type>.<field>, the
	// sort key is the value.
	UniquePrefix = "unique#"
	// AttemptPK is the partition key of attempt items: a failed write
	// request, recorded by the API so the audit function can log it (the
	// sort key is the request id). Attempts expire (AttrExpiresAt) once the
	// stream has carried them.
	AttemptPK = "attempt"
)

// Partition keys and key prefixes of the audit table.
const (
	// EntryPrefix starts an entry: entry#<20-digit id>.
	EntryPrefix = "entry#"
	// SequencePK holds the last entry id.
	SequencePK = "sequence"
	// MarkerPrefix starts an idempotency marker, by stream event id.
	MarkerPrefix = "event#"
	// RequestPrefix starts a request marker, by API request id.
	RequestPrefix = "request#"
	// CountPrefix starts a counter of entries per filter combination.
	CountPrefix = "count#"
	// FailurePrefix starts the count of failed attempts of a stream record.
	FailurePrefix = "failure#"
	// DeadLetterPrefix starts a stream record set aside (a dead letter).
	DeadLetterPrefix = "dlq#"
	// CheckpointPrefix starts a signed checkpoint of the log's Merkle tree:
	// checkpoint#<20-digit tree size>; LatestCheckpointPK holds the latest.
	CheckpointPrefix   = "checkpoint#"
	LatestCheckpointPK = "checkpoint"
	// FeedAll is the by_feed partition of every entry; FeedDeadLetters the
	// one that lists dead letters.
	FeedAll         = "all"
	FeedDeadLetters = "dlq"
)

// Partition keys and key prefixes of the auth table.
const (
	// UserPrefix starts a user (by username); UserCounterPK allocates ids.
	UserPrefix    = "user#"
	UserCounterPK = "counter#user"
	// APIKeyPrefix starts an API key (by the hash of the key).
	APIKeyPrefix = "apikey#"
	// SessionPrefix starts a session (by the hash of the session id).
	SessionPrefix = "session#"
	// LoginFailPrefix starts the count of failed logins of a username.
	LoginFailPrefix = "loginfail#"
)

// Partition keys of the auth table's second factors (package mfa).
const (
	// MFAPrefix starts a user's second factors (by username): the TOTP
	// secret, the hashes of the recovery codes, the WebAuthn credentials,
	// and the last enrolment change (mfa_event).
	MFAPrefix = "mfa#"
	// MFAPendingPrefix starts a TOTP enrolment not yet confirmed (by
	// username); it expires.
	MFAPendingPrefix = "mfapending#"
	// MFAChallengePrefix starts the challenge between a login's password
	// and its second factor (by the hash of the challenge); it expires and
	// is deleted by its first use.
	MFAChallengePrefix = "mfachallenge#"
)
