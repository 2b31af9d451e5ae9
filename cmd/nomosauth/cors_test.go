package main

import (
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
)

// TestCORS is PRODUCT A13 on the binary: the endpoints browser apps call
// answer any origin, without credentials, errors included, and their
// preflight names the methods and the headers a call may send; the hosted
// pages and health send no CORS header at all.
func TestCORS(t *testing.T) {
	srv := start(t, binary(t), filepath.Join(t.TempDir(), "cors.db"))
	id, secret := credentials(t, srv.stdout)
	const origin = "https://app.example"
	do := func(method, path string, body string, header http.Header) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, srv.base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range header {
			req.Header[k] = v
		}
		req.Header.Set("Origin", origin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	form := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	basic := form.Clone()
	req, _ := http.NewRequest(http.MethodPost, "/", nil)
	req.SetBasicAuth(id, secret)
	basic.Set("Authorization", req.Header.Get("Authorization"))
	wrong := form.Clone()
	req.SetBasicAuth(id, "nsec_wrong")
	wrong.Set("Authorization", req.Header.Get("Authorization"))

	for _, tc := range []struct {
		name, method, path, body string
		header                   http.Header
		status                   int
	}{
		{"A13/token", http.MethodPost, "/oauth/token", url.Values{"grant_type": {"client_credentials"}}.Encode(), basic, http.StatusOK},
		{"A13/token_error_readable", http.MethodPost, "/oauth/token", url.Values{"grant_type": {"client_credentials"}}.Encode(), wrong, http.StatusUnauthorized},
		{"A13/revoke", http.MethodPost, "/oauth/revoke", url.Values{"token": {"nrt_unknown"}}.Encode(), basic, http.StatusOK},
		{"A13/introspect", http.MethodPost, "/oauth/introspect", url.Values{"token": {"nrt_unknown"}}.Encode(), basic, http.StatusOK},
		{"A13/jwks", http.MethodGet, "/.well-known/jwks.json", "", nil, http.StatusOK},
		{"A13/openid_configuration", http.MethodGet, "/.well-known/openid-configuration", "", nil, http.StatusOK},
		{"A13/userinfo_error_readable", http.MethodGet, "/userinfo", "", nil, http.StatusUnauthorized},
		{"A13/userinfo_post", http.MethodPost, "/userinfo", "", nil, http.StatusUnauthorized},
		{"A13/metadata", http.MethodGet, "/.well-known/oauth-authorization-server", "", nil, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := do(tc.method, tc.path, tc.body, tc.header)
			h := resp.Header
			if resp.StatusCode != tc.status || h.Get("Access-Control-Allow-Origin") != "*" || h.Get("Access-Control-Allow-Credentials") != "" ||
				!strings.Contains(h.Get("Access-Control-Expose-Headers"), "X-Request-Id") {
				t.Fatalf("%d %v", resp.StatusCode, h)
			}
			pre := do(http.MethodOptions, tc.path, "", http.Header{"Access-Control-Request-Method": {tc.method}, "Access-Control-Request-Headers": {"authorization,content-type"}})
			ph := pre.Header
			if pre.StatusCode != http.StatusNoContent || ph.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(ph.Get("Access-Control-Allow-Methods"), tc.method) ||
				!strings.Contains(ph.Get("Access-Control-Allow-Headers"), "Authorization") || !strings.Contains(ph.Get("Access-Control-Allow-Headers"), "Content-Type") ||
				ph.Get("Access-Control-Max-Age") == "" || ph.Get("Access-Control-Allow-Credentials") != "" {
				t.Fatalf("preflight: %d %v", pre.StatusCode, ph)
			}
		})
	}
	for _, tc := range []struct{ name, method, path string }{
		{"A13/pages_never/authorize", http.MethodGet, "/oauth/authorize?client_id=" + id},
		{"A13/pages_never/authorize_preflight", http.MethodOptions, "/oauth/authorize"},
		{"A13/pages_never/signin", http.MethodGet, "/signin"},
		{"A13/pages_never/consent_preflight", http.MethodOptions, "/oauth/consent"},
		{"A13/pages_never/apps", http.MethodGet, "/account/apps"},
		{"A13/health_never", http.MethodGet, "/healthz"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := do(tc.method, tc.path, "", http.Header{"Access-Control-Request-Method": {http.MethodPost}})
			for k := range resp.Header {
				if strings.HasPrefix(k, "Access-Control-") {
					t.Fatalf("%s %s answered %s: %v", tc.method, tc.path, k, resp.Header)
				}
			}
		})
	}
}
