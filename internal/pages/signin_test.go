package pages

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/oauth"
)

// TestEmailRule is PRODUCT A7's email rule through the sign-in page: an
// address that Unicode folding or an invisible character would make look
// like a customer's is refused before any code is sent, and mixed-case
// ASCII still finds its customer.
func TestEmailRule(t *testing.T) {
	f := newFixture(t)
	kate := domain.Customer{ID: "cus_kate", OrgID: f.org.ID, Email: "kate@example.com", FirstName: "Kate", Type: domain.CustomerPerson, CreatedAt: f.clock.Now()}
	if err := f.store.CreateCustomer(t.Context(), kate, domain.System(time.Now())); err != nil {
		t.Fatal(err)
	}
	for name, email := range map[string]string{
		"A7/kelvin_sign_does_not_sign_in_as_kate": "\u212aate@example.com",
		"A7/long_s":                    "\u017fam@example.com",
		"A7/fullwidth_letters":         "\uff4bate@example.com",
		"A7/fullwidth_domain":          "kate@\uff45xample.com",
		"A7/zero_width_space":          "ka\u200bte@example.com",
		"A7/zero_width_joiner":         "kate@exa\u200dmple.com",
		"A7/soft_hyphen":               "kate@ex\u00adample.com",
		"A7/trailing_dot":              "kate@example.com.",
		"A7/non_ascii_local_part":      "k\u00e4te@example.com",
		"A7/decomposed_idn_domain":     "kate@bu\u0308cher.example",
		"A7/upper_case_unicode_domain": "kate@B\u00dcCHER.example",
	} {
		t.Run(name, func(t *testing.T) {
			c := f.browser()
			p := c.get("/oauth/authorize?" + f.authorizeQuery(testVerifier, nil).Encode())
			sent := f.mail.count()
			got := c.submit(p, PathSignin, url.Values{"email": {email}})
			if got.status != http.StatusBadRequest || got.input("email") == nil || got.input("code") != nil {
				t.Fatalf("%q: status %d, want the sign-in page again with 400:\n%s", email, got.status, got.body)
			}
			if !strings.Contains(got.body, "Enter a valid email address") {
				t.Errorf("%q: the page does not say why", email)
			}
			if n := f.mail.count(); n != sent {
				t.Fatalf("%q: %d codes sent", email, n-sent)
			}
			if apps := c.get(PathApps); apps.title() == "Connected apps" {
				t.Fatalf("%q signed the browser in", email)
			}
		})
	}
	t.Run("A7/mixed_case_ascii_signs_in", func(t *testing.T) {
		c := f.browser()
		p := c.signIn(f.authorizeQuery(testVerifier, nil), "KATE@Example.com")
		if p.title() != "Allow access?" {
			t.Fatalf("mixed-case ASCII: %q", p.title())
		}
		if apps := c.get(PathApps); !strings.Contains(apps.body, "kate@example.com") && !strings.Contains(apps.body, "Kate") {
			t.Fatalf("signed in, but not as kate:\n%s", apps.body)
		}
	})
	t.Run("A7/idn_domain_stored_as_a_label", func(t *testing.T) {
		c := f.browser()
		p := c.get("/oauth/authorize?" + f.authorizeQuery(testVerifier, url.Values{"flow_type": {"signup"}}).Encode())
		p = c.submit(p, PathSignup, url.Values{"email": {"kate@b\u00fccher.example"}, "first_name": {"Kate"}, "last_name": {"B"}})
		if p.input("code") == nil {
			t.Fatalf("IDN sign-up: %d\n%s", p.status, p.body)
		}
		if p = c.submit(p, PathVerify, url.Values{"code": {f.mail.lastCode(t, "kate@xn--bcher-kva.example")}}); p.title() != "Allow access?" {
			t.Fatalf("IDN verify: %q", p.title())
		}
	})
}

// TestThrottledSignIn is PRODUCT A7: a throttled request gets 429 with
// Retry-After, and the page says when to try again.
func TestThrottledSignIn(t *testing.T) {
	t.Run("A7/throttled_sign_in_429_retry_after", func(t *testing.T) {
		f := newFixture(t)
		c := f.browser()
		p := c.get("/oauth/authorize?" + f.authorizeQuery(testVerifier, nil).Encode())
		for range 3 {
			c.submit(p, PathSignin, url.Values{"email": {"ada@example.com"}})
		}
		got := c.submit(p, PathSignin, url.Values{"email": {"ada@example.com"}})
		if got.status != http.StatusTooManyRequests || got.header.Get("Retry-After") != "30" {
			t.Fatalf("throttled: status %d, Retry-After %q; want 429 and 30", got.status, got.header.Get("Retry-After"))
		}
		if !strings.Contains(got.body, "Wait 30 seconds") || got.input("email") == nil {
			t.Fatalf("the page must say when to try again and keep the form:\n%s", got.body)
		}
		if ok := c.submit(p, PathSignin, url.Values{"email": {"nobody@example.com"}}); ok.status != http.StatusOK || ok.header.Get("Retry-After") != "" {
			t.Fatalf("an unthrottled request: %d, Retry-After %q", ok.status, ok.header.Get("Retry-After"))
		}
	})
	t.Run("A7/throttled_sign_up_429_retry_after", func(t *testing.T) {
		f := newFixture(t)
		c := f.browser()
		p := c.get("/oauth/authorize?" + f.authorizeQuery(testVerifier, url.Values{"flow_type": {"signup"}}).Encode())
		form := url.Values{"email": {"new@example.com"}, "first_name": {"New"}, "last_name": {"Person"}}
		for range 3 {
			c.submit(p, PathSignup, form)
		}
		got := c.submit(p, PathSignup, form)
		if got.status != http.StatusTooManyRequests || got.header.Get("Retry-After") == "" || !strings.Contains(got.body, "seconds") {
			t.Fatalf("throttled sign-up: %d, Retry-After %q", got.status, got.header.Get("Retry-After"))
		}
	})
	// "Send a new code" while throttled keeps the customer on the code
	// page, where the code already sent still works.
	t.Run("A7/throttled_resend_stays_on_the_code_page", func(t *testing.T) {
		f := newFixture(t)
		c := f.browser()
		p := c.get("/oauth/authorize?" + f.authorizeQuery(testVerifier, nil).Encode())
		code := c.submit(p, PathSignin, url.Values{"email": {"ada@example.com"}})
		first := f.mail.lastCode(t, "ada@example.com")
		var got *page
		for range 3 {
			got = c.submit(code, PathSignin, nil) // the code page's resend form
		}
		if got.status != http.StatusTooManyRequests || got.header.Get("Retry-After") == "" || !strings.Contains(got.body, "seconds") {
			t.Fatalf("throttled resend: status %d, Retry-After %q:\n%s", got.status, got.header.Get("Retry-After"), got.body)
		}
		if got.input("code") == nil {
			t.Fatalf("a throttled resend left the code page:\n%s", got.body)
		}
		if last := f.mail.lastCode(t, "ada@example.com"); last == first {
			t.Fatal("the resends before the throttle sent no new code")
		}
		if done := c.submit(got, PathVerify, url.Values{"code": {f.mail.lastCode(t, "ada@example.com")}}); done.status != http.StatusOK || !strings.Contains(done.body, "Allow") {
			t.Fatalf("the code in the inbox, typed on that page: status %d:\n%s", done.status, done.body)
		}
	})
}

// TestStaleFormAfterSignInElsewhere: a form loaded before the browser
// signed in in another tab (sign-in gives the browser a new id, so the
// form's token is stale) leads back to where it was, signed in, instead
// of saying the session ended; with no session it is still refused.
func TestStaleFormAfterSignInElsewhere(t *testing.T) {
	f := newFixture(t)
	c := f.browser()
	q := f.authorizeQuery(testVerifier, nil)
	tabA := c.get("/oauth/authorize?" + q.Encode())
	if consent := c.signIn(q, "ada@example.com"); !strings.Contains(consent.body, "Allow") { // tab B
		t.Fatalf("tab B: %d\n%s", consent.status, consent.body)
	}
	got := c.submit(tabA, PathSignin, url.Values{"email": {"ada@example.com"}})
	loc := got.location()
	if got.status != http.StatusSeeOther || loc.Path != "/oauth/authorize" || loc.Query().Get("client_id") != f.app.ID || loc.Query().Get("state") != "st-123" {
		t.Fatalf("stale sign-in form: status %d, Location %v; want 303 to the authorization request", got.status, loc)
	}
	if again := c.get(loc.String()); again.status != http.StatusOK || !strings.Contains(again.body, "Allow") {
		t.Fatalf("following it: status %d, want consent:\n%s", again.status, again.body)
	}
	// Sign-out is no journey: a stale one is refused, saying so truly, and
	// the browser stays signed in rather than believing it left.
	apps := c.get(PathApps)
	c.signIn(f.authorizeQuery(testVerifier, url.Values{"prompt": {"login"}}), "ada@example.com") // another tab signs in again: a new id
	out := c.submit(apps, PathSignout, nil)
	if out.status != http.StatusForbidden || !strings.Contains(out.body, "out of date") {
		t.Fatalf("stale sign-out: status %d, want 403 saying the page was out of date:\n%s", out.status, out.body)
	}
	if c.signedInAs() != "ada@example.com" {
		t.Fatal("a refused sign-out changed the session")
	}
	fresh := f.browser()
	stale := tabA.form(PathSignin)
	if got := fresh.post(PathSignin, stale); got.status != http.StatusBadRequest && got.status != http.StatusForbidden {
		t.Fatalf("a stale form from a browser without a session: %d", got.status)
	}
}

// TestFormAddressesOpenedDirectly: the address a form leaves in the
// address bar leads to a page that works when opened again, not a 405.
func TestFormAddressesOpenedDirectly(t *testing.T) {
	f := newFixture(t)
	c := f.browser()
	for path, want := range map[string]string{PathVerify: PathSignin, PathSignup: PathSignin, PathSignout: PathSignin,
		PathConsent: PathApps, PathRevoke: PathApps} {
		got := c.get(path)
		if got.status != http.StatusSeeOther || got.location().Path != want {
			t.Errorf("GET %s: status %d, Location %v; want 303 to %s", path, got.status, got.header.Get("Location"), want)
		}
	}
}

// TestCodePageReloadSendsNothing: the code page is reached by a GET after
// the code went out (post, redirect, get), so reloading it, or coming back
// to it, shows it again and sends no new code: the one in the inbox still
// works. Without a pending code it leads back to signing in.
func TestCodePageReloadSendsNothing(t *testing.T) {
	f := newFixture(t)
	c := f.browser()
	q := f.authorizeQuery(testVerifier, nil)
	codePage := c.sendCode(c.get("/oauth/authorize?"+q.Encode()), "ada@example.com")
	sent := f.mail.count()
	code := f.mail.lastCode(t, "ada@example.com")
	var posted *page
	for range 2 { // reloads
		again := c.get(codePage)
		if again.status != http.StatusOK || again.input("code") == nil || !strings.Contains(again.body, "ada@example.com") {
			t.Fatalf("reloading the code page: %d\n%s", again.status, again.body)
		}
		posted = again
	}
	if f.mail.count() != sent {
		t.Fatal("reloading the code page sent a code")
	}
	done := c.submit(posted, PathVerify, url.Values{"code": {code}})
	if done.status != http.StatusOK || !strings.Contains(done.body, "Allow") {
		t.Fatalf("the code in the inbox after reloads: %d\n%s", done.status, done.body)
	}
	// Used: the page leads back to the authorization request.
	back := c.get(codePage)
	if back.status != http.StatusSeeOther || back.location().Path != "/oauth/authorize" {
		t.Fatalf("the code page without a pending code: %d, Location %v", back.status, back.location())
	}
}

// TestWrongCodePageReloadSpendsNoTry: a wrong code is answered by a 303
// to the code page (post, redirect, get), which says how many tries are
// left from the stored count; reloading it re-sends no code, so it spends
// no try, and the right code still works afterwards.
func TestWrongCodePageReloadSpendsNoTry(t *testing.T) {
	f := newFixture(t)
	c := f.browser()
	q := f.authorizeQuery(testVerifier, nil)
	codePage := c.sendCode(c.get("/oauth/authorize?"+q.Encode()), "ada@example.com")
	code := f.mail.lastCode(t, "ada@example.com")
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	form := c.get(codePage).form(PathVerify)
	form.Set("code", wrong)
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+PathVerify, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	answer := c.do(req)
	if answer.status != http.StatusSeeOther || answer.location().Path != PathVerify {
		t.Fatalf("a wrong code: %d, Location %v; want 303 to the code page", answer.status, answer.location())
	}
	var shown *page
	for range oauth.OneTimeMaxTries + 1 { // reloads
		shown = c.get(answer.location().RequestURI())
		if shown.status != http.StatusOK || !strings.Contains(shown.body, fmt.Sprintf("Tries left: %d.", oauth.OneTimeMaxTries-1)) {
			t.Fatalf("reloading the wrong-code page: %d\n%s", shown.status, shown.body)
		}
	}
	done := c.submit(shown, PathVerify, url.Values{"code": {code}})
	if done.status != http.StatusOK || !strings.Contains(done.body, "Allow") {
		t.Fatalf("the right code after reloads: %d\n%s", done.status, done.body)
	}
}

// TestWrongCodesLimitedPerAddress is PRODUCT A7 against spraying: each
// code has five tries, and the wrong ones an address makes over all its
// codes are limited too (20, then one a minute), so asking codes for many
// emails brings no fresh tries. Once the budget is spent even the right
// code waits (it is not checked, so the answer says nothing of it); a
// right code never spends the budget.
func TestWrongCodesLimitedPerAddress(t *testing.T) {
	f := newFixture(t)
	c := f.browser()
	start := c.get("/oauth/authorize?" + f.authorizeQuery(testVerifier, nil).Encode())
	for i := range 4 {
		codePage := c.get(c.sendCode(start, fmt.Sprintf("spray%d@example.com", i)))
		for range oauth.OneTimeMaxTries {
			c.submit(codePage, PathVerify, url.Values{"code": {"000000"}})
		}
		f.clock.Advance(6 * time.Second) // the sending limit's pace
	}
	codePage := c.get(c.sendCode(start, "ada@example.com"))
	right := f.mail.lastCode(t, "ada@example.com")
	got := c.submit(codePage, PathVerify, url.Values{"code": {right}})
	if got.status != http.StatusTooManyRequests || got.header.Get("Retry-After") == "" || got.input("code") == nil {
		t.Fatalf("A7/wrong_codes_per_address: after 20 wrong codes: %d, Retry-After %q; want 429 on the code page", got.status, got.header.Get("Retry-After"))
	}
	f.clock.Advance(time.Minute)
	if done := c.submit(codePage, PathVerify, url.Values{"code": {right}}); done.status != http.StatusOK || !strings.Contains(done.body, "Allow") {
		t.Fatalf("the right code once the budget refilled: %d\n%s", done.status, done.body)
	}
}

// TestWrongCodesLimitedUnderConcurrency: the address's budget is spent
// before a code is checked, so guesses sent all at once cannot pass it
// together: of 50 concurrent wrong codes over 10 browsers' codes, at most
// the budget's 20 are checked, the rest are 429.
func TestWrongCodesLimitedUnderConcurrency(t *testing.T) {
	f := newFixture(t)
	type guess struct {
		c    *client
		form url.Values
	}
	var guesses []guess
	for i := range 10 {
		c := f.browser()
		start := c.get("/oauth/authorize?" + f.authorizeQuery(testVerifier, nil).Encode())
		form := c.get(c.sendCode(start, fmt.Sprintf("crowd%d@example.com", i))).form(PathVerify)
		form.Set("code", "000000")
		for range oauth.OneTimeMaxTries {
			guesses = append(guesses, guess{c, form})
		}
	}
	statuses := make(chan int, len(guesses))
	var wg sync.WaitGroup
	for _, g := range guesses {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodPost, f.srv.URL+PathVerify, strings.NewReader(g.form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			statuses <- g.c.do(req).status
		})
	}
	wg.Wait()
	close(statuses)
	checked, refused := 0, 0
	for s := range statuses {
		if s == http.StatusTooManyRequests {
			refused++
		} else {
			checked++
		}
	}
	if checked > 20 || checked+refused != len(guesses) {
		t.Fatalf("A7/wrong_codes_concurrent: %d guesses checked, %d refused; want at most 20 checked", checked, refused)
	}
}

// TestCodePageOfASpentCode: once the code's tries are spent, the code page
// (reloaded, or reached by Back) leads back to signing in, as for a used
// or expired code, instead of offering a code that can no longer work.
func TestCodePageOfASpentCode(t *testing.T) {
	f := newFixture(t)
	c := f.browser()
	q := f.authorizeQuery(testVerifier, nil)
	codePage := c.sendCode(c.get("/oauth/authorize?"+q.Encode()), "ada@example.com")
	page := c.get(codePage)
	for range 5 {
		page = c.submit(page, PathVerify, url.Values{"code": {"000000"}})
		if page.input("code") == nil {
			break // locked out: back at sign-in
		}
	}
	back := c.get(codePage)
	if back.status != http.StatusSeeOther || back.location().Path != "/oauth/authorize" {
		t.Fatalf("the code page of a spent code: %d, Location %v; want 303 to the authorization request", back.status, back.location())
	}
}
