package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"
)

// fixture is what the scenarios need from the running server.
type fixture struct {
	base         string
	clientID     string
	clientSecret string
	redirectURI  string
	// browser holds a signed-in session whose grant covers the app, so
	// each authorize request returns a code at once.
	browser *http.Client
}

// pkceVerifier is fixed: every minted code carries its S256 challenge.
const pkceVerifier = "nomosauth-bench-verifier-0123456789-abcdefghijklmnop"

func bench(ctx context.Context, o options, log io.Writer) (*report, error) {
	dir, err := os.MkdirTemp("", "nomosauth-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	bin := o.serverBin
	if bin == "" {
		fmt.Fprintln(log, "building ./cmd/nomosauth")
		if bin, err = buildServer(dir); err != nil {
			return nil, err
		}
	}
	db := filepath.Join(dir, "bench.db")
	f, err := seed(bin, db)
	if err != nil {
		return nil, err
	}
	addr, err := freeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	f.base = "http://" + addr
	// Durable as in production (synchronous=FULL, group commit); rate
	// limits off, as the load comes from one address and one client.
	args := []string{"serve", "--dev", "--db", db, "--addr", addr, "--issuer", f.base,
		"--rate-limit", "0", "--address-rate-limit", "0", "--log-level", o.logLevel, "--signing-alg", o.signingAlg}
	if o.cpuProfile != "" {
		args = append(args, "--cpu-profile", o.cpuProfile)
	}
	// Metrics on a free port of their own, or off (PRODUCT O7): never the
	// default port, which another server may hold.
	if o.metrics {
		args = append(args, "--metrics-addr", "127.0.0.1:0")
	} else {
		args = append(args, "--metrics-addr=")
	}
	srv, err := startProcess(ctx, bin, f.base, args...)
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	if err := f.signIn(srv); err != nil {
		return nil, fmt.Errorf("customer journey: %w", err)
	}

	// The bare handler answers with as many bytes as a token response.
	sample, err := f.clientCredentials()
	if err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	bareAddr, err := freeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	bare, err := startProcess(ctx, self, "http://"+bareAddr, "-bare-size", fmt.Sprint(len(sample.raw)), "-bare-addr", bareAddr)
	if err != nil {
		return nil, err
	}
	defer bare.stop()

	r := &report{Duration: o.duration.String(), Runs: o.runs, BareBytes: len(sample.raw), LogLevel: o.logLevel, SigningAlg: o.signingAlg,
		Machine: machine()}
	for run := 1; run <= o.runs; run++ {
		for _, conns := range o.connections {
			fmt.Fprintf(log, "run %d/%d, %d connections: bare", run, o.runs, conns)
			res, err := measure(ctx, bare, conns, o.duration, bareScenario(bare.base))
			if err != nil {
				return nil, err
			}
			r.add("bare", conns, res)
			for _, name := range o.scenarios {
				fmt.Fprintf(log, ", %s", name)
				sc, err := f.scenario(ctx, name, conns, o.duration)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", name, err)
				}
				res, err := measure(ctx, srv, conns, o.duration, sc)
				if err != nil {
					return nil, err
				}
				r.add(name, conns, res)
			}
			fmt.Fprintln(log)
		}
	}
	fmt.Fprintf(log, "database growth: %d client_credentials tokens\n", growthTokens)
	if r.DBGrowthPer10k, err = f.dbGrowth(ctx, db, 8); err != nil {
		return nil, err
	}
	if r.ServerPeakRSS, err = srv.peakRSS(); err != nil {
		return nil, err
	}
	return r, nil
}

// seed creates the database (admin commands open an existing one only,
// PRODUCT O9), an organization, an app and a customer with a subscription.
func seed(bin, db string) (*fixture, error) {
	if _, err := admin(bin, db, "migrate"); err != nil {
		return nil, err
	}
	org, err := admin(bin, db, "org", "create", "--name", "Bench Energy")
	if err != nil {
		return nil, err
	}
	const redirect = "http://127.0.0.1/cb"
	client, err := admin(bin, db, "client", "create", "--org", org["id"].(string), "--name", "Bench App", "--redirect-uri", redirect)
	if err != nil {
		return nil, err
	}
	cus, err := admin(bin, db, "customer", "create", "--org", org["id"].(string), "--email", "bench@example.com", "--first-name", "Ben", "--last-name", "Bench")
	if err != nil {
		return nil, err
	}
	for range 3 {
		if _, err := admin(bin, db, "subscription", "create", "--customer", cus["id"].(string),
			"--street", "Torstraße", "--house-number", "119", "--zip", "10115", "--city", "Berlin",
			"--meter-number", "1APA0195124010", "--iban", "DE89370400440532013000", "--account-holder", "Ben Bench"); err != nil {
			return nil, err
		}
	}
	return &fixture{clientID: client["client_id"].(string), clientSecret: client["client_secret"].(string), redirectURI: redirect}, nil
}

var hidden = regexp.MustCompile(`<input type="hidden" name="(csrf|authz|email)" value="([^"]*)">`)

// signIn walks the hosted journey once (the dev server prints the emailed
// code) and allows the app, so codes can be minted without pages.
func (f *fixture) signIn(srv *process) error {
	jar, _ := cookiejar.New(nil)
	f.browser = &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	page, _, err := f.page(http.MethodGet, f.authorizeURL("bench"), nil)
	if err != nil {
		return err
	}
	post := func(path string, page string, extra url.Values) (string, *url.URL, error) {
		form := url.Values{}
		for _, m := range hidden.FindAllStringSubmatch(page, -1) {
			form.Set(m[1], html.UnescapeString(m[2]))
		}
		for k, v := range extra {
			form[k] = v
		}
		return f.page(http.MethodPost, f.base+path, form)
	}
	// The code page follows the sent code by a redirect (post, redirect, get).
	_, sent, err := post("/signin", page, url.Values{"email": {"bench@example.com"}})
	if err != nil {
		return err
	}
	if sent == nil {
		return errors.New("sign-in did not lead to the code page")
	}
	if page, _, err = f.page(http.MethodGet, f.base+sent.RequestURI(), nil); err != nil {
		return err
	}
	var code string
	for deadline := time.Now().Add(5 * time.Second); code == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		code = lastConsoleCode(srv.stdout.String())
	}
	if page, _, err = post("/signin/verify", page, url.Values{"code": {code}}); err != nil {
		return err
	}
	_, loc, err := post("/oauth/consent", page, url.Values{"decision": {"allow"}})
	if err != nil {
		return err
	}
	if loc == nil || loc.Query().Get("code") == "" {
		return errors.New("consent did not return a code")
	}
	return nil
}

func (f *fixture) authorizeURL(state string) string {
	sum := sha256.Sum256([]byte(pkceVerifier))
	return f.base + "/oauth/authorize?" + url.Values{"client_id": {f.clientID}, "redirect_uri": {f.redirectURI},
		"response_type": {"code"}, "state": {state}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"}}.Encode()
}

func (f *fixture) page(method, u string, form url.Values) (string, *url.URL, error) {
	req, _ := http.NewRequest(method, u, strings.NewReader(form.Encode()))
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := f.browser.Do(req)
	if err != nil {
		return "", nil, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if loc := resp.Header.Get("Location"); loc != "" {
		l, err := url.Parse(loc)
		return string(body), l, err
	}
	if resp.StatusCode != http.StatusOK {
		return "", nil, fmt.Errorf("%s %s: %d %s", method, u, resp.StatusCode, body)
	}
	return string(body), nil, nil
}

// mintCode asks the signed-in browser for a code: the grant covers the
// request, so the server answers with a redirect at once.
func (f *fixture) mintCode() (string, error) {
	_, loc, err := f.page(http.MethodGet, f.authorizeURL("mint"), nil)
	if err != nil {
		return "", err
	}
	if loc == nil || loc.Query().Get("code") == "" {
		return "", errors.New("authorize returned no code")
	}
	return loc.Query().Get("code"), nil
}

type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	raw          []byte
}

func (f *fixture) clientCredentials() (tokenResponse, error) {
	return f.token(http.DefaultClient, url.Values{"grant_type": {"client_credentials"}})
}

// token posts a token request with Basic authentication.
func (f *fixture) token(c *http.Client, form url.Values) (tokenResponse, error) {
	raw, err := f.post(c, "/oauth/token", form)
	if err != nil {
		return tokenResponse{}, err
	}
	var t tokenResponse
	err = json.Unmarshal(raw, &t)
	t.raw = raw
	return t, err
}

// post sends form to path with the demo client's credentials, as a
// confidential client does at the token and introspection endpoints, and
// returns the body of a 200.
func (f *fixture) post(c *http.Client, path string, form url.Values) ([]byte, error) {
	req, _ := http.NewRequest(http.MethodPost, f.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(f.clientID, f.clientSecret)
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %d %s", path, resp.StatusCode, raw)
	}
	return raw, nil
}

// scenario is one kind of request, made by conns workers: setup runs
// untimed before the clock starts and returns each worker's request.
type scenario struct {
	name string
	// do makes worker w's next request; errNoMore ends the worker early.
	do func(c *http.Client, w int) error
}

var errNoMore = errors.New("scenario input used up")

func scenarioNames() []string {
	return []string{"client_credentials", "refresh", "authorization_code", "get_subscriptions", "introspect", "jwks", "metadata"}
}

func bareScenario(base string) scenario {
	return scenario{name: "bare", do: func(c *http.Client, _ int) error { return get(c, base+"/", "") }}
}

// scenario prepares the named scenario for conns workers.
func (f *fixture) scenario(ctx context.Context, name string, conns int, d time.Duration) (scenario, error) {
	switch name {
	case "client_credentials":
		form := url.Values{"grant_type": {"client_credentials"}}
		return scenario{name: name, do: func(c *http.Client, _ int) error { _, err := f.token(c, form); return err }}, nil
	case "refresh":
		// Each worker rotates its own family, as an integration's refresh
		// loop does: every request presents the token the last one returned.
		current := make([]string, conns)
		for w := range current {
			t, err := f.clientCredentials()
			if err != nil {
				return scenario{}, err
			}
			current[w] = t.RefreshToken
		}
		return scenario{name: name, do: func(c *http.Client, w int) error {
			t, err := f.token(c, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {current[w]}})
			if err == nil {
				current[w] = t.RefreshToken
			}
			return err
		}}, nil
	case "authorization_code":
		codes, err := f.mintCodes(ctx, codePoolSize(d))
		if err != nil {
			return scenario{}, err
		}
		return scenario{name: name, do: func(c *http.Client, _ int) error {
			code, ok := <-codes
			if !ok {
				return errNoMore
			}
			_, err := f.token(c, url.Values{"grant_type": {"authorization_code"}, "code": {code},
				"redirect_uri": {f.redirectURI}, "code_verifier": {pkceVerifier}})
			return err
		}}, nil
	case "get_subscriptions":
		t, err := f.clientCredentials()
		if err != nil {
			return scenario{}, err
		}
		return scenario{name: name, do: func(c *http.Client, _ int) error { return get(c, f.base+"/subscriptions", t.AccessToken) }}, nil
	case "introspect":
		// A resource server asking about a client-credentials JWT (PRODUCT
		// T10): the signature and the revoked set, no token read; the
		// caller's authentication reads its client as at the token endpoint.
		t, err := f.clientCredentials()
		if err != nil {
			return scenario{}, err
		}
		form := url.Values{"token": {t.AccessToken}}
		return scenario{name: name, do: func(c *http.Client, _ int) error {
			raw, err := f.post(c, "/oauth/introspect", form)
			if err == nil && !bytes.HasPrefix(raw, []byte(`{"active":true`)) {
				err = fmt.Errorf("introspection: %s", raw)
			}
			return err
		}}, nil
	case "jwks":
		return scenario{name: name, do: func(c *http.Client, _ int) error { return get(c, f.base+"/.well-known/jwks.json", "") }}, nil
	case "metadata":
		return scenario{name: name, do: func(c *http.Client, _ int) error {
			return get(c, f.base+"/.well-known/oauth-authorization-server", "")
		}}, nil
	}
	return scenario{}, fmt.Errorf("unknown scenario %q", name)
}

// codePoolSize is enough codes for d at a rate well above what this
// machine redeems; a run that uses them up ends early and says so.
func codePoolSize(d time.Duration) int { return int(d.Seconds() * 4000) }

// mintCodes fills a closed channel with n fresh codes, minted by several
// goroutines through the signed-in session.
func (f *fixture) mintCodes(ctx context.Context, n int) (chan string, error) {
	codes := make(chan string, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				if ctx.Err() != nil {
					return
				}
				code, err := f.mintCode()
				if err != nil {
					mu.Lock()
					firstErr = errors.Join(firstErr, err)
					mu.Unlock()
					return
				}
				codes <- code
			}
		}()
	}
	wg.Wait()
	close(codes)
	return codes, firstErr
}

// get fetches u (with a bearer token when given) and reads the body.
func get(c *http.Client, u, bearer string) error {
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %d", u, resp.StatusCode)
	}
	return nil
}
