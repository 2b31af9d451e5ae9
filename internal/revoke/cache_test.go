package revoke

import (
	"errors"
	"testing"
	"time"

	"github.com/nomosauth/nomosauth/internal/token"
)

// countingVerifier counts the signature checks it is asked for.
type countingVerifier struct {
	calls  int
	claims token.Claims
	err    error
}

func (v *countingVerifier) Verify(string, time.Time) (token.Claims, error) {
	v.calls++
	return v.claims, v.err
}

func TestVerifiedCache(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	inner := &countingVerifier{claims: token.Claims{ClientID: "client_a", IssuedAt: now.Unix(), NotBefore: now.Unix(), ExpiresAt: now.Add(token.AccessTTL).Unix()}}
	c := &VerifiedCache{Verifier: inner, Max: 64}

	for range 3 {
		got, err := c.Verify("token-a", now)
		if err != nil || got.ClientID != "client_a" {
			t.Fatalf("Verify: %+v %v", got, err)
		}
	}
	if inner.calls != 1 {
		t.Fatalf("checked the signature %d times, want once", inner.calls)
	}
	if _, err := c.Verify("token-b", now); err != nil || inner.calls != 2 {
		t.Fatalf("another token must be checked: %d calls, %v", inner.calls, err)
	}
	// Not-before and expiry are checked on every hit, with the leeway.
	if _, err := c.Verify("token-a", now.Add(-token.Leeway-time.Second)); err == nil {
		t.Fatal("a cached token before nbf was accepted")
	}
	if _, err := c.Verify("token-a", now.Add(token.AccessTTL+token.Leeway)); !errors.Is(err, token.ErrInvalidToken) {
		t.Fatalf("an expired cached token: %v", err)
	}
	// A failed check is never cached.
	inner.err = token.ErrInvalidToken
	for range 2 {
		if _, err := c.Verify("token-bad", now); !errors.Is(err, token.ErrInvalidToken) {
			t.Fatalf("bad token: %v", err)
		}
	}
	if inner.calls != 4 {
		t.Fatalf("bad tokens must be checked every time: %d calls", inner.calls)
	}
	// The cache stays bounded.
	inner.err = nil
	for i := range 1000 {
		c.Verify(string(rune('a'+i%26))+time.Duration(i).String(), now)
	}
	total := 0
	for i := range c.shards {
		total += len(c.shards[i].m)
	}
	if total > 64+cacheShards {
		t.Fatalf("cache holds %d entries, Max is 64", total)
	}
}

// go test ./internal/revoke -run '^$' -bench . -benchmem
func BenchmarkVerifiedCacheHit(b *testing.B) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	inner := &countingVerifier{claims: token.Claims{ClientID: "client_a", IssuedAt: now.Unix(), NotBefore: now.Unix(), ExpiresAt: now.Add(token.AccessTTL).Unix()}}
	c := &VerifiedCache{Verifier: inner, Max: 1024}
	raw := "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJjbGllbnRfYSJ9.c2lnbmF0dXJl"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Verify(raw, now.Add(time.Minute)); err != nil {
			b.Fatal(err)
		}
	}
}
