package metrics

import (
	"errors"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/nomosauth/nomosauth/internal/domain"
)

// Metrics is every collector of the server (PRODUCT O7), registered on the
// registry New was given. Its methods do nothing on a nil *Metrics.
type Metrics struct {
	reg prometheus.Registerer
	now func() time.Time

	tokenRequests *prometheus.CounterVec
	tokens        cache[tokenKey, prometheus.Counter]
	clients       clientLabels

	refresh     [3]prometheus.Counter // by domain.RefreshVerdict - 1
	codes       [2]prometheus.Counter // redeemed, replayed
	idTokens    prometheus.Counter
	devicePolls [6]prometheus.Counter // by domain.DeviceVerdict - 1
	deviceAuths *prometheus.CounterVec
	magicLinks  [2]prometheus.Counter // issued, used (PRODUCT A12)
	revocations [numRevocations]prometheus.Counter
	pollLearned prometheus.Counter
	rateLimited [numLimits]prometheus.Counter

	commitGrouped, commitSingle prometheus.Observer
	batchSize                   prometheus.Observer

	httpDuration *prometheus.HistogramVec
	routes       cache[routeKey, prometheus.Observer]

	// Unix nanoseconds of the last successful polls; the lag gauges read them.
	revocationPolled, keysPolled atomic.Int64
}

type tokenKey struct{ grant, client, outcome string }

type routeKey struct {
	route string
	class int
}

// Label values of the token request counter that are not taken from the
// request: an outcome without error, a grant type not served, a client not
// known to exist.
const (
	OutcomeOK  = "ok"
	GrantOther = "other"
	// GrantDeviceCode labels RFC 8628's grant, whose grant type is a URN.
	GrantDeviceCode = "device_code"
	ClientUnknown   = "unknown"
)

// RouteUnmatched is the route label of requests no pattern matched: the
// raw path never becomes a label.
const RouteUnmatched = "unmatched"

// Revocation names who or what revoked, the source label of
// nomosauth_revocations_total.
type Revocation int

// The sources of revocations.
const (
	ByCustomer       Revocation = iota // the customer, on the connected apps page
	ByAdmin                            // an operator
	ByRefreshReuse                     // a refresh token presented after its rotation
	ByCodeReplay                       // an authorization code redeemed twice
	ByRevokeEndpoint                   // the client, at the revocation endpoint
	numRevocations
)

func (r Revocation) label() string {
	return [numRevocations]string{"customer", "admin", "refresh_reuse", "code_replay", "revoke_endpoint"}[r]
}

// Limit names a rate limit that can refuse a request, by the surface that
// applies it and what it counts.
type Limit int

// The rate limits.
const (
	TokenAddr       Limit = iota // token endpoint, per source address (PRODUCT R5)
	TokenClient                  // token endpoint, per client (PRODUCT R5)
	TokenFailedAuth              // token endpoint, failed client authentications (PRODUCT S6)
	APIAddr                      // protected API, unauthenticated, per source address
	APIClient                    // protected API, per client
	APIGrant                     // protected API, per customer grant
	SignInAddr                   // hosted sign-in codes, per source address (PRODUCT A7)
	SignInEmail                  // hosted sign-in codes, per email (PRODUCT A7)
	UserInfoAddr                 // /userinfo, unauthenticated, per source address (PRODUCT T12)
	UserInfoGrant                // /userinfo, per customer grant (PRODUCT T12)
	DeviceBrowser                // wrong device user codes, per browser (PRODUCT T11)
	DeviceAddr                   // wrong device user codes, per source address (PRODUCT T11)
	SignInGuessAddr              // wrong one-time codes, per source address (PRODUCT A7)
	numLimits
)

func (l Limit) labels() (surface, limit string) {
	pairs := [numLimits][2]string{
		{"token", "address"}, {"token", "client"}, {"token", "failed_auth"},
		{"api", "address"}, {"api", "client"}, {"api", "grant"},
		{"signin", "address"}, {"signin", "email"},
		{"userinfo", "address"}, {"userinfo", "grant"},
		{"device", "browser"}, {"device", "address"},
		{"signin", "wrong_code_address"},
	}
	return pairs[l][0], pairs[l][1]
}

// New creates the collectors and registers them on reg. The label values
// known in advance start at zero, so a rate() sees their first increment.
func New(reg prometheus.Registerer) (*Metrics, error) { return NewClocked(reg, time.Now) }

// NewClocked is New with the clock the poll ages are measured by, so tests
// can advance it.
func NewClocked(reg prometheus.Registerer, now func() time.Time) (*Metrics, error) {
	m := &Metrics{reg: reg, now: now, clients: clientLabels{max: MaxClientLabels}}
	start := m.now().UnixNano()
	m.revocationPolled.Store(start)
	m.keysPolled.Store(start)

	m.tokenRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "nomosauth_token_requests_total",
		Help: "Token endpoint requests by grant type (device_code for RFC 8628's), client (the first 100 known clients, then other; unknown before authentication) and outcome (ok or the OAuth error code).",
	}, []string{"grant", "client", "outcome"})
	refresh := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "nomosauth_refresh_verdicts_total",
		Help: "Refresh token presentations by verdict: rotated, retried (inside the retry window) or reuse_detected (the family is revoked).",
	}, []string{"verdict"})
	for i, v := range []string{"rotated", "retried", "reuse_detected"} {
		m.refresh[i] = refresh.WithLabelValues(v)
	}
	codes := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "nomosauth_code_redemptions_total",
		Help: "Authorization codes presented at the token endpoint that were found, by result: redeemed, or replayed (used before; what it produced is revoked).",
	}, []string{"result"})
	m.codes[0], m.codes[1] = codes.WithLabelValues("redeemed"), codes.WithLabelValues("replayed")
	m.idTokens = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "nomosauth_id_tokens_issued_total",
		Help: "OpenID Connect ID tokens issued by the token endpoint.",
	})
	polls := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "nomosauth_device_polls_total",
		Help: "Device code polls at the token endpoint that found their request, by verdict: pending, slow_down, expired, denied, issued or redeemed (a second redemption).",
	}, []string{"verdict"})
	for i, v := range []string{"pending", "slow_down", "expired", "denied", "issued", "redeemed"} {
		m.devicePolls[i] = polls.WithLabelValues(v)
	}
	m.deviceAuths = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "nomosauth_device_authorizations_total",
		Help: "Device authorization requests by outcome (ok or the OAuth error code).",
	}, []string{"outcome"})
	m.deviceAuths.WithLabelValues(OutcomeOK)
	magic := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "nomosauth_magic_links_total",
		Help: "Magic links by event: issued (POST /admin/magic_link) or used (a customer signed in with one).",
	}, []string{"event"})
	m.magicLinks[0], m.magicLinks[1] = magic.WithLabelValues("issued"), magic.WithLabelValues("used")
	revocations := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "nomosauth_revocations_total",
		Help: "Revocations made by this process, by source: customer, admin, refresh_reuse, code_replay or revoke_endpoint.",
	}, []string{"source"})
	for r := range numRevocations {
		m.revocations[r] = revocations.WithLabelValues(r.label())
	}
	m.pollLearned = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "nomosauth_revocation_poll_families_total",
		Help: "Revoked refresh families this process learned from the revocation poll, revoked by other processes.",
	})
	limited := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "nomosauth_rate_limited_total",
		Help: "Requests refused by a rate limit, by surface (token, api, signin, userinfo, device) and limit (address, client, failed_auth, grant, email, browser).",
	}, []string{"surface", "limit"})
	for l := range numLimits {
		m.rateLimited[l] = limited.WithLabelValues(l.labels())
	}
	commit := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "nomosauth_store_commit_duration_seconds",
		Help:    "Durable store commits by mode: group (one group commit of many writes) or single (one write in its own transaction).",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"mode"})
	m.commitGrouped, m.commitSingle = commit.WithLabelValues("group"), commit.WithLabelValues("single")
	batch := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "nomosauth_store_commit_batch_size",
		Help:    "Writes carried by one group commit.",
		Buckets: prometheus.ExponentialBuckets(1, 2, 9),
	})
	m.batchSize = batch
	m.httpDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "nomosauth_http_request_duration_seconds",
		Help:    "HTTP request latency on the public listener by route pattern (unmatched for none) and status class.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"route", "status"})
	revocationLag := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "nomosauth_revocation_poll_age_seconds",
		Help: "Seconds since the revocation poll last succeeded (since the start before the first poll).",
	}, func() float64 { return m.since(&m.revocationPolled) })
	keyLag := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "nomosauth_key_poll_age_seconds",
		Help: "Seconds since the signing keys were last reloaded from the database (since the start before the first reload).",
	}, func() float64 { return m.since(&m.keysPolled) })

	var errs []error
	for _, c := range []prometheus.Collector{m.tokenRequests, refresh, codes, revocations, m.pollLearned, limited,
		commit, batch, m.httpDuration, revocationLag, keyLag, m.idTokens, polls, m.deviceAuths, magic} {
		errs = append(errs, reg.Register(c))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *Metrics) since(at *atomic.Int64) float64 {
	return float64(m.now().UnixNano()-at.Load()) / float64(time.Second)
}

// MailStats are the one-time-code emails a mail queue handled since it
// started.
type MailStats struct {
	Sent    uint64 // delivered
	Failed  uint64 // given up after a permanent failure or the last attempt
	Dropped uint64 // refused (queue full or closed) or abandoned at shutdown
}

// Sources are the readings taken at each scrape from state other packages
// own.
type Sources struct {
	// RevokedFamilies is the size of the in-memory revoked set.
	RevokedFamilies func() int
	// SigningKeyAge is how old the key that signs now is.
	SigningKeyAge func() time.Duration
	// Mail is the one-time-code mail queue's counters.
	Mail func() MailStats
}

// Watch registers the collectors that read s at each scrape.
func (m *Metrics) Watch(s Sources) error {
	if m == nil {
		return nil
	}
	if s.RevokedFamilies == nil || s.SigningKeyAge == nil || s.Mail == nil {
		return errors.New("metrics: every source is required")
	}
	cs := []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "nomosauth_revoked_families",
			Help: "Refresh families in the in-memory revoked set the protected API checks.",
		}, func() float64 { return float64(s.RevokedFamilies()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "nomosauth_signing_key_age_seconds",
			Help: "Age of the key that signs access tokens now.",
		}, func() float64 { return s.SigningKeyAge().Seconds() }),
	}
	for _, r := range []struct {
		result string
		count  func(MailStats) uint64
	}{
		{"sent", func(st MailStats) uint64 { return st.Sent }},
		{"failed", func(st MailStats) uint64 { return st.Failed }},
		{"dropped", func(st MailStats) uint64 { return st.Dropped }},
	} {
		cs = append(cs, prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "nomosauth_onetime_code_emails_total",
			Help:        "One-time-code emails by result: sent, failed (given up) or dropped (queue full, or abandoned at shutdown).",
			ConstLabels: prometheus.Labels{"result": r.result},
		}, func() float64 { return float64(r.count(s.Mail())) }))
	}
	var errs []error
	for _, c := range cs {
		errs = append(errs, m.reg.Register(c))
	}
	return errors.Join(errs...)
}

// TokenRequest counts one token request. grant is a served grant type or
// GrantOther; clientID is the id of a client known to exist, or "" before
// one is (a made-up id never becomes a label); outcome is OutcomeOK or the
// OAuth error code.
func (m *Metrics) TokenRequest(grant, clientID, outcome string) {
	if m == nil {
		return
	}
	client := ClientUnknown
	if clientID != "" {
		client = m.clients.label(clientID)
	}
	m.tokens.get(tokenKey{grant, client, outcome}, func() prometheus.Counter {
		return m.tokenRequests.WithLabelValues(grant, client, outcome)
	}).Inc()
}

// Refresh counts one refresh verdict (PRODUCT T5).
func (m *Metrics) Refresh(v domain.RefreshVerdict) {
	if m == nil || v < domain.RefreshRotate || v > domain.RefreshReuse {
		return
	}
	m.refresh[v-domain.RefreshRotate].Inc()
}

// CodeRedemption counts one authorization code found at the token
// endpoint: redeemed, or replayed (PRODUCT T6).
func (m *Metrics) CodeRedemption(replayed bool) {
	if m == nil {
		return
	}
	if replayed {
		m.codes[1].Inc()
	} else {
		m.codes[0].Inc()
	}
}

// DevicePoll counts one device poll verdict (PRODUCT T11, O7).
func (m *Metrics) DevicePoll(v domain.DeviceVerdict) {
	if m == nil || v < domain.DevicePollPending || v > domain.DevicePollRedeemed {
		return
	}
	m.devicePolls[v-domain.DevicePollPending].Inc()
}

// DeviceAuthorization counts one device authorization request by outcome:
// OutcomeOK or the OAuth error code, a fixed set (PRODUCT T11, O7).
func (m *Metrics) DeviceAuthorization(outcome string) {
	if m == nil {
		return
	}
	m.deviceAuths.WithLabelValues(outcome).Inc()
}

// MagicLinkIssued counts one magic link issued (PRODUCT A12, O7).
func (m *Metrics) MagicLinkIssued() {
	if m != nil {
		m.magicLinks[0].Inc()
	}
}

// MagicLinkUsed counts one sign-in with a magic link (PRODUCT A12, O7).
func (m *Metrics) MagicLinkUsed() {
	if m != nil {
		m.magicLinks[1].Inc()
	}
}

// IDTokenIssued counts one ID token in a token response (PRODUCT T12, O7).
func (m *Metrics) IDTokenIssued() {
	if m == nil {
		return
	}
	m.idTokens.Inc()
}

// Revoked counts one revocation made by this process.
func (m *Metrics) Revoked(by Revocation) {
	if m == nil || by < 0 || by >= numRevocations {
		return
	}
	m.revocations[by].Inc()
}

// RevocationPolled records a successful revocation poll that learned n
// families revoked by other processes.
func (m *Metrics) RevocationPolled(n int) {
	if m == nil {
		return
	}
	m.revocationPolled.Store(m.now().UnixNano())
	m.pollLearned.Add(float64(n))
}

// KeysPolled records a successful reload of the signing keys.
func (m *Metrics) KeysPolled() {
	if m == nil {
		return
	}
	m.keysPolled.Store(m.now().UnixNano())
}

// RateLimited counts one request refused by limit l.
func (m *Metrics) RateLimited(l Limit) {
	if m == nil || l < 0 || l >= numLimits {
		return
	}
	m.rateLimited[l].Inc()
}

// Commit records one durable commit of the store: items writes, taking
// took; grouped tells a group commit from a write in its own transaction.
func (m *Metrics) Commit(items int, took time.Duration, grouped bool) {
	if m == nil {
		return
	}
	if !grouped {
		m.commitSingle.Observe(took.Seconds())
		return
	}
	m.commitGrouped.Observe(took.Seconds())
	m.batchSize.Observe(float64(items))
}

// Request records one HTTP request by its route pattern ("" when none
// matched) and status.
func (m *Metrics) Request(pattern string, status int, took time.Duration) {
	if m == nil {
		return
	}
	if pattern == "" {
		pattern = RouteUnmatched
	}
	class := min(max(status/100, 1), 5)
	m.routes.get(routeKey{pattern, class}, func() prometheus.Observer {
		return m.httpDuration.WithLabelValues(pattern, [6]string{1: "1xx", 2: "2xx", 3: "3xx", 4: "4xx", 5: "5xx"}[class])
	}).Observe(took.Seconds())
}
