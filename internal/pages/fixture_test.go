package pages

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/nomosauth/nomosauth/internal/admin"
	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/fakeclock"
	"github.com/nomosauth/nomosauth/internal/httpx"
	"github.com/nomosauth/nomosauth/internal/mail"
	"github.com/nomosauth/nomosauth/internal/revoke"
	"github.com/nomosauth/nomosauth/internal/store/sqlite"
	"github.com/nomosauth/nomosauth/internal/testfix"
)

const (
	testUserCodeKey = "user-code-key-for-tests-0123456"
	testIssuer      = "https://auth.example"
	appRedirect     = "https://app.example/cb"
)

// outbox is a recording mail sender.
type outbox struct {
	mu   sync.Mutex
	msgs []mail.Message
	fail error
}

func (o *outbox) Send(_ context.Context, m mail.Message) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.fail != nil {
		return o.fail
	}
	o.msgs = append(o.msgs, m)
	return nil
}

func (o *outbox) count() int { o.mu.Lock(); defer o.mu.Unlock(); return len(o.msgs) }

var sixDigits = regexp.MustCompile(`\b(\d{6})\b`)

// lastCode returns the code of the last message, sent to email.
func (o *outbox) lastCode(t *testing.T, email string) string {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.msgs) == 0 {
		t.Fatal("no email was sent")
	}
	m := o.msgs[len(o.msgs)-1]
	if !strings.EqualFold(m.To, email) {
		t.Fatalf("last email went to %q, want %q", m.To, email)
	}
	code := sixDigits.FindString(m.Text)
	if code == "" || !strings.Contains(m.HTML, code) || !strings.Contains(m.Subject, code) {
		t.Fatalf("email lacks the code in text, HTML or subject: %+v", m)
	}
	return code
}

// fixture is the pages surface on a loopback httptest server over a
// SQLite file:
//
//	org "Sunny Energy": confidential client "HomeHub" (redirect
//	  https://app.example/cb, read+write), public client "Charger"
//	  (com.example.charger:/cb, loopback http), confidential first-party
//	  client "Sunny App" (https://app.example/cb), customer ada@example.com;
//	org "Other Power": customer bob@example.com.
type fixture struct {
	t       *testing.T
	clock   *fakeclock.Clock
	store   *sqlite.Store
	pages   *Pages
	mail    *outbox
	revoked *revoke.Set
	srv     *httptest.Server

	org, otherOrg domain.Org
	app, public   domain.Client
	firstParty    domain.Client
	ada, bob      domain.Customer
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	env := testfix.New(t, time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC))
	f := &fixture{t: t, clock: env.Clock, store: env.Store, mail: &outbox{}, revoked: revoke.NewSet()}
	f.org, f.otherOrg = env.Org("Sunny Energy"), env.Org("Other Power")
	f.app, _ = env.Client(admin.ClientSpec{OrgID: f.org.ID, Name: "HomeHub", RedirectURIs: []string{appRedirect}})
	f.public, _ = env.Client(admin.ClientSpec{OrgID: f.org.ID, Name: "Charger", Public: true,
		RedirectURIs: []string{"com.example.charger:/cb", "http://127.0.0.1/cb"}})
	f.firstParty, _ = env.Client(admin.ClientSpec{OrgID: f.org.ID, Name: "Sunny App", RedirectURIs: []string{appRedirect}, FirstParty: true})
	f.ada = env.Customer(admin.CustomerSpec{OrgID: f.org.ID, Email: "ada@example.com", FirstName: "Ada", LastName: "Lovelace"})
	f.bob = env.Customer(admin.CustomerSpec{OrgID: f.otherOrg.ID, Email: "bob@example.com", FirstName: "Bob", LastName: "Baker"})

	var err error
	f.pages, err = New(Config{Directory: env.Store, Journey: env.Store, IDs: env.IDs, Mail: f.mail, Issuer: testIssuer,
		Secure: func(*http.Request) bool { return false },
		Addr:   func(r *http.Request) string { return "198.51.100.7" },
		Now:    env.Clock.Now, Log: env.Log, Revoked: f.revoked,
		CSRFKey: []byte("csrf-key-for-tests-0123456789abc"), CodeKey: []byte("code-key-for-tests-0123456789abc"),
		SessionIdle: DefaultSessionIdle, SessionMax: DefaultSessionMax,
		EmailLimits: httpx.NewRateLimiter(1.0/30, 3, env.Clock.Now), AddrLimits: httpx.NewRateLimiter(1.0/6, 10, env.Clock.Now),
		GuessAddrLimits: httpx.NewRateLimiter(1.0/60, 20, env.Clock.Now),
		Devices:         env.Store, UserCodeKey: []byte(testUserCodeKey),
		DeviceBrowserLimits: httpx.NewRateLimiter(1.0/60, 5, env.Clock.Now), DeviceAddrLimits: httpx.NewRateLimiter(1.0/10, 20, env.Clock.Now)})
	testfix.Check(t, err)
	mux := http.NewServeMux()
	f.pages.Mount(mux)
	f.srv = testfix.Serve(t, httpx.Chain(mux, httpx.WithRequestID))
	return f
}

// authorizeQuery is a valid request for the confidential app, with S256.
func (f *fixture) authorizeQuery(verifier string, extra url.Values) url.Values {
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{
		"client_id": {f.app.ID}, "redirect_uri": {appRedirect}, "response_type": {"code"}, "state": {"st-123"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
	}
	for k, v := range extra {
		q[k] = v
	}
	return q
}

const testVerifier = "verifier-0123456789-0123456789-0123456789-abcdef"

// client is one browser: a cookie jar, no redirects followed.
type client struct {
	t    *testing.T
	f    *fixture
	http *http.Client
	lang string
	// header is added to every request.
	header http.Header
}

func (f *fixture) browser() *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: f.t, f: f, lang: "en", header: http.Header{}, http: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// page is a response, parsed.
type page struct {
	t      *testing.T
	status int
	header http.Header
	body   string
	doc    *html.Node
}

func (c *client) do(req *http.Request) *page {
	c.t.Helper()
	req.Header.Set("Accept-Language", c.lang)
	for k, v := range c.header {
		req.Header[k] = v
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	doc, _ := html.Parse(strings.NewReader(string(body)))
	return &page{t: c.t, status: resp.StatusCode, header: resp.Header, body: string(body), doc: doc}
}

func (c *client) get(path string) *page {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.f.srv.URL+path, nil)
	return c.do(req)
}

// post sends form to path. Sign-in and sign-up answer a sent code with a
// 303 to the code page, which post follows as a browser does; every other
// redirect is returned for the test to look at.
func (c *client) post(path string, form url.Values) *page {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.f.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	p := c.do(req)
	if p.status == http.StatusSeeOther && (path == PathSignin || path == PathSignup || path == PathVerify) {
		if loc := p.location(); loc.Path == PathVerify {
			return c.get(loc.RequestURI())
		}
	}
	return p
}

// sendCode posts p's sign-in form for email without following the answer,
// which must be the 303 to the code page, and returns that page's address.
func (c *client) sendCode(p *page, email string) string {
	c.t.Helper()
	form := p.form(PathSignin)
	form.Set("email", email)
	req, _ := http.NewRequest(http.MethodPost, c.f.srv.URL+PathSignin, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	sent := c.do(req)
	if sent.status != http.StatusSeeOther || sent.location().Path != PathVerify {
		c.t.Fatalf("a sent code: status %d, Location %v; want 303 to %s", sent.status, sent.location(), PathVerify)
	}
	return sent.location().RequestURI()
}

// submit posts the page's form whose action is action, with its hidden
// fields and the given values, as a browser would.
func (c *client) submit(p *page, action string, values url.Values) *page {
	c.t.Helper()
	form := p.form(action)
	for k, v := range values {
		form[k] = v
	}
	return c.post(action, form)
}

// form returns the named inputs of the first form with the given action.
func (p *page) form(action string) url.Values {
	p.t.Helper()
	var found *html.Node
	walk(p.doc, func(n *html.Node) bool {
		if n.Type == html.ElementNode && n.Data == "form" && attr(n, "action") == action && found == nil {
			found = n
		}
		return found == nil
	})
	if found == nil {
		p.t.Fatalf("no form with action %q on page (status %d):\n%s", action, p.status, p.body)
	}
	vals := url.Values{}
	walk(found, func(n *html.Node) bool {
		if n.Type == html.ElementNode && n.Data == "input" && attr(n, "name") != "" {
			vals.Set(attr(n, "name"), attr(n, "value"))
		}
		return true
	})
	return vals
}

// input returns the attributes of the first input named name, or nil.
func (p *page) input(name string) map[string]string {
	var out map[string]string
	walk(p.doc, func(n *html.Node) bool {
		if n.Type == html.ElementNode && n.Data == "input" && attr(n, "name") == name && out == nil {
			out = map[string]string{}
			for _, a := range n.Attr {
				out[a.Key] = a.Val
			}
		}
		return out == nil
	})
	return out
}

// title is the text of the page's h1.
func (p *page) title() string {
	var out string
	walk(p.doc, func(n *html.Node) bool {
		if n.Type == html.ElementNode && n.Data == "h1" && out == "" {
			out = text(n)
		}
		return out == ""
	})
	return out
}

func walk(n *html.Node, visit func(*html.Node) bool) bool {
	if n == nil {
		return true
	}
	if !visit(n) {
		return false
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if !walk(c, visit) {
			return false
		}
	}
	return true
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func text(n *html.Node) string {
	var b strings.Builder
	walk(n, func(c *html.Node) bool {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
		}
		return true
	})
	return strings.TrimSpace(b.String())
}

// location parses the redirect of a 302/303.
func (p *page) location() *url.URL {
	p.t.Helper()
	if p.status != http.StatusFound && p.status != http.StatusSeeOther {
		p.t.Fatalf("status %d, want a redirect; body:\n%s", p.status, p.body)
	}
	u, err := url.Parse(p.header.Get("Location"))
	if err != nil {
		p.t.Fatal(err)
	}
	return u
}

// signIn walks sign-in for email from an authorize query and returns the
// page after the code: consent, or the redirect to the app.
func (c *client) signIn(q url.Values, email string) *page {
	c.t.Helper()
	p := c.get("/oauth/authorize?" + q.Encode())
	if p.status != http.StatusOK || p.input("email") == nil {
		c.t.Fatalf("authorize: status %d, want the sign-in page:\n%s", p.status, p.body)
	}
	p = c.submit(p, PathSignin, url.Values{"email": {email}})
	if p.input("code") == nil {
		c.t.Fatalf("sign-in: want the code page, got %d:\n%s", p.status, p.body)
	}
	return c.submit(p, PathVerify, url.Values{"code": {c.f.mail.lastCode(c.t, email)}})
}
