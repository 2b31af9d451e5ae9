package oauth

import (
	"strings"
	"testing"
)

func TestCheckEmail(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want string // "" when refused
	}{
		{"A7/plain", "kate@example.com", "kate@example.com"},
		{"A7/mixed_case_ascii_kept", "Kate@Example.COM", "Kate@Example.COM"},
		{"A7/surrounding_spaces_trimmed", "  kate@example.com\t", "kate@example.com"},
		{"A7/plus_and_dots", "kate.b+news@mail.example.com", "kate.b+news@mail.example.com"},
		{"A7/idn_domain_becomes_a_label", "kate@bücher.example", "kate@xn--bcher-kva.example"},
		{"A7/idn_domain_ascii_case_folded", "kate@Bücher.example", "kate@xn--bcher-kva.example"},
		{"A7/a_label_domain_as_written", "kate@xn--bcher-kva.example", "kate@xn--bcher-kva.example"},
		{"A7/sharp_s_domain_is_its_own", "kate@straße.de", "kate@xn--strae-oqa.de"},

		{"A7/kelvin_sign", "\u212aate@example.com", ""},
		{"A7/kelvin_sign_in_domain", "kate@example.\u212aom", ""},
		{"A7/long_s", "\u017fam@example.com", ""},
		{"A7/long_s_in_domain", "kate@example\u017f.com", ""},
		{"A7/fullwidth_letters", "\uff4b\uff41\uff54\uff45@example.com", ""},
		{"A7/fullwidth_letters_in_domain", "kate@\uff45xample.com", ""},
		{"A7/fullwidth_at", "kate\uff20example.com", ""},
		{"A7/zero_width_space", "ka\u200bte@example.com", ""},
		{"A7/zero_width_space_in_domain", "kate@exa\u200bmple.com", ""},
		{"A7/zero_width_joiner", "kate@exa\u200dmple.com", ""},
		{"A7/zero_width_non_joiner", "kate\u200c@example.com", ""},
		{"A7/soft_hyphen", "kate@ex\u00adample.com", ""},
		{"A7/byte_order_mark", "\ufeffkate@example.com", ""},
		{"A7/right_to_left_override", "kate@\u202eexample.com", ""},
		{"A7/no_break_space", "kate@example.com\u00a0", ""},
		{"A7/hangul_filler", "kate\u3164@example.com", ""},
		{"A7/variation_selector", "kate@example.com\ufe0f", ""},
		{"A7/control_character", "kate@example.com\x00", ""},
		{"A7/header_injection", "kate@example.com\r\nBcc: x@example.com", ""},
		{"A7/trailing_dot", "kate@example.com.", ""},
		{"A7/decomposed_accent_in_domain", "kate@bu\u0308cher.example", ""},
		{"A7/upper_case_non_ascii_domain", "kate@BÜCHER.example", ""},
		{"A7/non_ascii_local_part", "käte@example.com", ""},
		{"A7/cyrillic_a", "k\u0430te@example.com", ""},
		{"A7/quoted_local_part", `"kate b"@example.com`, ""},
		{"A7/display_name", "Kate <kate@example.com>", ""},
		{"A7/two_ats", "kate@evil@example.com", ""},
		{"A7/leading_dot", ".kate@example.com", ""},
		{"A7/double_dot", "ka..te@example.com", ""},
		{"A7/single_label_domain", "kate@localhost", ""},
		{"A7/ip_literal", "kate@[127.0.0.1]", ""},
		{"A7/hyphen_edge_label", "kate@-example.com", ""},
		{"A7/underscore_domain", "kate@ex_ample.com", ""},
		{"A7/empty", "", ""},
		{"A7/no_at", "kate", ""},
		{"A7/no_domain", "kate@", ""},
		{"A7/long_local_part", strings.Repeat("a", 65) + "@example.com", ""},
		{"A7/too_long", strings.Repeat("a", 64) + "@" + strings.Repeat("b", 60) + "." + strings.Repeat("c", 60) + "." + strings.Repeat("d", 60) + ".example", ""},
		{"A7/invalid_utf8", "kate\xff@example.com", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CheckEmail(tt.raw)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("CheckEmail(%q) = %q, want refused", tt.raw, got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("CheckEmail(%q) = %q, %v, want %q", tt.raw, got, err, tt.want)
			}
		})
	}
}

func TestEmailKey(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		same bool
	}{
		{"A7/mixed_case_ascii_matches", "Kate@Example.COM", "kate@example.com", true},
		{"A7/kelvin_sign_is_not_k", "\u212aate@example.com", "kate@example.com", false},
		{"A7/long_s_is_not_s", "\u017fam@example.com", "sam@example.com", false},
		{"A7/fullwidth_is_not_ascii", "\uff4bate@example.com", "kate@example.com", false},
		{"A7/non_ascii_case_not_folded", "\u00c9mile@example.com", "\u00e9mile@example.com", false},
		{"A7/dotless_i_is_not_i", "\u0131vy@example.com", "ivy@example.com", false},
		{"A7/zero_width_space_not_dropped", "ka\u200bte@example.com", "kate@example.com", false},
		{"A7/trailing_dot_not_dropped", "kate@example.com.", "kate@example.com", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := EmailKey(tt.a) == EmailKey(tt.b); got != tt.same {
				t.Fatalf("EmailKey(%q) == EmailKey(%q) is %v, want %v", tt.a, tt.b, got, tt.same)
			}
		})
	}
}

// FuzzCheckEmail asserts the A7 property: an accepted email is ASCII,
// printable, at most 254 bytes, and checking it again changes nothing.
func FuzzCheckEmail(f *testing.F) {
	for _, seed := range []string{"kate@example.com", "\u212aate@example.com", "kate@bücher.example", "kate@xn--bcher-kva.example", "a@b.c", "kate@example.com."} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, err := CheckEmail(raw)
		if err != nil {
			return
		}
		if len(got) > 254 {
			t.Fatalf("accepted %d bytes", len(got))
		}
		for i := 0; i < len(got); i++ {
			if got[i] <= ' ' || got[i] >= 0x7f {
				t.Fatalf("accepted %q: byte %#x", got, got[i])
			}
		}
		if again, err := CheckEmail(got); err != nil || again != got {
			t.Fatalf("CheckEmail(%q) = %q, %v: not stable", got, again, err)
		}
	})
}
