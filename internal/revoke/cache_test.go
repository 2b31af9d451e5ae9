package revoke

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/ids"
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

// TestVerifiedCacheOneEntryPerToken drives the cache with the real
// verifier: a token re-encoded as another string (line breaks the decoder
// skips, unused low bits of a segment's last character set, the JSON
// serialization) is refused, so one token string is one entry and cannot
// be spent to make the cache check its signature again (PRODUCT T8).
func TestVerifiedCacheOneEntryPerToken(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	gen := ids.Generator{Rand: rand.Reader}
	k, err := token.GenerateKey(token.AlgES256, rand.Reader, gen, now)
	if err != nil {
		t.Fatal(err)
	}
	ring, err := token.NewKeyRing([]domain.SigningKey{k}, now)
	if err != nil {
		t.Fatal(err)
	}
	is := &token.Issuer{Ring: ring, Issuer: "https://iss.example", Audience: "https://api.example", IDs: gen}
	raw, err := is.Mint(token.Grant{ClientID: "client_a", OrgID: "org_a", Scope: "read:*"}, now)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(raw, ".")
	flipped := slices.Clone(parts)
	sig := flipped[2] // 64 bytes: 86 characters, the last one's low 4 bits unused
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	flipped[2] = sig[:len(sig)-1] + string(alphabet[strings.IndexByte(alphabet, sig[len(sig)-1])|1])
	flattened, _ := json.Marshal(map[string]string{"protected": parts[0], "payload": parts[1], "signature": parts[2]})
	c := &VerifiedCache{Verifier: is, Max: 64}
	if _, err := c.Verify(raw, now); err != nil {
		t.Fatal(err)
	}
	for name, variant := range map[string]string{
		"line_break":  parts[0] + "." + parts[1][:8] + "\n" + parts[1][8:] + "." + parts[2],
		"unused_bits": strings.Join(flipped, "."),
		"json":        string(flattened),
	} {
		t.Run("T8/"+name, func(t *testing.T) {
			if _, err := c.Verify(variant, now); !errors.Is(err, token.ErrInvalidToken) {
				t.Fatalf("the cache accepted the token re-encoded: %v", err)
			}
		})
	}
	t.Run("T8/one_token_string_one_cache_entry", func(t *testing.T) {
		total := 0
		for i := range c.shards {
			total += len(c.shards[i].m)
		}
		if total != 1 {
			t.Fatalf("one token holds %d cache entries", total)
		}
	})
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
