package domain

import "testing"

func TestPrintableText(t *testing.T) {
	for s, want := range map[string]bool{
		"Ada":                    true,
		"Zoë Ørsted-Łukasiewicz": true,
		"O'Brien Jr.":            true,
		"山田 太郎":                  true,
		"e\u0301\u0302":          true, // two marks
		"e\u0301\u0302\u0303":    false,
		"":                       true,
		"\xff\xfe":               false, // invalid UTF-8
		"\ufffd":                 false, // what a decoder makes of it
		"x\u0085y":               false, // C1 control
		"x\x7fy":                 false,
		"tab\there":              false,
		"\u202eevil":             false, // right-to-left override
		"a\u2066b\u2069":         false, // bidi isolate
		"zero\u200bwidth":        false,
		"line\u2028sep":          false,
	} {
		if got := PrintableText(s); got != want {
			t.Errorf("PrintableText(%q) = %v, want %v", s, got, want)
		}
	}
}
