package server

import (
	"testing"
	"time"

	"github.com/nomosauth/nomosauth/internal/testfix"
)

// TestTokenMetrics: each token request moves its counters by exactly one,
// labelled by grant, client and outcome; a client id that does not exist
// never becomes a label; the HTTP histogram names the route pattern, never
// the raw path (PRODUCT O7).
func TestTokenMetrics(t *testing.T) {
	f := newFixture(t)
	type step struct {
		name   string
		do     func()
		series []string // name, then label pairs, of the series that moves by one
	}
	var rt0, rt1 string
	steps := []step{
		{"O7/client_credentials_ok", func() { rt0, _ = f.tokens("") },
			[]string{"nomosauth_token_requests_total", "grant", "client_credentials", "client", f.client.ID, "outcome", "ok"}},
		{"O7/refresh_rotated", func() { rt1, _ = f.pairOf(f.refresh(rt0, "")) },
			[]string{"nomosauth_refresh_verdicts_total", "verdict", "rotated"}},
		{"O7/refresh_retried", func() { f.refresh(rt0, "") },
			[]string{"nomosauth_refresh_verdicts_total", "verdict", "retried"}},
		{"O7/refresh_reuse_detected", func() { f.clock.Advance(11 * time.Second); f.refresh(rt0, "") },
			[]string{"nomosauth_refresh_verdicts_total", "verdict", "reuse_detected"}},
		{"O7/invalid_grant_outcome", func() { f.refresh(rt1, "") },
			[]string{"nomosauth_token_requests_total", "grant", "refresh_token", "client", f.client.ID, "outcome", "invalid_grant"}},
		{"O7/wrong_secret_names_the_existing_client", func() {
			f.post(form, "grant_type=client_credentials", f.client.ID, "nsec_wrong")
		}, []string{"nomosauth_token_requests_total", "grant", "client_credentials", "client", f.client.ID, "outcome", "invalid_client"}},
		{"O7/unknown_client_is_no_label", func() {
			f.post(form, "grant_type=client_credentials", "client_madeup", "nsec_wrong")
		}, []string{"nomosauth_token_requests_total", "grant", "client_credentials", "client", "unknown", "outcome", "invalid_client"}},
		{"O7/made_up_grant_is_other", func() {
			f.post(form, "grant_type=urn:made:up", f.client.ID, f.secret)
		}, []string{"nomosauth_token_requests_total", "grant", "other", "outcome", "unsupported_grant_type"}},
		{"O7/route_pattern_not_path", func() { f.do(mustRequest("GET", f.srv.URL+"/no/such/path")) },
			[]string{"nomosauth_http_request_duration_seconds", "route", "unmatched", "status", "4xx"}},
	}
	for _, s := range steps {
		before := testfix.Gather(t, f.registry)
		s.do()
		after := testfix.Gather(t, f.registry)
		if d := after.Value(s.series[0], s.series[1:]...) - before.Value(s.series[0], s.series[1:]...); d != 1 {
			t.Errorf("%s: %v moved by %v, want 1", s.name, s.series, d)
		}
		if d := after.Value("nomosauth_token_requests_total") - before.Value("nomosauth_token_requests_total"); s.series[0] == "nomosauth_token_requests_total" && d != 1 {
			t.Errorf("%s: token requests moved by %v in all, want 1", s.name, d)
		}
	}
	got := testfix.Gather(t, f.registry)
	if n := got.Value("nomosauth_revocations_total", "source", "refresh_reuse"); n != 1 {
		t.Errorf("O7/reuse_revokes_by_source: %v refresh_reuse revocations, want 1", n)
	}
	for _, m := range got["nomosauth_token_requests_total"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "client" && l.GetValue() == "client_madeup" {
				t.Fatal("O7/unknown_client_is_no_label: a made-up client id became a label")
			}
		}
	}
	if n := got.Value("nomosauth_http_request_duration_seconds", "route", "POST /oauth/token", "status", "2xx"); n < 3 {
		t.Fatalf("O7/route_pattern: %v successful POST /oauth/token observations, want at least 3", n)
	}
}
