package domain

import (
	"unicode"
	"unicode/utf8"
)

// maxCombiningMarks is how many combining marks one letter may carry in
// PrintableText: enough for any language's accents, too few to stack
// marks that paint over a page's other lines.
const maxCombiningMarks = 2

// PrintableText reports whether s is valid UTF-8 of printable characters
// only (unicode.IsPrint: letters, marks, numbers, punctuation, symbols
// and the ASCII space), other spaces (a no-break or ideographic space)
// and the zero-width joiner and non-joiner, which spell words in Persian
// and Indic scripts and join emoji, with at most maxCombiningMarks
// nonspacing or enclosing marks on a letter. It is the one rule for names
// people and devices give (customers, organizations, clients, devices;
// PRODUCT S4, R9): no control character, C1 included; no other format
// character, since a bidi override can make a name read as another where
// it is shown (a consent page, an ID token), and a zero-width space hides
// in it; no stacked marks painting over a page's other lines; and no
// U+FFFD, which stands for bytes that were not text (a JSON decoder makes
// it of invalid UTF-8 and lone surrogates).
func PrintableText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	marks := 0
	for _, r := range s {
		switch {
		case r == utf8.RuneError:
			return false
		case r == zeroWidthNonJoiner || r == zeroWidthJoiner:
			// Neither a letter nor a mark: marks after it still count.
		case !unicode.IsPrint(r) && !unicode.Is(unicode.Zs, r):
			return false
		case unicode.In(r, unicode.Mn, unicode.Me):
			if marks++; marks > maxCombiningMarks {
				return false
			}
		default:
			marks = 0
		}
	}
	return true
}

const (
	zeroWidthNonJoiner = '\u200c'
	zeroWidthJoiner    = '\u200d'
)
