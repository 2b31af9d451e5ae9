// Package formclient walks the hosted pages over HTTP like a browser
// without JavaScript, for end-to-end tests: it keeps cookies, posts the
// forms it is shown with their hidden fields, and stops at redirects that
// leave the server (the app's callback).
package formclient

import (
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/nomosauth/nomosauth/internal/mail/smtptest"
)

// Client is one browser on the hosted pages.
type Client struct {
	t    testing.TB
	base string
	hc   *http.Client
	// Page is the last HTML body.
	Page string
}

// New returns a client of the server at base.
func New(t testing.TB, base string) *Client {
	jar, _ := cookiejar.New(nil)
	b := &Client{t: t, base: base}
	b.hc = &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if !strings.HasPrefix(req.URL.String(), b.base) {
			return http.ErrUseLastResponse // the app's callback: hand it to the test
		}
		return nil
	}}
	return b
}

// Open sends req and returns the status and, for a redirect out, its target.
func (b *Client) Open(req *http.Request) (int, *url.URL) {
	b.t.Helper()
	resp, err := b.hc.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	b.Page = string(raw)
	if loc := resp.Header.Get("Location"); loc != "" {
		u, _ := url.Parse(loc)
		return resp.StatusCode, u
	}
	return resp.StatusCode, nil
}

// Get loads u.
func (b *Client) Get(u string) (int, *url.URL) {
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	return b.Open(req)
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="(csrf|authz|email|grant)" value="([^"]*)">`)

// Submit posts the form with action on the current page, with its hidden
// fields and values.
func (b *Client) Submit(action string, values url.Values) (int, *url.URL) {
	b.t.Helper()
	start := strings.Index(b.Page, `action="`+action+`"`)
	if start < 0 {
		b.t.Fatalf("no form %s on page:\n%s", action, b.Page)
	}
	end := strings.Index(b.Page[start:], "</form>")
	form := url.Values{}
	for _, m := range hiddenInput.FindAllStringSubmatch(b.Page[start:start+end], -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	for k, v := range values {
		form[k] = v
	}
	req, _ := http.NewRequest(http.MethodPost, b.base+action, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.Open(req)
}

var emailedCode = regexp.MustCompile(`\b\d{6}\b`)

// EmailedCode finds the six-digit code in an email's text.
func EmailedCode(text string) string { return emailedCode.FindString(text) }

// Rebase sends the client's next requests to another replica at base,
// with the same cookies, as a load balancer without sticky sessions may.
func (b *Client) Rebase(base string) {
	old, _ := url.Parse(b.base)
	next, _ := url.Parse(base)
	next.Path = "/"
	b.hc.Jar.SetCookies(next, b.hc.Jar.Cookies(old))
	b.base = base
}

// SignInAndAllow walks sign-in, code and consent from an authorize URL and
// returns the callback URL the server redirected to.
func (b *Client) SignInAndAllow(authURL, email string, mailbox *smtptest.Server) *url.URL {
	b.t.Helper()
	if status, _ := b.Get(authURL); status != http.StatusOK || !strings.Contains(b.Page, `name="email"`) {
		b.t.Fatalf("authorize: %d\n%s", status, b.Page)
	}
	b.Submit("/signin", url.Values{"email": {email}})
	msg := mailbox.Next(b.t)
	if msg.To != email {
		b.t.Fatalf("code mailed to %q", msg.To)
	}
	b.Submit("/signin/verify", url.Values{"code": {EmailedCode(msg.Text)}})
	if !strings.Contains(b.Page, `value="allow"`) {
		b.t.Fatalf("want the consent page:\n%s", b.Page)
	}
	status, loc := b.Submit("/oauth/consent", url.Values{"decision": {"allow"}})
	if status != http.StatusSeeOther || loc == nil {
		b.t.Fatalf("allow: %d %v", status, loc)
	}
	return loc
}

// Callback opens authURL and returns the redirect to the app.
func (b *Client) Callback(authURL string) *url.URL {
	b.t.Helper()
	status, loc := b.Get(authURL)
	if status != http.StatusFound || loc == nil || loc.Query().Get("code") == "" {
		b.t.Fatalf("want a redirect with a code: %d %v\n%s", status, loc, b.Page)
	}
	return loc
}
