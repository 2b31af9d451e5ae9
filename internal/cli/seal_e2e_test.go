package cli

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// sealKeyOf is the key id a sealed refresh token names (internal/seal's
// layout: format byte, then the 8-byte key id).
func sealKeyOf(t *testing.T, rt string) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(rt, "nrt_"))
	if err != nil || len(b) < 9 {
		t.Fatalf("not a sealed token: %q", rt)
	}
	return hex.EncodeToString(b[1:9])
}

// TestIssue17KeysRotateSeal is issue 17 point 2 across two replicas of the
// real wiring on one database: `keys rotate-seal` stores a new seal key,
// audited; both replicas load it with the key poll and seal with it once
// its handover (two polls) has come; a token the old key sealed still
// refreshes on either replica.
func TestIssue17KeysRotateSeal(t *testing.T) {
	const keyPoll = 50 * time.Millisecond
	db := filepath.Join(t.TempDir(), "seal.db")
	org := jsonOut(t, run(t, db, "org", "create", "--name", "Org", "--json"))["id"].(string)
	client := jsonOut(t, run(t, db, "client", "create", "--org", org, "--name", "Backend", "--json"))
	args := []string{"--addr", "127.0.0.1:0", "--issuer", "http://127.0.0.1", "--dev", "--rate-limit", "0", "--key-poll", keyPoll.String()}
	_, a := startApp(t, db, args...)
	_, b := startApp(t, db, args...)
	cc := func(base string) *clientcredentials.Config {
		return &clientcredentials.Config{ClientID: client["client_id"].(string), ClientSecret: client["client_secret"].(string), TokenURL: base + "/oauth/token"}
	}
	refreshToken := func(base string) string {
		t.Helper()
		tok, err := cc(base).Token(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return tok.RefreshToken
	}
	oldToken := refreshToken(a)
	old := sealKeyOf(t, oldToken)
	if old != sealKeyOf(t, refreshToken(b)) {
		t.Fatal("the replicas seal under different keys")
	}

	rotated := jsonOut(t, run(t, db, "keys", "rotate-seal", "--key-poll", keyPoll.String(), "--json"))
	next := rotated["id"].(string)
	if next == old || rotated["seals_from"] == "" || rotated["previous_retires_at"] == "" {
		t.Fatalf("rotate-seal printed %v", rotated)
	}
	for _, base := range []string{a, b} {
		deadline := time.Now().Add(5 * time.Second)
		for sealKeyOf(t, refreshToken(base)) != next {
			if time.Now().After(deadline) {
				t.Fatalf("%s still seals under the old key", base)
			}
			time.Sleep(keyPoll)
		}
	}
	// The old key's token still opens, on the other replica too.
	ts := (&oauth2.Config{ClientID: client["client_id"].(string), ClientSecret: client["client_secret"].(string),
		Endpoint: oauth2.Endpoint{TokenURL: b + "/oauth/token", AuthStyle: oauth2.AuthStyleInHeader}}).TokenSource(context.Background(), &oauth2.Token{RefreshToken: oldToken})
	if _, err := ts.Token(); err != nil {
		t.Fatalf("a token of the replaced key: %v", err)
	}
	audit := run(t, db, "audit", "list", "--json")
	if !strings.Contains(audit.stdout, "seal_key.rotated") || !strings.Contains(audit.stdout, next) || !strings.Contains(audit.stdout, "seal_key.created") {
		t.Fatalf("O8: audit lacks the seal key rows: %s", audit.stdout)
	}
}
