package oauth

import (
	"errors"
	"strings"
	"time"
	"unicode"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/problem"
)

// PathMagicLink is where a magic link points: GET shows a "Continue as"
// page and POST, with the page's form token, redeems it (PRODUCT A12). A
// mail client's link scanner that prefetches the GET burns nothing.
const PathMagicLink = "/magic/"

// maxNextLen bounds a magic link's next path.
const maxNextLen = 1024

// CheckMagicNext is the landing path of a magic link (PRODUCT A12: "a path
// on this server only"): empty is connected apps (fallback); otherwise it
// must start with one "/", name no scheme or host ("//host" is
// protocol-relative), carry no backslash (browsers read "/\host" as
// "//host"), no control characters or whitespace, and stay short. ok is
// false for anything else, which the API refuses with 400.
func CheckMagicNext(next, fallback string) (path string, ok bool) {
	switch {
	case next == "":
		return fallback, true
	case len(next) > maxNextLen, !strings.HasPrefix(next, "/"), strings.HasPrefix(next, "//"),
		strings.ContainsRune(next, '\\'),
		strings.ContainsFunc(next, func(r rune) bool { return r < 0x21 || r == 0x7f || unicode.IsSpace(r) }):
		return "", false
	}
	return next, true
}

// Why a magic link cannot be redeemed.
var (
	ErrMagicLinkUsed    = errors.New("magic link already used")
	ErrMagicLinkExpired = errors.New("magic link expired")
)

// CheckMagicLink decides whether l can sign its customer in at now
// (PRODUCT A12): once, and before its expiry. The store runs it inside
// the redeeming transaction on the row as it is there, so two tabs
// racing with one link sign in once.
func CheckMagicLink(l domain.MagicLink, now time.Time) error {
	switch {
	case !l.UsedAt.IsZero():
		return ErrMagicLinkUsed
	case !now.Before(l.ExpiresAt):
		return ErrMagicLinkExpired
	}
	return nil
}

// CheckMagicLinkCaller is who may ask for a magic link (PRODUCT A12): an
// organization's client-credentials token. A customer's token, whatever
// its scopes, acts for one customer and may not sign anyone in: 403.
// CheckScope refuses it first (a customer token is read-only); this keeps
// the rule whole should that change.
func CheckMagicLinkCaller(c Caller) error {
	if c.IsCustomer() {
		return problem.Forbidden("Magic links need an organization's client-credentials token, not a customer's")
	}
	return nil
}
