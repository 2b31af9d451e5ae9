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
