package oauth

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
)

func TestDecideAuthorizeOpenID(t *testing.T) {
	readOnly := domain.Client{ID: "client_r", Scopes: domain.Scopes{domain.ScopeRead}}
	writeOnly := domain.Client{ID: "client_w", Scopes: domain.Scopes{domain.ScopeWrite}}
	q := func(kv ...string) url.Values {
		v := url.Values{"response_type": {"code"}}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Add(kv[i], kv[i+1])
		}
		return v
	}
	tests := []struct {
		name    string
		client  domain.Client
		params  url.Values
		wantErr string
		check   func(AuthorizeRequest) bool
	}{
		{"T12/identity_scopes_need_no_registration", readOnly, q("scope", "openid email profile read:*"), "",
			func(r AuthorizeRequest) bool { return r.Scopes.String() == "read:* openid email profile" }},
		{"T12/openid_alone", writeOnly, q("scope", "openid"), "",
			func(r AuthorizeRequest) bool { return r.Scopes.String() == "openid" }},
		{"T12/openid_never_widens_write", readOnly, q("scope", "openid write:*"), "invalid_scope", nil},
		{"T12/email_without_openid", readOnly, q("scope", "email"), "invalid_scope", nil},
		{"T12/profile_without_openid", readOnly, q("scope", "read:* profile"), "invalid_scope", nil},
		{"T12/nonce_kept", readOnly, q("scope", "openid", "nonce", "n-0S6_WzA2Mj"), "",
			func(r AuthorizeRequest) bool { return r.Nonce == "n-0S6_WzA2Mj" }},
		{"T12/nonce_512", readOnly, q("scope", "openid", "nonce", strings.Repeat("n", 512)), "",
			func(r AuthorizeRequest) bool { return len(r.Nonce) == 512 }},
		{"T12/nonce_too_long", readOnly, q("scope", "openid", "nonce", strings.Repeat("n", 513)), "invalid_request", nil},
		{"T12/nonce_repeated", readOnly, q("nonce", "a", "nonce", "b"), "invalid_request", nil},
		{"T12/prompt_none", readOnly, q("prompt", "none"), "",
			func(r AuthorizeRequest) bool { return r.Prompt == Prompt{None: true} }},
		{"T12/prompt_login_consent", readOnly, q("prompt", "login consent"), "",
			func(r AuthorizeRequest) bool { return r.Prompt == Prompt{Login: true, Consent: true} }},
		{"T12/prompt_runs_of_spaces", readOnly, q("prompt", " login  consent "), "",
			func(r AuthorizeRequest) bool { return r.Prompt == Prompt{Login: true, Consent: true} }},
		{"T12/prompt_none_with_login", readOnly, q("prompt", "none login"), "invalid_request", nil},
		{"T12/prompt_select_account", readOnly, q("prompt", "select_account"), "invalid_request", nil},
		{"T12/prompt_empty", readOnly, q("prompt", ""), "invalid_request", nil},
		{"T12/prompt_repeated", readOnly, q("prompt", "login", "prompt", "login"), "invalid_request", nil},
		{"T12/max_age", readOnly, q("max_age", "300"), "",
			func(r AuthorizeRequest) bool { return r.HasMaxAge && r.MaxAge == 5*time.Minute }},
		{"T12/max_age_zero", readOnly, q("max_age", "0"), "",
			func(r AuthorizeRequest) bool { return r.HasMaxAge && r.MaxAge == 0 }},
		{"T12/max_age_capped", readOnly, q("max_age", "99999999999999"), "",
			func(r AuthorizeRequest) bool { return r.MaxAge == maxMaxAge*time.Second }},
		{"T12/max_age_negative", readOnly, q("max_age", "-1"), "invalid_request", nil},
		{"T12/max_age_plus", readOnly, q("max_age", "+1"), "invalid_request", nil},
		{"T12/max_age_text", readOnly, q("max_age", "1h"), "invalid_request", nil},
		{"T12/max_age_empty", readOnly, q("max_age", ""), "invalid_request", nil},
		{"T12/no_max_age", readOnly, q(), "", func(r AuthorizeRequest) bool { return !r.HasMaxAge }},
	}
	redirect, _ := CheckRedirectURI("https://x.example/cb")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := DecideAuthorize(tt.client, redirect, tt.params)
			if tt.wantErr != "" {
				var ae *AuthorizeError
				if !errors.As(err, &ae) || ae.Code != tt.wantErr {
					t.Fatalf("err = %v, want %s", err, tt.wantErr)
				}
				return
			}
			if err != nil || !tt.check(req) {
				t.Fatalf("req %+v, err %v", req, err)
			}
		})
	}
}

func TestDecideSignIn(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	session := &domain.Session{CreatedAt: now.Add(-10 * time.Minute)}
	tests := []struct {
		name    string
		req     AuthorizeRequest
		session *domain.Session
		want    SignIn
	}{
		{"T12/session_used", AuthorizeRequest{}, session, SignInUse},
		{"T12/no_session_asks", AuthorizeRequest{}, nil, SignInAsk},
		{"T12/prompt_none_no_session_login_required", AuthorizeRequest{Prompt: Prompt{None: true}}, nil, SignInRequired},
		{"T12/prompt_none_with_session", AuthorizeRequest{Prompt: Prompt{None: true}}, session, SignInUse},
		{"T12/prompt_login_forces_sign_in", AuthorizeRequest{Prompt: Prompt{Login: true}}, session, SignInAsk},
		{"T12/max_age_older_session_asks", AuthorizeRequest{MaxAge: 5 * time.Minute, HasMaxAge: true}, session, SignInAsk},
		{"T12/max_age_fresh_enough", AuthorizeRequest{MaxAge: 10 * time.Minute, HasMaxAge: true}, session, SignInUse},
		{"T12/max_age_zero_always_asks", AuthorizeRequest{HasMaxAge: true}, session, SignInAsk},
		{"T12/max_age_with_prompt_none_login_required", AuthorizeRequest{MaxAge: time.Minute, HasMaxAge: true, Prompt: Prompt{None: true}}, session, SignInRequired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DecideSignIn(tt.req, tt.session, now); got != tt.want {
				t.Fatalf("DecideSignIn = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDecideConsentPrompt(t *testing.T) {
	client := domain.Client{ID: "client_a", OrgID: "org_a"}
	first := domain.Client{ID: "client_f", OrgID: "org_a", FirstParty: true}
	cust := domain.Customer{ID: "cus_a", OrgID: "org_a"}
	oidc := domain.Scopes{domain.ScopeOpenID, domain.ScopeEmail}
	covering := &domain.Grant{Scopes: domain.Scopes{domain.ScopeRead, domain.ScopeOpenID, domain.ScopeEmail}}
	narrower := &domain.Grant{Scopes: domain.Scopes{domain.ScopeRead}}
	none, consent := Prompt{None: true}, Prompt{Consent: true}
	tests := []struct {
		name  string
		req   AuthorizeRequest
		cust  domain.Customer
		grant *domain.Grant
		want  Consent
	}{
		{"T12/prompt_none_needs_consent", AuthorizeRequest{Client: client, Scopes: oidc, Prompt: none}, cust, nil, ConsentRequired},
		{"T12/prompt_none_grant_without_openid", AuthorizeRequest{Client: client, Scopes: oidc, Prompt: none}, cust, narrower, ConsentRequired},
		{"T12/prompt_none_covered", AuthorizeRequest{Client: client, Scopes: oidc, Prompt: none}, cust, covering, ConsentCovered},
		{"T12/prompt_none_first_party_login", AuthorizeRequest{Client: first, Scopes: oidc, Prompt: none, FlowType: FlowLogin}, cust, nil, ConsentImplied},
		{"T12/prompt_none_other_org", AuthorizeRequest{Client: client, Scopes: oidc, Prompt: none}, domain.Customer{OrgID: "org_b"}, nil, ConsentOtherOrg},
		{"T12/prompt_consent_asks_despite_grant", AuthorizeRequest{Client: client, Scopes: oidc, Prompt: consent}, cust, covering, ConsentAsk},
		{"T12/prompt_consent_asks_first_party", AuthorizeRequest{Client: first, Scopes: oidc, Prompt: consent, FlowType: FlowLogin}, cust, nil, ConsentAsk},
		{"T12/prompt_consent_other_org", AuthorizeRequest{Client: client, Scopes: oidc, Prompt: consent}, domain.Customer{OrgID: "org_b"}, nil, ConsentOtherOrg},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DecideConsent(tt.req, tt.cust, tt.grant); got != tt.want {
				t.Fatalf("DecideConsent = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestOpenIDScopesOutsideTheCodeFlow(t *testing.T) {
	client := domain.Client{ID: "c", Scopes: domain.APIScopes()}
	for _, scope := range []string{"openid", "read:* openid", "email", "profile"} {
		t.Run("T12/client_credentials_"+strings.ReplaceAll(scope, " ", "_"), func(t *testing.T) {
			if _, err := DecideClientCredentials(client, scope); oauthError(err) != "invalid_scope" {
				t.Fatalf("err = %v, want invalid_scope", err)
			}
		})
	}
	t.Run("T12/client_credentials_default_has_no_identity", func(t *testing.T) {
		got, err := DecideClientCredentials(domain.Client{ID: "c", Scopes: domain.AllScopes()}, "")
		if err != nil || got.String() != "read:* write:*" {
			t.Fatalf("got %q, %v", got, err)
		}
	})
	fam := domain.Family{ClientID: "c", CustomerID: "cus_a", Scopes: domain.Scopes{domain.ScopeRead, domain.ScopeOpenID, domain.ScopeEmail}}
	t.Run("T12/refresh_keeps_identity_scopes", func(t *testing.T) {
		got, err := RefreshScope("", fam, client)
		if err != nil || got.String() != "read:* openid email" {
			t.Fatalf("got %q, %v", got, err)
		}
	})
	t.Run("T12/refresh_narrows_to_openid", func(t *testing.T) {
		got, err := RefreshScope("openid", fam, client)
		if err != nil || got.String() != "openid" {
			t.Fatalf("got %q, %v", got, err)
		}
	})
	t.Run("T12/refresh_cannot_add_profile", func(t *testing.T) {
		if _, err := RefreshScope("openid profile", fam, client); oauthError(err) != "invalid_scope" {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("T12/id_token_only_with_openid", func(t *testing.T) {
		if !IDTokenWanted(domain.Scopes{domain.ScopeOpenID}) || IDTokenWanted(domain.Scopes{domain.ScopeRead}) {
			t.Fatal("IDTokenWanted")
		}
	})
}

func TestCheckUserInfo(t *testing.T) {
	tests := []struct {
		name   string
		caller Caller
		ok     bool
	}{
		{"T12/customer_with_openid", Caller{CustomerID: "cus_a", Scopes: domain.Scopes{domain.ScopeOpenID}}, true},
		{"T12/customer_without_openid", Caller{CustomerID: "cus_a", Scopes: domain.Scopes{domain.ScopeRead}}, false},
		{"T12/organization_token", Caller{ClientID: "c", Scopes: domain.AllScopes()}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckUserInfo(tt.caller)
			if (err == nil) != tt.ok || (err != nil && oauthError(err) != "insufficient_scope") {
				t.Fatalf("err = %v", err)
			}
		})
	}
}
