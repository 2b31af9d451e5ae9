package pages

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/ids"
	"github.com/nomosauth/nomosauth/internal/testfix"
)

const testUserCode = "BCDFGHJK"

// seedDevice stores a pending device request of the public client
// "Charger" for user code, made a minute before now, as the device
// authorization endpoint would.
func (f *fixture) seedDevice(code string) domain.DeviceRequest {
	f.t.Helper()
	now := f.clock.Now()
	d := domain.DeviceRequest{ID: "dev_" + code, DeviceCodeHash: "dc_" + code, UserCodeHash: ids.UserCodeHash([]byte(testUserCodeKey), code),
		ClientID: f.public.ID, OrgID: f.org.ID, Scopes: domain.Scopes{domain.ScopeRead}, DeviceName: "Wallbox Garage",
		RequestedFrom: "203.0.113.9", CreatedAt: now.Add(-time.Minute), ExpiresAt: now.Add(9 * time.Minute), Interval: 5 * time.Second,
		State: domain.DevicePending}
	testfix.Check(f.t, f.store.CreateDeviceRequest(context.Background(), d))
	return d
}

func (f *fixture) deviceState(code string) domain.DeviceRequest {
	f.t.Helper()
	d, err := f.store.DeviceRequestByUserCode(context.Background(), ids.UserCodeHash([]byte(testUserCodeKey), code))
	testfix.Check(f.t, err)
	return d
}

// enterCode opens /device and sends typed.
func (c *client) enterCode(typed string) *page {
	c.t.Helper()
	return c.submit(c.get(PathDevice), PathDevice, url.Values{"user_code": {typed}})
}

// signInDirect signs the browser in without an app, through /signin.
func (c *client) signInDirect(email string) {
	c.t.Helper()
	p := c.submit(c.get(PathSignin), PathSignin, url.Values{"email": {email}})
	if got := c.submit(p, PathVerify, url.Values{"code": {c.f.mail.lastCode(c.t, email)}}).location().Path; got != PathApps {
		c.t.Fatalf("signed in to %s", got)
	}
}

func (p *page) byID(id string) string {
	var out string
	walk(p.doc, func(n *html.Node) bool {
		if attr(n, "id") == id {
			out = text(n)
			return false
		}
		return true
	})
	return out
}

func TestDeviceEntry(t *testing.T) {
	t.Run("T11/link_prefills_and_never_sends", func(t *testing.T) {
		f := newFixture(t)
		f.seedDevice(testUserCode)
		p := f.browser().get(PathDevice + "?user_code=bcdf-ghjk")
		if p.status != http.StatusOK || p.input("user_code")["value"] != "BCDF-GHJK" {
			t.Fatalf("status %d, code field %v", p.status, p.input("user_code"))
		}
		if !strings.Contains(p.body, `<img src="/device/qr?user_code=BCDF-GHJK"`) {
			t.Fatalf("no QR of the complete link:\n%s", p.body)
		}
		if strings.Contains(p.body, "Wallbox") || f.deviceState(testUserCode).State != domain.DevicePending {
			t.Fatal("the link alone must not look up or answer the request")
		}
		if f.browser().get(PathDevice).input("user_code")["value"] != "" || strings.Contains(f.browser().get(PathDevice).body, "<img") {
			t.Fatal("the bare page has an empty field and no QR")
		}
	})
	t.Run("T11/malformed_code_costs_no_try", func(t *testing.T) {
		f := newFixture(t)
		c := f.browser()
		for range 8 {
			p := c.enterCode("BCDF-GHJ1")
			if p.status != http.StatusBadRequest || !strings.Contains(p.body, "eight letters") {
				t.Fatalf("status %d:\n%s", p.status, p.body)
			}
		}
	})
	t.Run("T11/unknown_expired_answered", func(t *testing.T) {
		f := newFixture(t)
		f.seedDevice(testUserCode)
		d := f.seedDevice("CCCCDDDD")
		c := f.browser()
		if p := c.enterCode("BBBB-BBBB"); p.status != http.StatusBadRequest || !strings.Contains(p.body, "No device is waiting") {
			t.Fatalf("unknown: %d\n%s", p.status, p.body)
		}
		ses := domain.Origin{At: f.clock.Now(), Actor: domain.Actor{Kind: domain.ActorCustomer, ID: f.ada.ID}}
		if _, err := f.store.AnswerDeviceRequest(context.Background(), d.ID, false, domain.Grant{}, ses); err != nil {
			t.Fatal(err)
		}
		if p := c.enterCode("cccc dddd"); !strings.Contains(p.body, "already been answered") {
			t.Fatalf("answered: %d\n%s", p.status, p.body)
		}
		f.clock.Advance(10 * time.Minute)
		if p := c.enterCode(testUserCode); !strings.Contains(p.body, "has expired") {
			t.Fatalf("expired: %d\n%s", p.status, p.body)
		}
	})
	t.Run("T11/wrong_codes_limited_per_browser", func(t *testing.T) {
		f := newFixture(t)
		f.seedDevice(testUserCode)
		c := f.browser()
		for i := range 5 {
			if p := c.enterCode("BBBB-BBBB"); p.status != http.StatusBadRequest {
				t.Fatalf("wrong code %d: status %d", i+1, p.status)
			}
		}
		p := c.enterCode("BBBB-BBBB")
		if p.status != http.StatusTooManyRequests || p.header.Get("Retry-After") == "" || !strings.Contains(p.body, "Too many wrong codes") {
			t.Fatalf("6th wrong code: status %d, Retry-After %q\n%s", p.status, p.header.Get("Retry-After"), p.body)
		}
		// Refused before the lookup: even the right code waits.
		if p := c.enterCode(testUserCode); p.status != http.StatusTooManyRequests {
			t.Fatalf("right code while limited: %d", p.status)
		}
		// Another browser at another address is not affected.
		f.clock.Advance(2 * time.Minute)
		if p := c.enterCode("BBBB-BBBB"); p.status != http.StatusBadRequest {
			t.Fatalf("after the refill: %d", p.status)
		}
	})
	t.Run("T11/wrong_codes_limited_per_address", func(t *testing.T) {
		f := newFixture(t)
		for range 4 { // 4 browsers x 5 tries spend the address's 20
			c := f.browser()
			for range 5 {
				if p := c.enterCode("BBBB-BBBB"); p.status != http.StatusBadRequest {
					t.Fatalf("status %d", p.status)
				}
			}
		}
		if p := f.browser().enterCode("BBBB-BBBB"); p.status != http.StatusTooManyRequests || p.header.Get("Retry-After") == "" {
			t.Fatalf("a fresh browser at the same address: status %d", p.status)
		}
	})
	t.Run("T11/qr_image", func(t *testing.T) {
		f := newFixture(t)
		p := f.browser().get(PathDeviceQR + "?user_code=BCDF-GHJK")
		if p.status != http.StatusOK || p.header.Get("Content-Type") != "image/svg+xml" || !strings.HasPrefix(p.body, "<svg") {
			t.Fatalf("status %d, type %q:\n%.200s", p.status, p.header.Get("Content-Type"), p.body)
		}
		if got := f.pages.VerificationURIComplete(testUserCode); got != testIssuer+"/device?user_code=BCDF-GHJK" {
			t.Fatalf("complete link %q", got)
		}
		if p := f.browser().get(PathDeviceQR + "?user_code=AEIOU123"); p.status != http.StatusBadRequest {
			t.Fatalf("malformed code: %d", p.status)
		}
	})
}

// TestDeviceConfirm walks sign-in from the code entry to the confirm page
// and checks what it shows and that only an explicit Allow grants.
func TestDeviceConfirm(t *testing.T) {
	t.Run("T11/signin_then_confirm_then_allow", func(t *testing.T) {
		f := newFixture(t)
		f.seedDevice(testUserCode)
		c := f.browser()
		p := c.get(PathDevice + "?user_code=BCDF-GHJK")
		p = c.submit(p, PathDevice, nil)
		if p.input("email") == nil || p.input("device") == nil {
			t.Fatalf("want the sign-in page carrying the device seal:\n%s", p.body)
		}
		p = c.submit(p, PathSignin, url.Values{"email": {"ada@example.com"}})
		if p.input("code") == nil || p.input("device") == nil {
			t.Fatalf("want the code page carrying the device seal:\n%s", p.body)
		}
		p = c.submit(p, PathVerify, url.Values{"code": {f.mail.lastCode(t, "ada@example.com")}})
		if p.status != http.StatusOK || p.title() != "Connect this device?" {
			t.Fatalf("after sign-in: status %d, title %q\n%s", p.status, p.title(), p.body)
		}
		for _, want := range []string{"Charger by Sunny Energy", "Is this code shown on a device in front of you?"} {
			if !strings.Contains(p.body, want) {
				t.Errorf("confirm page lacks %q", want)
			}
		}
		for id, want := range map[string]string{"device-name": "Wallbox Garage", "user-code": "BCDF-GHJK",
			"requested-at": "2026-11-28 08:59 UTC (1 min ago)", "requested-from": "203.0.113.9", "your-address": "198.51.100.7"} {
			if got := p.byID(id); got != want {
				t.Errorf("#%s = %q, want %q", id, got, want)
			}
		}
		if f.deviceState(testUserCode).State != domain.DevicePending {
			t.Fatal("T11: the confirm page must not answer by itself")
		}
		if strings.Contains(p.body, "autofocus") {
			t.Error("no button of the confirm page may be focused in advance")
		}
		done := c.submit(p, PathDevice, url.Values{"decision": {"allow"}})
		if done.status != http.StatusOK || done.title() != "Device connected" {
			t.Fatalf("allow: %d %q\n%s", done.status, done.title(), done.body)
		}
		d := f.deviceState(testUserCode)
		if d.State != domain.DeviceApproved || d.CustomerID != f.ada.ID || d.GrantID == "" {
			t.Fatalf("after allow: %+v", d)
		}
		apps := c.get(PathApps)
		if !strings.Contains(apps.body, "<h2>Charger</h2>") || !strings.Contains(apps.body, "On the device “Wallbox Garage”") || apps.form(PathRevoke).Get("grant") != d.GrantID {
			t.Fatalf("A11: the device's grant must be listed with its revoke form:\n%s", apps.body)
		}
		// A second answer finds the request answered.
		if again := c.submit(p, PathDevice, url.Values{"decision": {"deny"}}); !strings.Contains(again.body, "already been answered") {
			t.Fatalf("second answer: %d\n%s", again.status, again.body)
		}
	})
	t.Run("T11/deny", func(t *testing.T) {
		f := newFixture(t)
		f.seedDevice(testUserCode)
		c := f.browser()
		c.signInDirect("ada@example.com")
		p := c.enterCode(testUserCode)
		if p.title() != "Connect this device?" {
			t.Fatalf("signed in: want the confirm page at once:\n%s", p.body)
		}
		done := c.submit(p, PathDevice, url.Values{"decision": {"deny"}})
		if done.title() != "Request denied" {
			t.Fatalf("deny: %q", done.title())
		}
		if d := f.deviceState(testUserCode); d.State != domain.DeviceDenied || d.GrantID != "" {
			t.Fatalf("after deny: %+v", d)
		}
		if grants, _ := f.store.ListGrants(context.Background(), f.ada.ID); len(grants) != 0 {
			t.Fatalf("deny made grants: %+v", grants)
		}
	})
	t.Run("T11/german", func(t *testing.T) {
		f := newFixture(t)
		f.seedDevice(testUserCode)
		c := f.browser()
		c.signInDirect("ada@example.com")
		c.lang = "de"
		p := c.enterCode(testUserCode)
		if !strings.Contains(p.body, "Wird dieser Code auf einem Gerät vor Ihnen angezeigt?") || p.byID("requested-at") != "28.11.2026, 08:59 UTC (vor 1 Min.)" {
			t.Fatalf("German confirm page:\n%s", p.body)
		}
	})
	t.Run("T11/answer_needs_a_decision_csrf_and_seal", func(t *testing.T) {
		f := newFixture(t)
		f.seedDevice(testUserCode)
		f.seedDevice("CCCCDDDD")
		c := f.browser()
		c.signInDirect("ada@example.com")
		p := c.enterCode(testUserCode)
		form := p.form(PathDevice)
		// No decision: the form counts as an entry without a code.
		if got := c.post(PathDevice, form); got.status != http.StatusBadRequest {
			t.Fatalf("without a decision: %d", got.status)
		}
		bad := url.Values{"csrf": {"forged"}, "device": {form.Get("device")}, "decision": {"allow"}}
		if got := c.post(PathDevice, bad); got.status != http.StatusForbidden {
			t.Fatalf("A10: forged CSRF token: %d", got.status)
		}
		// A seal is bound to its code: swapping the code breaks it.
		forged := strings.Replace(form.Get("device"), testUserCode, "CCCCDDDD", 1)
		if got := c.post(PathDevice, url.Values{"csrf": {form.Get("csrf")}, "device": {forged}, "decision": {"allow"}}); !strings.Contains(got.body, "timed out") {
			t.Fatalf("forged seal: %d\n%s", got.status, got.body)
		}
		f.clock.Advance(11 * time.Minute)
		if got := c.submit(p, PathDevice, url.Values{"decision": {"allow"}}); !strings.Contains(got.body, "timed out") {
			t.Fatalf("old seal: %d\n%s", got.status, got.body)
		}
		for _, code := range []string{testUserCode, "CCCCDDDD"} {
			if f.deviceState(code).State != domain.DevicePending {
				t.Fatalf("%s answered without an explicit Allow", code)
			}
		}
	})
	t.Run("T11/disabled_app_cannot_be_allowed", func(t *testing.T) {
		f := newFixture(t)
		f.seedDevice(testUserCode)
		testfix.Check(t, f.store.DisableClient(context.Background(), f.public.ID, domain.System(f.clock.Now())))
		c := f.browser()
		c.signInDirect("ada@example.com")
		if p := c.enterCode(testUserCode); p.status != http.StatusForbidden || !strings.Contains(p.body, "This app is disabled.") {
			t.Fatalf("status %d:\n%s", p.status, p.body)
		}
		if f.deviceState(testUserCode).State != domain.DevicePending {
			t.Fatal("answered")
		}
	})

	t.Run("T11/other_org_cannot_allow", func(t *testing.T) {
		f := newFixture(t)
		f.seedDevice(testUserCode)
		c := f.browser()
		c.signInDirect("bob@example.com")
		// Refused before the question is asked: no confirm page, no Allow.
		if p := c.enterCode(testUserCode); p.status != http.StatusForbidden || strings.Contains(p.body, `value="allow"`) {
			t.Fatalf("status %d:\n%s", p.status, p.body)
		}
		if f.deviceState(testUserCode).State != domain.DevicePending {
			t.Fatal("answered")
		}
	})
}

// TestDeviceCodePageLeadsBackToTheDevice: a device sign-in's code page,
// reopened once its code is used, leads back to the device (its confirm
// page, now signed in), not to connected apps; a stale device form signed
// in elsewhere meanwhile leads to the device page with its code filled in.
func TestDeviceCodePageLeadsBackToTheDevice(t *testing.T) {
	f := newFixture(t)
	f.seedDevice(testUserCode)
	c := f.browser()
	signin := c.enterCode(testUserCode)
	codePage := c.sendCode(signin, "ada@example.com")
	page := c.get(codePage)
	if page.input("code") == nil {
		t.Fatalf("device code page: %d\n%s", page.status, page.body)
	}
	confirm := c.submit(page, PathVerify, url.Values{"code": {f.mail.lastCode(t, "ada@example.com")}})
	if !strings.Contains(confirm.body, "Wallbox Garage") {
		t.Fatalf("after the code: %d\n%s", confirm.status, confirm.body)
	}
	again := c.get(codePage)
	if again.status != http.StatusOK || !strings.Contains(again.body, "Wallbox Garage") {
		t.Fatalf("the used code page reopened: %d, Location %v, want the device's confirm page:\n%s", again.status, again.header.Get("Location"), again.body)
	}
	// The sign-in form of the device, gone stale by a sign-in since.
	form := signin.form(PathSignin)
	form.Set("email", "ada@example.com")
	stale := c.post(PathSignin, form)
	if loc := stale.location(); stale.status != http.StatusSeeOther || loc.Path != PathDevice || loc.Query().Get("user_code") == "" {
		t.Fatalf("a stale device sign-in form: %d, Location %v; want the device page with its code", stale.status, loc)
	}
}
