package oauth

import (
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"

	"github.com/nomosauth/nomosauth/internal/domain"
)

// Errors of CheckEmail; the message is shown to operators (customer
// create), the hosted pages say "Enter a valid email address".
var (
	errEmailShape     = errors.New("must be one plain address such as name@example.com")
	errEmailLong      = errors.New("is longer than 254 characters")
	errEmailInvisible = errors.New("holds a control, format or other invisible character")
	errEmailLocal     = errors.New("must have a local part (before the @) of ASCII letters, digits and !#$%&'*+-/=?^_`{|}~ and inner dots")
	errEmailDomain    = errors.New("must have a domain of two or more labels, such as example.com, in ASCII or as an internationalized name in its canonical form")
)

// idnaProfile converts an internationalized domain to its A-label form
// with no mapping at all (the registration profile of RFC 5891 and UTS
// 46): a domain that would need mapping (upper case, fullwidth letters,
// the long s, a soft hyphen, a decomposed accent) is refused rather than
// folded onto another.
var idnaProfile = idna.New(idna.ValidateForRegistration(), idna.BidiRule(), idna.StrictDomainName(true))

// CheckEmail is PRODUCT A7's email rule, for the hosted pages and for
// operators alike. It trims surrounding ASCII white space and refuses:
// control, format (zero-width space and joiner, soft hyphen) and other
// invisible characters; anything but one plain address (no display name,
// no quoted or non-ASCII local part); a domain that is not a host name of
// two or more labels (a trailing dot, an IP literal). An internationalized
// domain is accepted in its canonical Unicode form or as A-labels and
// returned as A-labels, so the stored address is ASCII; the ASCII domain
// of any other address is returned as written. Nothing is folded or
// normalized: two addresses it returns are the same customer exactly when
// EmailKey says so (RFC 5321 §4.5.3.1 bounds the length at 254).
func CheckEmail(raw string) (string, error) {
	s := strings.Trim(raw, " \t\r\n")
	if !utf8.ValidString(s) || strings.IndexFunc(s, invisible) >= 0 {
		return "", errEmailInvisible
	}
	local, host, ok := strings.Cut(s, "@")
	if !ok || local == "" || host == "" || strings.Contains(host, "@") {
		return "", errEmailShape
	}
	if !dotAtom(local) || len(local) > 64 {
		return "", errEmailLocal
	}
	host, err := checkEmailDomain(host)
	if err != nil {
		return "", err
	}
	s = local + "@" + host
	if len(s) > 254 {
		return "", errEmailLong
	}
	return s, nil
}

// EmailKey is the form two emails are compared in (PRODUCT A7): only the
// ASCII letters case-folded. The rule itself is domain.EmailKey, since the
// store keys customers on it and imports no oauth.
func EmailKey(email string) string { return domain.EmailKey(email) }

// invisible reports a rune that renders as nothing or as a blank, or is
// not a character at all: controls (Cc), format characters (Cf: zero-width
// space and joiner, soft hyphen, direction marks), private use, surrogates
// and unassigned code points, every space and line separator, and the
// default-ignorable ones (variation selectors, Hangul fillers).
func invisible(r rune) bool {
	return !unicode.IsGraphic(r) || unicode.In(r, unicode.Cf, unicode.Zs, unicode.Variation_Selector,
		unicode.Other_Default_Ignorable_Code_Point, unicode.Noncharacter_Code_Point)
}

// dotAtom is RFC 5322 §3.2.3's dot-atom in ASCII: atext runs joined by
// single dots.
func dotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlpha(c) && !isDigit(c) && c != '.' && !strings.ContainsRune("!#$%&'*+-/=?^_`{|}~", rune(c)) {
			return false
		}
	}
	return true
}

// checkEmailDomain returns d as written when it is an ASCII host name, or
// as A-labels when it is an internationalized one in canonical form; its
// ASCII letters may be in either case.
func checkEmailDomain(d string) (string, error) {
	lower := EmailKey(d)
	ascii, err := idnaProfile.ToASCII(lower)
	if err != nil {
		return "", errEmailDomain
	}
	// The way back must give what was written (in lower case): then no
	// two domains written differently share an A-label form.
	if back, err := idnaProfile.ToUnicode(ascii); err != nil || (back != lower && ascii != lower) {
		return "", errEmailDomain
	}
	labels := strings.Split(ascii, ".")
	if len(labels) < 2 || len(ascii) > 253 {
		return "", errEmailDomain
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' || !validHostname(l) {
			return "", errEmailDomain
		}
	}
	if ascii == lower {
		return d, nil
	}
	return ascii, nil
}
