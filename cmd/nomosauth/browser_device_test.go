package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"golang.org/x/oauth2"

	"github.com/nomosauth/nomosauth/internal/mail/smtptest"
)

// TestBrowserDevicePairing pairs a device in headless Chromium against the
// real binary (PRODUCT T11): the device asks POST /oauth/device_authorization
// through golang.org/x/oauth2, the customer opens verification_uri, types
// the user code, signs in with the emailed code, reads the app's name on
// the confirm page (saved as a screenshot: the anti-phishing page) and
// allows; the device's poll then gets tokens that read only that
// customer's data.
func TestBrowserDevicePairing(t *testing.T) {
	browserPath := chromium(t)
	bin := binary(t)
	mailbox := smtptest.Start(t)
	db := filepath.Join(t.TempDir(), "device.db")
	srv := start(t, bin, db, "--smtp-url", mailbox.URL, "--mail-from", "noreply@auth.example")
	credentials(t, srv.stdout)
	m := seedOrgLine.FindStringSubmatch(srv.stdout.String())
	if m == nil {
		t.Fatalf("no demo organization in %q", srv.stdout.String())
	}
	charger := admin(t, bin, db, "client", "create", "--org", m[1], "--name", "Charger", "--public", "--device-grant")["client_id"].(string)
	device := &oauth2.Config{ClientID: charger, Scopes: []string{"read:*"}, Endpoint: oauth2.Endpoint{
		DeviceAuthURL: srv.base + "/oauth/device_authorization", TokenURL: srv.base + "/oauth/token", AuthStyle: oauth2.AuthStyleInParams}}
	pairing, err := device.DeviceAuth(t.Context(), oauth2.SetAuthURLParam("device_name", "Wallbox Garage"))
	if err != nil {
		t.Fatalf("device authorization: %v", err)
	}
	// The issuer the test server runs with has no port: open the same path on it.
	if pairing.VerificationURI != "http://127.0.0.1/device" || len(pairing.UserCode) != 9 {
		t.Fatalf("T11: %+v", pairing)
	}
	verification := srv.base + strings.TrimPrefix(pairing.VerificationURI, "http://127.0.0.1")

	ctx := browserContext(t, browserPath)

	if err := chromedp.Do(ctx, chromedp.Navigate(verification), chromedp.WaitVisible(`input[name="user_code"]`),
		chromedp.SendKeys(`input[name="user_code"]`, strings.ToLower(pairing.UserCode)), // as a customer types it
		chromedp.Click(`form[action="/device"] button[type="submit"]`),
		chromedp.WaitVisible(`input[name="email"]`),
		chromedp.SendKeys(`input[name="email"]`, "demo@example.com"),
		chromedp.Click(`form[action="/signin"] button[type="submit"]`),
		chromedp.WaitVisible(`input[name="code"][autocomplete="one-time-code"]`),
	); err != nil {
		t.Fatalf("code entry and sign-in: %v", err)
	}
	code := mailedCode.FindString(mailbox.Next(t).Text)
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(`input[name="code"]`, code),
		chromedp.Click(`form[action="/signin/verify"] button[type="submit"]`),
		chromedp.WaitVisible(`button[value="allow"]`),
	); err != nil {
		t.Fatalf("one-time code: %v", err)
	}
	confirmText, err := chromedp.Run(ctx, chromedp.Text(`main`))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Charger", "Demo Energy", "Wallbox Garage", pairing.UserCode, "127.0.0.1",
		"Is this code shown on a device in front of you?"} {
		if !strings.Contains(confirmText, want) {
			t.Errorf("confirm page lacks %q: %q", want, confirmText)
		}
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100 gives PNG
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join(screenshotDir(t), "4-device-confirm.png")
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
	if err := chromedp.Do(ctx, chromedp.Click(`button[value="allow"]`), chromedp.WaitVisible(`a[href="/account/apps"]`)); err != nil {
		t.Fatalf("allow: %v", err)
	}
	if done, err := chromedp.Run(ctx, chromedp.Text(`h1`)); err != nil || done != "Device connected" {
		t.Fatalf("after Allow: %q %v", done, err)
	}
	// The device's poll gets the tokens; they read the demo customer only.
	tok, err := device.DeviceAccessToken(t.Context(), pairing)
	if err != nil {
		t.Fatalf("T11: device poll after Allow: %v", err)
	}
	api := device.Client(t.Context(), tok)
	for path, want := range map[string]string{"/customers": "cus_", "/subscriptions": "sub_"} {
		var page struct {
			Items []struct {
				ID string `json:"id"`
			} `json:"items"`
		}
		resp, err := api.Get(srv.base + path)
		if err != nil {
			t.Fatal(err)
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || len(page.Items) != 1 || !strings.HasPrefix(page.Items[0].ID, want) {
			t.Fatalf("T11/T7: GET %s with the device's token: %d %+v %v", path, resp.StatusCode, page, err)
		}
	}
}

// seedOrgLine finds the demo organization --dev prints.
var seedOrgLine = regexp.MustCompile(`(?m)^\s+organization:\s+(\S+)`)
