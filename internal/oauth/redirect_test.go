package oauth

import (
	"cmp"
	"net/url"
	"strings"
	"testing"
)

func TestMatchRedirectURI(t *testing.T) {
	const cb = "https://app.example/cb"
	tests := []struct {
		name       string
		registered []string
		requested  string
		ok         bool
	}{
		// Accepted.
		{"A2/exact", []string{cb}, cb, true},
		{"A2/subpath_on_segment", []string{cb}, "https://app.example/cb/x", true},
		{"A2/deep_subpath", []string{cb}, "https://app.example/cb/x/y/z", true},
		{"A2/registered_trailing_slash", []string{"https://app.example/cb/"}, "https://app.example/cb/x", true},
		{"A2/bare_origin_allows_every_path", []string{"https://app.example"}, "https://app.example/anything/at/all", true},
		{"A2/bare_origin_slash_allows_every_path", []string{"https://app.example/"}, "https://app.example/x", true},
		{"A2/bare_origin_itself", []string{"https://app.example"}, "https://app.example", true},
		{"A2/second_registration", []string{"https://other.example/cb", cb}, "https://app.example/cb", true},
		{"A2/explicit_port", []string{"https://app.example:8443/cb"}, "https://app.example:8443/cb/x", true},
		{"A2/query_equal", []string{"https://app.example/cb?tenant=1"}, "https://app.example/cb?tenant=1", true},
		{"A2/loopback_v4_any_port", []string{"http://127.0.0.1/cb"}, "http://127.0.0.1:51234/cb", true},
		{"A2/loopback_v4_other_port", []string{"http://127.0.0.1:8080/cb"}, "http://127.0.0.1:9090/cb", true},
		{"A2/loopback_v6_any_port", []string{"http://[::1]/cb"}, "http://[::1]:4000/cb", true},
		{"A2/loopback_subpath", []string{"http://127.0.0.1/"}, "http://127.0.0.1:4000/x/y", true},
		{"A2/private_use_exact", []string{"com.example.app:/oauth/cb"}, "com.example.app:/oauth/cb", true},
		{"A2/ipv6_https", []string{"https://[2001:db8::1]/cb"}, "https://[2001:db8::1]/cb", true},
		{"A2/trailing_slash_below", []string{cb}, "https://app.example/cb/", true},
		{"A2/encoded_registered_path_exact", []string{"https://app.example/c%41b"}, "https://app.example/c%41b", true},
		{"A2/encoded_registered_path_plain_below", []string{"https://app.example/c%41b"}, "https://app.example/c%41b/x", true},
		{"A2/semicolon_registered_exact", []string{"https://app.example/cb;v=1"}, "https://app.example/cb;v=1", true},

		// Not below the registered path.
		{"A2/sibling_prefix_not_segment", []string{cb}, "https://app.example/cbx", false},
		{"A2/parent", []string{cb}, "https://app.example/", false},
		{"A2/other_path", []string{cb}, "https://app.example/other", false},
		{"A2/path_case", []string{cb}, "https://app.example/CB", false},

		// Other scheme, host or port.
		{"A2/other_host", []string{cb}, "https://evil.example/cb", false},
		{"A2/subdomain", []string{cb}, "https://evil.app.example/cb", false},
		{"A2/host_suffix", []string{cb}, "https://app.example.evil/cb", false},
		{"A2/trailing_dot_host", []string{cb}, "https://app.example./cb", false},
		{"A2/other_port", []string{cb}, "https://app.example:8443/cb", false},
		{"A2/port_dropped", []string{"https://app.example:8443/cb"}, "https://app.example/cb", false},
		{"A2/http_downgrade", []string{cb}, "http://app.example/cb", false},
		{"A2/https_loopback_any_port_is_not_http", []string{"https://127.0.0.1/cb"}, "https://127.0.0.1:4000/cb", false},
		{"A2/loopback_v4_v6_differ", []string{"http://127.0.0.1/cb"}, "http://[::1]:4000/cb", false},
		{"A2/query_added", []string{cb}, "https://app.example/cb?x=1", false},
		{"A2/query_changed", []string{"https://app.example/cb?tenant=1"}, "https://app.example/cb?tenant=2", false},

		// Private-use schemes match exactly.
		{"A2/private_use_subpath", []string{"com.example.app:/oauth/cb"}, "com.example.app:/oauth/cb/x", false},
		{"A2/private_use_other_scheme", []string{"com.example.app:/oauth/cb"}, "com.evil.app:/oauth/cb", false},
		{"A2/private_use_bare_scheme", []string{"com.example.app:/"}, "com.example.app:/x", false},
		{"A2/private_use_authority", []string{"com.example.app://host/cb"}, "com.example.app://host/cb", false},
		{"A2/private_use_no_dot", []string{"myapp:/cb"}, "myapp:/cb", false},

		// Rejected always, even when registered exactly.
		{"A2/fragment", []string{cb}, "https://app.example/cb#x", false},
		{"A2/empty_fragment", []string{cb}, "https://app.example/cb#", false},
		{"A2/fragment_registered", []string{"https://app.example/cb#x"}, "https://app.example/cb#x", false},
		{"A2/userinfo", []string{cb}, "https://user@app.example/cb", false},
		{"A2/userinfo_host_confusion", []string{cb}, "https://app.example@evil.example/cb", false},
		{"A2/userinfo_password", []string{cb}, "https://a:b@app.example/cb", false},
		{"A2/dot_segment", []string{cb}, "https://app.example/cb/./x", false},
		{"A2/dotdot_segment", []string{cb}, "https://app.example/cb/../admin", false},
		{"A2/dotdot_at_end", []string{cb}, "https://app.example/cb/..", false},
		{"A2/dotdot_registered", []string{"https://app.example/a/../cb"}, "https://app.example/a/../cb", false},
		{"A2/encoded_slash", []string{cb}, "https://app.example/cb%2f..%2fadmin", false},
		{"A2/encoded_slash_upper", []string{cb}, "https://app.example/cb/%2F", false},
		{"A2/encoded_dot", []string{cb}, "https://app.example/cb/%2e%2e/admin", false},
		{"A2/encoded_dot_upper", []string{cb}, "https://app.example/cb/%2E", false},
		{"A2/encoded_backslash", []string{cb}, "https://app.example/cb/%5c..", false},
		{"A2/encoded_backslash_upper", []string{cb}, "https://app.example/cb/%5C", false},
		{"A2/backslash", []string{cb}, `https://app.example/cb\..\x`, false},
		{"A2/backslash_authority", []string{cb}, `https://app.example\@evil.example/cb`, false},
		{"A2/bad_percent", []string{cb}, "https://app.example/cb/%zz", false},
		{"A2/truncated_percent", []string{cb}, "https://app.example/cb/%2", false},
		{"A2/double_encoding_below", []string{cb}, "https://app.example/cb/%252f", false},

		// Below the registered path: no empty segment, ";" or percent-encoding.
		{"A2/encoded_other_char_below", []string{cb}, "https://app.example/cb/%41", false},
		{"A2/dotdot_semicolon_below", []string{cb}, "https://app.example/cb/..;/evil", false},
		{"A2/semicolon_below", []string{cb}, "https://app.example/cb/x;jsessionid=1", false},
		{"A2/semicolon_segment_below", []string{cb}, "https://app.example/cb/;", false},
		{"A2/double_encoded_dots_below", []string{cb}, "https://app.example/cb/%252e%252e/x", false},
		{"A2/empty_segment_below", []string{cb}, "https://app.example/cb//evil.com", false},
		{"A2/empty_segment_at_boundary", []string{"https://app.example/cb/"}, "https://app.example/cb//evil.com", false},
		{"A2/empty_segment_deeper", []string{cb}, "https://app.example/cb/x//y", false},
		{"A2/absolute_url_below", []string{cb}, "https://app.example/cb/https://evil.com", false},
		{"A2/bare_origin_empty_segment", []string{"https://app.example"}, "https://app.example//evil.com", false},
		{"A2/bare_origin_percent", []string{"https://app.example"}, "https://app.example/%41", false},
		{"A2/loopback_empty_segment", []string{"http://127.0.0.1/cb"}, "http://127.0.0.1:4000/cb//x", false},
		{"A2/http_off_loopback", []string{"http://app.example/cb"}, "http://app.example/cb", false},
		{"A2/http_localhost_name", []string{"http://localhost/cb"}, "http://localhost:4000/cb", false},
		{"A2/http_other_loopback_net", []string{"http://127.0.0.2/cb"}, "http://127.0.0.2/cb", false},
		{"A2/scheme_case", []string{cb}, "HTTPS://app.example/cb", false},
		{"A2/host_case", []string{cb}, "https://APP.example/cb", false},
		{"A2/default_port_https", []string{cb}, "https://app.example:443/cb", false},
		{"A2/default_port_http", []string{"http://127.0.0.1/cb"}, "http://127.0.0.1:80/cb", false},
		{"A2/leading_zero_port", []string{"https://app.example:8443/cb"}, "https://app.example:08443/cb", false},
		{"A2/port_out_of_range", []string{cb}, "https://app.example:70000/cb", false},
		{"A2/empty_port", []string{cb}, "https://app.example:/cb", false},
		{"A2/control_character", []string{cb}, "https://app.example/cb\x00", false},
		{"A2/newline", []string{cb}, "https://app.example/cb\n", false},
		{"A2/tab_in_host", []string{cb}, "https://app.ex\tample/cb", false},
		{"A2/space", []string{cb}, "https://app.example/cb x", false},
		{"A2/non_ascii_host", []string{cb}, "https://аpp.example/cb", false},
		{"A2/overlong", []string{cb}, "https://app.example/cb/" + strings.Repeat("a", 2000), false},
		{"A2/relative", []string{cb}, "/cb", false},
		{"A2/scheme_relative", []string{cb}, "//app.example/cb", false},
		{"A2/empty", []string{cb}, "", false},
		{"A2/no_host", []string{cb}, "https:///cb", false},
		{"A2/single_slash_https", []string{cb}, "https:/app.example/cb", false},
		{"A2/javascript", []string{cb}, "javascript:alert(1)", false},
		{"A2/data", []string{cb}, "data:text/html,x", false},
		{"A2/file", []string{"file:///etc/passwd"}, "file:///etc/passwd", false},
		{"A2/nothing_registered", nil, cb, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := MatchRedirectURI(tt.requested, tt.registered)
			if (err == nil) != tt.ok {
				t.Fatalf("MatchRedirectURI(%q, %q) err = %v, want ok=%v", tt.requested, tt.registered, err, tt.ok)
			}
			if tt.ok && got.Raw != tt.requested {
				t.Fatalf("returned %q, want the requested URI", got.Raw)
			}
		})
	}
}

func TestRedirectURIOrigin(t *testing.T) {
	for raw, want := range map[string]string{
		"https://app.example/cb":      "https://app.example",
		"https://app.example:8443/cb": "https://app.example:8443",
		"http://127.0.0.1:4000/cb":    "http://127.0.0.1:4000",
		"http://[::1]:4000/cb":        "http:", // no IPv6 host-source in CSP
		"https://[2001:db8::1]/cb":    "https:",
		"com.example.app:/cb":         "com.example.app:",
	} {
		u, err := CheckRedirectURI(raw)
		if err != nil {
			t.Fatalf("CheckRedirectURI(%q): %v", raw, err)
		}
		if got := u.Origin(); got != want {
			t.Errorf("Origin(%q) = %q, want %q", raw, got, want)
		}
	}
}

// FuzzMatchRedirectURI asserts the property A2 exists for: a requested URI
// is never accepted when its scheme, host or port differ from the
// registered one (the port only on loopback http), or when it carries a
// fragment or userinfo. net/url, an independent parser, judges.
func FuzzMatchRedirectURI(f *testing.F) {
	for _, seed := range [][2]string{
		{"https://app.example/cb", "https://app.example/cb/x"},
		{"https://app.example", "https://app.example@evil.example/"},
		{"http://127.0.0.1/cb", "http://127.0.0.1:8080/cb"},
		{"http://[::1]/cb", "http://[::1]:1/cb"},
		{"com.example.app:/cb", "com.example.app:/cb"},
		{"https://app.example/cb", "https://app.example/cb%2f..%2f"},
		{"https://app.example:8443/", "https://app.example:08443/"},
		{"https://app.example/cb?a=b", "https://app.example/cb?a=b"},
		{"https://app.example/cb", `https://app.example\.evil.example/cb`},
		{"https://app.example/cb", "https://app.example/cb/..;/evil"},
		{"https://app.example/cb", "https://app.example/cb/%252e%252e/x"},
		{"https://app.example/cb", "https://app.example/cb//evil.com"},
		{"https://app.example/cb/", "https://app.example/cb/https://evil.com"},
		{"https://app.example", "https://app.example//evil.com"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, registered, requested string) {
		got, err := MatchRedirectURI(requested, []string{registered})
		if err != nil {
			return
		}
		if got.Raw != requested {
			t.Fatalf("returned %q for %q", got.Raw, requested)
		}
		reg, err1 := url.Parse(registered)
		req, err2 := url.Parse(requested)
		if err1 != nil || err2 != nil {
			t.Fatalf("accepted a URI net/url cannot parse: reg %v, req %v", err1, err2)
		}
		if req.Fragment != "" || strings.Contains(requested, "#") || req.User != nil {
			t.Fatalf("accepted fragment or userinfo: %q", requested)
		}
		if !strings.EqualFold(reg.Scheme, req.Scheme) || reg.Scheme == "" {
			t.Fatalf("scheme differs: %q vs %q", registered, requested)
		}
		if reg.Hostname() != req.Hostname() {
			t.Fatalf("host differs: %q vs %q", registered, requested)
		}
		if reg.Port() != req.Port() && !(req.Scheme == "http" && (req.Hostname() == "127.0.0.1" || req.Hostname() == "::1")) {
			t.Fatalf("port differs: %q vs %q", registered, requested)
		}
		if req.Scheme == "http" && req.Hostname() != "127.0.0.1" && req.Hostname() != "::1" {
			t.Fatalf("http off loopback: %q", requested)
		}
		for _, seg := range strings.Split(req.EscapedPath(), "/") {
			if seg == "." || seg == ".." {
				t.Fatalf("dot-segment accepted: %q", requested)
			}
		}
		if requested == registered {
			return
		}
		// Below the registered path: plain segments only (PRODUCT A2).
		base, path := cmp.Or(reg.EscapedPath(), "/"), cmp.Or(req.EscapedPath(), "/")
		below, ok := strings.CutPrefix(path, base)
		if !ok {
			t.Fatalf("path %q is not below %q", path, base)
		}
		if strings.Contains(below, "//") || strings.ContainsAny(below, ";%") || (strings.HasSuffix(base, "/") && strings.HasPrefix(below, "/")) {
			t.Fatalf("accepted an empty segment, ';' or percent-encoding below %q: %q", registered, requested)
		}
	})
}

// BenchmarkMatchRedirectURI is the A2 check every authorize request runs.
func BenchmarkMatchRedirectURI(b *testing.B) {
	registered := []string{"https://app.example/cb", "com.example.app:/oauth/cb", "http://127.0.0.1/cb"}
	for _, req := range []string{"https://app.example/cb/sub/path?x=1", "http://127.0.0.1:51234/cb"} {
		b.Run(req, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				MatchRedirectURI(req, registered)
			}
		})
	}
}
