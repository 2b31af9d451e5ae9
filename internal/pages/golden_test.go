package pages

import (
	"flag"
	"net/url"
	"regexp"
	"testing"

	"github.com/nomosauth/nomosauth/internal/testfix"
)

var update = flag.Bool("update", false, "rewrite golden files")

// csrfValue is the random part of every form: its CSRF token.
var csrfValue = regexp.MustCompile(`name="csrf" value="[^"]*"`)

// journeySeal is the time-bound part of a journey's forms: its seal.
var journeySeal = regexp.MustCompile(`name="journey" value="[^"]*"`)

// TestPagesGolden pins the four main hosted pages as rendered HTML, walking
// the journey as a browser does: sign-in, the code, consent, connected apps.
// CSRF tokens and random ids are normalised, so only a change of the markup
// or the text fails it.
func TestPagesGolden(t *testing.T) {
	f := newFixture(t)
	c := f.browser()
	golden := func(name string, p *page) {
		t.Helper()
		if p.status != 200 {
			t.Fatalf("%s: status %d:\n%s", name, p.status, p.body)
		}
		got := csrfValue.ReplaceAll([]byte(p.body), []byte(`name="csrf" value="<csrf>"`))
		got = testfix.StableIDs(journeySeal.ReplaceAll(got, []byte(`name="journey" value="<seal>"`)))
		testfix.Golden(t, "testdata/"+name+".html", got, *update)
	}
	p := c.get("/oauth/authorize?" + f.authorizeQuery(testVerifier, nil).Encode())
	golden("signin", p)
	p = c.submit(p, PathSignin, url.Values{"email": {"ada@example.com"}})
	golden("verify", p)
	p = c.submit(p, PathVerify, url.Values{"code": {f.mail.lastCode(t, "ada@example.com")}})
	golden("consent", p)
	c.submit(p, PathConsent, url.Values{"decision": {"allow"}}).location()
	golden("apps", c.get(PathApps))
}
