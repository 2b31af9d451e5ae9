package httpx

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"
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
		l.shards[i].sweep(now, l.rate, l.burst)
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
