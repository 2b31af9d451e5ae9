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

// maxShardKeys bounds the buckets a shard holds (32,768 per limiter, a few
// MB), however many keys a flood of made-up client ids and source
// addresses brings within a sweep period: past it, the refilled buckets go
// at once and then an arbitrary one. A bucket forgotten early starts full
// again, which only helps the caller it belonged to, and with this many
// keys that caller is almost surely the flood itself.
const maxShardKeys = 1024

type rateShard struct {
	mu      sync.Mutex
	buckets map[string]*rate.Limiter
	swept   time.Time
	peak    int // the most buckets held since the map was last rebuilt
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

// Spend is Take for a request that may turn out not to count: refund,
// called once it is known, gives the request back to key's bucket (as
// golang.org/x/time/rate's Reservation.CancelAt does, as far as later
// spending allows). Spending first, unlike Peek then Take, lets no
// concurrent requests past a bucket that held one request: a wrong
// one-time code is refused before it is checked (PRODUCT A7). A refused
// request spends nothing, and its refund does nothing.
func (l *RateLimiter) Spend(key string) (d RateDecision, refund func()) {
	var r *rate.Reservation
	d = l.decideWith(key, true, func(b *rate.Limiter, now time.Time) bool {
		r = b.ReserveN(now, 1)
		if !r.OK() || r.DelayFrom(now) > 0 {
			r.CancelAt(now)
			r = nil
			return false
		}
		return true
	})
	return d, func() {
		if r == nil {
			return
		}
		sh := l.shard(key)
		sh.mu.Lock()
		defer sh.mu.Unlock()
		r.CancelAt(l.now())
	}
}

func (l *RateLimiter) shard(key string) *rateShard {
	return &l.shards[maphash.String(l.seed, key)%rateShards]
}

func (l *RateLimiter) decide(key string, spend bool) RateDecision {
	return l.decideWith(key, spend, func(b *rate.Limiter, now time.Time) bool {
		if spend {
			return b.AllowN(now, 1)
		}
		return b.TokensAt(now) >= 1
	})
}

// decideWith judges key's bucket with allow, under the shard's lock;
// spend says whether a bucket made for the key is kept.
func (l *RateLimiter) decideWith(key string, spend bool, allow func(b *rate.Limiter, now time.Time) bool) RateDecision {
	if l == nil || l.limit <= 0 {
		return RateDecision{Allowed: true}
	}
	now := l.now()
	sh := l.shard(key)
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
			sh.hold(key, b, now, l.burst)
		}
	}
	d := RateDecision{Enabled: true, Limit: l.burst, Allowed: allow(b, now)}
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

// hold keeps b as key's bucket, making room first when the shard is full:
// a sweep (at most one a second, so a flood does not pay one per request),
// then, if that freed nothing, any one bucket.
func (sh *rateShard) hold(key string, b *rate.Limiter, now time.Time, burst int) {
	if len(sh.buckets) >= maxShardKeys && now.Sub(sh.swept) > time.Second {
		sh.sweep(now, burst)
	}
	if len(sh.buckets) >= maxShardKeys {
		for victim := range sh.buckets { // map order is random
			delete(sh.buckets, victim)
			break
		}
	}
	sh.buckets[key] = b
	sh.peak = max(sh.peak, len(sh.buckets))
}

// sweep forgets the buckets that are full at now: a fresh limiter for the
// same key starts full too, so forgetting them changes no decision. A map
// that shrank to a quarter of its peak is rebuilt, since Go maps keep the
// memory of deleted entries.
func (sh *rateShard) sweep(now time.Time, burst int) {
	for k, b := range sh.buckets {
		if b.TokensAt(now) >= float64(burst) {
			delete(sh.buckets, k)
		}
	}
	if len(sh.buckets) < sh.peak/4 {
		kept := make(map[string]*rate.Limiter, len(sh.buckets)) // not maps.Clone: it keeps the capacity
		for k, b := range sh.buckets {
			kept[k] = b
		}
		sh.buckets = kept
		sh.peak = len(sh.buckets)
	}
	sh.swept = now
}

// Len is how many buckets the limiter holds.
func (l *RateLimiter) Len() int {
	if l == nil {
		return 0
	}
	n := 0
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.Lock()
		n += len(sh.buckets)
		sh.mu.Unlock()
	}
	return n
}

// AddrKey is a source address as the per-address limits key it: an IPv6
// address by its /64, the block one subscriber is usually given, so a
// caller cannot escape its budget by walking its own prefix (PRODUCT R5,
// S6); an IPv4 address (also written as IPv6) as it is.
func AddrKey(addr string) string {
	a, err := netip.ParseAddr(addr)
	if err != nil || !a.Is6() || a.Is4In6() {
		return addr
	}
	return netip.PrefixFrom(a.WithZone(""), 64).Masked().String()
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
