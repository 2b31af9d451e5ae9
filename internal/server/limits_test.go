package server

import (
	"net/http"
	"testing"
	"time"

	"github.com/nomosauth/nomosauth/internal/httpx"
)

func TestTokenEndpointRateLimits(t *testing.T) {
	t.Run("R5/per_client_after_authentication", func(t *testing.T) {
		f := newFixture(t)
		f.tokensSrv.ClientLimits = httpx.NewRateLimiter(1, 2, f.clock.Now)
		// Wrong secrets spend the sender's failure budget, not the client's (PRODUCT S6).
		for range 5 {
			checkEnvelope(t, f.post(form, "grant_type=client_credentials", f.client.ID, "nsec_wrong"), 401, "UNAUTHORIZED", "invalid_client")
		}
		mustOK(t, f.clientCredentials(""))
		mustOK(t, f.clientCredentials(""))
		r := f.clientCredentials("")
		checkEnvelope(t, r, http.StatusTooManyRequests, "TOO_MANY_REQUESTS", "")
		if r.header.Get("Retry-After") != "1" || r.header.Get("RateLimit-Remaining") != "0" {
			t.Fatalf("headers %v", r.header)
		}
		mustOK(t, f.post(form, "grant_type=client_credentials", f.other.ID, f.otherSecret)) // another client
		f.clock.Advance(time.Second)
		mustOK(t, f.clientCredentials(""))
	})
	t.Run("R5/per_source_address", func(t *testing.T) {
		f := newFixture(t)
		f.tokensSrv.AddrLimits = httpx.NewRateLimiter(1, 1, f.clock.Now)
		mustOK(t, f.clientCredentials(""))
		r := f.post(form, "grant_type=client_credentials", f.other.ID, f.otherSecret)
		checkEnvelope(t, r, http.StatusTooManyRequests, "TOO_MANY_REQUESTS", "")
	})
}

// Every token-endpoint answer the limiter judged carries the RateLimit
// fields, early errors included: the address budget's before the client
// is known, the client's once it is (PRODUCT R5).
func TestTokenEndpointRateLimitHeaders(t *testing.T) {
	f := newFixture(t)
	f.tokensSrv.AddrLimits = httpx.NewRateLimiter(100, 50, f.clock.Now)
	f.tokensSrv.ClientLimits = httpx.NewRateLimiter(10, 7, f.clock.Now)
	for _, tc := range []struct {
		name, contentType, body string
		basic                   []string
		status                  int
		limit                   string
	}{
		{"R5/bad_content_type", "text/plain", "x", nil, 400, "50"},
		{"R5/no_credentials", form, "grant_type=client_credentials", nil, 401, "50"},
		{"R5/repeated_parameter", form, "grant_type=client_credentials&scope=a&scope=b", []string{f.client.ID, f.secret}, 400, "50"},
		{"R5/invalid_request_after_authentication", form, "grant_type=refresh_token", []string{f.client.ID, f.secret}, 400, "7"},
		{"R5/unsupported_grant", form, "grant_type=password", []string{f.client.ID, f.secret}, 400, "7"},
		{"R5/ok", form, "grant_type=client_credentials", []string{f.client.ID, f.secret}, 200, "7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := f.post(tc.contentType, tc.body, tc.basic...)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.raw)
			}
			if r.header.Get("RateLimit-Limit") != tc.limit || r.header.Get("RateLimit-Remaining") == "" || r.header.Get("RateLimit-Reset") == "" {
				t.Fatalf("headers %v", r.header)
			}
		})
	}
}
