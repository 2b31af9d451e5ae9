package server

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestHSTSOnlyOverHTTPS: the root chain sets Strict-Transport-Security on
// a response that came over TLS (PRODUCT S7), and not over plain HTTP.
func TestHSTSOnlyOverHTTPS(t *testing.T) {
	f := newFixture(t)
	tlsSrv := httptest.NewTLSServer(f.srv.Config.Handler)
	t.Cleanup(tlsSrv.Close)
	for _, tc := range []struct {
		name string
		srv  *httptest.Server
		want string
	}{
		{"S7/https", tlsSrv, "max-age=31536000"},
		{"S7/plain_http", f.srv, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := tc.srv.Client().Get(tc.srv.URL + PathJWKS)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := resp.Header.Get("Strict-Transport-Security"); resp.StatusCode != http.StatusOK || got != tc.want {
				t.Fatalf("status %d, Strict-Transport-Security %q, want %q", resp.StatusCode, got, tc.want)
			}
		})
	}
}
