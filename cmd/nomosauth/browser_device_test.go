package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/ids"
	"github.com/nomosauth/nomosauth/internal/mail/smtptest"
	"github.com/nomosauth/nomosauth/internal/store/sqlite"
)

// TestBrowserDevicePairing pairs a device in headless Chromium against the
// real binary (PRODUCT T11): it opens verification_uri, types the user
// code, signs in with the emailed code, reads the app's name on the
// confirm page, saves that anti-phishing page as a screenshot, and allows.
//
// The device's request is written into the binary's database file, as
// POST /oauth/device_authorization would write it, with the server's own
// user-code key (TODO(#15): ask the endpoint once the device-server
// branch is merged).
func TestBrowserDevicePairing(t *testing.T) {
	browserPath := chromium(t)
	bin := binary(t)
	mailbox := smtptest.Start(t)
	db := filepath.Join(t.TempDir(), "device.db")
	srv := start(t, bin, db, "--smtp-url", mailbox.URL, "--mail-from", "noreply@auth.example")
	clientID, _ := credentials(t, srv.stdout)

	st, err := sqlite.OpenExisting(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	client, err := st.GetClient(t.Context(), clientID)
	if err != nil {
		t.Fatal(err)
	}
	key, err := st.ServerKey(t.Context(), "user-code", []byte("never stored: the server made it first"))
	if err != nil {
		t.Fatal(err)
	}
	const userCode = "BCDFGHJK"
	now := time.Now().UTC()
	req := domain.DeviceRequest{ID: "dev_browser", DeviceCodeHash: ids.Hash("ndc_browser"), UserCodeHash: ids.UserCodeHash(key, userCode),
		ClientID: client.ID, OrgID: client.OrgID, Scopes: domain.Scopes{domain.ScopeRead}, DeviceName: "Wallbox Garage",
		RequestedFrom: "127.0.0.1", CreatedAt: now, ExpiresAt: now.Add(10 * time.Minute), Interval: 5 * time.Second, State: domain.DevicePending}
	if err := st.CreateDeviceRequest(t.Context(), req); err != nil {
		t.Fatal(err)
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browserPath), chromedp.NoSandbox, chromedp.Headless,
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(412, 915), // a phone's viewport
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	defer cancelTimeout()

	if err := chromedp.Do(ctx, chromedp.Navigate(srv.base+"/device"), chromedp.WaitVisible(`input[name="user_code"]`),
		chromedp.SendKeys(`input[name="user_code"]`, "bcdf-ghjk"), // as a customer types it
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
	for _, want := range []string{"Demo Backend", "Demo Energy", "Wallbox Garage", "BCDF-GHJK", "127.0.0.1",
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
	got, err := st.DeviceRequestByUserCode(t.Context(), req.UserCodeHash)
	if err != nil || got.State != domain.DeviceApproved || got.GrantID == "" {
		t.Fatalf("after Allow: %+v %v", got, err)
	}
}
