package httpx

import (
	"hash/maphash"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nomosauth/nomosauth/internal/problem"
)

// RateLimiter is a token bucket per key (PRODUCT R5): each key holds up to
// Burst requests and regains Rate of them per second. A zero Rate turns it
// off. The buckets live in this process only; with several replicas each
// enforces its own share (see the README).
type RateLimiter struct {
	rate   float64
	burst  float64
	now    func() time.Time
	seed   maphash.Seed
	shards [rateShards]rateShard
}

// rateShards spreads keys over several locks so that concurrent callers
// rarely wait for one another.
const rateShards = 32

// sweepEvery is how often a shard forgets the buckets that have refilled,
// so the map holds only recent callers.
const sweepEvery = time.Minute

type rateShard struct {
	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

// NewRateLimiter returns a limiter of rate requests per second with bursts of
// burst (at least 1); rate 0 disables it.
func NewRateLimiter(rate float64, burst int, now func() time.Time) *RateLimiter {
	l := &RateLimiter{rate: rate, burst: float64(max(burst, 1)), now: now, seed: maphash.MakeSeed()}
	for i := range l.shards {
		l.shards[i].buckets = map[string]*bucket{}
	}
	return l
}

// RateDecision is the outcome of one Take.
type RateDecision struct {
	Enabled    bool
	Allowed    bool
	Limit      int // the bucket's size
	Remaining  int // requests left right now
	Reset      int // seconds until the bucket is full again
	RetryAfter int // seconds until the next request is allowed, when refused
}

// Take spends one request of key's bucket if it has one.
func (l *RateLimiter) Take(key string) RateDecision {
	if l == nil || l.rate <= 0 {
		return RateDecision{Allowed: true}
	}
	now := l.now()
	sh := &l.shards[maphash.String(l.seed, key)%rateShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if now.Sub(sh.swept) > sweepEvery {
		sh.sweep(now, l.rate, l.burst)
	}
	b, ok := sh.buckets[key]
	if !ok {
		b = &bucket{tokens: l.burst, at: now}
		sh.buckets[key] = b
	}
	if elapsed := now.Sub(b.at).Seconds(); elapsed > 0 {
		b.tokens = math.Min(l.burst, b.tokens+elapsed*l.rate)
		b.at = now
	}
	d := RateDecision{Enabled: true, Limit: int(l.burst)}
	if b.tokens >= 1 {
		b.tokens--
		d.Allowed = true
	} else {
		d.RetryAfter = max(1, int(math.Ceil((1-b.tokens)/l.rate)))
	}
	d.Remaining = int(math.Floor(b.tokens))
	d.Reset = int(math.Ceil((l.burst - b.tokens) / l.rate))
	return d
}

func (sh *rateShard) sweep(now time.Time, rate, burst float64) {
	for k, b := range sh.buckets {
		if b.tokens+now.Sub(b.at).Seconds()*rate >= burst {
			delete(sh.buckets, k)
		}
	}
	sh.swept = now
}

// SetHeaders writes the RateLimit header fields (draft-ietf-httpapi-ratelimit-headers).
func (d RateDecision) SetHeaders(h http.Header) {
	if !d.Enabled {
		return
	}
	h.Set("RateLimit-Limit", strconv.Itoa(d.Limit))
	h.Set("RateLimit-Remaining", strconv.Itoa(d.Remaining))
	h.Set("RateLimit-Reset", strconv.Itoa(d.Reset))
}

// Err is the 429 of a refused request, nil when allowed.
func (d RateDecision) Err() error {
	if d.Allowed {
		return nil
	}
	return problem.TooManyRequests(d.RetryAfter)
}

// ClientAddr is the address a request came from: the peer, or, when the
// peer is a trusted proxy, the nearest address in X-Forwarded-For that is
// not one of ours. A client can prepend anything to that header, so only
// entries added by trusted proxies count.
func (p HTTPSPolicy) ClientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if !p.trustedPeer(r.RemoteAddr) {
		return host
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		addr, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return host // a mangled chain: fall back to the proxy itself
		}
		if !p.trusted(addr.Unmap()) {
			return addr.Unmap().String()
		}
	}
	return host
}
