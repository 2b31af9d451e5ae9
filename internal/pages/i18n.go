package pages

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/text/language"
)

// defaultLanguage is used when Accept-Language names nothing we have.
const defaultLanguage = "en"

// Bounds on the part of Accept-Language that pickLanguage reads, so a
// hostile header costs a few microseconds at most: browsers send well under
// 200 bytes and a handful of ranges.
const (
	maxAcceptLanguage       = 512
	maxAcceptLanguageRanges = 16
)

// pickLanguage reads Accept-Language (RFC 9110 §12.5.4) and returns the
// supported language the customer prefers most, or defaultLanguage.
//
// The header is split here and each language range parsed on its own,
// rather than with language.ParseAcceptLanguage, because that function
// refuses the whole header for one bad member (an unknown parameter such as
// "en;q=0.9;x=1", a malformed q): one odd entry must only drop that entry.
// Choosing among the remaining ranges is language.Matcher's job, so "de-CH"
// and "de-AT" find German and a range we do not serve yields the default.
func pickLanguage(header string, supported map[string]Messages) string {
	if len(header) > maxAcceptLanguage {
		// Cut at a member boundary so the last range read is not a
		// truncated one.
		header = header[:maxAcceptLanguage]
		if i := strings.LastIndexByte(header, ','); i >= 0 {
			header = header[:i]
		}
	}
	type ranged struct {
		tag language.Tag
		q   float64
	}
	var wanted []ranged
	members := 0
	for member := range strings.SplitSeq(header, ",") {
		if members++; members > maxAcceptLanguageRanges {
			break
		}
		rng, params, _ := strings.Cut(member, ";")
		q, ok := acceptWeight(params)
		if !ok || q <= 0 { // RFC 9110 §12.4.2: q=0 means "not acceptable"
			continue
		}
		tag, err := language.Parse(strings.TrimSpace(rng))
		if err != nil { // "*", garbage: nothing to match on
			continue
		}
		wanted = append(wanted, ranged{tag, q})
	}
	slices.SortStableFunc(wanted, func(a, b ranged) int { return cmp.Compare(b.q, a.q) })
	prefs := make([]language.Tag, len(wanted))
	for i, w := range wanted {
		prefs[i] = w.tag
	}
	tag, _, confidence := languageMatcher.Match(prefs...)
	base, _ := tag.Base()
	if _, ok := supported[base.String()]; !ok || confidence == language.No {
		return defaultLanguage
	}
	return base.String()
}

// languageMatcher chooses among the catalogue's languages, English first
// because a Matcher falls back to its first tag. It is built once, like a
// compiled regexp: building one is most of the cost of a negotiation, and a
// Matcher only reads its tables after that, so requests can share it.
// TestLanguageMatcherServesCatalogue keeps it in step with catalogue().
var languageMatcher = language.NewMatcher([]language.Tag{language.English, language.German})

// acceptWeight reads the q parameter of one Accept-Language member (RFC
// 9110 §12.4.2); a member without one weighs 1. Other parameters are not in
// the grammar but are ignored rather than failing the member.
func acceptWeight(params string) (float64, bool) {
	for param := range strings.SplitSeq(params, ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(param), "=")
		if !strings.EqualFold(strings.TrimSpace(name), "q") {
			continue
		}
		q, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil || q < 0 || q > 1 {
			return 0, false
		}
		return q, true
	}
	return 1, true
}
