package auth

import (
	"crypto/sha256"
	"sync"
	"time"
)

// MaxVerifiedTokens bounds the cache of verified access tokens.
const MaxVerifiedTokens = 10_000

// verifiedCache remembers access tokens whose signature and claims were
// verified, keyed by the sha256 of the token, so that a client sending the
// same token on every request costs one Ed25519 verification, not one a
// request. A hit is still checked for expiry on every use. The cache holds
// no token text, only its hash and the claims. It is bounded: when full, an
// arbitrary entry makes room.
type verifiedCache struct {
	mu      sync.Mutex
	entries map[[sha256.Size]byte]Claims
}

func newVerifiedCache() *verifiedCache {
	return &verifiedCache{entries: make(map[[sha256.Size]byte]Claims)}
}

// get returns a copy of the claims of a verified token that is not expired
// at now (with Leeway, as verification allows).
func (v *verifiedCache) get(key [sha256.Size]byte, now time.Time) (Claims, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	c, ok := v.entries[key]
	if !ok {
		return Claims{}, false
	}
	if c.ExpiresAt == nil || !now.Before(c.ExpiresAt.Add(Leeway)) {
		delete(v.entries, key)
		return Claims{}, false
	}
	return c, true
}

func (v *verifiedCache) put(key [sha256.Size]byte, c Claims) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.entries) >= MaxVerifiedTokens {
		for k := range v.entries {
			delete(v.entries, k)
			break
		}
	}
	v.entries[key] = c
}
