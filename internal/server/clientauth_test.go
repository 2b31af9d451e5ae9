package server

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/nomosauth/nomosauth/internal/httpx"
)

// TestWrongSecretFloodDoesNotLockOut is PRODUCT S6: client ids are public
// (they sit in authorize URLs), so an attacker who sends wrong secrets for
// a client from one address must exhaust only their own budget of failed
// attempts, never the client's R5 budget. The limiters are the production
// ones; the attacker sends 100 requests a second, the real client 10, and
// the clock advances by hand.
func TestWrongSecretFloodDoesNotLockOut(t *testing.T) {
	t.Run("S6/wrong_secret_flood_does_not_lock_out", func(t *testing.T) {
		f := newFixture(t)
		f.tokensSrv.ClientLimits = httpx.NewRateLimiter(10, 20, f.clock.Now) // serve's defaults
		f.tokensSrv.AddrLimits = httpx.NewRateLimiter(50, 100, f.clock.Now)
		f.tokensSrv.FailedAuthLimits = httpx.NewRateLimiter(FailedAuthRate, FailedAuthBurst, f.clock.Now)
		f.tokensSrv.FailedAuthAddrLimits = httpx.NewRateLimiter(FailedAuthAddrRate, FailedAuthAddrBurst, f.clock.Now)
		handler := f.srv.Config.Handler
		send := func(addr, secret string) *httptest.ResponseRecorder {
			req := httptest.NewRequest(http.MethodPost, PathToken, strings.NewReader("grant_type=client_credentials"))
			req.RemoteAddr = addr + ":40000"
			req.Header.Set("Content-Type", form)
			req.SetBasicAuth(f.client.ID, secret)
			rec := httptest.NewRecorder()
			handler.ServeHTTP(rec, req)
			return rec
		}
		attacker, real := map[int]int{}, map[int]int{}
		for i := range 300 {
			rec := send("203.0.113.66", "nsec_wrong")
			attacker[rec.Code]++
			if rec.Code == http.StatusTooManyRequests && (rec.Header().Get("Retry-After") == "" || rec.Header().Get("RateLimit-Remaining") != "0") {
				t.Fatalf("attacker's 429 lacks its headers: %v", rec.Header())
			}
			if i%10 == 0 {
				rec := send("198.51.100.7", f.secret)
				real[rec.Code]++
				if rec.Code != http.StatusOK {
					t.Fatalf("request %d: the real client got %d: %s", i, rec.Code, rec.Body)
				}
				if rec.Header().Get("RateLimit-Limit") != "20" {
					t.Fatalf("the real client's 200 lacks its RateLimit fields: %v", rec.Header())
				}
			}
			f.clock.Advance(10 * time.Millisecond)
		}
		t.Logf("attacker (300 wrong secrets in 3 s): %d × 401, %d × 429; real client: %d × 200", attacker[401], attacker[429], real[200])
		if attacker[401] != FailedAuthBurst || attacker[401]+attacker[429] != 300 || real[200] != 30 {
			t.Fatalf("attacker %v, real client %v", attacker, real)
		}
	})
	t.Run("S6/public_client_id_flood_does_not_lock_out", func(t *testing.T) {
		// A public client authenticates with its id alone, which anyone
		// can send: one address spending the client's budget must not
		// refuse every other installation of the app (R5).
		f := newFixture(t)
		f.tokensSrv.ClientLimits = httpx.NewRateLimiter(10, 20, f.clock.Now) // serve's defaults
		handler := f.srv.Config.Handler
		send := func(addr string) int {
			req := httptest.NewRequest(http.MethodPost, PathToken, strings.NewReader("grant_type=refresh_token&refresh_token=nrt_junk&client_id="+f.public.ID))
			req.RemoteAddr = addr + ":40000"
			req.Header.Set("Content-Type", form)
			rec := httptest.NewRecorder()
			handler.ServeHTTP(rec, req)
			return rec.Code
		}
		attacker := map[int]int{}
		for range 100 {
			attacker[send("203.0.113.66")]++
		}
		if attacker[http.StatusTooManyRequests] == 0 {
			t.Fatalf("the flooding address was never limited: %v", attacker)
		}
		if code := send("198.51.100.7"); code != http.StatusUnauthorized {
			t.Fatalf("another installation of the public client got %d, want its own answer (401 invalid_grant)", code)
		}
	})
	t.Run("S6/failures_counted_per_address_over_client_ids", func(t *testing.T) {
		f := newFixture(t)
		f.tokensSrv.FailedAuthAddrLimits = httpx.NewRateLimiter(1, 3, f.clock.Now)
		for _, id := range []string{"client_a", "client_b", "client_c"} {
			checkEnvelope(t, f.post(form, "grant_type=client_credentials", id, "nsec_x"), 401, "UNAUTHORIZED", "invalid_client")
		}
		r := f.post(form, "grant_type=client_credentials", "client_d", "nsec_x")
		checkEnvelope(t, r, http.StatusTooManyRequests, "TOO_MANY_REQUESTS", "")
		if r.header.Get("Retry-After") != "1" {
			t.Fatalf("headers %v", r.header)
		}
		f.clock.Advance(time.Second)
		mustOK(t, f.clientCredentials(""))
	})
}

// TestEmptySecretIsNone is PRODUCT T1 over HTTP: a public client that sends
// an empty secret, in a form or JSON body or as Basic `id:`, authenticates
// as public (its request then fails on the unknown code, not on the
// client); a confidential client sending an empty secret is invalid_client.
func TestEmptySecretIsNone(t *testing.T) {
	f := newFixture(t)
	code := "grant_type=authorization_code&code=nac_unknown&redirect_uri=" + url.QueryEscape("com.example.app:/cb")
	basicEmpty := func(id string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":")) }
	tests := []struct {
		name        string
		contentType string
		body        string
		auth        string
		status      int
		code        string
		oauth       string
	}{
		{"T1/public_empty_post_secret", form, code + "&client_id=" + f.public.ID + "&client_secret=", "", 401, "UNAUTHORIZED", "invalid_grant"},
		{"T1/public_empty_json_secret", "application/json", `{"grant_type":"authorization_code","code":"nac_unknown","client_id":"` + f.public.ID + `","client_secret":""}`, "", 401, "UNAUTHORIZED", "invalid_grant"},
		{"T1/public_empty_basic_secret", form, code, basicEmpty(f.public.ID), 401, "UNAUTHORIZED", "invalid_grant"},
		{"T1/confidential_empty_post_secret", form, "grant_type=client_credentials&client_id=" + f.client.ID + "&client_secret=", "", 401, "UNAUTHORIZED", "invalid_client"},
		{"T1/confidential_empty_json_secret", "application/json", `{"grant_type":"client_credentials","client_id":"` + f.client.ID + `","client_secret":""}`, "", 401, "UNAUTHORIZED", "invalid_client"},
		{"T1/confidential_empty_basic_secret", form, "grant_type=client_credentials", basicEmpty(f.client.ID), 401, "UNAUTHORIZED", "invalid_client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, f.srv.URL+PathToken, strings.NewReader(tt.body))
			req.Header.Set("Content-Type", tt.contentType)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			checkEnvelope(t, f.do(req), tt.status, tt.code, tt.oauth)
		})
	}
}
