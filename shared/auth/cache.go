package auth

import (
	"sync"
	"time"
)

// MaxKeyCacheTTL bounds how long a key lookup may be reused: a revoked or
// expired key, or a deactivated owner, stops working within this time.
const MaxKeyCacheTTL = 60 * time.Second

// maxCachedKeys bounds the cache's memory; when full it starts afresh.
const maxCachedKeys = 1024

// KeyCache keeps successful key lookups of one function instance for a
// while, so that a warm Lambda does not read the auth table on every
// request. Failed lookups are never cached: a new key works at once.
type KeyCache struct {
	ttl     time.Duration
	mu      sync.Mutex
	entries map[string]cachedKey
}

type cachedKey struct {
	principal Principal
	until     time.Time
}

// NewKeyCache returns a cache whose entries live ttl (capped at MaxKeyCacheTTL).
func NewKeyCache(ttl time.Duration) *KeyCache {
	return &KeyCache{ttl: min(ttl, MaxKeyCacheTTL), entries: map[string]cachedKey{}}
}

func (c *KeyCache) get(hash string, now time.Time) (Principal, bool) {
	if c == nil {
		return Principal{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[hash]
	if !ok || !now.Before(e.until) {
		delete(c.entries, hash)
		return Principal{}, false
	}
	return e.principal, true
}

func (c *KeyCache) put(hash string, p Principal, now time.Time) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= maxCachedKeys {
		c.entries = map[string]cachedKey{}
	}
	c.entries[hash] = cachedKey{principal: p, until: now.Add(c.ttl)}
}
