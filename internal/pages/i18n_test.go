package pages

import (
	"strings"
	"testing"
)

// TestPickLanguageNegotiation pins Accept-Language handling (RFC 9110
// §12.5.4) where the hand parser it replaced went wrong, and bounds what a
// hostile header can cost.
func TestPickLanguageNegotiation(t *testing.T) {
	msgs := catalogue()
	hostile := strings.Repeat("de-DE-x-"+strings.Repeat("a", 8)+";q=0.5, ", 20<<10/30) + "de"
	for _, tc := range []struct{ name, header, want string }{
		{"plain", "de", "de"},
		{"region_then_language", "de-DE,de;q=0.9", "de"},
		{"region_not_served", "de-CH", "de"},
		{"extra_parameter_ignored", "en;q=0.9;x=1, de;q=0.8", "en"},
		{"extra_parameter_before_q", "de;x=1;q=0.9, en;q=0.8", "de"},
		{"unserved_first", "fr, de;q=0.5", "de"},
		{"higher_q_wins_over_order", "en;q=0.2, de;q=0.8", "de"},
		{"q_zero_is_refusal", "de;q=0", "en"},
		{"q_out_of_range_drops_member", "de;q=2, en;q=0.5", "en"},
		{"uppercase_q", "en;Q=0.1, de;Q=0.9", "de"},
		{"wildcard", "*", "en"},
		{"wildcard_after_german", "de, *;q=0.1", "de"},
		{"empty", "", "en"},
		{"garbage", "%%%;;,,==q", "en"},
		{"garbage_then_german", "!!!, de", "de"},
		{"nothing_served", "fr-FR, ja", "en"},
		{"hostile_20kB", hostile, "de"},
		{"hostile_20kB_one_range", strings.Repeat("a", 20<<10), "en"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := pickLanguage(tc.header, msgs); got != tc.want {
				t.Errorf("pickLanguage(%.60q) = %q, want %q", tc.header, got, tc.want)
			}
		})
	}
}

// TestLanguageMatcherServesCatalogue fails when a language is added to the
// catalogue but not to languageMatcher, which would never choose it.
func TestLanguageMatcherServesCatalogue(t *testing.T) {
	msgs := catalogue()
	for lang := range msgs {
		if got := pickLanguage(lang, msgs); got != lang {
			t.Errorf("Accept-Language %q chooses %q: add it to languageMatcher", lang, got)
		}
	}
}

func BenchmarkPickLanguage(b *testing.B) {
	msgs := catalogue()
	for name, h := range map[string]string{
		"browser": "de-DE,de;q=0.9,en-US;q=0.8,en;q=0.7",
		"hostile": strings.Repeat("de-DE;q=0.5, ", 2000),
	} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				pickLanguage(h, msgs)
			}
		})
	}
}
