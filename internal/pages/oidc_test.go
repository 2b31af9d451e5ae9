package pages

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/nomosauth/nomosauth/internal/ids"
)

// oidcQuery is an OpenID Connect request of the confidential app.
func (f *fixture) oidcQuery(extra url.Values) url.Values {
	q := f.authorizeQuery(testVerifier, url.Values{"scope": {"openid email profile"}, "nonce": {"n-0S6_WzA2Mj"}})
	for k, v := range extra {
		q[k] = v
	}
	return q
}

// codeOf is the code of an app redirect, checked to carry state and iss.
func codeOf(t *testing.T, p *page) string {
	t.Helper()
	got := p.location().Query()
	if !strings.HasPrefix(got.Get("code"), ids.PrefixAuthCode) || got.Get("iss") != testIssuer {
		t.Fatalf("want a code redirect, got %d %s", p.status, p.location())
	}
	return got.Get("code")
}

// TestOpenIDJourney is PRODUCT T12 on the hosted pages: the consent page
// says the identity scopes in words, the code keeps the nonce and the
// session's sign-in time, and prompt and max_age decide about the pages.
func TestOpenIDJourney(t *testing.T) {
	f := newFixture(t)
	c := f.browser()
	signedInAt := f.clock.Now()
	p := c.signIn(f.oidcQuery(nil), "ada@example.com")
	if p.title() != "Allow access?" {
		t.Fatalf("want consent, got %d %q", p.status, p.title())
	}
	for _, want := range []string{"Know who you are", "See your email address", "See your name"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("T12/consent_words: consent page lacks %q", want)
		}
	}
	if strings.Contains(p.body, "Read your customer details") {
		t.Error("T12: openid email profile asked for no API access, the page offers it")
	}

	// prompt=none before consent: consent_required, no page.
	t.Run("T12/prompt_none_needs_consent", func(t *testing.T) {
		r := c.get("/oauth/authorize?" + f.oidcQuery(url.Values{"prompt": {"none"}}).Encode())
		got := r.location().Query()
		if r.status != http.StatusFound || got.Get("error") != "consent_required" || got.Get("state") != "st-123" || got.Get("iss") != testIssuer {
			t.Fatalf("%d %s", r.status, r.location())
		}
	})

	f.clock.Advance(time.Minute)
	code := codeOf(t, c.submit(p, PathConsent, url.Values{"decision": {"allow"}}))
	red, err := f.redeem(code, f.app, appRedirect, testVerifier)
	if err != nil {
		t.Fatal(err)
	}
	if stored := red.Code; stored.Nonce != "n-0S6_WzA2Mj" || !stored.AuthTime.Equal(signedInAt) || stored.Scopes.String() != "openid email profile" {
		t.Fatalf("T12/code_keeps_nonce_and_auth_time: %+v (signed in at %v)", red.Code, signedInAt)
	}

	t.Run("T12/prompt_none_with_session_and_grant", func(t *testing.T) {
		codeOf(t, c.get("/oauth/authorize?"+f.oidcQuery(url.Values{"prompt": {"none"}}).Encode()))
	})
	t.Run("T12/prompt_consent_asks_again", func(t *testing.T) {
		r := c.get("/oauth/authorize?" + f.oidcQuery(url.Values{"prompt": {"consent"}}).Encode())
		if r.status != http.StatusOK || r.title() != "Allow access?" {
			t.Fatalf("%d %q", r.status, r.title())
		}
	})
	t.Run("T12/max_age_fresh_enough", func(t *testing.T) {
		codeOf(t, c.get("/oauth/authorize?"+f.oidcQuery(url.Values{"max_age": {"3600"}}).Encode()))
	})
	t.Run("T12/max_age_prompt_none_login_required", func(t *testing.T) {
		r := c.get("/oauth/authorize?" + f.oidcQuery(url.Values{"max_age": {"30"}, "prompt": {"none"}}).Encode())
		if got := r.location().Query().Get("error"); got != "login_required" {
			t.Fatalf("%d %s", r.status, r.location())
		}
	})
	for _, tt := range []struct {
		name  string
		extra url.Values
	}{
		{"T12/prompt_login_forces_sign_in", url.Values{"prompt": {"login"}}},
		{"T12/max_age_forces_sign_in", url.Values{"max_age": {"30"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f.clock.Advance(time.Minute)
			again := f.clock.Now()
			p := c.signIn(f.oidcQuery(tt.extra), "ada@example.com") // fails unless the sign-in page comes first
			red, err := f.redeem(codeOf(t, p), f.app, appRedirect, testVerifier)
			if err != nil || !red.Code.AuthTime.Equal(again) {
				t.Fatalf("auth_time %v, want the new sign-in %v (%v)", red.Code.AuthTime, again, err)
			}
		})
	}

	// The consent form cannot skip the fresh sign-in prompt=login or
	// max_age asks for: posting it with a stricter request than the one
	// the page was shown for, or with a seal from before this session,
	// shows the sign-in page and issues no code.
	f.clock.Advance(10 * time.Minute)
	for _, tt := range []struct {
		name  string
		extra url.Values
	}{
		{"T12/consent_post_cannot_skip_max_age", url.Values{"max_age": {"60"}}},
		{"T12/consent_post_cannot_skip_prompt_login", url.Values{"prompt": {"login"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			shown := c.get("/oauth/authorize?" + f.oidcQuery(url.Values{"prompt": {"consent"}}).Encode())
			if shown.title() != "Allow access?" {
				t.Fatalf("want consent, got %d %q", shown.status, shown.title())
			}
			stricter := f.oidcQuery(tt.extra).Encode()
			r := c.submit(shown, PathConsent, url.Values{"decision": {"allow"}, "authz": {stricter}})
			if r.status != http.StatusOK || r.title() == "Allow access?" || !strings.Contains(r.body, `name="email"`) {
				t.Fatalf("changed authz: %d %q %s", r.status, r.title(), r.location())
			}
			// A seal of the stricter request itself, from its sign-in page,
			// is younger than the session: still no code.
			signin := c.get("/oauth/authorize?" + stricter)
			form := signin.form(PathSignin)
			r = c.submit(shown, PathConsent, url.Values{"decision": {"allow"}, "authz": {stricter}, "journey": {form.Get("journey")}})
			if r.status != http.StatusOK || !strings.Contains(r.body, `name="email"`) {
				t.Fatalf("old session, fresh seal: %d %q %s", r.status, r.title(), r.location())
			}
		})
	}

}
