package oauth

import (
	"encoding/base64"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/problem"
)

func oauthError(err error) string {
	var p *problem.Error
	if errors.As(err, &p) {
		return p.OAuthError
	}
	if err != nil {
		return "other: " + err.Error()
	}
	return ""
}

func basic(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))
}

func mustParse(t *testing.T, authorization string) ClientCredentials {
	t.Helper()
	creds, err := ParseClientAuth(authorization, url.Values{})
	if err != nil {
		t.Fatalf("parse %q: %v", authorization, err)
	}
	return creds
}

func TestParseClientAuth(t *testing.T) {
	tests := []struct {
		name   string
		header string
		params url.Values
		want   ClientCredentials
		err    string
	}{
		{"T1/basic", basic("client_a", "nsec_x"), url.Values{}, ClientCredentials{"client_a", "nsec_x", AuthBasic}, ""},
		{"T1/basic_form_urlencoded_rfc6749_2.3.1", basic("client%3Aa", "p%2Bq%7Er"), url.Values{}, ClientCredentials{"client:a", "p+q~r", AuthBasic}, ""},
		{"T1/basic_scheme_case_insensitive", "bAsIc " + base64.StdEncoding.EncodeToString([]byte("c:s")), url.Values{}, ClientCredentials{"c", "s", AuthBasic}, ""},
		{"T1/basic_with_same_client_id", basic("c", "s"), url.Values{"client_id": {"c"}}, ClientCredentials{"c", "s", AuthBasic}, ""},
		{"T1/basic_with_other_client_id", basic("c", "s"), url.Values{"client_id": {"d"}}, ClientCredentials{}, "invalid_client"},
		{"T1/two_methods", basic("c", "s"), url.Values{"client_secret": {"s"}}, ClientCredentials{}, "invalid_client"},
		{"T1/post", "", url.Values{"client_id": {"c"}, "client_secret": {"s"}}, ClientCredentials{"c", "s", AuthPost}, ""},
		{"T1/public_id_only", "", url.Values{"client_id": {"c"}}, ClientCredentials{"c", "", AuthNone}, ""},
		{"T1/nothing", "", url.Values{}, ClientCredentials{}, "invalid_client"},
		{"T1/empty_post_secret_is_none", "", url.Values{"client_id": {"c"}, "client_secret": {""}}, ClientCredentials{"c", "", AuthNone}, ""},
		{"T1/empty_basic_secret_is_none", basic("c", ""), url.Values{}, ClientCredentials{"c", "", AuthNone}, ""},
		{"T1/empty_basic_secret_with_same_client_id", basic("c", ""), url.Values{"client_id": {"c"}}, ClientCredentials{"c", "", AuthNone}, ""},
		{"T1/empty_basic_and_post_secrets_are_none", basic("c", ""), url.Values{"client_secret": {""}}, ClientCredentials{"c", "", AuthNone}, ""},
		{"T1/basic_with_empty_post_secret", basic("c", "s"), url.Values{"client_secret": {""}}, ClientCredentials{"c", "s", AuthBasic}, ""},
		{"T1/empty_basic_secret_with_post_secret", basic("c", ""), url.Values{"client_secret": {"s"}}, ClientCredentials{}, "invalid_client"},
		{"T1/empty_basic_id", basic("", ""), url.Values{}, ClientCredentials{}, "invalid_client"},
		{"T1/empty_post_secret_without_id", "", url.Values{"client_secret": {""}}, ClientCredentials{}, "invalid_client"},
		{"T1/no_colon", "Basic " + base64.StdEncoding.EncodeToString([]byte("nocolon")), url.Values{}, ClientCredentials{}, "invalid_client"},
		{"T1/bad_base64", "Basic !!!", url.Values{}, ClientCredentials{}, "invalid_client"},
		{"T1/space_in_secret", basic("c", "a+b"), url.Values{}, ClientCredentials{}, "invalid_client"},
		{"T1/bad_percent", basic("c%zz", "s"), url.Values{}, ClientCredentials{}, "invalid_client"},
		{"T1/other_scheme", "Bearer x", url.Values{}, ClientCredentials{}, "invalid_client"},
		{"T1/control_char", basic("c\x01", "s"), url.Values{}, ClientCredentials{}, "invalid_client"},
		{"T1/overlong_secret", basic("c", strings.Repeat("s", 300)), url.Values{}, ClientCredentials{}, "invalid_client"},
		{"T1/overlong_header", "Basic " + strings.Repeat("A", 5000), url.Values{}, ClientCredentials{}, "invalid_client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseClientAuth(tt.header, tt.params)
			if oauthError(err) != tt.err {
				t.Fatalf("err = %v, want %q", err, tt.err)
			}
			if err == nil && got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestAuthenticateClient(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	conf := domain.Client{ID: "c"}
	pub := domain.Client{ID: "p", Public: true}
	secrets := []domain.ClientSecret{
		{Hash: "new", CreatedAt: now},
		{Hash: "old", CreatedAt: now.Add(-time.Hour), ExpiresAt: now.Add(time.Minute)},
		{Hash: "older", CreatedAt: now.Add(-2 * time.Hour), ExpiresAt: now},
	}
	post := ClientCredentials{ID: "c", Secret: "x", Method: AuthPost}
	none := ClientCredentials{ID: "p", Method: AuthNone}
	tests := []struct {
		name   string
		client domain.Client
		creds  ClientCredentials
		hash   string
		ok     bool
	}{
		{"S1/current_secret", conf, post, "new", true},
		{"S1/old_secret_inside_overlap", conf, post, "old", true},
		{"S1/old_secret_after_overlap", conf, post, "older", false},
		{"T1/wrong_secret", conf, post, "nope", false},
		{"T1/disabled", domain.Client{ID: "c", Disabled: true}, post, "new", false},
		{"T1/confidential_without_secret", conf, ClientCredentials{ID: "c", Method: AuthNone}, "", false},
		{"T1/public_without_secret", pub, none, "", true},
		{"T1/public_with_secret", pub, ClientCredentials{ID: "p", Secret: "x", Method: AuthPost}, "new", false},
		// An empty secret was parsed as none (ParseClientAuth): a confidential
		// client still fails, a public one passes.
		{"T1/confidential_with_empty_secret", conf, mustParse(t, basic("c", "")), "", false},
		{"T1/public_with_empty_secret", pub, mustParse(t, basic("p", "")), "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := AuthenticateClient(tt.client, secrets, tt.creds, tt.hash, now)
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && oauthError(err) != "invalid_client" {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestNarrowScope(t *testing.T) {
	all := domain.APIScopes()
	read := domain.Scopes{domain.ScopeRead}
	tests := []struct {
		name      string
		requested string
		allowed   domain.Scopes
		want      string
		err       string
	}{
		{"T3/default_is_all_allowed", "", all, "read:* write:*", ""},
		{"T3/subset", "write:*", all, "write:*", ""},
		{"T3/canonical_order_and_dedupe", "write:* read:* write:*", all, "read:* write:*", ""},
		{"T3/outside_allowed", "write:*", read, "", "invalid_scope"},
		{"T3/unknown", "admin", all, "", "invalid_scope"},
		{"T3/double_space", "read:*  write:*", all, "", "invalid_scope"},
		{"T3/leading_space", " read:*", all, "", "invalid_scope"},
		{"T3/overlong", strings.Repeat("read:* ", 50), all, "", "invalid_scope"},
		{"T3/nothing_allowed", "", domain.Scopes{}, "", "invalid_scope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NarrowScope(tt.requested, tt.allowed)
			if oauthError(err) != tt.err {
				t.Fatalf("err = %v, want %q", err, tt.err)
			}
			if err == nil && got.String() != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDecideClientCredentials(t *testing.T) {
	if _, err := DecideClientCredentials(domain.Client{Public: true, Scopes: domain.APIScopes()}, ""); oauthError(err) != "unauthorized_client" {
		t.Fatalf("T3/public: %v", err)
	}
	got, err := DecideClientCredentials(domain.Client{Scopes: domain.APIScopes()}, "read:*")
	if err != nil || got.String() != "read:*" {
		t.Fatalf("T3/narrow: %v %v", got, err)
	}
}

func TestRefreshRuleDecide(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	client := domain.Client{ID: "c", Scopes: domain.APIScopes()}
	fam := domain.Family{ID: "f", ClientID: "c", Scopes: domain.APIScopes()}
	live := domain.RefreshToken{State: domain.RefreshLive, ExpiresAt: now.Add(time.Hour)}
	rotated := func(ago time.Duration) domain.RefreshToken {
		return domain.RefreshToken{State: domain.RefreshRotated, RotatedAt: now.Add(-ago), ExpiresAt: now.Add(time.Hour), ReplacedBy: "child"}
	}
	liveChild := &domain.RefreshToken{Hash: "child", State: domain.RefreshLive}
	usedChild := &domain.RefreshToken{Hash: "child", State: domain.RefreshRotated}
	supersededChild := &domain.RefreshToken{Hash: "child", State: domain.RefreshSuperseded}
	strangeChild := &domain.RefreshToken{Hash: "random", State: domain.RefreshLive}
	revoked := fam
	revoked.RevokedAt = now.Add(-time.Minute)
	otherClient := fam
	otherClient.ClientID = "d"
	tests := []struct {
		name  string
		tok   domain.RefreshToken
		fam   domain.Family
		child *domain.RefreshToken
		scope string
		want  domain.RefreshVerdict
		err   string
		// wantScope is the decided access-token scope for Rotate, Retry and Replace.
		wantScope string
	}{
		{"T5/live_rotates", live, fam, nil, "", domain.RefreshRotate, "", "read:* write:*"},
		{"T5/retry_inside_window", rotated(5 * time.Second), fam, liveChild, "", domain.RefreshRetry, "", "read:* write:*"},
		{"T5/retry_at_window_edge", rotated(10 * time.Second), fam, liveChild, "", domain.RefreshRetry, "", "read:* write:*"},
		{"T5/retry_right_after_rotation", rotated(0), fam, liveChild, "", domain.RefreshRetry, "", "read:* write:*"},
		{"T5/replace_child_derived_otherwise", rotated(5 * time.Second), fam, strangeChild, "", domain.RefreshReplace, "", "read:* write:*"},
		{"T5/reuse_after_window", rotated(11 * time.Second), fam, liveChild, "", domain.RefreshReuse, "", ""},
		{"T5/reuse_after_window_child_derived_otherwise", rotated(11 * time.Second), fam, strangeChild, "", domain.RefreshReuse, "", ""},
		{"T5/reuse_when_child_was_used", rotated(time.Second), fam, usedChild, "", domain.RefreshReuse, "", ""},
		{"T5/reuse_when_child_was_superseded", rotated(time.Second), fam, supersededChild, "", domain.RefreshReuse, "", ""},
		{"T5/reuse_when_child_is_gone", rotated(time.Second), fam, nil, "", domain.RefreshReuse, "", ""},
		{"T5/rotated_token_in_revoked_family", rotated(time.Second), revoked, liveChild, "", 0, "invalid_grant", ""},
		{"T5/superseded_is_reuse", domain.RefreshToken{State: domain.RefreshSuperseded, ExpiresAt: now.Add(time.Hour)}, fam, nil, "", domain.RefreshReuse, "", ""},
		{"T5/revoked_family", live, revoked, nil, "", 0, "invalid_grant", ""},
		{"T5/expired", domain.RefreshToken{State: domain.RefreshLive, ExpiresAt: now}, fam, nil, "", 0, "invalid_grant", ""},
		{"T5/other_client", live, otherClient, nil, "", 0, "invalid_grant", ""},
		{"T5/scope_narrows", live, fam, nil, "read:*", domain.RefreshRotate, "", "read:*"},
		{"T5/retry_scope_narrows", rotated(time.Second), fam, liveChild, "read:*", domain.RefreshRetry, "", "read:*"},
		{"T5/scope_cannot_widen", live, domain.Family{ID: "f", ClientID: "c", Scopes: domain.Scopes{domain.ScopeRead}}, nil, "write:*", 0, "invalid_scope", ""},
		{"T5/reuse_wins_over_bad_scope", rotated(time.Hour), fam, liveChild, "bogus", domain.RefreshReuse, "", ""},
		{"T7/customer_family_read_only", live, domain.Family{ID: "f", ClientID: "c", CustomerID: "cus", Scopes: domain.APIScopes()}, nil, "", domain.RefreshRotate, "", "read:*"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rule := RefreshRule{Client: client, RequestedScope: tt.scope, Now: now, Window: 10 * time.Second, Child: "child"}
			got, err := rule.Decide(tt.tok, tt.fam, tt.child)
			if oauthError(err) != tt.err {
				t.Fatalf("err = %v, want %q", err, tt.err)
			}
			if got.Verdict != tt.want || got.Scopes.String() != tt.wantScope {
				t.Fatalf("decision %v %q, want %v %q", got.Verdict, got.Scopes, tt.want, tt.wantScope)
			}
		})
	}
}

func TestRefreshScopeCappedByClient(t *testing.T) {
	fam := domain.Family{Scopes: domain.APIScopes()}
	got, err := RefreshScope("", fam, domain.Client{Scopes: domain.Scopes{domain.ScopeRead}})
	if err != nil || got.String() != "read:*" {
		t.Fatalf("got %v %v", got, err)
	}
}

func TestParseTokenRequest(t *testing.T) {
	if _, err := ParseTokenRequest(url.Values{}); oauthError(err) != "invalid_request" {
		t.Fatalf("T2/missing_grant_type: %v", err)
	}
	if _, err := ParseTokenRequest(url.Values{"grant_type": {"refresh_token"}}); oauthError(err) != "invalid_request" {
		t.Fatalf("T5/missing_refresh_token: %v", err)
	}
	if _, err := ParseTokenRequest(url.Values{"grant_type": {GrantDeviceCode}}); oauthError(err) != "invalid_request" {
		t.Fatalf("T11/missing_device_code: %v", err)
	}
	if req, err := ParseTokenRequest(url.Values{"grant_type": {GrantDeviceCode}, "device_code": {"ndc_x"}}); err != nil || req.DeviceCode != "ndc_x" {
		t.Fatalf("T11/device_code_read: %+v %v", req, err)
	}
	if _, err := ParseTokenRequest(url.Values{"grant_type": {"client_credentials"}, "x": {strings.Repeat("a", 3000)}}); oauthError(err) != "invalid_request" {
		t.Fatalf("S4/overlong: %v", err)
	}
	req, err := ParseTokenRequest(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"r"}, "scope": {"read:*"}})
	if err != nil || req.RefreshToken != "r" || req.Scope != "read:*" {
		t.Fatalf("%+v %v", req, err)
	}
}

// FuzzParseClientAuth: hostile headers never panic, any accepted
// credential is bounded printable ASCII, and method none goes with no secret.
func FuzzParseClientAuth(f *testing.F) {
	f.Add(basic("client_a", "nsec_x"), "client_a", "")
	f.Add("Basic !!", "", "s")
	f.Add("", "c", "s")
	f.Add(basic("c", ""), "", "")
	f.Fuzz(func(t *testing.T, header, id, secret string) {
		params := url.Values{}
		if id != "" {
			params.Set("client_id", id)
		}
		if secret != "" {
			params.Set("client_secret", secret)
		}
		got, err := ParseClientAuth(header, params)
		if err != nil {
			if oauthError(err) != "invalid_client" {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		// PRODUCT T1: an empty secret is none, so method none and only it has no secret.
		if (got.Secret == "") != (got.Method == AuthNone) {
			t.Fatalf("secret and method disagree: %+v", got)
		}
		if !validCredential(got.ID, maxClientIDLen) || (got.Secret != "" && !validCredential(got.Secret, maxClientSecretLen)) {
			t.Fatalf("accepted %+v", got)
		}
	})
}

// FuzzParseScope: only known scopes come out, in canonical order.
func FuzzParseScope(f *testing.F) {
	f.Add("read:* write:*")
	f.Add("write:* read:*")
	f.Add("  ")
	f.Fuzz(func(t *testing.T, raw string) {
		got, err := ParseScope(raw)
		if err != nil {
			return
		}
		if got.String() != got.Canonical().String() || len(got) == 0 {
			t.Fatalf("ParseScope(%q) = %v", raw, got)
		}
	})
}
