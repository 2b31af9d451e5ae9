package pages

import (
	"crypto/rand"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/ids"
	"github.com/nomosauth/nomosauth/internal/store"
)

// magicLink stores a link for cus, as POST /admin/magic_link does, and
// returns its path.
func (f *fixture) magicLink(cus domain.Customer, next string) string {
	f.t.Helper()
	raw, err := ids.Generator{Rand: rand.Reader}.MagicLink()
	if err != nil {
		f.t.Fatal(err)
	}
	now := f.clock.Now()
	l := domain.MagicLink{Hash: ids.Hash(raw), CustomerID: cus.ID, OrgID: cus.OrgID, ClientID: f.app.ID, Next: next,
		CreatedAt: now, ExpiresAt: now.Add(domain.MagicLinkTTL)}
	if err := f.store.CreateMagicLink(f.t.Context(), l, domain.System(now)); err != nil {
		f.t.Fatal(err)
	}
	return PathMagic + raw
}

// cookie is the browser id c holds now.
func (c *client) cookie() string {
	u, _ := url.Parse(c.f.srv.URL)
	for _, k := range c.http.Jar.Cookies(u) {
		if k.Name == cookieName {
			return k.Value
		}
	}
	return ""
}

// signedInAs opens connected apps and returns who it says is signed in,
// or "" when it shows the sign-in page.
func (c *client) signedInAs() string {
	c.t.Helper()
	p := c.get(PathApps)
	if p.input("email") != nil {
		return ""
	}
	if p.status != http.StatusOK {
		c.t.Fatalf("apps: status %d:\n%s", p.status, p.body)
	}
	i := strings.Index(p.body, "Signed in as ")
	if i < 0 {
		c.t.Fatalf("apps page names nobody:\n%s", p.body)
	}
	rest := p.body[i+len("Signed in as "):]
	return rest[:strings.IndexByte(rest, '<')]
}

// useMagic opens link and presses its continue button.
func (c *client) useMagic(link string) *page {
	c.t.Helper()
	p := c.get(link)
	if p.status != http.StatusOK {
		c.t.Fatalf("GET %s: status %d:\n%s", link, p.status, p.body)
	}
	return c.submit(p, link, nil)
}

func (f *fixture) magicUses(t *testing.T) []domain.AuditEvent {
	t.Helper()
	rows, err := f.store.ListAudit(t.Context(), store.AuditFilter{Action: domain.AuditMagicLinkUsed}, store.AuditPage{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestA12MagicLinkRedeemsOnce: the GET shows "Continue as" and spends
// nothing (a mail scanner's prefetch); the POST signs the customer in
// under a new browser id and lands on connected apps; a second use, in
// this browser or another, shows the used page and signs nobody in.
func TestA12MagicLinkRedeemsOnce(t *testing.T) {
	f := newFixture(t)
	link := f.magicLink(f.ada, "")
	scanner := f.browser()
	for range 2 {
		if p := scanner.get(link); p.status != http.StatusOK || !strings.Contains(p.body, "Continue as ada@example.com") {
			t.Fatalf("GET: status %d:\n%s", p.status, p.body)
		}
	}
	if scanner.signedInAs() != "" {
		t.Fatal("A12: a GET signed the browser in")
	}
	c := f.browser()
	p := c.get(link)
	before := c.cookie()
	p = c.submit(p, link, nil)
	if loc := p.location(); loc.Path != PathApps || loc.Host != "" {
		t.Fatalf("A12: landed on %v, want %s", loc, PathApps)
	}
	if after := c.cookie(); after == before || after == "" {
		t.Fatal("A12: the session kept the browser id from before (session fixation)")
	}
	if got := c.signedInAs(); got != "ada@example.com" {
		t.Fatalf("A12: signed in as %q", got)
	}
	uses := f.magicUses(t)
	if len(uses) != 1 || uses[0].Actor != (domain.Actor{Kind: domain.ActorCustomer, ID: f.ada.ID}) || uses[0].ClientID != f.app.ID {
		t.Fatalf("O8: magic_link.used rows %+v", uses)
	}

	// Used: another browser opening it, and the same browser posting again.
	stale := f.browser()
	form := stale.get(link)
	if form.status != http.StatusGone || !strings.Contains(form.body, "already been used") || form.input("csrf") != nil {
		t.Fatalf("A12: used link GET: status %d:\n%s", form.status, form.body)
	}
	again := c.post(link, url.Values{"csrf": {f.pages.csrfToken(c.cookie())}})
	if again.status != http.StatusGone || !strings.Contains(again.body, "already been used") {
		t.Fatalf("A12: second use: status %d:\n%s", again.status, again.body)
	}
	if stale.signedInAs() != "" || len(f.magicUses(t)) != 1 {
		t.Fatal("A12: a used link signed someone in")
	}
}

// TestA12MagicLinkRaceLosesCleanly: a page loaded before another tab
// redeemed the link cannot redeem it again.
func TestA12MagicLinkRaceLosesCleanly(t *testing.T) {
	f := newFixture(t)
	link := f.magicLink(f.ada, "")
	a, b := f.browser(), f.browser()
	pa, pb := a.get(link), b.get(link)
	if a.submit(pa, link, nil).location().Path != PathApps {
		t.Fatal("first use did not sign in")
	}
	if p := b.submit(pb, link, nil); p.status != http.StatusGone {
		t.Fatalf("A12: second tab: status %d:\n%s", p.status, p.body)
	}
	if b.signedInAs() != "" {
		t.Fatal("A12: the second tab is signed in")
	}
}

// TestA12MagicLinkExpiredUnknown: past 15 minutes, or a token that names
// no link, the page says so (en/de) and nobody is signed in.
func TestA12MagicLinkExpiredUnknown(t *testing.T) {
	f := newFixture(t)
	link := f.magicLink(f.ada, "")
	c := f.browser()
	page := c.get(link)
	f.clock.Advance(domain.MagicLinkTTL)
	if p := c.submit(page, link, nil); p.status != http.StatusGone || !strings.Contains(p.body, "has expired") {
		t.Fatalf("A12: expired POST: status %d:\n%s", p.status, p.body)
	}
	if p := c.get(link); p.status != http.StatusGone || !strings.Contains(p.body, "has expired") {
		t.Fatalf("A12: expired GET: status %d:\n%s", p.status, p.body)
	}
	de := f.browser()
	de.lang = "de"
	if p := de.get(link); p.status != http.StatusGone || !strings.Contains(p.body, "ist abgelaufen") || !strings.Contains(p.body, `lang="de"`) {
		t.Fatalf("A12: expired GET in German: status %d:\n%s", p.status, p.body)
	}
	for _, path := range []string{PathMagic + ids.PrefixMagicLink + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", PathMagic + "nonsense", PathMagic + strings.Repeat("x", 300)} {
		if p := c.get(path); p.status != http.StatusNotFound || !strings.Contains(p.body, "not valid") {
			t.Fatalf("A12: unknown %s: status %d:\n%s", path, p.status, p.body)
		}
		if p := c.post(path, url.Values{"csrf": {f.pages.csrfToken(c.cookie())}}); p.status != http.StatusNotFound {
			t.Fatalf("A12: unknown POST %s: status %d:\n%s", path, p.status, p.body)
		}
		if p := de.get(path); !strings.Contains(p.body, "ungültig") {
			t.Fatalf("A12: unknown in German:\n%s", p.body)
		}
	}
	if c.signedInAs() != "" || len(f.magicUses(t)) != 0 {
		t.Fatal("A12: an expired or unknown link signed someone in")
	}
}

// TestA12MagicLinkReplacesSession: opening a link while another customer
// is signed in says so before anything happens; continuing ends that
// session and the landing page names who is signed in now. A link that
// fails leaves the signed-in customer as they were.
func TestA12MagicLinkReplacesSession(t *testing.T) {
	f := newFixture(t)
	c := f.browser()
	c.useMagic(f.magicLink(f.bob, "")).location()
	bobSession := ids.Hash(c.cookie())
	if c.signedInAs() != "bob@example.com" {
		t.Fatal("bob is not signed in")
	}

	spent := f.magicLink(f.ada, "")
	f.browser().useMagic(spent)
	if p := c.post(spent, url.Values{"csrf": {f.pages.csrfToken(c.cookie())}}); p.status != http.StatusGone {
		t.Fatalf("spent link: status %d", p.status)
	}
	if c.signedInAs() != "bob@example.com" {
		t.Fatal("A12: a failed link ended the session it found")
	}

	link := f.magicLink(f.ada, "")
	p := c.get(link)
	if !strings.Contains(p.body, "You are signed in as bob@example.com in this browser") || !strings.Contains(p.body, "Continue as ada@example.com") {
		t.Fatalf("A12: the page does not say whose session is replaced:\n%s", p.body)
	}
	c.submit(p, link, nil).location()
	if got := c.signedInAs(); got != "ada@example.com" {
		t.Fatalf("A12: signed in as %q after the link, want ada", got)
	}
	if _, err := f.store.GetSession(t.Context(), bobSession); err == nil {
		t.Fatal("A12: bob's session lives on")
	}
}

// TestA12MagicLinkNextAndCSRF: the link lands on its next path; a POST
// without the page's form token spends nothing (PRODUCT A10).
func TestA12MagicLinkNextAndCSRF(t *testing.T) {
	f := newFixture(t)
	link := f.magicLink(f.ada, "/account/apps?from=portal")
	c := f.browser()
	p := c.get(link)
	if bad := c.post(link, url.Values{"csrf": {"forged"}}); bad.status != http.StatusForbidden {
		t.Fatalf("A10: forged token: status %d", bad.status)
	}
	if other := f.browser().post(link, url.Values{}); other.status == http.StatusSeeOther {
		t.Fatal("A10: a POST without cookie redeemed the link")
	}
	if loc := c.submit(p, link, nil).location(); loc.String() != "/account/apps?from=portal" {
		t.Fatalf("A12: landed on %v", loc)
	}
	// A row whose next is not a local path (not written by the API) lands on apps.
	raw, _ := ids.Generator{Rand: rand.Reader}.MagicLink()
	now := f.clock.Now()
	must := f.store.CreateMagicLink(t.Context(), domain.MagicLink{Hash: ids.Hash(raw), CustomerID: f.ada.ID, OrgID: f.ada.OrgID,
		ClientID: f.app.ID, Next: "//evil.example/", CreatedAt: now, ExpiresAt: now.Add(time.Minute)}, domain.System(now))
	if must != nil {
		t.Fatal(must)
	}
	if loc := f.browser().useMagic(PathMagic + raw).location(); loc.String() != PathApps {
		t.Fatalf("A12: landed on %v", loc)
	}
}

// TestA12MagicLinkSessionReachesOnlyTheAccount: a magic link signs the
// customer into their own area and nothing else. The organization's
// backend holds the link, not the customer's mailbox, so its session must
// not complete an authorization journey (no consent given for the
// customer, no OpenID sign-in vouching for the email): /oauth/authorize
// asks for the one-time code as for anyone, and signing in with it
// replaces the link's session with a full one.
func TestA12MagicLinkSessionReachesOnlyTheAccount(t *testing.T) {
	f := newFixture(t)
	c := f.browser()
	c.useMagic(f.magicLink(f.ada, ""))
	if got := c.signedInAs(); got != "ada@example.com" {
		t.Fatalf("A12: connected apps after the link: signed in as %q", got)
	}
	for _, q := range []url.Values{
		f.authorizeQuery(testVerifier, nil),
		f.authorizeQuery(testVerifier, url.Values{"client_id": {f.firstParty.ID}, "flow_type": {"login"}, "scope": {"openid email"}, "nonce": {"n1"}}),
	} {
		p := c.get("/oauth/authorize?" + q.Encode())
		if p.status != http.StatusOK || p.input("email") == nil {
			t.Fatalf("A12: authorize with a magic-link session: status %d, Location %v, want the sign-in page:\n%s", p.status, p.header.Get("Location"), p.body)
		}
	}
	if p := c.get("/oauth/authorize?" + f.authorizeQuery(testVerifier, url.Values{"prompt": {"none"}}).Encode()); p.location().Query().Get("error") != "login_required" {
		t.Fatalf("A12: prompt=none with a magic-link session: %v", p.location())
	}
	// Nor does it approve a device: the device page asks for sign-in too.
	f.seedDevice(testUserCode)
	if p := c.enterCode(testUserCode); p.input("email") == nil || strings.Contains(p.body, "Allow") {
		t.Fatalf("A12: a device code entered with a magic-link session: status %d, want the sign-in page:\n%s", p.status, p.body)
	}
	// The journey's own sign-in works and leaves a full session.
	p := c.signIn(f.authorizeQuery(testVerifier, nil), "ada@example.com")
	if p.status != http.StatusOK || !strings.Contains(p.body, "Allow") {
		t.Fatalf("after the one-time code: status %d, want consent:\n%s", p.status, p.body)
	}
	if got := c.signedInAs(); got != "ada@example.com" {
		t.Fatalf("after the one-time code: signed in as %q", got)
	}
}
