package pages

import (
	"context"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/ids"
	"github.com/nomosauth/nomosauth/internal/oauth"
	"github.com/nomosauth/nomosauth/internal/problem"
	"github.com/nomosauth/nomosauth/internal/store"
)

// redeem presents code as the token endpoint would and returns the
// store's answer.
func (f *fixture) redeem(code string, client domain.Client, redirect, verifier string) (store.Redemption, error) {
	now := f.clock.Now()
	famID, _ := ids.Generator{Rand: strings.NewReader(strings.Repeat("r", 64))}.ID(domain.PrefixFamily)
	famID += code[len(code)-6:]
	rule := oauth.CodeRule{Client: client, RedirectURI: redirect, Verifier: verifier, Now: now}
	return f.store.RedeemCode(context.Background(), ids.Hash(code), domain.Family{ID: famID, CreatedAt: now, Generation: 1, GenerationAt: now, LiveUntil: now.Add(time.Hour)}, domain.System(now), rule.Check)
}

func TestJourneyConsentAllow(t *testing.T) {
	f := newFixture(t)
	c := f.browser()
	q := f.authorizeQuery(testVerifier, nil)

	p := c.get("/oauth/authorize?" + q.Encode())
	if p.status != http.StatusOK || p.title() != "Sign in" {
		t.Fatalf("authorize: %d %q", p.status, p.title())
	}
	if in := p.input("email"); in == nil || in["type"] != "email" || in["autocomplete"] != "email" {
		t.Fatalf("A7: sign-in needs one email input: %v", in)
	}
	if !strings.Contains(p.body, "HomeHub") || !strings.Contains(p.body, "Sunny Energy") {
		t.Error("sign-in page does not name the app and its organization")
	}
	// A stale form of this page leads back to the app once signed in
	// elsewhere (readForm): its policy permits the redirect (A10).
	checkPageHeaders(t, p, "https://app.example")
	cookieBefore := c.http.Jar.Cookies(mustURL(f.srv.URL))

	p = c.submit(p, PathSignin, url.Values{"email": {"ADA@example.com"}})
	if p.title() != "Check your email" {
		t.Fatalf("after sign-in: %d %q", p.status, p.title())
	}
	code := p.input("code")
	if code == nil || code["autocomplete"] != "one-time-code" || code["inputmode"] != "numeric" {
		t.Fatalf("A7: code input must be named code with autocomplete=one-time-code: %v", code)
	}
	checkPageHeaders(t, p, "https://app.example")

	p = c.submit(p, PathVerify, url.Values{"code": {f.mail.lastCode(t, "ADA@example.com")}})
	if p.title() != "Allow access?" {
		t.Fatalf("after the code: %d %q\n%s", p.status, p.title(), p.body)
	}
	for _, want := range []string{"HomeHub", "Sunny Energy", "Read your customer details", "ada@example.com"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("A8: consent page lacks %q", want)
		}
	}
	if strings.Contains(p.body, "Change your data") {
		t.Error("T7: consent offers write access")
	}
	checkPageHeaders(t, p, "https://app.example")
	if after := c.http.Jar.Cookies(mustURL(f.srv.URL)); len(after) != 1 || len(cookieBefore) != 1 || after[0].Value == cookieBefore[0].Value {
		t.Errorf("A7: sign-in must issue a new session id: before %v, after %v", cookieBefore, after)
	}

	p = c.submit(p, PathConsent, url.Values{"decision": {"allow"}})
	loc := p.location()
	if p.status != http.StatusSeeOther || !strings.HasPrefix(loc.String(), appRedirect+"?") {
		t.Fatalf("A8: allow must redirect (303) to the app: %d %s", p.status, loc)
	}
	got := loc.Query()
	if got.Get("state") != "st-123" || got.Get("iss") != testIssuer || !strings.HasPrefix(got.Get("code"), ids.PrefixAuthCode) {
		t.Fatalf("A6: redirect lacks code, state or iss: %v", got)
	}

	// T6: the code is bound to client, redirect URI and verifier.
	codeValue := got.Get("code")
	if _, err := f.redeem(codeValue, f.public, appRedirect, testVerifier); oauthErr(err) != "invalid_grant" {
		t.Errorf("T6: another client redeemed the code: %v", err)
	}
	if _, err := f.redeem(codeValue, f.app, appRedirect+"/x", testVerifier); oauthErr(err) != "invalid_grant" {
		t.Errorf("T6: another redirect_uri redeemed the code: %v", err)
	}
	if _, err := f.redeem(codeValue, f.app, appRedirect, testVerifier+"x"); oauthErr(err) != "invalid_grant" {
		t.Errorf("T6: a wrong verifier redeemed the code: %v", err)
	}
	red, err := f.redeem(codeValue, f.app, appRedirect, testVerifier)
	if err != nil || red.Verdict != domain.CodeRedeem {
		t.Fatalf("T6: the right request failed: %v %v", red, err)
	}
	if red.Family.CustomerID != f.ada.ID || red.Family.OrgID != f.org.ID || red.Family.Scopes.String() != domain.ScopeRead || red.Family.GrantID == "" {
		t.Errorf("T6/T7: family not bound to the customer, read-only: %+v", red.Family)
	}
	replay, err := f.redeem(codeValue, f.app, appRedirect, testVerifier)
	if err != nil || replay.Verdict != domain.CodeReplay {
		t.Fatalf("T6: second use: %v %v", replay, err)
	}
	fam, _ := f.store.GetFamily(context.Background(), red.Family.ID)
	if !fam.Revoked() {
		t.Error("T6: a replayed code must revoke the tokens issued from it")
	}

	// A7: signed in, the customer is not asked again; A8: the grant now
	// covers the request, so the consent page is skipped.
	p = c.get("/oauth/authorize?" + f.authorizeQuery(testVerifier, url.Values{"state": {"again"}}).Encode())
	if loc := p.location(); loc.Query().Get("code") == "" || loc.Query().Get("state") != "again" {
		t.Fatalf("A8: a covering grant must skip consent: %s", loc)
	}
	if n := f.mail.count(); n != 1 {
		t.Errorf("sent %d emails, want 1", n)
	}
}

func mustURL(s string) *url.URL { u, _ := url.Parse(s); return u }

func oauthErr(err error) string {
	var p *problem.Error
	if errors.As(err, &p) {
		return p.OAuthError
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

// checkPageHeaders asserts A10's headers; target is the origin the page's
// forms may lead to besides our own, or "".
func checkPageHeaders(t *testing.T, p *page, target string) {
	t.Helper()
	csp := p.header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "frame-ancestors 'none'", "base-uri 'none'", "style-src 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("A10: CSP %q lacks %q", csp, want)
		}
	}
	wantAction := "form-action 'self'"
	if target != "" {
		wantAction += " " + target
	}
	if !strings.Contains(csp, wantAction+";") {
		t.Errorf("A10: CSP %q, want %q", csp, wantAction)
	}
	if p.header.Get("Cache-Control") != "no-store" {
		t.Errorf("pages must not be cached: %q", p.header.Get("Cache-Control"))
	}
	if strings.Contains(p.body, "<script") || strings.Contains(p.body, "http://") || strings.Contains(p.body, "https://") {
		t.Error("A10: pages load nothing from other origins and need no script")
	}
}

// TestAuthorizeErrorPage is PRODUCT A1: before client and redirect URI are
// trusted, the customer sees an error page and is never redirected.
func TestAuthorizeErrorPage(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name string
		edit func(q url.Values)
	}{
		{"A1/missing_client_id", func(q url.Values) { q.Del("client_id") }},
		{"A1/empty_client_id", func(q url.Values) { q.Set("client_id", "") }},
		{"A1/unknown_client", func(q url.Values) { q.Set("client_id", "client_unknown") }},
		{"A1/repeated_client_id", func(q url.Values) { q.Add("client_id", f.app.ID) }},
		{"A1/malformed_client_id", func(q url.Values) { q.Set("client_id", "client a") }},
		{"A1/missing_redirect_uri", func(q url.Values) { q.Del("redirect_uri") }},
		{"A1/unregistered_redirect_uri", func(q url.Values) { q.Set("redirect_uri", "https://evil.example/cb") }},
		{"A1/sibling_path", func(q url.Values) { q.Set("redirect_uri", "https://app.example/cbx") }},
		{"A1/repeated_redirect_uri", func(q url.Values) { q.Add("redirect_uri", appRedirect) }},
		{"A1/fragment", func(q url.Values) { q.Set("redirect_uri", appRedirect+"#x") }},
		{"A1/dot_segments", func(q url.Values) { q.Set("redirect_uri", appRedirect+"/../admin") }},
		{"A1/other_clients_uri", func(q url.Values) { q.Set("redirect_uri", "com.example.charger:/cb") }},
	}
	c := f.browser()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := f.authorizeQuery(testVerifier, nil)
			tt.edit(q)
			p := c.get("/oauth/authorize?" + q.Encode())
			if p.status != http.StatusBadRequest || p.header.Get("Location") != "" {
				t.Fatalf("status %d, Location %q: want a 400 page and no redirect", p.status, p.header.Get("Location"))
			}
			if p.title() != "Something went wrong" || !strings.Contains(p.header.Get("Content-Type"), "text/html") {
				t.Fatalf("want the error page, got %q", p.title())
			}
		})
	}
	t.Run("A1/disabled_client", func(t *testing.T) {
		if err := f.store.DisableClient(context.Background(), f.app.ID, domain.System(time.Now())); err != nil {
			t.Fatal(err)
		}
		p := c.get("/oauth/authorize?" + f.authorizeQuery(testVerifier, nil).Encode())
		if p.status != http.StatusBadRequest || p.header.Get("Location") != "" {
			t.Fatalf("status %d: want the error page", p.status)
		}
	})
}

// TestAuthorizeRedirectErrors is PRODUCT A3-A6 and A9: once client and
// redirect URI are trusted, errors go back to the app with state and iss.
func TestAuthorizeRedirectErrors(t *testing.T) {
	f := newFixture(t)
	c := f.browser()
	tests := []struct {
		name   string
		client func() domain.Client
		edit   func(q url.Values)
		want   string
	}{
		{"A3/missing_response_type", nil, func(q url.Values) { q.Del("response_type") }, "invalid_request"},
		{"A3/token_response_type", nil, func(q url.Values) { q.Set("response_type", "token") }, "unsupported_response_type"},
		{"A3/code_id_token", nil, func(q url.Values) { q.Set("response_type", "code id_token") }, "unsupported_response_type"},
		{"A4/write_scope", nil, func(q url.Values) { q.Set("scope", "write:*") }, "invalid_scope"},
		{"A4/read_and_write", nil, func(q url.Values) { q.Set("scope", "read:* write:*") }, "invalid_scope"},
		{"A4/unknown_scope", nil, func(q url.Values) { q.Set("scope", "admin") }, "invalid_scope"},
		{"A4/unknown_scope_quoted_non_ascii", nil, func(q url.Values) { q.Set("scope", `zähler\x"`) }, "invalid_scope"},
		{"T12/email_without_openid", nil, func(q url.Values) { q.Set("scope", "read:* email") }, "invalid_scope"},
		{"T12/prompt_none_and_login", nil, func(q url.Values) { q.Set("prompt", "none login") }, "invalid_request"},
		{"T12/bad_max_age", nil, func(q url.Values) { q.Set("max_age", "soon") }, "invalid_request"},
		{"T12/prompt_none_without_session", nil, func(q url.Values) { q.Set("prompt", "none") }, "login_required"},
		{"A4/double_space", nil, func(q url.Values) { q.Set("scope", "read:*  read:*") }, "invalid_scope"},
		{"A5/method_without_challenge", nil, func(q url.Values) { q.Del("code_challenge") }, "invalid_request"},
		{"A5/unknown_method", nil, func(q url.Values) { q.Set("code_challenge_method", "S512") }, "invalid_request"},
		{"A5/lower_case_method", nil, func(q url.Values) { q.Set("code_challenge_method", "s256") }, "invalid_request"},
		{"A5/s256_not_base64url", nil, func(q url.Values) { q.Set("code_challenge", strings.Repeat("+", 43)) }, "invalid_request"},
		{"A5/s256_wrong_length", nil, func(q url.Values) { q.Set("code_challenge", strings.Repeat("a", 44)) }, "invalid_request"},
		{"A5/plain_too_short", nil, func(q url.Values) {
			q.Set("code_challenge_method", "plain")
			q.Set("code_challenge", strings.Repeat("a", 42))
		}, "invalid_request"},
		{"A5/plain_too_long", nil, func(q url.Values) { q.Del("code_challenge_method"); q.Set("code_challenge", strings.Repeat("a", 129)) }, "invalid_request"},
		{"A5/plain_bad_char", nil, func(q url.Values) {
			q.Del("code_challenge_method")
			q.Set("code_challenge", strings.Repeat("a", 42)+"!")
		}, "invalid_request"},
		{"A5/public_without_challenge", func() domain.Client { return f.public }, func(q url.Values) {
			q.Set("redirect_uri", "com.example.charger:/cb")
			q.Del("code_challenge")
			q.Del("code_challenge_method")
		}, "invalid_request"},
		{"A6/repeated_state", nil, func(q url.Values) { q.Add("scope", "read:*"); q.Add("scope", "read:*") }, "invalid_request"},
		{"A9/unknown_flow_type", nil, func(q url.Values) { q.Set("flow_type", "register") }, "invalid_request"},
		// The metadata offers only the query response mode and no request objects.
		{"T12/response_mode_fragment", nil, func(q url.Values) { q.Set("response_mode", "fragment") }, "invalid_request"},
		{"T12/response_mode_form_post", nil, func(q url.Values) { q.Set("response_mode", "form_post") }, "invalid_request"},
		{"T12/request_object", nil, func(q url.Values) { q.Set("request", "eyJhbGciOiJub25lIn0.e30.") }, "request_not_supported"},
		{"T12/request_uri", nil, func(q url.Values) { q.Set("request_uri", "https://app.example/req/1") }, "request_uri_not_supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := f.authorizeQuery(testVerifier, nil)
			redirect := appRedirect
			if tt.client != nil {
				q.Set("client_id", tt.client().ID)
			}
			tt.edit(q)
			if r := q.Get("redirect_uri"); r != appRedirect {
				redirect = r
			}
			p := c.get("/oauth/authorize?" + q.Encode())
			loc := p.location()
			if p.status != http.StatusFound || !strings.HasPrefix(loc.String(), redirect+"?") {
				t.Fatalf("status %d, Location %s: want 302 to %s", p.status, loc, redirect)
			}
			got := loc.Query()
			if got.Get("error") != tt.want || got.Get("state") != "st-123" || got.Get("iss") != testIssuer || got.Has("code") {
				t.Fatalf("redirect %v: want error=%s, state and iss, no code", got, tt.want)
			}
			// RFC 6749 §4.1.2.1: error_description is %x20-21 / %x23-5B / %x5D-7E only.
			if d := got.Get("error_description"); strings.ContainsFunc(d, func(c rune) bool { return c < 0x20 || c == '"' || c == '\\' || c > 0x7e }) {
				t.Fatalf("error_description %q has characters RFC 6749 forbids", d)
			}
		})
	}
	t.Run("A6/state_verbatim", func(t *testing.T) {
		state := "a b&c=d/é?%20"
		p := c.get("/oauth/authorize?" + f.authorizeQuery(testVerifier, url.Values{"state": {state}, "response_type": {"x"}}).Encode())
		if got := p.location().Query().Get("state"); got != state {
			t.Fatalf("state %q came back as %q", state, got)
		}
	})
	t.Run("A6/no_state_no_state_param", func(t *testing.T) {
		q := f.authorizeQuery(testVerifier, url.Values{"response_type": {"x"}})
		q.Del("state")
		if got := c.get("/oauth/authorize?" + q.Encode()).location().Query(); got.Has("state") || got.Get("iss") != testIssuer {
			t.Fatalf("redirect %v", got)
		}
	})
	t.Run("A5/loopback_any_port_plain_method", func(t *testing.T) {
		q := url.Values{"client_id": {f.public.ID}, "redirect_uri": {"http://127.0.0.1:49152/cb"}, "response_type": {"code"},
			"code_challenge": {testVerifier}}
		p := c.get("/oauth/authorize?" + q.Encode())
		if p.status != http.StatusOK || p.input("email") == nil {
			t.Fatalf("a public client with a plain challenge on any loopback port is valid: %d", p.status)
		}
	})
}

func TestDenyRedirectsAccessDenied(t *testing.T) {
	f := newFixture(t)
	c := f.browser()
	p := c.signIn(f.authorizeQuery(testVerifier, nil), "ada@example.com")
	loc := c.submit(p, PathConsent, url.Values{"decision": {"deny"}}).location()
	if q := loc.Query(); q.Get("error") != "access_denied" || q.Get("state") != "st-123" || q.Get("iss") != testIssuer || q.Has("code") {
		t.Fatalf("A8: deny: %s", loc)
	}
	if grants, _ := f.store.ListGrants(context.Background(), f.ada.ID); len(grants) != 0 {
		t.Errorf("deny recorded a grant: %v", grants)
	}
}

// TestLoginFlow is PRODUCT A9: flow_type=login skips consent only for a
// first-party client.
func TestLoginFlow(t *testing.T) {
	t.Run("A9/login_flow_first_party_skips_consent", func(t *testing.T) {
		f := newFixture(t)
		c := f.browser()
		p := c.signIn(f.authorizeQuery(testVerifier, url.Values{"flow_type": {"login"}, "client_id": {f.firstParty.ID}}), "ada@example.com")
		if loc := p.location(); loc.Query().Get("code") == "" || loc.Query().Get("iss") != testIssuer {
			t.Fatalf("login flow must return a code without consent: %s", loc)
		}
		if grants, _ := f.store.ListGrants(context.Background(), f.ada.ID); len(grants) != 1 {
			t.Errorf("A11: the login flow's access must still be listed: %v", grants)
		}
	})
	t.Run("A9/login_flow_third_party_sees_consent", func(t *testing.T) {
		f := newFixture(t)
		c := f.browser()
		p := c.signIn(f.authorizeQuery(testVerifier, url.Values{"flow_type": {"login"}}), "ada@example.com")
		if p.status != http.StatusOK || p.title() != "Allow access?" || !strings.Contains(p.body, "HomeHub") {
			t.Fatalf("a non-first-party app with flow_type=login must show the consent page: %d %q", p.status, p.title())
		}
		if grants, _ := f.store.ListGrants(context.Background(), f.ada.ID); len(grants) != 0 {
			t.Fatalf("no grant before Allow: %v", grants)
		}
		// Once allowed, the grant covers the next login and the page is skipped.
		if loc := c.submit(p, PathConsent, url.Values{"decision": {"allow"}}).location(); loc.Query().Get("code") == "" {
			t.Fatalf("allow: %s", loc)
		}
		again := c.get("/oauth/authorize?" + f.authorizeQuery(testVerifier, url.Values{"flow_type": {"login"}}).Encode())
		if loc := again.location(); loc.Query().Get("code") == "" {
			t.Fatalf("a covering grant must skip the page: %s", loc)
		}
	})
}

func TestSignupFlow(t *testing.T) {
	f := newFixture(t)
	c := f.browser()
	p := c.get("/oauth/authorize?" + f.authorizeQuery(testVerifier, url.Values{"flow_type": {"signup"}}).Encode())
	if p.title() != "Create your account" {
		t.Fatalf("A9: signup flow: %q", p.title())
	}
	for _, name := range []string{"email", "first_name", "last_name"} {
		if p.input(name) == nil {
			t.Errorf("sign-up lacks %s", name)
		}
	}
	// A stale form of this page leads back to the app once signed in
	// elsewhere (readForm): its policy permits the redirect (A10).
	checkPageHeaders(t, p, "https://app.example")
	bad := c.submit(p, PathSignup, url.Values{"email": {"new@example.com"}, "first_name": {""}, "last_name": {"X"}})
	// The error is tied to the field it is about, and only to that one.
	if first, last, email := bad.input("first_name"), bad.input("last_name"), bad.input("email"); first["aria-invalid"] != "true" ||
		first["aria-describedby"] != "form-error" || last["aria-invalid"] != "" || email["aria-invalid"] != "" {
		t.Errorf("sign-up error not tied to its field: first %v, last %v, email %v", first, last, email)
	}
	if badEmail := c.submit(p, PathSignup, url.Values{"email": {"not an email"}, "first_name": {"N"}, "last_name": {"X"}}); badEmail.input("email")["aria-invalid"] != "true" {
		t.Errorf("sign-up email error not tied to the email field: %v", badEmail.input("email"))
	}
	if bad.status != http.StatusBadRequest || f.mail.count() != 0 {
		t.Fatalf("missing first name: %d, %d mails", bad.status, f.mail.count())
	}
	p = c.submit(p, PathSignup, url.Values{"email": {"New@Example.com"}, "first_name": {"Grace"}, "last_name": {"Hopper"}})
	p = c.submit(p, PathVerify, url.Values{"code": {f.mail.lastCode(t, "New@Example.com")}})
	if p.title() != "Allow access?" {
		t.Fatalf("after sign-up: %q\n%s", p.title(), p.body)
	}
	found, _ := f.store.ListCustomers(context.Background(), store.CustomerFilter{Email: "new@example.com"}, store.Page{Limit: 2})
	if len(found) != 1 || found[0].OrgID != f.org.ID || found[0].FirstName != "Grace" || found[0].Type != domain.CustomerPerson {
		t.Fatalf("A9: new customer: %+v", found)
	}
	subs, _ := f.store.ListSubscriptions(context.Background(), store.SubscriptionFilter{CustomerID: found[0].ID}, store.Page{Limit: 5})
	if len(subs) != 0 {
		t.Errorf("A9: a new customer has no subscription: %v", subs)
	}
}

func TestCustomerOfAnotherOrganization(t *testing.T) {
	f := newFixture(t)
	c := f.browser()
	p := c.signIn(f.authorizeQuery(testVerifier, nil), "bob@example.com")
	if loc := p.location(); loc.Query().Get("error") != "access_denied" || loc.Query().Has("code") {
		t.Fatalf("a customer of another organization got %s", loc)
	}
}

// TestOneTimeCodes is PRODUCT A7.
func TestOneTimeCodes(t *testing.T) {
	t.Run("A7/unknown_email_same_page", func(t *testing.T) {
		f := newFixture(t)
		c := f.browser()
		p := c.get("/oauth/authorize?" + f.authorizeQuery(testVerifier, nil).Encode())
		known := c.submit(p, PathSignin, url.Values{"email": {"ada@example.com"}})
		unknown := c.submit(p, PathSignin, url.Values{"email": {"nobody@example.com"}})
		if known.status != unknown.status || known.title() != unknown.title() ||
			strings.ReplaceAll(known.body, "ada@example.com", "X") != strings.ReplaceAll(unknown.body, "nobody@example.com", "X") {
			t.Fatalf("pages differ for known and unknown emails:\n%s\n---\n%s", known.body, unknown.body)
		}
		if f.mail.count() != 1 {
			t.Errorf("sent %d mails; only the known email gets one", f.mail.count())
		}
		// The unknown email's code was never sent, so no guess signs anyone in.
		if p := c.submit(unknown, PathVerify, url.Values{"code": {"123456"}}); p.title() != "Check your email" {
			t.Errorf("guess for an unknown email: %q", p.title())
		}
	})
	t.Run("A7/five_tries", func(t *testing.T) {
		f := newFixture(t)
		c := f.browser()
		p := c.get("/oauth/authorize?" + f.authorizeQuery(testVerifier, nil).Encode())
		p = c.submit(p, PathSignin, url.Values{"email": {"ada@example.com"}})
		right := f.mail.lastCode(t, "ada@example.com")
		wrong := "000000"
		if right == wrong {
			wrong = "111111"
		}
		verifyPage := p
		for try := 1; try <= oauth.OneTimeMaxTries; try++ {
			p = c.submit(verifyPage, PathVerify, url.Values{"code": {wrong}})
			if try < oauth.OneTimeMaxTries && (p.status != http.StatusOK || p.title() != "Check your email" ||
				!strings.Contains(p.body, fmt.Sprintf("Tries left: %d.", oauth.OneTimeMaxTries-try))) {
				t.Fatalf("try %d: %d %q", try, p.status, p.title())
			}
		}
		if p.title() != "Sign in" {
			t.Fatalf("after five wrong tries the code must be gone: %q", p.title())
		}
		p = c.submit(verifyPage, PathVerify, url.Values{"code": {right}})
		if p.title() == "Allow access?" {
			t.Fatal("A7: the right code worked after five wrong tries")
		}
	})
	t.Run("A7/format_errors_do_not_count", func(t *testing.T) {
		f := newFixture(t)
		c := f.browser()
		p := c.get("/oauth/authorize?" + f.authorizeQuery(testVerifier, nil).Encode())
		p = c.submit(p, PathSignin, url.Values{"email": {"ada@example.com"}})
		for _, typed := range []string{"", "12345", "1234567", "abcdef", "12 34 5x", strings.Repeat("1", 100)} {
			p = c.submit(p, PathVerify, url.Values{"code": {typed}})
			if p.status != http.StatusBadRequest || !strings.Contains(p.body, "six digits") {
				t.Fatalf("typed %q: %d", typed, p.status)
			}
		}
		code := f.mail.lastCode(t, "ada@example.com")
		if p := c.submit(p, PathVerify, url.Values{"code": {code[:3] + " " + code[3:]}}); p.title() != "Allow access?" {
			t.Fatalf("a pasted code with a space must work: %q", p.title())
		}
	})
	t.Run("A7/expires_after_10_minutes", func(t *testing.T) {
		f := newFixture(t)
		c := f.browser()
		p := c.get("/oauth/authorize?" + f.authorizeQuery(testVerifier, nil).Encode())
		p = c.submit(p, PathSignin, url.Values{"email": {"ada@example.com"}})
		f.clock.Advance(oauth.OneTimeCodeTTL)
		if p := c.submit(p, PathVerify, url.Values{"code": {f.mail.lastCode(t, "ada@example.com")}}); p.title() != "Sign in" {
			t.Fatalf("an expired code: %q", p.title())
		}
	})
	t.Run("A7/single_use_and_bound_to_browser", func(t *testing.T) {
		f := newFixture(t)
		c, other := f.browser(), f.browser()
		q := f.authorizeQuery(testVerifier, nil).Encode()
		p := c.get("/oauth/authorize?" + q)
		p = c.submit(p, PathSignin, url.Values{"email": {"ada@example.com"}})
		code := f.mail.lastCode(t, "ada@example.com")
		op := other.get("/oauth/authorize?" + q)
		op = other.submit(op, PathSignin, url.Values{"email": {"ada@example.com"}})
		if got := other.submit(op, PathVerify, url.Values{"code": {code}}); got.title() == "Allow access?" {
			t.Fatal("a code worked in another browser")
		}
		if got := c.submit(p, PathVerify, url.Values{"code": {code}}); got.title() != "Allow access?" {
			t.Fatalf("the right code failed: %q", got.title())
		}
		// The old browser id is gone; replaying the form with it fails.
		replay := c.post(PathVerify, p.form(PathVerify))
		if replay.title() == "Allow access?" && replay.status == http.StatusOK && !strings.Contains(replay.body, "ada@example.com") {
			t.Fatal("a used code worked again")
		}
	})
	t.Run("A7/new_code_replaces_old", func(t *testing.T) {
		f := newFixture(t)
		c := f.browser()
		p := c.get("/oauth/authorize?" + f.authorizeQuery(testVerifier, nil).Encode())
		p = c.submit(p, PathSignin, url.Values{"email": {"ada@example.com"}})
		first := f.mail.lastCode(t, "ada@example.com")
		p = c.submit(p, PathSignin, url.Values{})
		second := f.mail.lastCode(t, "ada@example.com")
		if first == second {
			t.Skip("two random codes collided")
		}
		if got := c.submit(p, PathVerify, url.Values{"code": {first}}); got.title() == "Allow access?" {
			t.Fatal("the replaced code still worked")
		}
	})
	t.Run("A7/resend_throttled_per_email", func(t *testing.T) {
		f := newFixture(t)
		c := f.browser()
		p := c.get("/oauth/authorize?" + f.authorizeQuery(testVerifier, nil).Encode())
		for i := 0; i < 3; i++ {
			if got := c.submit(p, PathSignin, url.Values{"email": {"ada@example.com"}}); got.status != http.StatusOK {
				t.Fatalf("code %d: %d", i+1, got.status)
			}
		}
		got := c.submit(p, PathSignin, url.Values{"email": {"Ada@Example.com"}})
		if got.status != http.StatusTooManyRequests || !strings.Contains(got.body, "Too many codes") || f.mail.count() != 3 {
			t.Fatalf("fourth code: %d, %d mails", got.status, f.mail.count())
		}
		if unknown := c.submit(p, PathSignin, url.Values{"email": {"nobody@example.com"}}); unknown.status != http.StatusOK {
			t.Errorf("another email must not share the limit: %d", unknown.status)
		}
		f.clock.Advance(30 * time.Second)
		if got := c.submit(p, PathSignin, url.Values{"email": {"ada@example.com"}}); got.status != http.StatusOK {
			t.Errorf("after 30 s a new code is allowed: %d", got.status)
		}
	})
	t.Run("A7/mail_failure_says_retry", func(t *testing.T) {
		f := newFixture(t)
		f.mail.fail = errors.New("connection refused")
		c := f.browser()
		p := c.get("/oauth/authorize?" + f.authorizeQuery(testVerifier, nil).Encode())
		got := c.submit(p, PathSignin, url.Values{"email": {"ada@example.com"}})
		if got.status != http.StatusBadRequest || !strings.Contains(got.body, "could not send the email") || got.input("email") == nil {
			t.Fatalf("mail failure: %d\n%s", got.status, got.body)
		}
	})
	t.Run("A7/bad_emails", func(t *testing.T) {
		f := newFixture(t)
		c := f.browser()
		p := c.get("/oauth/authorize?" + f.authorizeQuery(testVerifier, nil).Encode())
		for _, email := range []string{"", "ada", "ada@", "Ada <ada@example.com>", "ada@example.com\r\nBcc: x@example.com", strings.Repeat("a", 250) + "@example.com", "a@b"} {
			got := c.submit(p, PathSignin, url.Values{"email": {email}})
			if got.status != http.StatusBadRequest || got.input("email") == nil {
				t.Errorf("email %q: %d", email, got.status)
			}
		}
		if f.mail.count() != 0 {
			t.Errorf("bad emails sent %d mails", f.mail.count())
		}
	})
}

// otherFirstChar changes the first character of s, whatever it was.
func otherFirstChar(s string) string {
	if strings.HasPrefix(s, "x") {
		return "y" + s[1:]
	}
	return "x" + s[1:]
}

func TestSessionLifetimes(t *testing.T) {
	f := newFixture(t)
	c := f.browser()
	c.signIn(f.authorizeQuery(testVerifier, nil), "ada@example.com")
	if p := c.get(PathApps); p.title() != "Connected apps" {
		t.Fatalf("signed in: %q", p.title())
	}
	f.clock.Advance(DefaultSessionIdle - time.Minute)
	if p := c.get(PathApps); p.title() != "Connected apps" {
		t.Fatalf("active within the idle time: %q", p.title())
	}
	f.clock.Advance(DefaultSessionIdle - time.Minute) // touched a moment ago
	if p := c.get(PathApps); p.title() != "Connected apps" {
		t.Fatalf("activity must extend the idle time: %q", p.title())
	}
	f.clock.Advance(DefaultSessionIdle)
	if p := c.get(PathApps); p.title() != "Sign in" {
		t.Fatalf("idle session must end: %q", p.title())
	}

	c2 := f.browser()
	c2.signIn(f.authorizeQuery(testVerifier, nil), "ada@example.com")
	for elapsed := time.Duration(0); elapsed < DefaultSessionMax; elapsed += 30 * time.Minute {
		f.clock.Advance(30 * time.Minute)
		c2.get(PathApps)
	}
	if p := c2.get(PathApps); p.title() != "Sign in" {
		t.Fatalf("a session must end at its absolute lifetime: %q", p.title())
	}
}

// TestCSRF is PRODUCT A10.
func TestCSRF(t *testing.T) {
	f := newFixture(t)
	c := f.browser()
	p := c.get("/oauth/authorize?" + f.authorizeQuery(testVerifier, nil).Encode())
	form := p.form(PathSignin)
	form.Set("email", "ada@example.com")
	tests := []struct {
		name   string
		edit   func(url.Values)
		header http.Header
		client *client
		want   int
	}{
		{"A10/missing_token", func(v url.Values) { v.Del("csrf") }, nil, c, http.StatusForbidden},
		{"A10/wrong_token", func(v url.Values) { v.Set("csrf", otherFirstChar(v.Get("csrf"))) }, nil, c, http.StatusForbidden},
		{"A10/other_browsers_token", nil, nil, f.browser(), http.StatusBadRequest},
		{"A10/cross_site_fetch", nil, http.Header{"Sec-Fetch-Site": {"cross-site"}}, c, http.StatusForbidden},
		{"A10/foreign_origin", nil, http.Header{"Origin": {"https://evil.example"}}, c, http.StatusForbidden},
		{"A10/repeated_field", func(v url.Values) { v.Add("email", "bob@example.com") }, nil, c, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := url.Values{}
			for k, vs := range form {
				v[k] = append([]string(nil), vs...)
			}
			if tt.edit != nil {
				tt.edit(v)
			}
			tt.client.header = tt.header
			if tt.header == nil {
				tt.client.header = http.Header{}
			}
			got := tt.client.post(PathSignin, v)
			if got.status != tt.want || f.mail.count() != 0 {
				t.Fatalf("status %d (want %d), %d mails", got.status, tt.want, f.mail.count())
			}
		})
	}
	c.header = http.Header{}
	t.Run("A10/json_body_refused", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, f.srv.URL+PathSignin, strings.NewReader(`{"email":"ada@example.com"}`))
		req.Header.Set("Content-Type", "application/json")
		if got := c.do(req); got.status != http.StatusBadRequest {
			t.Fatalf("status %d", got.status)
		}
	})
}

// TestConnectedApps is PRODUCT A11.
func TestConnectedApps(t *testing.T) {
	f := newFixture(t)
	c := f.browser()
	p := c.signIn(f.authorizeQuery(testVerifier, nil), "ada@example.com")
	code := c.submit(p, PathConsent, url.Values{"decision": {"allow"}}).location().Query().Get("code")
	red, err := f.redeem(code, f.app, appRedirect, testVerifier)
	if err != nil {
		t.Fatal(err)
	}

	apps := c.get(PathApps)
	if apps.title() != "Connected apps" || !strings.Contains(apps.body, "HomeHub") || !strings.Contains(apps.body, "Sunny Energy") ||
		!strings.Contains(apps.body, "Since 2026-11-28") || !strings.Contains(apps.body, "Read your customer details") {
		t.Fatalf("apps page:\n%s", apps.body)
	}
	checkPageHeaders(t, apps, "")

	// Another customer cannot revoke Ada's grant.
	mallory := f.browser()
	mallory.signIn(f.authorizeQuery(testVerifier, nil), "bob@example.com")
	mapps := mallory.get(PathApps)
	form := mapps.form("/signout")
	form.Set("grant", red.Family.GrantID)
	if got := mallory.post(PathRevoke, form); got.status != http.StatusNotFound {
		t.Fatalf("revoking another customer's grant: %d", got.status)
	}
	if f.revoked.Revoked(red.Family.ID) {
		t.Fatal("another customer's revoke took effect")
	}

	got := c.submit(apps, PathRevoke, nil)
	if got.status != http.StatusSeeOther || got.header.Get("Location") != PathApps {
		t.Fatalf("revoke: %d %s", got.status, got.header.Get("Location"))
	}
	if !f.revoked.Revoked(red.Family.ID) {
		t.Error("A11: revoked grant's access tokens must be refused at once")
	}
	if fam, _ := f.store.GetFamily(context.Background(), red.Family.ID); !fam.Revoked() {
		t.Error("A11: revoked grant's refresh tokens must die")
	}
	if apps := c.get(PathApps); !strings.Contains(apps.body, "No app has access") {
		t.Errorf("after revoke:\n%s", apps.body)
	}
	// A new authorization asks for consent again.
	if p := c.get("/oauth/authorize?" + f.authorizeQuery(testVerifier, nil).Encode()); p.title() != "Allow access?" {
		t.Errorf("after revoke the consent page must come back: %q", p.title())
	}
}

func TestSignout(t *testing.T) {
	f := newFixture(t)
	c := f.browser()
	c.signIn(f.authorizeQuery(testVerifier, nil), "ada@example.com")
	apps := c.get(PathApps)
	if got := c.submit(apps, PathSignout, nil); got.title() != "You are signed out" {
		t.Fatalf("sign-out: %q", got.title())
	}
	if got := c.get(PathApps); got.title() != "Sign in" {
		t.Fatalf("after sign-out: %q", got.title())
	}
}

func TestGerman(t *testing.T) {
	f := newFixture(t)
	c := f.browser()
	c.lang = "de-DE,de;q=0.9,en;q=0.5"
	p := c.get("/oauth/authorize?" + f.authorizeQuery(testVerifier, nil).Encode())
	if p.title() != "Anmelden" || !strings.Contains(p.body, `lang="de"`) {
		t.Fatalf("German sign-in: %q", p.title())
	}
	p = c.submit(p, PathSignin, url.Values{"email": {"ada@example.com"}})
	f.mail.mu.Lock()
	subject := f.mail.msgs[0].Subject
	f.mail.mu.Unlock()
	if !strings.Contains(subject, "Anmeldecode") {
		t.Errorf("German mail subject: %q", subject)
	}
	p = c.submit(p, PathVerify, url.Values{"code": {f.mail.lastCode(t, "ada@example.com")}})
	if p.title() != "Zugriff erlauben?" || !strings.Contains(p.body, "Erlauben") || !strings.Contains(p.body, "Ablehnen") {
		t.Fatalf("German consent: %q", p.title())
	}
}

// TestGermanErrorPages: a German customer gets the error page, and the
// problem it states, in German; the catalogue, not the handler, holds the text.
func TestGermanErrorPages(t *testing.T) {
	f := newFixture(t)
	c := f.browser()
	c.lang = "de"
	tests := []struct {
		name string
		edit func(q url.Values)
		want string
	}{
		{"A1/missing_client_id", func(q url.Values) { q.Del("client_id") }, "Der Anfrage fehlt client_id."},
		{"A1/unknown_client", func(q url.Values) { q.Set("client_id", "client_unknown") }, "Die App (client_id) ist nicht bekannt."},
		{"A1/unregistered_redirect_uri", func(q url.Values) { q.Set("redirect_uri", "https://evil.example/cb") }, "Die redirect_uri ist für diese App nicht registriert."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := f.authorizeQuery(testVerifier, nil)
			tt.edit(q)
			p := c.get("/oauth/authorize?" + q.Encode())
			if p.status != http.StatusBadRequest || p.title() != "Etwas ist schiefgelaufen" || !strings.Contains(p.body, html.EscapeString(tt.want)) {
				t.Fatalf("status %d, title %q: want the German error page saying %q:\n%s", p.status, p.title(), tt.want, p.body)
			}
		})
	}
	t.Run("A10/form_without_session", func(t *testing.T) {
		p := c.post(PathSignin, url.Values{"email": {"ada@example.com"}})
		if p.status != http.StatusBadRequest || !strings.Contains(p.body, "Cookie") || !strings.Contains(p.body, `lang="de"`) {
			t.Fatalf("status %d: %s", p.status, p.body)
		}
	})
}

func TestPickLanguage(t *testing.T) {
	msgs := catalogue()
	for header, want := range map[string]string{
		"":                          "en",
		"de":                        "de",
		"de-AT":                     "de",
		"fr-FR, de;q=0.8, en;q=0.9": "en",
		"fr, de;q=0.1":              "de",
		"en;q=0.2, de;q=0.8":        "de",
		"de;q=0":                    "en",
		"de;q=x, en":                "en",
		"*":                         "en",
	} {
		if got := pickLanguage(header, msgs); got != want {
			t.Errorf("pickLanguage(%q) = %q, want %q", header, got, want)
		}
	}
}

func TestCatalogueComplete(t *testing.T) {
	msgs := catalogue()
	for key := range msgs["en"] {
		if msgs["de"][key] == "" {
			t.Errorf("German lacks %q", key)
		}
	}
	for key := range msgs["de"] {
		if msgs["en"][key] == "" {
			t.Errorf("English lacks %q", key)
		}
	}
}

// TestSessionCookie is PRODUCT A7: HttpOnly, SameSite=Lax, Secure and
// __Host- under HTTPS.
func TestSessionCookie(t *testing.T) {
	f := newFixture(t)
	var https atomic.Bool
	f.pages.Secure = func(*http.Request) bool { return https.Load() }
	for _, secure := range []bool{false, true} {
		https.Store(secure)
		resp, err := http.Get(f.srv.URL + PathSignin)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		cookies := resp.Cookies()
		if len(cookies) != 1 {
			t.Fatalf("cookies %v", cookies)
		}
		c := cookies[0]
		wantName := "nomosauth"
		if secure {
			wantName = "__Host-nomosauth"
		}
		if c.Name != wantName || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure != secure || c.Path != "/" || c.Domain != "" {
			t.Errorf("secure=%v: cookie %+v", secure, c)
		}
		if len(c.Value) < 43 {
			t.Errorf("cookie id too short: %q", c.Value)
		}
	}
}
