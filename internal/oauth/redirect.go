package oauth

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
)

// maxRedirectURILen bounds a redirect URI; browsers and proxies cut long
// URLs anyway, and nothing legitimate comes near it.
const maxRedirectURILen = 2000

// RedirectURI is a redirect URI that passed CheckRedirectURI, split into
// the parts the matching rule compares. Path and Query are kept as written
// (still percent-encoded), so no decoding can make two spellings meet.
type RedirectURI struct {
	Raw    string
	Scheme string
	Host   string // lower case, without port; IPv6 without brackets
	Port   string // "" when absent
	Path   string // "/" for an empty path
	Query  string
	// Loopback is http on 127.0.0.1 or [::1], where any port matches
	// (RFC 8252 §7.3).
	Loopback bool
	// PrivateUse is a native app's private-use scheme (RFC 8252 §7.1),
	// which only ever matches exactly.
	PrivateUse bool
}

// Errors of CheckRedirectURI; the message is shown to the customer on
// the error page (PRODUCT A1) and to operators registering a client.
var (
	errRedirectLong      = errors.New("is too long")
	errRedirectChars     = errors.New("holds a character that is not allowed")
	errRedirectFragment  = errors.New("must not have a fragment")
	errRedirectUserinfo  = errors.New("must not have userinfo")
	errRedirectAbsolute  = errors.New("must be an absolute URI")
	errRedirectCase      = errors.New("must have a lower-case scheme and host")
	errRedirectScheme    = errors.New("must be https, http on a loopback address, or a private-use scheme such as com.example.app")
	errRedirectHost      = errors.New("has a missing or malformed host")
	errRedirectPort      = errors.New("has a malformed or default port")
	errRedirectDotSeg    = errors.New("must not have . or .. path segments")
	errRedirectEncoded   = errors.New("must not encode / . or \\ in its path")
	errRedirectBackslash = errors.New("must not have a backslash")
	errRedirectMismatch  = errors.New("is not registered for this client")
)

// CheckRedirectURI parses raw and refuses every form PRODUCT A2 rejects
// always, whether registered or requested: fragments, userinfo,
// dot-segments, encoded slashes, dots or backslashes, http off loopback
// (RFC 9700 §2.1, §4.1.3; RFC 8252 §7.3, §8.3), plus what would let two
// spellings of one place compare differently: upper case in scheme or
// host, a default port written out, non-ASCII and control characters.
func CheckRedirectURI(raw string) (RedirectURI, error) {
	if len(raw) > maxRedirectURILen {
		return RedirectURI{}, errRedirectLong
	}
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c <= 0x20 || c >= 0x7f || c == '"' || c == '<' || c == '>' || c == '`' || c == '{' || c == '}' || c == '|' || c == '^' {
			return RedirectURI{}, errRedirectChars
		}
	}
	if strings.Contains(raw, "#") {
		return RedirectURI{}, errRedirectFragment
	}
	if strings.Contains(raw, `\`) {
		return RedirectURI{}, errRedirectBackslash
	}
	scheme, rest, ok := strings.Cut(raw, ":")
	if !ok || !validScheme(scheme) {
		return RedirectURI{}, errRedirectAbsolute
	}
	if scheme != strings.ToLower(scheme) {
		return RedirectURI{}, errRedirectCase
	}
	u := RedirectURI{Raw: raw, Scheme: scheme}
	switch scheme {
	case "https", "http":
		if !strings.HasPrefix(rest, "//") {
			return RedirectURI{}, errRedirectAbsolute
		}
		authority, pathQuery := rest[2:], ""
		if i := strings.IndexAny(authority, "/?"); i >= 0 {
			authority, pathQuery = authority[:i], authority[i:]
		}
		if strings.Contains(authority, "@") {
			return RedirectURI{}, errRedirectUserinfo
		}
		host, port, err := splitAuthority(authority)
		if err != nil {
			return RedirectURI{}, err
		}
		if host != strings.ToLower(host) {
			return RedirectURI{}, errRedirectCase
		}
		if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
			return RedirectURI{}, errRedirectPort
		}
		u.Host, u.Port = host, port
		u.Path, u.Query, _ = strings.Cut(pathQuery, "?")
		if u.Path == "" {
			u.Path = "/"
		}
		if scheme == "http" {
			// RFC 8252 §8.3: loopback IP literals, not "localhost", which
			// DNS or a hosts file may send elsewhere.
			if host != "127.0.0.1" && host != "::1" {
				return RedirectURI{}, errRedirectScheme
			}
			u.Loopback = true
		}
	default:
		// RFC 8252 §7.1: a private-use scheme is a reverse domain name.
		if !strings.Contains(scheme, ".") {
			return RedirectURI{}, errRedirectScheme
		}
		if strings.HasPrefix(rest, "//") {
			// An authority would bring userinfo and host back in; native
			// apps use scheme:/path (RFC 8252 §7.1).
			return RedirectURI{}, errRedirectAbsolute
		}
		u.PrivateUse = true
		u.Path, u.Query, _ = strings.Cut(rest, "?")
	}
	if err := checkPath(u.Path); err != nil {
		return RedirectURI{}, err
	}
	if _, err := url.ParseQuery(u.Query); err != nil {
		return RedirectURI{}, errRedirectChars
	}
	return u, nil
}

// validScheme is RFC 3986 §3.1: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ).
func validScheme(s string) bool {
	if s == "" || !isAlpha(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isAlpha(c) && !isDigit(c) && c != '+' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

func isAlpha(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// splitAuthority splits host[:port]; IPv6 literals come in brackets.
func splitAuthority(a string) (host, port string, err error) {
	if strings.HasPrefix(a, "[") {
		end := strings.Index(a, "]")
		if end < 0 {
			return "", "", errRedirectHost
		}
		host, a = a[1:end], a[end+1:]
		if host != "::1" && !validIPv6(host) {
			return "", "", errRedirectHost
		}
	} else {
		h, _, _ := strings.Cut(a, ":")
		host, a = h, a[len(h):]
		if !validHostname(host) {
			return "", "", errRedirectHost
		}
	}
	if a == "" {
		return host, "", nil
	}
	if a[0] != ':' || !validPort(a[1:]) {
		return "", "", errRedirectPort
	}
	return host, a[1:], nil
}

func validHostname(h string) bool {
	if h == "" || len(h) > 253 || h[0] == '.' || h[0] == '-' || h[len(h)-1] == '.' || strings.Contains(h, "..") {
		return false
	}
	for i := 0; i < len(h); i++ {
		if c := h[i]; !isAlpha(c) && !isDigit(c) && c != '.' && c != '-' {
			return false
		}
	}
	return true
}

func validIPv6(h string) bool {
	if h == "" || len(h) > 39 {
		return false
	}
	for i := 0; i < len(h); i++ {
		if c := h[i]; !isDigit(c) && !(c >= 'a' && c <= 'f') && c != ':' {
			return false
		}
	}
	return strings.Contains(h, ":")
}

// validPort is 1-65535 in decimal without leading zeros, so ":0443" cannot
// pose as another spelling of 443.
func validPort(p string) bool {
	if p == "" || len(p) > 5 || p[0] == '0' {
		return false
	}
	for i := 0; i < len(p); i++ {
		if !isDigit(p[i]) {
			return false
		}
	}
	n, _ := strconv.Atoi(p)
	return n <= 65535
}

// checkPath refuses dot-segments and encoded separators: a server or app
// that decodes or normalises them could be led outside the registered
// path (RFC 9700 §4.1.3).
func checkPath(p string) error {
	lower := strings.ToLower(p)
	for _, enc := range []string{"%2f", "%2e", "%5c"} {
		if strings.Contains(lower, enc) {
			return errRedirectEncoded
		}
	}
	for i := 0; i < len(p); i++ {
		if p[i] == '%' && (i+2 >= len(p) || !isHex(p[i+1]) || !isHex(p[i+2])) {
			return errRedirectChars
		}
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "." || seg == ".." {
			return errRedirectDotSeg
		}
	}
	return nil
}

func isHex(c byte) bool { return isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'f') }

// MatchRedirectURI is PRODUCT A2: requested is allowed when it equals a
// registered URI, or has the same scheme, host, port and query and its path
// lies at or below the registered path on a segment boundary (registered
// /cb allows /cb and /cb/x, never /cbx; a bare origin allows every path).
// What lies below the registered path is plain segments only: no empty
// segment (//), no ";" and no percent-encoding, which servers and
// frameworks decode or split differently (/cb/..;/x, /cb/%252e%252e/x,
// /cb//evil.example; RFC 9700 §4.1.3).
// On loopback http any port matches (RFC 8252 §7.3); private-use schemes
// match exactly. It returns the checked URI to redirect to.
func MatchRedirectURI(requested string, registered []string) (RedirectURI, error) {
	req, err := CheckRedirectURI(requested)
	if err != nil {
		return RedirectURI{}, err
	}
	for _, raw := range registered {
		reg, err := CheckRedirectURI(raw)
		if err != nil {
			continue
		}
		if redirectMatches(req, reg) {
			return req, nil
		}
	}
	return RedirectURI{}, errRedirectMismatch
}

func redirectMatches(req, reg RedirectURI) bool {
	if req.Raw == reg.Raw {
		return true
	}
	if reg.PrivateUse || req.Scheme != reg.Scheme || req.Host != reg.Host || req.Query != reg.Query {
		return false
	}
	if req.Port != reg.Port && !(req.Loopback && reg.Loopback) {
		return false
	}
	return pathAtOrBelow(req.Path, reg.Path)
}

// pathAtOrBelow reports whether path p is base or lies below it on a
// segment boundary, in plain segments (PRODUCT A2).
func pathAtOrBelow(p, base string) bool {
	if p == base {
		return true
	}
	if !strings.HasSuffix(base, "/") {
		base += "/"
	}
	below, ok := strings.CutPrefix(p, base)
	return ok && plainSegments(below)
}

// plainSegments reports whether the part of a path below the registered
// one has no empty segment (a trailing slash aside), no ";" and no
// percent-encoding.
func plainSegments(below string) bool {
	return !strings.HasPrefix(below, "/") && !strings.Contains(below, "//") && !strings.ContainsAny(below, ";%")
}

// Origin is the scheme, host and port to name in a Content-Security-Policy
// so a form may lead the browser there (PRODUCT A10). A private-use scheme
// is named by its scheme alone, and so is an IPv6 literal's, which CSP's
// host-source grammar cannot name (browsers ignore "http://[::1]:4000"
// and then block the redirect to the app, RFC 8252 §7.3's loopback).
func (u RedirectURI) Origin() string {
	if u.PrivateUse || strings.Contains(u.Host, ":") {
		return u.Scheme + ":"
	}
	host := u.Host
	if u.Port != "" {
		host += ":" + u.Port
	}
	return u.Scheme + "://" + host
}
