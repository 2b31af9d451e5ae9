package oauth

import (
	"crypto/subtle"
	"strings"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
)

// Lifetimes and limits of PRODUCT A7 and T6.
const (
	AuthCodeTTL     = 10 * time.Minute
	OneTimeCodeTTL  = 10 * time.Minute
	OneTimeMaxTries = 5
)

// ParseOneTimeCode reads what a customer typed: six digits, where spaces
// and dashes from copying are forgiven. ok is false for anything else.
func ParseOneTimeCode(typed string) (code string, ok bool) {
	if len(typed) > 32 {
		return "", false
	}
	code = strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\t' {
			return -1
		}
		return r
	}, typed)
	if len(code) != 6 {
		return "", false
	}
	for i := 0; i < len(code); i++ {
		if !isDigit(code[i]) {
			return "", false
		}
	}
	return code, true
}

// OneTimeRule is PRODUCT A7 for one try: the hash of the typed code and
// the time.
type OneTimeRule struct {
	PresentedHash string
	Now           time.Time
}

// OneTimeUsable reports whether c can still sign in at now: unexpired,
// unused, its tries not spent.
func OneTimeUsable(c domain.OneTimeCode, now time.Time) bool {
	return now.Before(c.ExpiresAt) && c.Attempts < OneTimeMaxTries && c.UsedAt.IsZero()
}

// Check judges the browser's pending code. An expired code, or one whose
// five tries are spent, is Exhausted whatever was typed, so a correct
// guess on the sixth try gets nothing; the wrong guess that spends the last
// try is Lockout. The hashes compare in constant time.
func (r OneTimeRule) Check(c domain.OneTimeCode) domain.OneTimeVerdict {
	if !OneTimeUsable(c, r.Now) {
		return domain.OneTimeExhausted
	}
	if subtle.ConstantTimeCompare([]byte(c.CodeHash), []byte(r.PresentedHash)) == 1 {
		return domain.OneTimeAccept
	}
	if c.Attempts+1 >= OneTimeMaxTries {
		return domain.OneTimeLockout
	}
	return domain.OneTimeReject
}
