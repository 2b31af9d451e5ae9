package revoke

import (
	"crypto/sha256"
	"sync"
	"time"

	"github.com/nomosauth/nomosauth/internal/token"
)

// cacheShards spreads the cache's lock over independent shards.
const cacheShards = 16

// Verifier checks an access token's signature and claims (token.Issuer).
type Verifier interface {
	Verify(raw string, now time.Time) (token.Claims, error)
}

// VerifiedCache remembers access tokens whose signature and claims
// verified, keyed by the SHA-256 of the token, so a client that calls the
// API many times with one token pays for one signature check, not one per
// request. Expiry and not-before are checked again on every hit; the
// caller still checks revocation and the client on every request. A full
// shard is emptied rather than tracked entry by entry: the cost is one
// more signature check per token, never a wrong answer.
type VerifiedCache struct {
	Verifier Verifier
	// Max bounds the entries kept (about 500 bytes each).
	Max int

	once   sync.Once
	shards [cacheShards]cacheShard
}

type cacheShard struct {
	mu sync.Mutex
	m  map[[sha256.Size]byte]token.Claims
}

// Verify returns the claims of raw, from the cache when it verified before.
func (c *VerifiedCache) Verify(raw string, now time.Time) (token.Claims, error) {
	c.once.Do(func() {
		for i := range c.shards {
			c.shards[i].m = map[[sha256.Size]byte]token.Claims{}
		}
	})
	if len(raw) > token.MaxTokenLen {
		return c.Verifier.Verify(raw, now) // refused there, without hashing
	}
	key := sha256.Sum256([]byte(raw))
	sh := &c.shards[key[0]%cacheShards]
	sh.mu.Lock()
	claims, ok := sh.m[key]
	sh.mu.Unlock()
	if ok {
		// An expired entry stays until its shard is emptied: bounded, and
		// refused here every time.
		if err := claims.CheckTime(now); err != nil {
			return token.Claims{}, err
		}
		return claims, nil
	}
	claims, err := c.Verifier.Verify(raw, now)
	if err != nil {
		return token.Claims{}, err
	}
	sh.mu.Lock()
	if len(sh.m) >= max(c.Max/cacheShards, 1) {
		clear(sh.m)
	}
	sh.m[key] = claims
	sh.mu.Unlock()
	return claims, nil
}
