package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/nomosauth/nomosauth/internal/testfix"
)

// TestBrowserMagicLink is PRODUCT A12 end to end: the --dev demo client
// (write:*) asks POST /admin/magic_link for the demo customer with its
// client-credentials token, headless Chromium opens the link, presses
// "Continue as", and lands signed in on connected apps; the link is then
// spent, and the issue and the use are counted (O7).
func TestBrowserMagicLink(t *testing.T) {
	browserPath := chromium(t)
	bin := binary(t)
	srv := start(t, bin, filepath.Join(t.TempDir(), "magic.db"))
	id, secret := credentials(t, srv.stdout)
	cc := clientcredentials.Config{ClientID: id, ClientSecret: secret, TokenURL: srv.base + "/oauth/token"}
	api := cc.Client(t.Context())

	var customers struct {
		Items []struct{ ID string } `json:"items"`
	}
	getJSON(t, api, srv.base+"/customers?filter[email][eq]=demo@example.com", &customers)
	if len(customers.Items) != 1 {
		t.Fatalf("demo customer: %+v", customers)
	}
	body, _ := json.Marshal(map[string]string{"customerId": customers.Items[0].ID})
	resp, err := api.Post(srv.base+"/admin/magic_link", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var out struct{ Object, Link string }
	err = json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	// The issuer the test server runs with has no port: open the same path on it.
	if err != nil || resp.StatusCode != http.StatusOK || out.Object != "magic_link" || !strings.HasPrefix(out.Link, "http://127.0.0.1/magic/nml_") {
		t.Fatalf("A12: POST /admin/magic_link: %d %+v %v", resp.StatusCode, out, err)
	}
	link := srv.base + strings.TrimPrefix(out.Link, "http://127.0.0.1")

	ctx := browserContext(t, browserPath)

	if err := chromedp.Do(ctx, chromedp.Navigate(link), chromedp.WaitVisible(`#magic-continue`)); err != nil {
		t.Fatalf("magic link page: %v", err)
	}
	confirm, err := chromedp.Run(ctx, chromedp.Text(`main`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(confirm, "Continue as demo@example.com") {
		t.Fatalf("A12: the page does not say who signs in: %q", confirm)
	}
	if shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil { // quality 100 gives PNG
		path := filepath.Join(screenshotDir(t), "magic-link.png")
		if os.WriteFile(path, shot, 0o644) == nil {
			t.Logf("screenshot: %s", path)
		}
	}
	if err := chromedp.Do(ctx, chromedp.Click(`#magic-continue`), chromedp.WaitVisible(`form[action="/signout"]`)); err != nil {
		t.Fatalf("continue: %v", err)
	}
	landed, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	apps, err := chromedp.Run(ctx, chromedp.Text(`main`))
	if err != nil {
		t.Fatal(err)
	}
	if landed != srv.base+"/account/apps" || !strings.Contains(apps, "Signed in as demo@example.com") {
		t.Fatalf("A12: landed on %q with %q", landed, apps)
	}

	// Spent: opening it again shows the used page, with no button.
	if err := chromedp.Do(ctx, chromedp.Navigate(link), chromedp.WaitVisible(`#magic-error`)); err != nil {
		t.Fatalf("second open: %v", err)
	}
	again, err := chromedp.Run(ctx, chromedp.Text(`main`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(again, "already been used") {
		t.Fatalf("A12: second open says %q", again)
	}
	m := testfix.Scrape(t, srv.metricsURL(t))
	for _, event := range []string{"issued", "used"} {
		if n := m.Value("nomosauth_magic_links_total", "event", event); n != 1 {
			t.Errorf("O7: nomosauth_magic_links_total{event=%q} = %v, want 1", event, n)
		}
	}
}
