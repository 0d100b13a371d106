package audit

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
)

// ErrBadCursor means a cursor was not made by this log for this filter:
// forged, edited, truncated, or made for other filters.
var ErrBadCursor = errors.New("invalid cursor")

// maxCursorLength bounds the cursors accepted.
const maxCursorLength = 4096

// CursorCodec makes cursors: opaque, tamper-evident tokens that carry a
// position and the filter they were made for, signed with HMAC-SHA256.
type CursorCodec struct {
	key []byte
}

// NewCursorCodec returns a codec with the given key, or with a random one
// when key is empty (cursors then work only within this process).
func NewCursorCodec(key []byte) (*CursorCodec, error) {
	if len(key) == 0 {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
	}
	return &CursorCodec{key: key}, nil
}

type cursorBody struct {
	Position Position `json:"p"`
	Filter   string   `json:"f"`
}

func (c *CursorCodec) mac(payload string) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// Encode returns the cursor of a position under a filter.
func (c *CursorCodec) Encode(p Position, f Filter) (string, error) {
	body, err := json.Marshal(cursorBody{Position: p, Filter: f.Canonical()})
	if err != nil {
		return "", err
	}
	payload := base64.RawURLEncoding.EncodeToString(body)
	return payload + "." + base64.RawURLEncoding.EncodeToString(c.mac(payload)), nil
}

// Decode returns the position of a cursor made by Encode for the same
// filter, or ErrBadCursor.
func (c *CursorCodec) Decode(cursor string, f Filter) (Position, error) {
	payload, sig, ok := strings.Cut(cursor, ".")
	if !ok || len(cursor) > maxCursorLength {
		return Position{}, ErrBadCursor
	}
	mac, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(mac, c.mac(payload)) {
		return Position{}, ErrBadCursor
	}
	body, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return Position{}, ErrBadCursor
	}
	var b cursorBody
	if err := json.Unmarshal(body, &b); err != nil || b.Filter != f.Canonical() || b.Position.Index == "" || len(b.Position.Key) == 0 {
		return Position{}, ErrBadCursor
	}
	return b.Position, nil
}
