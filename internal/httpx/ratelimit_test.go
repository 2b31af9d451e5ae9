package httpx

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nomosauth/nomosauth/internal/problem"
)

func TestRateLimiter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := NewRateLimiter(2, 3, func() time.Time { return now })
	for i, want := range []int{2, 1, 0} {
		d := l.Take("a")
		if !d.Allowed || d.Remaining != want || d.Limit != 3 {
			t.Fatalf("take %d: %+v", i, d)
		}
	}
	d := l.Take("a")
	if d.Allowed || d.RetryAfter != 1 || d.Reset != 2 || d.Err() == nil {
		t.Fatalf("over the limit: %+v", d)
	}
	if !l.Take("b").Allowed {
		t.Fatal("keys share a bucket")
	}
	now = now.Add(500 * time.Millisecond) // one request regained at 2/s
	if d := l.Take("a"); !d.Allowed || d.Remaining != 0 {
		t.Fatalf("after refill: %+v", d)
	}
	now = now.Add(time.Hour) // full buckets are swept
	for i := range l.shards {
		l.shards[i].sweep(now, l.burst)
		if n := len(l.shards[i].buckets); n != 0 {
			t.Fatalf("shard %d keeps %d refilled buckets", i, n)
		}
	}
	off := NewRateLimiter(0, 0, time.Now)
	if d := off.Take("a"); !d.Allowed || d.Enabled {
		t.Fatalf("disabled limiter: %+v", d)
	}
	var nilLimiter *RateLimiter
	if !nilLimiter.Take("a").Allowed {
		t.Fatal("nil limiter refused")
	}
}

// TestRateLimiterPeek: Peek decides as Take would and spends nothing, so a
// budget can be checked before work and spent only on some outcomes.
func TestRateLimiterPeek(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := NewRateLimiter(1, 2, func() time.Time { return now })
	for range 5 {
		if d := l.Peek("a"); !d.Allowed || d.Remaining != 2 {
			t.Fatalf("peek on a fresh key: %+v", d)
		}
	}
	l.Take("a")
	l.Take("a")
	d := l.Peek("a")
	if d.Allowed || d.RetryAfter != 1 || d.Err() == nil {
		t.Fatalf("peek on a spent key: %+v", d)
	}
	now = now.Add(time.Second)
	if d := l.Peek("a"); !d.Allowed || d.Remaining != 1 {
		t.Fatalf("peek after refill: %+v", d)
	}
	if d := l.Take("a"); !d.Allowed || d.Remaining != 0 {
		t.Fatalf("take after peeks: %+v", d)
	}
	var nilLimiter *RateLimiter
	if !nilLimiter.Peek("a").Allowed {
		t.Fatal("nil limiter refused a peek")
	}
}

// TestRateLimiterSpend: Spend spends at once, so a bucket of two lets two
// through however many ask; a refund gives one back, a refused spend's
// refund gives nothing, and the nil limiter allows all.
func TestRateLimiterSpend(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := NewRateLimiter(1.0/60, 2, func() time.Time { return now })
	first, refundFirst := l.Spend("a")
	second, _ := l.Spend("a")
	third, refundThird := l.Spend("a")
	if !first.Allowed || !second.Allowed || third.Allowed || third.RetryAfter == 0 {
		t.Fatalf("spends of a bucket of two: %+v %+v %+v", first, second, third)
	}
	refundThird()
	if l.Peek("a").Allowed {
		t.Fatal("a refused spend's refund gave a request back")
	}
	refundFirst()
	if d := l.Peek("a"); !d.Allowed || d.Remaining != 1 {
		t.Fatalf("after a refund: %+v", d)
	}
	var nilLimiter *RateLimiter
	d, refund := nilLimiter.Spend("a")
	refund()
	if !d.Allowed {
		t.Fatal("nil limiter refused a spend")
	}
}

// TestRateLimiterHeaders pins what a client sees: the RateLimit fields on
// every answer and Retry-After on a 429 (RFC 6585 §4; RFC 9110 §10.2.3),
// rounded up to whole seconds so a client that waits that long gets in.
func TestRateLimiterHeaders(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := NewRateLimiter(0.5, 2, func() time.Time { return now }) // one request per 2 s
	for range 2 {
		l.Take("a")
	}
	d := l.Take("a")
	h := http.Header{}
	d.SetHeaders(h)
	if got := [3]string{h.Get("RateLimit-Limit"), h.Get("RateLimit-Remaining"), h.Get("RateLimit-Reset")}; got != [3]string{"2", "0", "4"} {
		t.Fatalf("RateLimit fields %v", got)
	}
	var p *problem.Error
	if !errors.As(d.Err(), &p) || p.Status != http.StatusTooManyRequests || p.Header.Get("Retry-After") != "2" {
		t.Fatalf("refusal: %+v", d.Err())
	}

	now = now.Add(1500 * time.Millisecond) // 0.75 of a request regained
	if d := l.Take("a"); d.Allowed || d.RetryAfter != 1 || d.Remaining != 0 {
		t.Fatalf("partial refill: %+v", d)
	}
	now = now.Add(500 * time.Millisecond) // refusals spent nothing: one whole request now
	if d := l.Take("a"); !d.Allowed || d.Remaining != 0 || d.Reset != 4 {
		t.Fatalf("after Retry-After: %+v", d)
	}
	now = now.Add(3 * time.Second) // 1.5 regained, 0.5 left after this one
	if d := l.Take("a"); !d.Allowed || d.Remaining != 0 || d.Reset != 3 {
		t.Fatalf("remaining rounds down: %+v", d)
	}
	now = now.Add(10 * time.Second)
	if d := l.Take("a"); !d.Allowed || d.Remaining != 1 || d.Reset != 2 {
		t.Fatalf("full again: %+v", d)
	}

	h = http.Header{}
	NewRateLimiter(0, 0, time.Now).Take("a").SetHeaders(h)
	if len(h) != 0 {
		t.Fatalf("a disabled limiter sets %v", h)
	}
}

// TestRateLimiterConcurrent runs under -race: concurrent callers on one key
// get exactly the burst between them, while other keys go on untouched.
func TestRateLimiterConcurrent(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := NewRateLimiter(1, 50, func() time.Time { return now })
	var shared, own atomic.Int64
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Go(func() {
			if l.Take("shared").Allowed {
				shared.Add(1)
			}
			if l.Take("own" + strconv.Itoa(i)).Allowed {
				own.Add(1)
			}
		})
	}
	wg.Wait()
	if shared.Load() != 50 || own.Load() != 200 {
		t.Fatalf("allowed %d on the shared key (want 50), %d on own keys (want 200)", shared.Load(), own.Load())
	}
}

func TestClientAddr(t *testing.T) {
	p := HTTPSPolicy{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	for _, tc := range []struct{ name, remote, xff, want string }{
		{"direct_peer", "203.0.113.5:1234", "", "203.0.113.5"},
		{"untrusted_peer_cannot_claim_an_address", "203.0.113.5:1234", "198.51.100.1", "203.0.113.5"},
		{"trusted_proxy_gives_client", "10.0.0.2:80", "198.51.100.1", "198.51.100.1"},
		{"spoofed_prefix_ignored", "10.0.0.2:80", "1.2.3.4, 198.51.100.1", "198.51.100.1"},
		{"chain_of_proxies", "10.0.0.2:80", "198.51.100.1, 10.0.0.9", "198.51.100.1"},
		{"mangled_chain_falls_back_to_proxy", "10.0.0.2:80", "nonsense", "10.0.0.2"},
		{"only_proxies", "10.0.0.2:80", "10.0.0.3", "10.0.0.2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tc.remote
			if tc.xff != "" {
				r.Header.Set("X-Forwarded-For", tc.xff)
			}
			if got := p.ClientAddr(r); got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
}

// TestRateLimiterBoundedUnderFlood: a flood of distinct keys (made-up
// client ids from ever new source addresses, each failing once) holds at
// most maxShardKeys buckets per shard, however many arrive within a sweep
// period, and a caller already held keeps its bucket with high
// once the flood's buckets have refilled, sweeps forget them (found by the attack review: the failed-authentication limiters
// grew the server past 100 MB).
func TestRateLimiterBoundedUnderFlood(t *testing.T) {
	now := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	l := NewRateLimiter(1.0/6, 10, func() time.Time { return now })
	const flood = 200_000
	for i := range flood {
		l.Take("failed:10." + strconv.Itoa(i) + " client_x")
	}
	if n, most := l.Len(), rateShards*maxShardKeys; n > most {
		t.Fatalf("%d buckets after %d keys, want at most %d", n, flood, most)
	}
	now = now.Add(2 * time.Minute) // every bucket refilled, a sweep is due
	for i := range 1000 {          // reaches every shard, sweeping it
		l.Take("later:" + strconv.Itoa(i))
	}
	if n := l.Len(); n > 1000 {
		t.Fatalf("%d buckets after the flood refilled, want the 1000 new ones at most", n)
	}
}
