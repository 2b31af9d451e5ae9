package token

import "time"

// MaxTokenLen bounds what Verify parses, so a cache in front of it can
// refuse the same oversized input without hashing it.
const MaxTokenLen = maxTokenLen

// CheckTime is RFC 9068 §4's exp and nbf checks alone, with Leeway: what a
// cache of tokens whose signature verified before must still check on
// every hit (PRODUCT T8).
func (c Claims) CheckTime(now time.Time) error { return c.checkTime(now) }
