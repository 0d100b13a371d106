package resource

import (
	"context"
	"time"
)

// ExpiryFormat is how expiry times (a JWT's exp, whole seconds) are written.
const ExpiryFormat = "2006-01-02T15:04:05Z"

// Expiry is a JWT expiry time, written in JSON as ISO 8601 UTC with a Z.
type Expiry struct{ time.Time }

// MarshalJSON implements json.Marshaler.
func (e Expiry) MarshalJSON() ([]byte, error) {
	return []byte(`"` + e.UTC().Format(ExpiryFormat) + `"`), nil
}

// ExpiryAt returns the expiry at the given epoch second.
func ExpiryAt(unix int64) *Expiry { return &Expiry{time.Unix(unix, 0).UTC()} }

// Signer signs JWTs with the trust anchor's key.
type Signer interface {
	Sign(ctx context.Context, typ string, claims map[string]any) (string, error)
}
