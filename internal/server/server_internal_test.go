package server

import "testing"

// TestIssuerPath: where RFC 8414 §3.1 inserts the well-known name, for
// the issuers --issuer accepts; a path that would not make a plain route
// gets none.
func TestIssuerPath(t *testing.T) {
	for issuer, want := range map[string]string{
		"https://auth.example":            "",
		"https://auth.example/":           "",
		"https://auth.example/tenant":     "/tenant",
		"https://auth.example/tenant/":    "/tenant",
		"https://auth.example/a/b-c.d~e":  "/a/b-c.d~e",
		"https://auth.example/a/{b}":      "",
		"https://auth.example/a//b":       "",
		"https://auth.example/a/../b":     "",
		"https://auth.example/caf%C3%A9/": "",
	} {
		if got := issuerPath(issuer); got != want {
			t.Errorf("issuerPath(%q) = %q, want %q", issuer, got, want)
		}
	}
}
