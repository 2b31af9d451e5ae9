package cli

import (
	"bytes"
	"context"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2/clientcredentials"

	"github.com/nomosauth/nomosauth/internal/config"
	"github.com/nomosauth/nomosauth/internal/testfix"
)

// TestKeyRotationPublishesBeforeSigning is PRODUCT T8 across two replicas
// of the real wiring on one database: `keys rotate` puts the new key in
// both JWKS within the key poll, both keep signing with the old key for
// the publication delay, which is also the JWKS max-age, and both sign
// with the new key after it, each accepting the other's tokens.
func TestKeyRotationPublishesBeforeSigning(t *testing.T) {
	const delay, keyPoll = 2 * time.Second, 50 * time.Millisecond
	db := filepath.Join(t.TempDir(), "keys.db")
	org := jsonOut(t, run(t, db, "org", "create", "--name", "Org", "--json"))["id"].(string)
	client := jsonOut(t, run(t, db, "client", "create", "--org", org, "--name", "Backend", "--json"))
	args := []string{"--addr", "127.0.0.1:0", "--issuer", "http://127.0.0.1", "--dev", "--rate-limit", "0",
		"--key-poll", keyPoll.String(), "--key-publish-delay", delay.String()}
	_, a := startApp(t, db, args...)
	_, b := startApp(t, db, args...)
	token := func(base string) string {
		t.Helper()
		cc := clientcredentials.Config{ClientID: client["client_id"].(string), ClientSecret: client["client_secret"].(string), TokenURL: base + "/oauth/token"}
		tok, err := cc.Token(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return tok.AccessToken
	}
	old := testfix.KidOf(t, token(a))

	t.Run("T8/jwks_max_age_is_the_publish_delay", func(t *testing.T) {
		resp, err := http.Get(b + "/.well-known/jwks.json")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Cache-Control"); got != "public, max-age=2" {
			t.Fatalf("Cache-Control %q", got)
		}
	})

	// keys rotate is told a poll bound five times the servers' poll: a loaded
	// machine delays their 50 ms polls (a larger bound is always safe).
	rotated := jsonOut(t, run(t, db, "keys", "rotate", "--key-publish-delay", delay.String(), "--key-poll", (5*keyPoll).String(), "--json"))
	next := rotated["id"].(string)
	signsFrom, err := time.Parse(time.RFC3339Nano, rotated["signs_from"].(string))
	if err != nil {
		t.Fatal(err)
	}

	t.Run("T8/new_key_published_at_once_old_key_still_signs", func(t *testing.T) {
		deadline := time.Now().Add(5 * time.Second)
		for _, base := range []string{a, b} {
			for !slices.Contains(testfix.JWKSKids(t, base), next) {
				if time.Now().After(deadline) {
					t.Fatalf("%s does not publish the new key", base)
				}
				time.Sleep(5 * time.Millisecond)
			}
			// A resource server that fetched the JWKS just before this
			// replica published the key caches it for the max-age: the key
			// must not sign before that has passed.
			if seen := time.Now(); signsFrom.Sub(seen) < delay {
				t.Fatalf("%s published the new key %v before it signs, less than the JWKS max-age %v", base, signsFrom.Sub(seen), delay)
			}
			if !slices.Contains(testfix.JWKSKids(t, base), old) {
				t.Fatalf("%s dropped the old key", base)
			}
		}
		if time.Now().After(signsFrom.Add(-500 * time.Millisecond)) {
			t.Skip("the machine is too slow to look before the handover")
		}
		for _, base := range []string{a, b} {
			if kid := testfix.KidOf(t, token(base)); kid != old {
				t.Fatalf("%s signs with %s inside the publication delay, want the old key %s", base, kid, old)
			}
		}
	})

	t.Run("T8/new_key_signs_after_the_delay", func(t *testing.T) {
		time.Sleep(time.Until(signsFrom)) // the handover is a wall-clock time across processes
		for _, pair := range [][2]string{{a, b}, {b, a}} {
			raw := token(pair[0])
			if kid := testfix.KidOf(t, raw); kid != next {
				t.Fatalf("%s signs with %s after the delay, want the new key %s", pair[0], kid, next)
			}
			req, _ := http.NewRequest(http.MethodGet, pair[1]+"/customers", nil)
			req.Header.Set("Authorization", "Bearer "+raw)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s refused a token of %s signed with the new key: %d", pair[1], pair[0], resp.StatusCode)
			}
		}
	})
}

// TestKeyAlgorithm is PRODUCT T8's algorithm rule: `keys rotate` keeps the
// current key's algorithm unless --alg changes it, and serve refuses to
// start with a --signing-alg the database's key does not have, saying what
// to do, instead of silently signing with the other one.
func TestKeyAlgorithm(t *testing.T) {
	db := filepath.Join(t.TempDir(), "alg.db")
	rotate := func(args ...string) map[string]any {
		return jsonOut(t, run(t, db, append([]string{"keys", "rotate", "--key-publish-delay", "0s", "--json"}, args...)...))
	}
	t.Run("T8/keys_rotate_keeps_the_algorithm", func(t *testing.T) {
		if got := rotate("--alg", "EdDSA")["alg"]; got != "EdDSA" {
			t.Fatalf("alg %v", got)
		}
		if got := rotate()["alg"]; got != "EdDSA" {
			t.Fatalf("rotation without --alg made %v, want the current EdDSA", got)
		}
	})
	t.Run("T8/keys_rotate_default_delay_is_the_jwks_max_age_after_two_polls", func(t *testing.T) {
		before := time.Now()
		out := jsonOut(t, run(t, db, "keys", "rotate", "--json"))
		from, err := time.Parse(time.RFC3339Nano, out["signs_from"].(string))
		if err != nil || from.Before(before.Add(310*time.Second)) || from.After(time.Now().Add(310*time.Second)) {
			t.Fatalf("signs_from %v (%v), want 310 s from now: two 5 s key polls and the 300 s max-age", out["signs_from"], err)
		}
		// A rotation with a shorter delay queues behind the waiting one,
		// and says so.
		queued := jsonOut(t, run(t, db, "keys", "rotate", "--key-publish-delay", "0s", "--key-poll", "1ms", "--json"))
		after, err := time.Parse(time.RFC3339Nano, queued["signs_from"].(string))
		if err != nil || !after.Equal(from.Add(time.Microsecond)) {
			t.Fatalf("a rotation behind one signing from %v says it signs from %v, want just after", out["signs_from"], queued["signs_from"])
		}
	})
	build := func(args ...string) error {
		var stderr bytes.Buffer
		e := env{ctx: t.Context(), stdin: strings.NewReader(""), stdout: &bytes.Buffer{}, stderr: &stderr, getenv: func(string) string { return "" }}
		var cfg config.Config
		fs, bindErr := flags(e, "serve", &cfg, config.Serve())
		if code := parse(e, fs, bindErr, append([]string{"--db", db, "--log-level", "error", "--dev", "--issuer", "http://127.0.0.1"}, args...)); code >= 0 {
			t.Fatalf("flags: %s", stderr.String())
		}
		cfg.Finish()
		a, err := build(e, cfg)
		if err == nil {
			a.store.Close()
		}
		return err
	}
	t.Run("T8/serve_refuses_another_signing_alg", func(t *testing.T) {
		err := build("--signing-alg", "RS256")
		if err == nil || !strings.Contains(err.Error(), "nomosauth keys rotate --alg RS256") || !strings.Contains(err.Error(), "EdDSA") {
			t.Fatalf("serve --signing-alg RS256 on an EdDSA key: %v", err)
		}
	})
	t.Run("T8/serve_with_the_key_algorithm_or_none_starts", func(t *testing.T) {
		for _, args := range [][]string{nil, {"--signing-alg", "EdDSA"}} {
			if err := build(args...); err != nil {
				t.Fatalf("serve %v: %v", args, err)
			}
		}
	})
}
