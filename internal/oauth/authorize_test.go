package oauth

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
)

const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk" // RFC 7636 Appendix B
const s256Challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"

func TestS256ChallengeOfRFC7636AppendixB(t *testing.T) {
	sum := sha256.Sum256([]byte(verifier))
	if got := base64.RawURLEncoding.EncodeToString(sum[:]); got != s256Challenge {
		t.Fatalf("S256(%q) = %q", verifier, got)
	}
}

func TestParseAuthorizeTarget(t *testing.T) {
	tests := []struct {
		name   string
		params url.Values
		want   TargetReason // "" is accepted
	}{
		{"A1/both", url.Values{"client_id": {"client_a"}, "redirect_uri": {"https://x.example/cb"}}, ""},
		{"A1/no_client", url.Values{"redirect_uri": {"https://x.example/cb"}}, TargetMissing},
		{"A1/no_redirect", url.Values{"client_id": {"client_a"}}, TargetMissing},
		{"A1/empty_redirect", url.Values{"client_id": {"client_a"}, "redirect_uri": {""}}, TargetMissing},
		{"A1/repeated_client", url.Values{"client_id": {"client_a", "client_a"}, "redirect_uri": {"https://x.example/cb"}}, TargetRepeated},
		{"A1/repeated_redirect", url.Values{"client_id": {"client_a"}, "redirect_uri": {"https://x.example/cb", "https://x.example/cb"}}, TargetRepeated},
		{"A1/client_with_space", url.Values{"client_id": {"client a"}, "redirect_uri": {"https://x.example/cb"}}, TargetMalformed},
		{"A1/client_too_long", url.Values{"client_id": {strings.Repeat("c", 200)}, "redirect_uri": {"https://x.example/cb"}}, TargetMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := ParseAuthorizeTarget(tt.params)
			if got := targetReason(t, err); got != tt.want {
				t.Fatalf("reason %q, want %q (%v)", got, tt.want, err)
			}
		})
	}
}

// targetReason is the reason of an A1 error: a *TargetError, for our own
// page, never an OAuth error to redirect.
func targetReason(t *testing.T, err error) TargetReason {
	t.Helper()
	if err == nil {
		return ""
	}
	var te *TargetError
	if !errors.As(err, &te) {
		t.Fatalf("A1 errors are page errors (*TargetError), got %T: %v", err, err)
	}
	return te.Reason
}

func TestCheckAuthorizeClient(t *testing.T) {
	c := domain.Client{ID: "client_a", RedirectURIs: []string{"https://x.example/cb"}}
	tests := []struct {
		name     string
		disabled bool
		redirect string
		want     TargetReason
	}{
		{"A2/sub_path", false, "https://x.example/cb/sub", ""},
		{"A1/unregistered_redirect", false, "https://x.example/other", TargetUnregistered},
		{"A1/disabled_client", true, "https://x.example/cb", TargetDisabled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.Disabled = tt.disabled
			_, err := CheckAuthorizeClient(c, tt.redirect)
			if got := targetReason(t, err); got != tt.want {
				t.Fatalf("reason %q, want %q (%v)", got, tt.want, err)
			}
		})
	}
}

func TestDecideAuthorize(t *testing.T) {
	confidential := domain.Client{ID: "client_a", Scopes: domain.APIScopes()}
	public := domain.Client{ID: "client_p", Public: true, Scopes: domain.APIScopes()}
	writeOnly := domain.Client{ID: "client_w", Scopes: domain.Scopes{domain.ScopeWrite}}
	base := func(extra ...string) url.Values {
		v := url.Values{"response_type": {"code"}, "state": {"xyz"}}
		for i := 0; i+1 < len(extra); i += 2 {
			if extra[i+1] == "<del>" {
				v.Del(extra[i])
				continue
			}
			v.Add(extra[i], extra[i+1])
		}
		return v
	}
	tests := []struct {
		name      string
		client    domain.Client
		params    url.Values
		wantErr   string
		scopes    string
		challenge string
		method    string
		flow      string
	}{
		{"A4/default_read", confidential, base(), "", "read:*", "", "", ""},
		{"A4/explicit_read", confidential, base("scope", "read:*"), "", "read:*", "", "", ""},
		{"A4/write_refused", confidential, base("scope", "write:*"), "invalid_scope", "", "", "", ""},
		{"A4/read_write_refused", confidential, base("scope", "read:* write:*"), "invalid_scope", "", "", "", ""},
		{"A4/unknown", confidential, base("scope", "profile"), "invalid_scope", "", "", "", ""},
		{"A4/client_without_read", writeOnly, base(), "invalid_scope", "", "", "", ""},
		{"A3/missing", confidential, base("response_type", "<del>"), "invalid_request", "", "", "", ""},
		{"A3/token", confidential, url.Values{"response_type": {"token"}}, "unsupported_response_type", "", "", "", ""},
		{"A3/repeated", confidential, base("response_type", "code"), "invalid_request", "", "", "", ""},
		{"A5/s256", confidential, base("code_challenge", s256Challenge, "code_challenge_method", "S256"), "", "read:*", s256Challenge, "S256", ""},
		{"A5/plain_default", confidential, base("code_challenge", verifier), "", "read:*", verifier, "plain", ""},
		{"A5/plain_explicit", confidential, base("code_challenge", verifier, "code_challenge_method", "plain"), "", "read:*", verifier, "plain", ""},
		{"A5/method_without_challenge", confidential, base("code_challenge_method", "S256"), "invalid_request", "", "", "", ""},
		{"A5/empty_method", confidential, base("code_challenge", verifier, "code_challenge_method", ""), "invalid_request", "", "", "", ""},
		{"A5/unknown_method", confidential, base("code_challenge", verifier, "code_challenge_method", "S384"), "invalid_request", "", "", "", ""},
		{"A5/s256_padded", confidential, base("code_challenge", s256Challenge+"=", "code_challenge_method", "S256"), "invalid_request", "", "", "", ""},
		{"A5/s256_short", confidential, base("code_challenge", s256Challenge[:42], "code_challenge_method", "S256"), "invalid_request", "", "", "", ""},
		{"A5/plain_42", confidential, base("code_challenge", verifier[:42]), "invalid_request", "", "", "", ""},
		{"A5/plain_129", confidential, base("code_challenge", strings.Repeat("a", 129)), "invalid_request", "", "", "", ""},
		{"A5/plain_128", confidential, base("code_challenge", strings.Repeat("a", 128)), "", "read:*", strings.Repeat("a", 128), "plain", ""},
		{"A5/plain_bad_char", confidential, base("code_challenge", verifier[:43]+"+"), "invalid_request", "", "", "", ""},
		{"A5/repeated_challenge", confidential, base("code_challenge", verifier, "code_challenge", verifier), "invalid_request", "", "", "", ""},
		{"A5/public_needs_challenge", public, base(), "invalid_request", "", "", "", ""},
		{"A5/public_with_challenge", public, base("code_challenge", s256Challenge, "code_challenge_method", "S256"), "", "read:*", s256Challenge, "S256", ""},
		{"A6/state_too_long", confidential, url.Values{"response_type": {"code"}, "state": {strings.Repeat("s", 1025)}}, "invalid_request", "", "", "", ""},
		{"A6/repeated_state", confidential, base("state", "other"), "invalid_request", "", "", "", ""},
		{"A9/login", confidential, base("flow_type", "login"), "", "read:*", "", "", "login"},
		{"A9/signup", confidential, base("flow_type", "signup"), "", "read:*", "", "", "signup"},
		{"A9/unknown", confidential, base("flow_type", "sso"), "invalid_request", "", "", "", ""},
		{"A9/unknown_params_ignored", confidential, base("prompt", "none", "nonce", "n", "ui_locales", "de"), "", "read:*", "", "", ""},
		{"T12/response_mode_query", confidential, base("response_mode", "query"), "", "read:*", "", "", ""},
		{"T12/response_mode_fragment", confidential, base("response_mode", "fragment"), "invalid_request", "", "", "", ""},
		{"T12/response_mode_repeated", confidential, base("response_mode", "query", "response_mode", "query"), "invalid_request", "", "", "", ""},
		{"T12/request", confidential, base("request", "x.y.z"), "request_not_supported", "", "", "", ""},
		{"T12/request_uri", confidential, base("request_uri", "urn:x"), "request_uri_not_supported", "", "", "", ""},
	}
	redirect, _ := CheckRedirectURI("https://x.example/cb")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := DecideAuthorize(tt.client, redirect, tt.params)
			if req.RedirectURI.Raw != redirect.Raw {
				t.Fatalf("the request must carry the redirect URI even on error, for the error redirect")
			}
			if tt.wantErr != "" {
				var ae *AuthorizeError
				if !errors.As(err, &ae) || ae.Code != tt.wantErr {
					t.Fatalf("err = %v, want redirect error %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if req.Scopes.String() != tt.scopes || req.Challenge != tt.challenge || req.ChallengeMethod != tt.method || req.FlowType != tt.flow {
				t.Fatalf("got scopes %q challenge %q method %q flow %q", req.Scopes, req.Challenge, req.ChallengeMethod, req.FlowType)
			}
			if req.State != tt.params.Get("state") {
				t.Fatalf("A6: state %q, want %q", req.State, tt.params.Get("state"))
			}
		})
	}
}

func TestVerifyPKCE(t *testing.T) {
	tests := []struct {
		name                        string
		challenge, method, verifier string
		ok                          bool
	}{
		{"T6/s256", s256Challenge, PKCES256, verifier, true},
		{"T6/s256_wrong_verifier", s256Challenge, PKCES256, verifier[:42] + "x", false},
		{"T6/plain", verifier, PKCEPlain, verifier, true},
		{"T6/plain_wrong", verifier, PKCEPlain, strings.ToUpper(verifier), false},
		{"T6/plain_verifier_against_s256", s256Challenge, PKCES256, s256Challenge, false},
		{"T6/s256_challenge_as_plain_verifier_for_plain", s256Challenge, PKCEPlain, s256Challenge, true},
		{"T6/no_challenge_no_verifier", "", "", "", true},
		{"T6/downgrade_verifier_without_challenge", "", "", verifier, false},
		{"T6/downgrade_missing_verifier", s256Challenge, PKCES256, "", false},
		{"T6/verifier_too_short", verifier[:42], PKCEPlain, verifier[:42], false},
		{"T6/verifier_too_long", strings.Repeat("a", 129), PKCEPlain, strings.Repeat("a", 129), false},
		{"T6/verifier_bad_char", verifier[:43] + "/", PKCEPlain, verifier[:43] + "/", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := VerifyPKCE(tt.challenge, tt.method, tt.verifier)
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && oauthError(err) != "invalid_grant" {
				t.Fatalf("T6: PKCE failures are invalid_grant, got %v", err)
			}
		})
	}
}

func TestCodeRule(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	app := domain.Client{ID: "client_a"}
	public := domain.Client{ID: "client_p", Public: true}
	code := domain.AuthCode{ClientID: "client_a", RedirectURI: "https://x.example/cb", Challenge: s256Challenge, ChallengeMethod: PKCES256,
		Scopes: domain.Scopes{domain.ScopeRead}, CreatedAt: now.Add(-time.Minute), ExpiresAt: now.Add(9 * time.Minute)}
	grant := domain.Grant{ID: "grt_1"}
	edit := func(f func(*domain.AuthCode)) domain.AuthCode { c := code; f(&c); return c }
	tests := []struct {
		name    string
		rule    CodeRule
		code    domain.AuthCode
		grant   domain.Grant
		verdict domain.CodeVerdict
		err     string
	}{
		{"T6/redeem", CodeRule{app, "https://x.example/cb", verifier, now}, code, grant, domain.CodeRedeem, ""},
		{"T6/other_client", CodeRule{domain.Client{ID: "client_b"}, "https://x.example/cb", verifier, now}, code, grant, 0, "invalid_grant"},
		{"T6/replay", CodeRule{app, "https://x.example/cb", verifier, now}, edit(func(c *domain.AuthCode) { c.UsedAt = now.Add(-time.Second) }), grant, domain.CodeReplay, ""},
		{"T6/replay_after_expiry", CodeRule{app, "https://x.example/cb", verifier, now.Add(time.Hour)}, edit(func(c *domain.AuthCode) { c.UsedAt = now }), grant, domain.CodeReplay, ""},
		{"T6/replay_by_other_client_is_not_told", CodeRule{domain.Client{ID: "client_b"}, "", "", now}, edit(func(c *domain.AuthCode) { c.UsedAt = now }), grant, 0, "invalid_grant"},
		{"T6/expired_at_10_minutes", CodeRule{app, "https://x.example/cb", verifier, code.ExpiresAt}, code, grant, 0, "invalid_grant"},
		{"T6/just_before_expiry", CodeRule{app, "https://x.example/cb", verifier, code.ExpiresAt.Add(-time.Microsecond)}, code, grant, domain.CodeRedeem, ""},
		{"T6/redirect_mismatch", CodeRule{app, "https://x.example/cb/x", verifier, now}, code, grant, 0, "invalid_grant"},
		{"T6/redirect_missing", CodeRule{app, "", verifier, now}, code, grant, 0, "invalid_grant"},
		{"T6/redirect_not_sent_to_authorize", CodeRule{app, "", "", now}, edit(func(c *domain.AuthCode) { c.RedirectURI, c.Challenge, c.ChallengeMethod = "", "", "" }), grant, domain.CodeRedeem, ""},
		{"T6/wrong_verifier", CodeRule{app, "https://x.example/cb", strings.Repeat("v", 43), now}, code, grant, 0, "invalid_grant"},
		{"T6/missing_verifier", CodeRule{app, "https://x.example/cb", "", now}, code, grant, 0, "invalid_grant"},
		{"T6/verifier_without_challenge", CodeRule{app, "https://x.example/cb", verifier, now}, edit(func(c *domain.AuthCode) { c.Challenge, c.ChallengeMethod = "", "" }), grant, 0, "invalid_grant"},
		{"T6/public_without_challenge", CodeRule{public, "https://x.example/cb", "", now}, edit(func(c *domain.AuthCode) { c.ClientID, c.Challenge, c.ChallengeMethod = "client_p", "", "" }), grant, 0, "invalid_grant"},
		{"A11/grant_revoked", CodeRule{app, "https://x.example/cb", verifier, now}, code, domain.Grant{ID: "grt_1", RevokedAt: now}, 0, "invalid_grant"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := tt.rule.Check(tt.code, tt.grant)
			if oauthError(err) != tt.err || v != tt.verdict {
				t.Fatalf("Check = %v, %v; want %v, %q", v, err, tt.verdict, tt.err)
			}
		})
	}
}

func TestCustomerScopes(t *testing.T) {
	if got := CustomerScopes(domain.APIScopes()); got.String() != domain.ScopeRead {
		t.Fatalf("T7: customer scopes %q", got)
	}
	if got := CustomerScopes(domain.AllScopes()); got.String() != "read:* openid email profile" {
		t.Fatalf("T12: identity scopes stay on a customer token, write never: %q", got)
	}
}

func TestOneTimeRule(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	code := domain.OneTimeCode{CodeHash: "right", ExpiresAt: now.Add(time.Minute)}
	tests := []struct {
		name string
		code domain.OneTimeCode
		hash string
		now  time.Time
		want domain.OneTimeVerdict
	}{
		{"A7/accept", code, "right", now, domain.OneTimeAccept},
		{"A7/reject", code, "wrong", now, domain.OneTimeReject},
		{"O8/fourth_wrong_try_rejects", domain.OneTimeCode{CodeHash: "right", ExpiresAt: code.ExpiresAt, Attempts: 3}, "wrong", now, domain.OneTimeReject},
		{"O8/fifth_wrong_try_locks_out", domain.OneTimeCode{CodeHash: "right", ExpiresAt: code.ExpiresAt, Attempts: 4}, "wrong", now, domain.OneTimeLockout},
		{"A7/fifth_try_counts", domain.OneTimeCode{CodeHash: "right", ExpiresAt: code.ExpiresAt, Attempts: 4}, "right", now, domain.OneTimeAccept},
		{"A7/no_sixth_try", domain.OneTimeCode{CodeHash: "right", ExpiresAt: code.ExpiresAt, Attempts: 5}, "right", now, domain.OneTimeExhausted},
		{"A7/expired", code, "right", code.ExpiresAt, domain.OneTimeExhausted},
		{"A7/used", domain.OneTimeCode{CodeHash: "right", ExpiresAt: code.ExpiresAt, UsedAt: now}, "right", now, domain.OneTimeExhausted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (OneTimeRule{PresentedHash: tt.hash, Now: tt.now}).Check(tt.code); got != tt.want {
				t.Fatalf("Check = %v, want %v", got, tt.want)
			}
		})
	}
	for typed, want := range map[string]string{"123456": "123456", "123 456": "123456", "123-456": "123456", " 012345 ": "012345",
		"12345": "", "1234567": "", "12345a": "", "１２３４５６": "", "": ""} {
		got, ok := ParseOneTimeCode(typed)
		if got != want || ok != (want != "") {
			t.Errorf("ParseOneTimeCode(%q) = %q, %v", typed, got, ok)
		}
	}
}

func TestRefreshScopeCustomerFamilyReadOnly(t *testing.T) {
	client := domain.Client{ID: "client_a", Scopes: domain.APIScopes()}
	fam := domain.Family{ClientID: "client_a", CustomerID: "cus_1", Scopes: domain.APIScopes()}
	if got, err := RefreshScope("", fam, client); err != nil || got.String() != domain.ScopeRead {
		t.Fatalf("T7: %q %v", got, err)
	}
	if _, err := RefreshScope("write:*", fam, client); oauthError(err) != "invalid_scope" {
		t.Fatalf("T7: a customer family refreshed to write: %v", err)
	}
	fam.CustomerID = ""
	if got, _ := RefreshScope("", fam, client); got.String() != "read:* write:*" {
		t.Fatalf("client-credentials family: %q", got)
	}
}
