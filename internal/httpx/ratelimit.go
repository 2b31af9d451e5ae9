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

	"golang.org/x/time/rate"

	"github.com/nomosauth/nomosauth/internal/problem"
)

// RateLimiter is a token bucket per key (PRODUCT R5): each key holds up to
// Burst requests and regains Rate of them per second. A zero Rate turns it
// off. The buckets live in this process only; with several replicas each
// enforces its own share (see the README).
//
// The buckets are golang.org/x/time/rate limiters, always driven through
// their clock-explicit methods (AllowN, TokensAt) with the injected now, so
// tests advance a fake clock instead of sleeping.
type RateLimiter struct {
	limit  rate.Limit
	burst  int
	now    func() time.Time
	seed   maphash.Seed
	shards [rateShards]rateShard
}

// rateShards spreads keys over several map locks so that concurrent callers
// rarely wait for one another: one map behind one mutex would serialise every
// token request of the server.
const rateShards = 32

// sweepEvery is how often a shard forgets the buckets that have refilled,
// so the map holds only recent callers and its memory stays bounded by the
// keys seen within about a minute plus a refill period.
const sweepEvery = time.Minute

type rateShard struct {
	mu      sync.Mutex
	buckets map[string]*rate.Limiter
	swept   time.Time
}

// NewRateLimiter returns a limiter of rate requests per second with bursts of
// burst (at least 1); rate 0 disables it.
func NewRateLimiter(perSecond float64, burst int, now func() time.Time) *RateLimiter {
	l := &RateLimiter{limit: rate.Limit(perSecond), burst: max(burst, 1), now: now, seed: maphash.MakeSeed()}
	for i := range l.shards {
		l.shards[i].buckets = map[string]*rate.Limiter{}
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

// Take spends one request of key's bucket if it has one. A refused request
// spends nothing, so a client that keeps retrying is let in as soon as a
// token has refilled.
func (l *RateLimiter) Take(key string) RateDecision { return l.decide(key, true) }

// Peek reports what Take would decide for key, spending nothing. It lets a
// caller refuse before costly work that only sometimes spends: the token
// endpoint checks the failed-authentication budget before checking a
// secret, and spends it only when the secret is wrong (PRODUCT S6).
func (l *RateLimiter) Peek(key string) RateDecision { return l.decide(key, false) }

func (l *RateLimiter) decide(key string, spend bool) RateDecision {
	if l == nil || l.limit <= 0 {
		return RateDecision{Allowed: true}
	}
	now := l.now()
	sh := &l.shards[maphash.String(l.seed, key)%rateShards]
	// The shard lock is held across the limiter call, not just the map
	// lookup: otherwise a sweep could forget a bucket between lookup and
	// spend, and the spend would be lost with it.
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if now.Sub(sh.swept) > sweepEvery {
		sh.sweep(now, l.burst)
	}
	b, ok := sh.buckets[key]
	if !ok {
		b = rate.NewLimiter(l.limit, l.burst) // starts full
		if spend {
			sh.buckets[key] = b
		}
	}
	d := RateDecision{Enabled: true, Limit: l.burst}
	if spend {
		d.Allowed = b.AllowN(now, 1)
	} else {
		d.Allowed = b.TokensAt(now) >= 1
	}
	tokens := b.TokensAt(now)
	if !d.Allowed {
		d.RetryAfter = max(1, l.seconds(1-tokens))
	}
	d.Remaining = max(0, int(math.Floor(tokens)))
	d.Reset = l.seconds(float64(l.burst) - tokens)
	return d
}

// seconds is how long, rounded up to whole seconds as the headers carry
// them, the bucket takes to regain n tokens.
func (l *RateLimiter) seconds(n float64) int {
	return int(math.Ceil(n / float64(l.limit)))
}

// sweep forgets the buckets that are full at now: a fresh limiter for the
// same key starts full too, so forgetting them changes no decision.
func (sh *rateShard) sweep(now time.Time, burst int) {
	for k, b := range sh.buckets {
		if b.TokensAt(now) >= float64(burst) {
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
