package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/nomosauth/nomosauth/internal/mail/smtptest"
	"github.com/nomosauth/nomosauth/internal/pages/formclient"
	"github.com/nomosauth/nomosauth/internal/seal"
	"github.com/nomosauth/nomosauth/internal/store/postgres/pgtest"
	"github.com/nomosauth/nomosauth/internal/testfix"
)

// Bounds the replicas are started with, and that the test holds them to.
const (
	revocationPoll = 200 * time.Millisecond
	keyPoll        = 500 * time.Millisecond
	// keyPublishDelay is how long a rotated key is published before it
	// signs (PRODUCT T8), shortened from 300 s for the test.
	keyPublishDelay = 2 * time.Second
)

// postgresDSN returns a fresh schema on the test database (pgtest).
func postgresDSN(t testing.TB) (string, *pgx.Conn) { return pgtest.Schema(t) }

// admin runs an admin command of the binary and decodes its --json output.
func admin(t testing.TB, bin, db string, args ...string) map[string]any {
	t.Helper()
	out, err := exec.Command(bin, append(append(args, "--db", db), "--json")...).CombinedOutput()
	if err != nil {
		t.Fatalf("nomosauth %v: %v\n%s", args, err, out)
	}
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatalf("nomosauth %v: %s", args, out)
	}
	return m
}

// within polls check until it holds or bound (plus slack for a loaded
// machine) has passed, and returns how long it took.
func within(t *testing.T, bound time.Duration, what string, check func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := start.Add(bound + 5*time.Second)
	for !check() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, bound)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

func apiStatus(t *testing.T, base, accessToken string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/customers", nil)
	req.Header.Set("Authorization", "Bearer "+accessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func postForm(base string, form url.Values, id, secret string) (int, map[string]any, error) {
	req, _ := http.NewRequest(http.MethodPost, base+"/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var body map[string]any
	json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body, nil
}

// oauthPost posts form to an endpoint of the authorization server with
// Basic id:secret and returns the status and the JSON body, if any.
func oauthPost(t *testing.T, endpoint string, form url.Values, id, secret string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

// TestTwoReplicas starts two `nomosauth serve` processes on one PostgreSQL
// and shows they act as one server (PRODUCT O5, S3, A11, T6).
func TestTwoReplicas(t *testing.T) {
	db, conn := postgresDSN(t)
	bin := binary(t)
	org := admin(t, bin, db, "org", "create", "--name", "Sunny Energy")["id"].(string)
	client := admin(t, bin, db, "client", "create", "--org", org, "--name", "HomeHub", "--redirect-uri", "http://127.0.0.1/cb")
	id, secret := client["client_id"].(string), client["client_secret"].(string)
	cus := admin(t, bin, db, "customer", "create", "--org", org, "--email", "ada@example.com", "--first-name", "Ada", "--last-name", "Lovelace")["id"].(string)
	admin(t, bin, db, "subscription", "create", "--customer", cus, "--street", "Torstraße", "--house-number", "119", "--zip", "10115", "--city", "Berlin", "--meter-number", "1APA0195124010", "--iban", "DE89370400440532013000", "--account-holder", "Ada Lovelace")

	mailbox := smtptest.Start(t)
	args := []string{"--smtp-url", mailbox.URL, "--mail-from", "noreply@auth.example", "--rate-limit", "0", "--address-rate-limit", "0",
		"--revocation-poll", revocationPoll.String(), "--key-poll", keyPoll.String(), "--key-publish-delay", keyPublishDelay.String()}
	a, b := start(t, bin, db, args...), start(t, bin, db, args...)
	ctx := context.Background()
	cc := func(base string) *clientcredentials.Config {
		return &clientcredentials.Config{ClientID: id, ClientSecret: secret, TokenURL: base + "/oauth/token"}
	}

	t.Run("token_from_A_works_on_B", func(t *testing.T) {
		tok, err := cc(a.base).Token(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if status := apiStatus(t, b.base, tok.AccessToken); status != http.StatusOK {
			t.Fatalf("B answered %d to A's token", status)
		}
	})

	// familyRows counts the rows of a family on the shared database.
	familyRows := func(t *testing.T, id string) (n int) {
		t.Helper()
		if err := conn.QueryRow(ctx, `SELECT COUNT(*) FROM families WHERE id = $1`, id).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	// The token is sealed and its family has no row (issue 17): the 20
	// first refreshes below create it, once, across both replicas.
	t.Run("T5/20_concurrent_refreshes_across_replicas_get_one_token", func(t *testing.T) {
		tok, err := cc(a.base).Token(ctx)
		if err != nil {
			t.Fatal(err)
		}
		sealedFamily := testfix.FamilyOf(t, tok.AccessToken)
		if !seal.IsSealed(tok.RefreshToken) || familyRows(t, sealedFamily) != 0 {
			t.Fatalf("issue 17: want a sealed refresh token whose family has no row (sealed %v)", seal.IsSealed(tok.RefreshToken))
		}
		refresh := func(base, rt string) (int, string) {
			status, body, err := postForm(base, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, id, secret)
			if err != nil {
				t.Error(err)
			}
			got, _ := body["refresh_token"].(string)
			return status, got
		}
		var wg sync.WaitGroup
		statuses, tokens := make([]int, 20), make([]string, 20)
		for i := range statuses {
			wg.Go(func() {
				base := a.base
				if i%2 == 1 {
					base = b.base
				}
				statuses[i], tokens[i] = refresh(base, tok.RefreshToken)
			})
		}
		wg.Wait()
		// The family's row holds its live generation; no token has a row.
		family := sealedFamily
		state := func() (generation, tokenRows int, revokedAt int64) {
			if err := conn.QueryRow(ctx, `SELECT generation, (SELECT COUNT(*) FROM refresh_tokens WHERE family_id = $1), revoked_at
				FROM families WHERE id = $1`, family).Scan(&generation, &tokenRows, &revokedAt); err != nil {
				t.Fatal(err)
			}
			return generation, tokenRows, revokedAt
		}
		if familyRows(t, family) != 1 {
			t.Fatalf("issue 17: the sealed token's family %s has %d rows, want one", family, familyRows(t, family))
		}
		// S3: one rotation (generation 1 live); T5: every caller got 200
		// and that one token.
		if generation, rows, revokedAt := state(); generation != 1 || rows != 0 || revokedAt != 0 {
			t.Fatalf("after 20 concurrent refreshes (statuses %v): generation %d, %d token rows, family revoked at %d; want generation 1, no rows, not revoked", statuses, generation, rows, revokedAt)
		}
		for i := range statuses {
			if statuses[i] != http.StatusOK || tokens[i] != tokens[0] {
				t.Fatalf("refresh %d: status %d, token shared with the first: %v (statuses %v)", i, statuses[i], tokens[i] == tokens[0], statuses)
			}
		}
		// The shared token works on either replica; then the old one is reuse.
		if status, _ := refresh(b.base, tokens[0]); status != http.StatusOK {
			t.Fatalf("the shared refresh token failed on B: %d", status)
		}
		if status, _ := refresh(a.base, tok.RefreshToken); status != http.StatusUnauthorized {
			t.Fatalf("the rotated token after its child was used: %d, want invalid_grant", status)
		}
		if _, _, revokedAt := state(); revokedAt == 0 {
			t.Fatal("reuse after the child was used did not revoke the family")
		}
	})

	// Issue 17 point 5: revoking on A a family that has no row leaves a
	// tombstone B learns of within its revocation poll: B refuses the
	// access token and the sealed refresh token.
	t.Run("Issue17/revoked_unmaterialized_family_on_both_replicas", func(t *testing.T) {
		tok, err := cc(a.base).Token(ctx)
		if err != nil {
			t.Fatal(err)
		}
		family := testfix.FamilyOf(t, tok.AccessToken)
		if !seal.IsSealed(tok.RefreshToken) || familyRows(t, family) != 0 {
			t.Fatal("issue 17: want a sealed refresh token whose family has no row")
		}
		if status := apiStatus(t, b.base, tok.AccessToken); status != http.StatusOK {
			t.Fatalf("B answered %d before the revocation", status)
		}
		if status, _ := oauthPost(t, a.base+"/oauth/revoke", url.Values{"token": {tok.AccessToken}}, id, secret); status != http.StatusOK {
			t.Fatalf("revoke: %d", status)
		}
		within(t, revocationPoll, "B refuses the revoked family's access token", func() bool {
			return apiStatus(t, b.base, tok.AccessToken) == http.StatusUnauthorized
		})
		if status, body, _ := postForm(b.base, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}, id, secret); status != http.StatusUnauthorized || body["error"] != "invalid_grant" {
			t.Fatalf("B refreshed a revoked sealed token: %d %v", status, body)
		}
		if familyRows(t, family) != 1 {
			t.Fatal("issue 17: no tombstone row")
		}
	})

	browser := formclient.New(t, a.base)
	app := &oauth2.Config{ClientID: id, ClientSecret: secret, RedirectURL: "http://127.0.0.1:40000/cb",
		Endpoint: oauth2.Endpoint{AuthURL: a.base + "/oauth/authorize", TokenURL: a.base + "/oauth/token"}}
	onB := *app
	onB.Endpoint = oauth2.Endpoint{AuthURL: b.base + "/oauth/authorize", TokenURL: b.base + "/oauth/token"}

	t.Run("journey_started_on_A_finishes_on_B", func(t *testing.T) {
		verifier := oauth2.GenerateVerifier()
		browser.Get(app.AuthCodeURL("s1", oauth2.S256ChallengeOption(verifier)))
		browser.Submit("/signin", url.Values{"email": {"ada@example.com"}})
		code := formclient.EmailedCode(mailbox.Next(t).Text)
		browser.Rebase(b.base) // the load balancer sends the rest to B
		browser.Submit("/signin/verify", url.Values{"code": {code}})
		status, loc := browser.Submit("/oauth/consent", url.Values{"decision": {"allow"}})
		if status != http.StatusSeeOther || loc.Query().Get("code") == "" || loc.Query().Get("state") != "s1" {
			t.Fatalf("consent on B: %d %v\n%s", status, loc, browser.Page)
		}

		// T6 across replicas: redeemed on A, replayed on B.
		tok, err := app.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatalf("exchange on A: %v", err)
		}
		if _, err := onB.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier)); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
			t.Fatalf("replay on B: %v", err)
		}
		took := within(t, revocationPoll, "A refuses the tokens of a code replayed on B", func() bool {
			return apiStatus(t, a.base, tok.AccessToken) == http.StatusUnauthorized
		})
		t.Logf("A refused the replayed code's access token after %v (bound %v)", took.Round(time.Millisecond), revocationPoll)
	})

	t.Run("A11/consent_revoked_through_A_refused_by_B", func(t *testing.T) {
		browser.Rebase(a.base)
		verifier := oauth2.GenerateVerifier()
		// The grant covers the request: straight back with a code.
		loc := browser.Callback(onB.AuthCodeURL("s2", oauth2.S256ChallengeOption(verifier)))
		tok, err := onB.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}
		if status := apiStatus(t, b.base, tok.AccessToken); status != http.StatusOK {
			t.Fatalf("fresh customer token on B: %d", status)
		}
		browser.Get(a.base + "/account/apps")
		if status, _ := browser.Submit("/account/apps/revoke", nil); status != http.StatusOK {
			t.Fatalf("revoke on A: %d", status)
		}
		took := within(t, revocationPoll, "B refuses a grant revoked through A", func() bool {
			return apiStatus(t, b.base, tok.AccessToken) == http.StatusUnauthorized
		})
		t.Logf("B refused the revoked grant's access token after %v (bound %v)", took.Round(time.Millisecond), revocationPoll)
	})

	t.Run("T9/revoked_through_A_refused_by_B", func(t *testing.T) {
		tok, err := cc(a.base).Token(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if status := apiStatus(t, b.base, tok.AccessToken); status != http.StatusOK {
			t.Fatalf("fresh token on B: %d", status)
		}
		if status, _ := oauthPost(t, a.base+"/oauth/revoke", url.Values{"token": {tok.AccessToken}}, id, secret); status != http.StatusOK {
			t.Fatalf("revoke on A: %d", status)
		}
		if status := apiStatus(t, a.base, tok.AccessToken); status != http.StatusUnauthorized {
			t.Fatalf("A answered %d to the token revoked through it, want 401 at once", status)
		}
		took := within(t, revocationPoll, "B refuses a token revoked at A's revocation endpoint", func() bool {
			_, body := oauthPost(t, b.base+"/oauth/introspect", url.Values{"token": {tok.AccessToken}}, id, secret)
			return apiStatus(t, b.base, tok.AccessToken) == http.StatusUnauthorized && body["active"] == false
		})
		t.Logf("B refused the revoked access token after %v (bound %v)", took.Round(time.Millisecond), revocationPoll)
	})

	t.Run("T8/key_rotated_published_by_B_then_signs_after_the_delay", func(t *testing.T) {
		before := testfix.JWKSKids(t, b.base)
		oldKid := testfix.KidOf(t, func() string {
			tok, err := cc(a.base).Token(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return tok.AccessToken
		}())
		// The operator rotates with the CLI; A and B both reload from the database.
		rotated := time.Now()
		admin(t, bin, db, "keys", "rotate", "--key-publish-delay", keyPublishDelay.String(), "--key-poll", keyPoll.String())
		var newKid string
		took := within(t, keyPoll, "B publishes the rotated key", func() bool {
			for _, k := range testfix.JWKSKids(t, b.base) {
				if !contains(before, k) {
					newKid = k
					return true
				}
			}
			return false
		})
		t.Logf("B published the new key after %v (bound %v)", took.Round(time.Millisecond), keyPoll)
		if time.Since(rotated) < keyPublishDelay-500*time.Millisecond {
			tok, err := cc(a.base).Token(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if kid := testfix.KidOf(t, tok.AccessToken); kid != oldKid {
				t.Fatalf("A signs with %s inside the publication delay, want the old key %s", kid, oldKid)
			}
		}
		// Two polls plus the delay after the rotation (keys rotate).
		within(t, keyPublishDelay+2*keyPoll, "A signs with the new key", func() bool {
			tok, err := cc(a.base).Token(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if testfix.KidOf(t, tok.AccessToken) != newKid {
				return false
			}
			if status := apiStatus(t, b.base, tok.AccessToken); status != http.StatusOK {
				t.Fatalf("B refused A's token signed with the new key: %d", status)
			}
			return true
		})
	})

	t.Run("S2/kill_one_replica_during_load", func(t *testing.T) {
		type issued struct{ refresh string }
		var mu sync.Mutex
		var got []issued
		var aFailures int
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				base := a.base
				if w%2 == 1 {
					base = b.base
				}
				for {
					select {
					case <-stop:
						return
					default:
					}
					status, body, err := postForm(base, url.Values{"grant_type": {"client_credentials"}}, id, secret)
					mu.Lock()
					switch {
					case err == nil && status == http.StatusOK:
						got = append(got, issued{body["refresh_token"].(string)})
					case base == a.base:
						aFailures++
					}
					mu.Unlock()
				}
			}()
		}
		time.Sleep(500 * time.Millisecond)
		if err := b.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		b.cmd.Wait()
		time.Sleep(700 * time.Millisecond)
		close(stop)
		wg.Wait()
		if aFailures > 0 {
			t.Fatalf("A failed %d requests while B died", aFailures)
		}
		// Every token a client received is committed: each refreshes on A.
		for _, is := range got {
			status, _, err := postForm(a.base, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {is.refresh}}, id, secret)
			if err != nil || status != http.StatusOK {
				t.Fatalf("a refresh token issued before the kill was lost: %d %v", status, err)
			}
		}
		t.Logf("%d tokens issued across the kill, every one refreshed on A", len(got))
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
