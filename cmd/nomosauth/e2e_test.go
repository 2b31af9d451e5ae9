package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	_ "time/tzdata" // Europe/Berlin on machines without zoneinfo

	"github.com/go-jose/go-jose/v4"
	"github.com/nomosauth/nomosauth/internal/testfix"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// built is the binary every end-to-end test of this process starts: built
// on first use, once, into a directory TestMain removes after the run.
var built struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "nomosauth-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	built.dir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// binary builds nomosauth once per test process and returns its path.
func binary(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end tests build and start the binary")
	}
	built.once.Do(func() {
		bin := filepath.Join(built.dir, "nomosauth")
		if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		built.bin = bin
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.bin
}

type running struct {
	cmd    *exec.Cmd
	base   string
	stdout *testfix.SyncBuffer
	logs   *testfix.SyncBuffer // the server's log lines (stderr)
}

var (
	listening        = regexp.MustCompile(`"msg":"listening","addr":"([^"]+)"`)
	metricsListening = regexp.MustCompile(`"msg":"metrics listening","addr":"([^"]+)"`)
)

// start runs `nomosauth serve --dev` on a free loopback port, its metrics
// on another (never the default port, which a server of another test may
// hold), and waits until it listens.
func start(t testing.TB, bin, db string, extra ...string) *running {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve", "--dev", "--db", db, "--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0",
		"--issuer", "http://127.0.0.1"}, extra...)...)
	cmd.Env = append(os.Environ(), "NOMOSAUTH_LOG_LEVEL=info")
	stdout, logs := &testfix.SyncBuffer{}, &testfix.SyncBuffer{}
	cmd.Stdout = stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logs.Write([]byte(sc.Text() + "\n"))
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
	}()
	select {
	case a := <-addr:
		return &running{cmd: cmd, base: "http://" + a, stdout: stdout, logs: logs}
	case <-time.After(30 * time.Second):
		t.Fatalf("server did not start:\n%s", logs.String())
	}
	return nil
}

// metricsURL is the URL of the server's GET /metrics, from its log line,
// logged right after the public listener's.
func (r *running) metricsURL(t testing.TB) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m := metricsListening.FindStringSubmatch(r.logs.String()); m != nil {
			return "http://" + m[1] + "/metrics"
		}
		if time.Now().After(deadline) {
			t.Fatalf("no metrics listener in the log:\n%s", r.logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var seedLine = regexp.MustCompile(`(?m)^\s+(client_id|client_secret):\s+(\S+)`)

// credentials reads the demo client printed once by --dev.
func credentials(t testing.TB, stdout *testfix.SyncBuffer) (string, string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		m := seedLine.FindAllStringSubmatch(stdout.String(), -1)
		if len(m) == 2 {
			return m[0][2], m[1][2]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no demo credentials in %q", stdout.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// verifyWithJWKS checks an access token against the server's JWKS with
// go-jose, as a resource server would.
func verifyWithJWKS(t *testing.T, base, raw string) map[string]any {
	t.Helper()
	resp, err := http.Get(base + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	sig := jws.Signatures[0].Protected
	if sig.ExtraHeaders["typ"] != "at+jwt" {
		t.Fatalf("typ %v", sig.ExtraHeaders["typ"])
	}
	keys := set.Key(sig.KeyID)
	if len(keys) != 1 {
		t.Fatalf("kid %q not in JWKS", sig.KeyID)
	}
	payload, err := jws.Verify(keys[0].Key)
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	json.Unmarshal(payload, &claims)
	return claims
}

// TestEndToEnd: a real client fetches a token with client credentials,
// verifies it against the JWKS, and refreshes through a TokenSource.
func TestEndToEnd(t *testing.T) {
	bin := binary(t)
	srv := start(t, bin, filepath.Join(t.TempDir(), "e2e.db"))
	id, secret := credentials(t, srv.stdout)
	ctx := context.Background()

	cc := clientcredentials.Config{ClientID: id, ClientSecret: secret, TokenURL: srv.base + "/oauth/token",
		Scopes: []string{"read:*"}, AuthStyle: oauth2.AuthStyleInHeader}
	tok, err := cc.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	claims := verifyWithJWKS(t, srv.base, tok.AccessToken)
	if claims["client_id"] != id || claims["scope"] != "read:*" || claims["iss"] != "http://127.0.0.1" {
		t.Fatalf("claims %v", claims)
	}
	if tok.RefreshToken == "" || tok.TokenType != "Bearer" {
		t.Fatalf("token %+v", tok)
	}

	// Refresh through a TokenSource whose token has expired.
	conf := oauth2.Config{ClientID: id, ClientSecret: secret, Endpoint: oauth2.Endpoint{TokenURL: srv.base + "/oauth/token", AuthStyle: oauth2.AuthStyleInParams}}
	expired := &oauth2.Token{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Minute)}
	refreshed, err := conf.TokenSource(ctx, expired).Token()
	if err != nil {
		t.Fatal(err)
	}
	if refreshed.RefreshToken == tok.RefreshToken || refreshed.AccessToken == tok.AccessToken {
		t.Fatal("refresh did not rotate")
	}
	verifyWithJWKS(t, srv.base, refreshed.AccessToken)

	// Use: the refreshed token's family is the original's.
	again := verifyWithJWKS(t, srv.base, refreshed.AccessToken)
	if again["family_id"] != claims["family_id"] {
		t.Fatal("refresh left the family")
	}

	// The protected API answers the refreshed token, and --dev seeded a
	// week of prices for the demo subscription (PRODUCT O1).
	api := oauth2.NewClient(ctx, oauth2.StaticTokenSource(refreshed))
	var subs struct {
		Items []struct{ ID string } `json:"items"`
	}
	getJSON(t, api, srv.base+"/subscriptions", &subs)
	if len(subs.Items) != 1 {
		t.Fatalf("demo subscriptions: %+v", subs)
	}
	today := time.Now().In(berlin(t)).Format(time.DateOnly)
	var prices struct {
		Items []struct {
			Amount float64 `json:"amount"`
		} `json:"items"`
	}
	getJSON(t, api, srv.base+"/subscriptions/"+subs.Items[0].ID+"/prices?start="+today+"&end="+today, &prices)
	if n := len(prices.Items); n < 23 || n > 25 {
		t.Fatalf("%d demo prices for today, want a day of hours", n)
	}
}

func berlin(t *testing.T) *time.Location {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func getJSON(t *testing.T, c *http.Client, url string, into any) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-API-Version") == "" || resp.Header.Get("RateLimit-Limit") == "" {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, resp.Header)
	}
	if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
		t.Fatal(err)
	}
}

// TestCrashKeepsCommittedRefreshToken is PRODUCT S2: SIGKILL right after a
// token response, restart on the same database, the refresh token works.
func TestCrashKeepsCommittedRefreshToken(t *testing.T) {
	bin := binary(t)
	db := filepath.Join(t.TempDir(), "crash.db")
	srv := start(t, bin, db)
	id, secret := credentials(t, srv.stdout)
	cc := clientcredentials.Config{ClientID: id, ClientSecret: secret, TokenURL: srv.base + "/oauth/token"}
	var last *oauth2.Token
	for range 5 {
		tok, err := cc.Token(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		last = tok
	}
	if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	srv.cmd.Wait()

	again := start(t, bin, db)
	body := fmt.Sprintf("grant_type=refresh_token&refresh_token=%s", last.RefreshToken)
	req, _ := http.NewRequest(http.MethodPost, again.base+"/oauth/token", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("refresh after crash: %d %s", resp.StatusCode, raw)
	}
}

// TestGracefulShutdown: SIGTERM stops the server cleanly with exit code 0.
func TestGracefulShutdown(t *testing.T) {
	bin := binary(t)
	srv := start(t, bin, filepath.Join(t.TempDir(), "term.db"))
	srv.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- srv.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no shutdown after SIGTERM")
	}
}
