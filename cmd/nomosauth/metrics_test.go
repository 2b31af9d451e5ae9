package main

import (
	"context"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	nomosadmin "github.com/nomosauth/nomosauth/internal/admin"
	"github.com/nomosauth/nomosauth/internal/mail/smtptest"
	"github.com/nomosauth/nomosauth/internal/pages/formclient"
	"github.com/nomosauth/nomosauth/internal/testfix"
)

var demoCustomer = regexp.MustCompile(`(?m)^\s+customer:\s+\S+ <([^>]+)>`)

// TestMetricsEndToEnd scrapes the binary's GET /metrics on its own
// listener, parses it with expfmt, makes one request of each kind and
// sees each counter move by exactly one; the public listener has no
// /metrics (PRODUCT O7).
func TestMetricsEndToEnd(t *testing.T) {
	bin := binary(t)
	mailbox := smtptest.Start(t)
	srv := start(t, bin, filepath.Join(t.TempDir(), "metrics.db"), "--smtp-url", mailbox.URL, "--mail-from", "noreply@auth.example",
		"--refresh-retry-window", "0s")
	id, secret := credentials(t, srv.stdout)
	metricsURL := srv.metricsURL(t)
	ctx := context.Background()

	t.Run("O7/public_listener_has_no_metrics", func(t *testing.T) {
		resp, err := http.Get(srv.base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("GET /metrics on the public listener: %d, want 404", resp.StatusCode)
		}
	})
	t.Run("O7/runtime_and_process_collectors", func(t *testing.T) {
		got := testfix.Scrape(t, metricsURL)
		for _, name := range []string{"go_goroutines", "process_cpu_seconds_total", "nomosauth_signing_key_age_seconds", "nomosauth_revoked_families"} {
			if _, ok := got[name]; !ok {
				t.Errorf("no %s", name)
			}
		}
	})

	// moved runs do and checks each series moved by exactly one.
	// movedBy checks that do moves each series by want.
	movedBy := func(t *testing.T, want float64, do func(), series ...[]string) {
		t.Helper()
		before := testfix.Scrape(t, metricsURL)
		do()
		after := testfix.Scrape(t, metricsURL)
		for _, s := range series {
			if d := after.Value(s[0], s[1:]...) - before.Value(s[0], s[1:]...); d != want {
				t.Errorf("%v moved by %v, want %v", s, d, want)
			}
		}
	}
	moved := func(t *testing.T, do func(), series ...[]string) {
		t.Helper()
		movedBy(t, 1, do, series...)
	}
	tokenRequests := func(grant, outcome string) []string {
		return []string{"nomosauth_token_requests_total", "grant", grant, "client", id, "outcome", outcome}
	}

	cc := clientcredentials.Config{ClientID: id, ClientSecret: secret, TokenURL: srv.base + "/oauth/token"}
	var tok *oauth2.Token
	t.Run("O7/client_credentials", func(t *testing.T) {
		moved(t, func() {
			var err error
			if tok, err = cc.Token(ctx); err != nil {
				t.Fatal(err)
			}
		}, tokenRequests("client_credentials", "ok"),
			[]string{"nomosauth_http_request_duration_seconds", "route", "POST /oauth/token", "status", "2xx"})
	})
	refresh := func(rt string) (int, map[string]any) {
		status, body, err := postForm(srv.base, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, id, secret)
		if err != nil {
			t.Fatal(err)
		}
		return status, body
	}
	t.Run("O7/refresh_rotated", func(t *testing.T) {
		moved(t, func() {
			if status, body := refresh(tok.RefreshToken); status != http.StatusOK {
				t.Fatalf("refresh: %d %v", status, body)
			}
		}, tokenRequests("refresh_token", "ok"), []string{"nomosauth_refresh_verdicts_total", "verdict", "rotated"})
	})
	t.Run("O7/refresh_reuse_detected", func(t *testing.T) {
		moved(t, func() {
			if status, _ := refresh(tok.RefreshToken); status != http.StatusUnauthorized {
				t.Fatalf("reuse: %d, want 401", status)
			}
		}, tokenRequests("refresh_token", "invalid_grant"), []string{"nomosauth_refresh_verdicts_total", "verdict", "reuse_detected"},
			[]string{"nomosauth_revocations_total", "source", "refresh_reuse"})
	})
	t.Run("O7/invalid_client", func(t *testing.T) {
		moved(t, func() {
			if status, _, _ := postForm(srv.base, url.Values{"grant_type": {"client_credentials"}}, id, "nsec_wrong"); status != http.StatusUnauthorized {
				t.Fatalf("wrong secret: %d", status)
			}
		}, tokenRequests("client_credentials", "invalid_client"))
	})
	t.Run("O7/protected_api_get", func(t *testing.T) {
		api := oauth2.NewClient(ctx, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: mustToken(t, cc).AccessToken}))
		moved(t, func() {
			resp, err := api.Get(srv.base + "/subscriptions")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET /subscriptions: %d", resp.StatusCode)
			}
		}, []string{"nomosauth_http_request_duration_seconds", "route", "GET /subscriptions", "status", "2xx"})
	})

	m := demoCustomer.FindStringSubmatch(srv.stdout.String())
	if m == nil {
		t.Fatalf("no demo customer in %q", srv.stdout.String())
	}
	app := &oauth2.Config{ClientID: id, ClientSecret: secret, RedirectURL: nomosadmin.DevRedirectURI,
		Endpoint: oauth2.Endpoint{AuthURL: srv.base + "/oauth/authorize", TokenURL: srv.base + "/oauth/token"}}
	verifier := oauth2.GenerateVerifier()
	var code string
	browser := formclient.New(t, srv.base)
	t.Run("O7/one_time_code_sent", func(t *testing.T) {
		before := testfix.Scrape(t, metricsURL).Value("nomosauth_onetime_code_emails_total", "result", "sent")
		loc := browser.SignInAndAllow(app.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)), m[1], mailbox)
		code = loc.Query().Get("code")
		// The mail went out (SignInAndAllow read it); the queue counts it
		// once its worker is back from the SMTP server.
		deadline := time.Now().Add(10 * time.Second)
		for {
			d := testfix.Scrape(t, metricsURL).Value("nomosauth_onetime_code_emails_total", "result", "sent") - before
			if d == 1 {
				break
			}
			if d > 1 || time.Now().After(deadline) {
				t.Fatalf("one-time code emails sent moved by %v, want 1", d)
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
	t.Run("O7/code_redeemed", func(t *testing.T) {
		moved(t, func() {
			if _, err := app.Exchange(ctx, code, oauth2.VerifierOption(verifier)); err != nil {
				t.Fatal(err)
			}
		}, tokenRequests("authorization_code", "ok"), []string{"nomosauth_code_redemptions_total", "result", "redeemed"})
	})
	t.Run("O7/code_replayed", func(t *testing.T) {
		moved(t, func() {
			if _, err := app.Exchange(ctx, code, oauth2.VerifierOption(verifier)); err == nil {
				t.Fatal("a replayed code was accepted")
			}
		}, tokenRequests("authorization_code", "invalid_grant"), []string{"nomosauth_code_redemptions_total", "result", "replayed"},
			[]string{"nomosauth_revocations_total", "source", "code_replay"})
	})
	t.Run("O7/replay_of_a_revoked_family_revokes_nothing", func(t *testing.T) {
		// A replay is counted as a redemption each time, but it revokes
		// the family once: the revocation counter stays.
		movedBy(t, 0, func() {
			if _, err := app.Exchange(ctx, code, oauth2.VerifierOption(verifier)); err == nil {
				t.Fatal("a replayed code was accepted")
			}
		}, []string{"nomosauth_revocations_total", "source", "code_replay"})
	})
	t.Run("O7/customer_revokes_on_connected_apps", func(t *testing.T) {
		browser.Get(srv.base + "/account/apps")
		form := browser.Page // the apps page with its revoke form, for the second post
		moved(t, func() {
			if status, _ := browser.Submit("/account/apps/revoke", nil); status != http.StatusOK {
				t.Fatalf("revoke: %d", status)
			}
		}, []string{"nomosauth_revocations_total", "source", "customer"})
		// The same form posted again (a double click) revokes nothing more.
		browser.Page = form
		movedBy(t, 0, func() {
			if status, _ := browser.Submit("/account/apps/revoke", nil); status != http.StatusOK {
				t.Fatalf("revoke again: %d", status)
			}
		}, []string{"nomosauth_revocations_total", "source", "customer"})
	})
	t.Run("O7/rate_limited", func(t *testing.T) {
		// Wrong secrets from one address exhaust its failed-authentication
		// budget (PRODUCT S6): the first refusal is counted once. Last, as
		// the budget then refuses this client from this address a while.
		moved(t, func() {
			for range 20 {
				if status, _, _ := postForm(srv.base, url.Values{"grant_type": {"client_credentials"}}, id, "nsec_wrong"); status == http.StatusTooManyRequests {
					return
				}
			}
			t.Fatal("no 429 after 20 wrong secrets")
		}, []string{"nomosauth_rate_limited_total", "surface", "token", "limit", "failed_auth"})
	})
	t.Run("O7/group_commits_observed", func(t *testing.T) {
		got := testfix.Scrape(t, metricsURL)
		if got.Value("nomosauth_store_commit_batch_size") < 1 || got.Value("nomosauth_store_commit_duration_seconds", "mode", "group") < 1 {
			t.Fatal("no group commit observed")
		}
	})
}

func mustToken(t *testing.T, cc clientcredentials.Config) *oauth2.Token {
	t.Helper()
	tok, err := cc.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
