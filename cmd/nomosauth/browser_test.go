package main

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/oauth2"

	"github.com/nomosauth/nomosauth/internal/mail/smtptest"
)

// chromium finds a Chromium to drive. Without one the test skips with a
// message, unless NOMOSAUTH_TEST_REQUIRE_BROWSER=1 (CI sets it), which
// turns the skip into a failure.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	if os.Getenv("NOMOSAUTH_TEST_REQUIRE_BROWSER") == "1" {
		t.Fatal("no Chromium found and NOMOSAUTH_TEST_REQUIRE_BROWSER=1: install Debian's chromium")
	}
	t.Skip("no Chromium found: install Debian's chromium to run the browser test")
	return ""
}

// screenshotDir is where the browser test leaves its screenshots:
// $NOMOSAUTH_TEST_ARTIFACTS, or testoutput/ beside this file (ignored by git).
// browserContext is a headless Chromium at browserPath with a phone's
// viewport, closed when the test ends, each run bounded to 90 s.
func browserContext(t *testing.T, browserPath string) context.Context {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browserPath), chromedp.NoSandbox, chromedp.Headless,
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(412, 915), // a phone's viewport
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	return ctx
}

func screenshotDir(t *testing.T) string {
	dir := os.Getenv("NOMOSAUTH_TEST_ARTIFACTS")
	if dir == "" {
		dir = "testoutput"
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

var mailedCode = regexp.MustCompile(`\b\d{6}\b`)

// TestBrowserJourney walks the hosted pages in headless Chromium against
// the real binary: it types the email and the emailed code, clicks Allow
// and lands on a loopback callback with code, state and iss. It also
// proves the consent page's CSP lets the browser follow the redirect to
// the app (PRODUCT A10).
func TestBrowserJourney(t *testing.T) {
	browserPath := chromium(t)
	bin := binary(t)
	mailbox := smtptest.Start(t)
	db := filepath.Join(t.TempDir(), "browser.db")
	srv := start(t, bin, db, "--smtp-url", mailbox.URL, "--mail-from", "noreply@auth.example")
	clientID, clientSecret := credentials(t, srv.stdout)

	got := make(chan url.Values, 1)
	callback := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/callback" {
			select {
			case got <- r.URL.Query():
			default:
			}
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte("<!doctype html><title>App</title><h1>Connected</h1>"))
	}))
	defer callback.Close()

	// The demo client registers http://127.0.0.1:3000/callback; any
	// loopback port matches (PRODUCT A2; RFC 8252 §7.3).
	app := &oauth2.Config{ClientID: clientID, ClientSecret: clientSecret, RedirectURL: callback.URL + "/callback",
		Endpoint: oauth2.Endpoint{AuthURL: srv.base + "/oauth/authorize", TokenURL: srv.base + "/oauth/token"}}
	verifier := oauth2.GenerateVerifier()
	authURL := app.AuthCodeURL("browser-state", oauth2.S256ChallengeOption(verifier))

	ctx := browserContext(t, browserPath)

	dir := screenshotDir(t)
	// shoot takes a full-page screenshot; a failure stops the test.
	shoot := func(what string) []byte {
		t.Helper()
		shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100 gives PNG
		if err != nil {
			t.Fatalf("screenshot of %s: %v", what, err)
		}
		return shot
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(authURL), chromedp.WaitVisible(`input[name="email"]`)); err != nil {
		t.Fatalf("sign-in page: %v", err)
	}
	signin := shoot("sign-in")
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(`input[name="email"]`, "demo@example.com"),
		chromedp.Click(`form[action="/signin"] button[type="submit"]`),
		chromedp.WaitVisible(`input[name="code"][autocomplete="one-time-code"]`),
	); err != nil {
		t.Fatalf("sign-in: %v", err)
	}
	verify := shoot("verification")
	msg := mailbox.Next(t)
	code := mailedCode.FindString(msg.Text)
	if msg.To != "demo@example.com" || code == "" {
		t.Fatalf("email: %+v", msg)
	}
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(`input[name="code"]`, code),
		chromedp.Click(`form[action="/signin/verify"] button[type="submit"]`),
		chromedp.WaitVisible(`button[value="allow"]`),
	); err != nil {
		t.Fatalf("code: %v", err)
	}
	consentText, err := chromedp.Run(ctx, chromedp.Text(`main`))
	if err != nil {
		t.Fatal(err)
	}
	consent := shoot("consent")
	if err := chromedp.Do(ctx, chromedp.Click(`button[value="allow"]`)); err != nil {
		t.Fatalf("allow: %v", err)
	}
	for _, want := range []string{"Demo Backend", "Demo Energy", "Read your customer details"} {
		if !strings.Contains(consentText, want) {
			t.Errorf("consent page lacks %q: %q", want, consentText)
		}
	}
	for name, shot := range map[string][]byte{"1-signin.png": signin, "2-verify.png": verify, "3-consent.png": consent} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, shot, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", path)
	}

	var q url.Values
	select {
	case q = <-got:
	case <-ctx.Done():
		t.Fatal("the browser never reached the callback: is the consent form's redirect blocked by CSP?")
	}
	if !strings.HasPrefix(q.Get("code"), "nac_") || q.Get("state") != "browser-state" || q.Get("iss") != "http://127.0.0.1" {
		t.Fatalf("callback query %v", q)
	}
	landed, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil || !strings.HasPrefix(landed, callback.URL+"/callback?") {
		t.Fatalf("browser is at %q (%v)", landed, err)
	}
	tok, err := app.Exchange(context.Background(), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil || tok.Extra("scope") != "read:*" {
		t.Fatalf("exchange: %v %v", tok, err)
	}

	// A native app on the IPv6 loopback (RFC 8252 §7.3): CSP cannot name
	// an IPv6 host, yet Allow must still lead the signed-in browser there.
	m := seedOrgLine.FindStringSubmatch(srv.stdout.String())
	if m == nil {
		t.Fatalf("no demo organization in %q", srv.stdout.String())
	}
	native := admin(t, bin, db, "client", "create", "--org", m[1], "--name", "Desktop App", "--public", "--redirect-uri", "http://[::1]/callback")["client_id"].(string)
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	}
	v6 := &httptest.Server{Listener: ln, Config: &http.Server{Handler: callback.Config.Handler}} // its own server: Start changes it
	v6.Start()
	defer v6.Close()
	nativeApp := &oauth2.Config{ClientID: native, RedirectURL: v6.URL + "/callback",
		Endpoint: oauth2.Endpoint{AuthURL: srv.base + "/oauth/authorize", TokenURL: srv.base + "/oauth/token"}}
	if err := chromedp.Do(ctx, chromedp.Navigate(nativeApp.AuthCodeURL("v6-state", oauth2.S256ChallengeOption(verifier))),
		chromedp.WaitVisible(`button[value="allow"]`), chromedp.Click(`button[value="allow"]`)); err != nil {
		t.Fatalf("consent for the IPv6 loopback app: %v", err)
	}
	select {
	case q = <-got:
	case <-ctx.Done():
		t.Fatal("the browser never reached the IPv6 loopback callback: is the consent form's redirect blocked by CSP?")
	}
	if !strings.HasPrefix(q.Get("code"), "nac_") || q.Get("state") != "v6-state" {
		t.Fatalf("IPv6 callback query %v", q)
	}
}
