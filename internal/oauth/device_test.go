package oauth

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/problem"
)

func TestParseUserCode(t *testing.T) {
	for _, tc := range []struct {
		name, typed, want string
		ok                bool
	}{
		{"T11/as_shown", "BCDF-GHJK", "BCDFGHJK", true},
		{"T11/lower_case", "bcdf-ghjk", "BCDFGHJK", true},
		{"T11/no_dash", "bcdfghjk", "BCDFGHJK", true},
		{"T11/spaces", " BCDF GHJK ", "BCDFGHJK", true},
		{"T11/vowel_is_no_code", "BCDF-GHJA", "", false},
		{"T11/digit_is_no_code", "BCDF-GHJ1", "", false},
		{"T11/too_short", "BCDF-GHJ", "", false},
		{"T11/too_long", "BCDF-GHJKL", "", false},
		{"T11/unicode_fold_refused", "BCDF-GHJ\u212a", "", false}, // the Kelvin sign is no K
		{"T11/oversized", "BCDFGHJK" + string(make([]byte, 40)), "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := ParseUserCode(tc.typed)
			if got != tc.want || ok != tc.ok {
				t.Fatalf("ParseUserCode(%q) = %q, %v; want %q, %v", tc.typed, got, ok, tc.want, tc.ok)
			}
		})
	}
	if FormatUserCode("BCDFGHJK") != "BCDF-GHJK" {
		t.Fatal("T11/shown_as_xxxx_xxxx")
	}
}

func TestDevicePollRule(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	client := domain.Client{ID: "client_1"}
	pending := domain.DeviceRequest{ClientID: "client_1", State: domain.DevicePending, ExpiresAt: now.Add(time.Minute), Interval: 5 * time.Second, GrantID: "grt_1"}
	live := domain.Grant{ID: "grt_1"}
	with := func(f func(*domain.DeviceRequest)) domain.DeviceRequest { r := pending; f(&r); return r }
	for _, tc := range []struct {
		name    string
		req     domain.DeviceRequest
		want    domain.DeviceVerdict
		refusal string // the OAuth error the verdict answers with
	}{
		{"T11/first_poll_pending", pending, domain.DevicePollPending, "authorization_pending"},
		{"T11/poll_after_interval_pending", with(func(r *domain.DeviceRequest) { r.LastPolledAt = now.Add(-5 * time.Second) }), domain.DevicePollPending, "authorization_pending"},
		{"T11/poll_too_soon_slow_down", with(func(r *domain.DeviceRequest) { r.LastPolledAt = now.Add(-4 * time.Second) }), domain.DevicePollSlowDown, "slow_down"},
		{"T11/grown_interval_counts", with(func(r *domain.DeviceRequest) { r.Interval, r.LastPolledAt = 10*time.Second, now.Add(-6*time.Second) }), domain.DevicePollSlowDown, "slow_down"},
		{"T11/expired", with(func(r *domain.DeviceRequest) { r.ExpiresAt = now }), domain.DevicePollExpired, "expired_token"},
		{"T11/expired_even_if_approved", with(func(r *domain.DeviceRequest) { r.ExpiresAt, r.State = now, domain.DeviceApproved }), domain.DevicePollExpired, "expired_token"},
		{"T11/denied", with(func(r *domain.DeviceRequest) { r.State = domain.DeviceDenied }), domain.DevicePollDenied, "access_denied"},
		{"T11/approved_issues", with(func(r *domain.DeviceRequest) { r.State = domain.DeviceApproved }), domain.DevicePollIssue, ""},
		{"T11/approved_issues_even_if_fast", with(func(r *domain.DeviceRequest) { r.State, r.LastPolledAt = domain.DeviceApproved, now }), domain.DevicePollIssue, ""},
		{"T11/A11/approved_but_grant_revoked_denied", with(func(r *domain.DeviceRequest) { r.State = domain.DeviceApproved }), domain.DevicePollDenied, "access_denied"},
		{"T11/redeemed_once", with(func(r *domain.DeviceRequest) { r.State = domain.DeviceRedeemed }), domain.DevicePollRedeemed, "invalid_grant"},
		{"T11/redeemed_before_expiry_check", with(func(r *domain.DeviceRequest) { r.State, r.ExpiresAt = domain.DeviceRedeemed, now }), domain.DevicePollRedeemed, "invalid_grant"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			grant := live
			if strings.Contains(tc.name, "grant_revoked") {
				grant.RevokedAt = now.Add(-time.Second)
			}
			got, err := DevicePollRule{Client: client, Now: now}.Decide(tc.req, grant)
			if err != nil || got != tc.want {
				t.Fatalf("Decide = %v, %v; want %v", got, err, tc.want)
			}
			err = DevicePollRefusal(got)
			var p *problem.Error
			switch {
			case tc.refusal == "" && err != nil:
				t.Fatalf("refusal %v for an issue", err)
			case tc.refusal != "" && (!errors.As(err, &p) || p.OAuthError != tc.refusal):
				t.Fatalf("refusal %v, want %s", err, tc.refusal)
			}
		})
	}
	t.Run("T11/another_clients_code", func(t *testing.T) {
		_, err := DevicePollRule{Client: domain.Client{ID: "client_2"}, Now: now}.Decide(pending, live)
		var p *problem.Error
		if !errors.As(err, &p) || p.OAuthError != "invalid_grant" {
			t.Fatalf("err %v, want invalid_grant", err)
		}
	})
}
