package cli

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"

	"github.com/nomosauth/nomosauth/internal/admin"
	"github.com/nomosauth/nomosauth/internal/api"
	"github.com/nomosauth/nomosauth/internal/config"
	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/httpx"
	"github.com/nomosauth/nomosauth/internal/ids"
	"github.com/nomosauth/nomosauth/internal/mail"
	"github.com/nomosauth/nomosauth/internal/maintain"
	"github.com/nomosauth/nomosauth/internal/metrics"
	"github.com/nomosauth/nomosauth/internal/oauth"
	"github.com/nomosauth/nomosauth/internal/pages"
	"github.com/nomosauth/nomosauth/internal/revoke"
	"github.com/nomosauth/nomosauth/internal/seal"
	"github.com/nomosauth/nomosauth/internal/server"
	"github.com/nomosauth/nomosauth/internal/store"
	"github.com/nomosauth/nomosauth/internal/store/txn"
	"github.com/nomosauth/nomosauth/internal/token"
)

// Server limits (PRODUCT S4).
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 10 * time.Second
	writeTimeout      = 15 * time.Second
	idleTimeout       = 60 * time.Second
	// What net/http reads of a request's header, past which it answers a
	// plain-text 431 itself; httpx.LimitHeaders answers from 16 KiB on in
	// the envelope (PRODUCT S4). Every connection reading a header may
	// hold this much, so it stays small.
	maxHeaderBytes = 64 << 10
	// The metrics listener answers scrapers only: net/http's own bound.
	maxMetricsHeaderBytes = httpx.MaxRequestHeaders
	shutdownTimeout       = 15 * time.Second
	mailDrainTimeout      = 10 * time.Second
)

func runServe(e env, args []string) int {
	var cfg config.Config
	fs, bindErr := flags(e, "serve", &cfg, config.Serve())
	if code := parse(e, fs, bindErr, args); code >= 0 {
		return code
	}
	cfg.Finish()
	if err := cfg.Validate(); err != nil {
		fmt.Fprintln(e.stderr, "nomosauth serve: invalid configuration:\n"+err.Error())
		return exitUsage
	}
	if err := serve(e, cfg); err != nil {
		fmt.Fprintln(e.stderr, "nomosauth serve:", err)
		return exitFail
	}
	return exitOK
}

// The collector's defaults for serve (issue 17): the heap may grow to
// gcPercent% above what is live before a collection, instead of Go's 100%,
// because the server's live heap is small and a protected GET allocates
// most of what it touches; gcMemoryBase plus the view's ceiling is the
// soft limit that makes the collector work harder before RSS nears the
// 64 MB the server is held to. GOGC and GOMEMLIMIT, when set, win.
const (
	gcPercent    = 400
	gcMemoryBase = 24 << 20
)

func tuneGC(getenv func(string) string, viewMiB int) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(gcMemoryBase + int64(viewMiB)<<20)
	}
}

func newLogger(e env, level string) *slog.Logger {
	var lv slog.Level
	lv.UnmarshalText([]byte(level)) // Validate checked it
	// An outage is logged once per interval with a count (PRODUCT S5).
	return slog.New(httpx.ThrottleLog(slog.NewJSONHandler(e.stderr, &slog.HandlerOptions{Level: lv}),
		outageLogEvery, time.Now, store.MsgUnavailable))
}

// outageLogEvery is how often a database outage is logged.
const outageLogEvery = 10 * time.Second

// app is a wired server, ready to listen.
type app struct {
	store   store.Store
	handler http.Handler
	maint   *maintain.Maintainer
	mail    *mail.Queue // closed by serve once the last page is answered
	log     *slog.Logger
	tracing tracing // flushed and stopped by serve once the last request is answered
	// metrics is GET /metrics on the registry of this app's collectors,
	// served on its own listener only (PRODUCT O7).
	metrics http.Handler
}

// build opens the store and wires every surface from cfg. The caller
// closes a.store.
func build(e env, cfg config.Config) (a *app, err error) {
	log := newLogger(e, cfg.LogLevel)
	ctx := e.ctx
	reg, m, err := newMetrics(cfg)
	if err != nil {
		return nil, err
	}
	var observe []txn.CommitObserver
	if m != nil {
		observe = append(observe, func(c txn.Commit) { m.Commit(c.Items, c.Took, c.Grouped) })
	}
	st, err := openStore(ctx, cfg.DB, observe...)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			st.Close()
		}
	}()
	st, held, changes, err := inMemory(ctx, st, cfg.ViewMemory, cfg.RevocationPoll)
	if err != nil {
		return nil, err
	}

	gen := ids.Generator{Rand: rand.Reader}
	// What serve does by itself (the first key, --dev seeding) is audited as the system.
	adm := &admin.Admin{Directory: st, Customers: st, Keys: st, Grants: st, Audit: st, IDs: gen, Now: time.Now,
		Actor: domain.Actor{Kind: domain.ActorSystem}}
	if err := adm.EnsureSigningKey(ctx, cfg.SigningAlg); err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	// Client-credentials refresh tokens are sealed under keys every
	// replica shares (issue 17): the first start creates one.
	sealKeys, err := adm.EnsureSealKey(ctx)
	if err != nil {
		return nil, fmt.Errorf("seal key: %w", err)
	}
	seals := seal.NewRing(sealKeys)
	// A token under a seal key this process has not loaded yet reloads
	// them, at most once a second (seal.Ring.Reload).
	seals.SetLoader(st.ListSealKeys, time.Second)
	berlin, err := time.LoadLocation(customerTimeZone)
	if err != nil {
		return nil, fmt.Errorf("time zone: %w", err)
	}
	if cfg.Dev {
		if err := seedDev(e, adm, berlin, cfg.Issuer); err != nil {
			return nil, err
		}
	}
	serverKeys := map[string][]byte{}
	for _, name := range []string{"cursor", "csrf", "one-time-code", "refresh-child", "user-code"} {
		candidate := make([]byte, 32)
		rand.Read(candidate)
		if serverKeys[name], err = st.ServerKey(ctx, name, candidate); err != nil {
			return nil, fmt.Errorf("%s key: %w", name, err)
		}
	}
	sender, err := mailSender(e, cfg)
	if err != nil {
		return nil, err
	}
	// Codes go out after the page is answered (PRODUCT A7).
	outbox := mail.NewQueue(sender, mail.QueueConfig{Log: log})
	defer func() {
		if err != nil {
			outbox.Close(context.Background())
		}
	}()
	keys, err := st.ListSigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("load signing keys: %w", err)
	}
	ring, err := token.NewKeyRing(keys, time.Now())
	if err != nil {
		return nil, fmt.Errorf("load signing keys: %w", err)
	}
	issuer := &token.Issuer{Ring: ring, Issuer: cfg.Issuer, Audience: cfg.Audience, IDs: gen}
	revoked := revoke.NewSet()
	if _, err := revoked.Sync(ctx, st, time.Now()); err != nil {
		return nil, fmt.Errorf("load revocations: %w", err)
	}
	if err := m.Watch(metrics.Sources{RevokedFamilies: revoked.Len,
		SigningKeyAge: func() time.Duration { return ring.SigningKeyAge(time.Now()) },
		Mail: func() metrics.MailStats {
			s := outbox.Stats()
			return metrics.MailStats{Sent: s.Sent, Failed: s.Failed, Dropped: s.Dropped}
		}}); err != nil {
		return nil, err
	}
	maint := &maintain.Maintainer{Store: st, Ring: ring, Seals: seals, Now: time.Now, Log: log, KeyPoll: cfg.KeyPoll, Cleanup: cfg.CleanupInterval,
		Revoked: revoked, RevocationPoll: cfg.RevocationPoll, Changes: changes, AuditRetention: cfg.AuditRetention, Metrics: m}
	https := httpx.HTTPSPolicy{TrustedProxies: cfg.TrustedProxies, AllowPlain: cfg.Dev,
		Exempt: map[string]bool{server.PathHealth: true, server.PathReady: true}}
	rate, burst := float64(cfg.RateLimit), cfg.RateBurst
	// PRODUCT O7: spans only with --otel-endpoint; off is the no-op tracer.
	traces, err := newTracing(ctx, cfg.OTelEndpoint, log)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			traces.shutdown(context.Background())
		}
	}()
	addrLimits := httpx.NewRateLimiter(float64(cfg.AddrRateLimit), 2*cfg.AddrRateLimit, time.Now)
	// Tokens verified once skip the signature check until they expire, at
	// the API and at revocation and introspection (PRODUCT T10).
	verified := &revoke.VerifiedCache{Verifier: issuer, Max: verifiedTokens}

	srv, err := server.New(server.Config{Store: st, Issuer: issuer, IDs: gen, Now: time.Now, Log: log, IssuerURL: cfg.Issuer,
		RefreshIdleTTL: cfg.RefreshIdleTTL, RetryWindow: cfg.RefreshRetryWindow, RefreshKey: serverKeys["refresh-child"], UserCodeKey: serverKeys["user-code"], Seals: seals, Revoked: revoked,
		ClientLimits: httpx.NewRateLimiter(rate, burst, time.Now), AddrLimits: addrLimits, Addr: https.ClientAddr,
		FailedAuthLimits:     httpx.NewRateLimiter(server.FailedAuthRate, server.FailedAuthBurst, time.Now),
		FailedAuthAddrLimits: httpx.NewRateLimiter(server.FailedAuthAddrRate, server.FailedAuthAddrBurst, time.Now),
		JWKSMaxAge:           cfg.KeyPublishDelay, Tracer: traces.tracer(), Metrics: m, Verifier: verified})
	if err != nil {
		return nil, err
	}
	hosted, err := pages.New(pages.Config{Directory: st, Journey: st, IDs: gen, Mail: outbox, Issuer: cfg.Issuer,
		Secure: https.Secure, Addr: https.ClientAddr, Now: time.Now, Log: log, Revoked: revoked,
		CSRFKey: serverKeys["csrf"], CodeKey: serverKeys["one-time-code"], SessionIdle: cfg.SessionIdle, SessionMax: cfg.SessionMax,
		EmailLimits: httpx.NewRateLimiter(codesPerEmail, codesPerEmailBurst, time.Now),
		AddrLimits:  httpx.NewRateLimiter(codesPerAddr, codesPerAddrBurst, time.Now), Metrics: m,
		GuessAddrLimits: httpx.NewRateLimiter(wrongCodesPerAddr, wrongCodesPerAddrBurst, time.Now),
		Devices:         st, UserCodeKey: serverKeys["user-code"],
		DeviceBrowserLimits: httpx.NewRateLimiter(userCodesPerBrowser, userCodesPerBrowserBurst, time.Now),
		DeviceAddrLimits:    httpx.NewRateLimiter(userCodesPerAddr, userCodesPerAddrBurst, time.Now)})
	if err != nil {
		return nil, err
	}
	protected, err := api.New(api.Config{Store: tracedAPIStore(st, traces.tracer()), Verifier: verified, Revoked: revoked, Limits: httpx.NewRateLimiter(rate, burst, time.Now),
		AddrLimits: addrLimits, Addr: https.ClientAddr, CursorKey: serverKeys["cursor"], Location: berlin,
		Now: time.Now, Log: log, Metrics: m, IDs: gen, Issuer: cfg.Issuer, Stamps: held})
	if err != nil {
		return nil, err
	}

	// One mux: each surface mounts its own routes.
	mux := http.NewServeMux()
	srv.Mount(mux)
	hosted.Mount(mux)
	protected.Mount(mux)
	a = &app{store: st, handler: server.Root(mux, log, https, traces.tracer(), m), maint: maint, mail: outbox, log: log,
		tracing: traces}
	if reg != nil {
		a.metrics = metricsHandler(reg)
	}
	return a, nil
}

// newMetrics creates the collectors on a registry of the app's own, never
// the global default (PRODUCT O7), with Go's runtime and process
// collectors. Without --metrics-addr nothing is collected: nil Metrics
// record nothing, so the hot paths pay nothing for metrics no one reads.
func newMetrics(cfg config.Config) (*prometheus.Registry, *metrics.Metrics, error) {
	if cfg.MetricsAddr == "" {
		return nil, nil, nil
	}
	reg := prometheus.NewRegistry()
	if err := reg.Register(collectors.NewGoCollector()); err != nil {
		return nil, nil, err
	}
	if err := reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return nil, nil, err
	}
	m, err := metrics.New(reg)
	if err != nil {
		return nil, nil, err
	}
	return reg, m, nil
}

// metricsHandler is the metrics listener's one route, GET /metrics in the
// Prometheus text format (PRODUCT O7); anything else there is a 404.
func metricsHandler(reg *prometheus.Registry) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return mux
}

// serve runs the HTTP server and background maintenance under one
// errgroup until the process is told to stop or either fails; both have
// returned before the store closes.
func serve(e env, cfg config.Config) error {
	// The port first: a busy port must fail before --dev seeding prints
	// the demo secret, which it does only once.
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	// The metrics listener too, and never the public one (PRODUCT O7).
	var mln net.Listener
	if cfg.MetricsAddr != "" {
		if mln, err = net.Listen("tcp", cfg.MetricsAddr); err != nil {
			return fmt.Errorf("metrics listener: %w", err)
		}
		defer mln.Close()
	}
	// And the certificate: a missing or bad one must fail before seeding too.
	var tlsConfig *tls.Config
	if cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return fmt.Errorf("--tls-cert and --tls-key: %w", err)
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	}
	a, err := build(e, cfg)
	if err != nil {
		return err
	}
	defer a.store.Close()
	log := a.log
	tuneGC(e.getenv, cfg.ViewMemory)
	hs := &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		TLSConfig:         tlsConfig,
	}
	if cfg.CPUProfile != "" {
		f, err := os.Create(cfg.CPUProfile)
		if err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	if cfg.SMTPURL == "" && !cfg.Dev {
		log.Warn("no --smtp-url: customers cannot receive sign-in codes; the authorization code flow will fail at sign-in")
	}
	log.Info("listening", "addr", ln.Addr().String(), "issuer", cfg.Issuer, "dev", cfg.Dev, "tls", cfg.TLSCert != "")
	var ms *http.Server
	if mln != nil {
		ms = &http.Server{Handler: a.metrics, ReadHeaderTimeout: readHeaderTimeout, ReadTimeout: readTimeout,
			WriteTimeout: writeTimeout, IdleTimeout: idleTimeout, MaxHeaderBytes: maxMetricsHeaderBytes,
			ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
		log.Info("metrics listening", "addr", mln.Addr().String(), "path", "/metrics")
	}

	g, ctx := errgroup.WithContext(e.ctx)
	g.Go(func() error { return a.maint.Run(ctx) })
	if ms != nil {
		g.Go(func() error {
			if err := ms.Serve(mln); !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("metrics listener: %w", err)
			}
			return nil
		})
	}
	g.Go(func() error {
		var err error
		if cfg.TLSCert != "" {
			err = hs.ServeTLS(ln, "", "") // the certificate loaded above
		} else {
			err = hs.Serve(ln)
		}
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	})
	g.Go(func() error {
		// Stop serving when told to, or when the other member failed.
		<-ctx.Done()
		if e.ctx.Err() != nil {
			log.Info("shutting down")
		}
		sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		err := hs.Shutdown(sctx)
		if ms != nil {
			ms.Shutdown(sctx) // scrapes are short; the public server's error is the one to report
		}
		// Codes already promised go out before the process ends.
		mctx, mcancel := context.WithTimeout(context.Background(), mailDrainTimeout)
		defer mcancel()
		a.mail.Close(mctx) // logs what it abandons
		// The last spans go out before the process ends (PRODUCT O7).
		tctx, tcancel := context.WithTimeout(context.Background(), tracesFlushTimeout)
		defer tcancel()
		if terr := a.tracing.shutdown(tctx); terr != nil {
			log.Warn("traces not flushed", "err", terr)
		}
		return err
	})
	return g.Wait()
}

// verifiedTokens bounds the verified-token cache: about 8 MB.
const verifiedTokens = 16384

// Sign-in code throttles (PRODUCT A7): per email, one code every 30 s
// after a burst of 3; per source address, one every 6 s after 10.
const (
	codesPerEmail      = 1.0 / 30
	codesPerEmailBurst = 3
	codesPerAddr       = 1.0 / 6
	codesPerAddrBurst  = 10
	// Wrong one-time codes per source address, over all its codes: a
	// code's five tries bound one code, this bounds spreading guesses over
	// many emails' codes to 1,440 a day, about 0.14% of hitting some
	// six-digit code, where the sending limit alone allowed 72,000.
	wrongCodesPerAddr      = 1.0 / 60
	wrongCodesPerAddrBurst = 20
	// Wrong device user codes (PRODUCT T11): like one-time codes, a few
	// tries per browser and more per address, refilled slowly; with codes
	// of 2^34.6 values a guesser finds nothing at this pace.
	userCodesPerBrowser      = 1.0 / 60
	userCodesPerBrowserBurst = 5
	userCodesPerAddr         = 1.0 / 10
	userCodesPerAddrBurst    = 20
)

// mailSender picks how one-time codes travel: SMTP when configured, the
// console in development (PRODUCT O1), else nowhere, with a warning.
func mailSender(e env, cfg config.Config) (mail.Sender, error) {
	switch {
	case cfg.SMTPURL != "":
		return mail.ParseSMTPURL(cfg.SMTPURL, cfg.MailFrom)
	case cfg.Dev:
		return &mail.Console{W: e.stdout}, nil
	}
	return mail.Disabled{}, nil
}

// customerTimeZone is where customers live: price periods are their local dates.
const customerTimeZone = "Europe/Berlin"

// seedDev fills an empty database and prints the demo credentials once (PRODUCT O1).
func seedDev(e env, adm *admin.Admin, loc *time.Location, issuer string) error {
	seed, created, err := adm.SeedDev(e.ctx, loc)
	if err != nil {
		return fmt.Errorf("seed demo data: %w", err)
	}
	if !created {
		return nil
	}
	fmt.Fprintf(e.stdout, `Development mode: demo data created (the secret is shown only now).
  organization:   %s
  client_id:      %s
  client_secret:  %s
  customer:       %s <%s>
  subscription:   %s (active, with a week of hourly prices)
  customer journey (sign in as the customer; the code is printed here):
    %s
`, seed.OrgID, seed.ClientID, seed.ClientSecret, seed.CustomerID, seed.CustomerEmail, seed.SubscriptionID,
		strings.TrimSuffix(issuer, "/")+oauth.PathAuthorize+"?"+url.Values{"client_id": {seed.ClientID}, "redirect_uri": {admin.DevRedirectURI},
			"response_type": {"code"}, "state": {"demo"}}.Encode())
	return nil
}
