package domain

import "testing"

func TestPrintableText(t *testing.T) {
	for s, want := range map[string]bool{
		"Ada":                       true,
		"Zoë Ørsted-Łukasiewicz":    true,
		"O'Brien Jr.":               true,
		"山田 太郎":                     true,
		"e\u0301\u0302":             true, // two marks
		"e\u0301\u0302\u0303":       false,
		"":                          true,
		"\xff\xfe":                  false, // invalid UTF-8
		"\ufffd":                    false, // what a decoder makes of it
		"x\u0085y":                  false, // C1 control
		"x\x7fy":                    false,
		"tab\there":                 false,
		"\u202eevil":                false, // right-to-left override
		"a\u2066b\u2069":            false, // bidi isolate
		"zero\u200bwidth":           false, // zero-width space
		"Jean\u00a0Pierre":          true,  // no-break space
		"山田\u3000太郎":                true,  // ideographic space
		"نیک\u200cنام":              true,  // Persian, zero-width non-joiner
		"👩\u200d💻 Lab":              true,  // emoji joined
		"a\u0489\u0489\u0489":       false, // enclosing marks stacked
		"\u200eabc":                 false, // direction mark
		"e\u0301\u200d\u0301\u0301": false, // a joiner does not reset the marks
		"line\u2028sep":             false,
	} {
		if got := PrintableText(s); got != want {
			t.Errorf("PrintableText(%q) = %v, want %v", s, got, want)
		}
	}
}
