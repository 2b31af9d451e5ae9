package config

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nomosauth/nomosauth/internal/token"
)

// Config is every setting of the binary.
type Config struct {
	DB   string
	JSON bool

	Addr               string
	Issuer             string
	Audience           string
	Dev                bool
	TLSCert            string
	TLSKey             string
	TrustedProxies     []netip.Prefix
	SMTPURL            string
	MailFrom           string
	SigningAlg         string
	RefreshIdleTTL     time.Duration
	RefreshRetryWindow time.Duration
	KeyPoll            time.Duration
	KeyPublishDelay    time.Duration
	CleanupInterval    time.Duration
	AuditRetention     time.Duration
	SessionIdle        time.Duration
	SessionMax         time.Duration
	RevocationPoll     time.Duration
	ViewMemory         int // MiB (issue 17)
	RateLimit          int
	RateBurst          int
	AddrRateLimit      int
	LogLevel           string
	CPUProfile         string
	OTelEndpoint       string
	MetricsAddr        string
}

// Setting binds one field to its flag and environment variable.
type Setting struct {
	Flag    string
	Env     string
	Default string
	Help    string
	Bool    bool
	apply   func(c *Config, v string) error
}

func str(field func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error { *field(c) = v; return nil }
}

func boolean(field func(*Config) *bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("want true or false, got %q", v)
		}
		*field(c) = b
		return nil
	}
}

func integer(field func(*Config) *int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 1_000_000 {
			return fmt.Errorf("want a whole number from 0 to 1000000, got %q", v)
		}
		*field(c) = n
		return nil
	}
}

func duration(field func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := ParseDuration(v)
		if err != nil {
			return err
		}
		*field(c) = d
		return nil
	}
}

// ParseDuration accepts Go durations plus whole days ("90d").
func ParseDuration(v string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > 3650 {
			return 0, fmt.Errorf("want a duration like 90d or 10s, got %q", v)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("want a duration like 90d or 10s, got %q", v)
	}
	return d, nil
}

func proxies(c *Config, v string) error {
	c.TrustedProxies = nil
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if !strings.Contains(part, "/") {
			addr, err := netip.ParseAddr(part)
			if err != nil {
				return fmt.Errorf("want IP addresses or CIDR ranges, got %q", part)
			}
			c.TrustedProxies = append(c.TrustedProxies, netip.PrefixFrom(addr, addr.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(part)
		if err != nil {
			return fmt.Errorf("want IP addresses or CIDR ranges, got %q", part)
		}
		c.TrustedProxies = append(c.TrustedProxies, p.Masked())
	}
	return nil
}

// Common are the settings every command takes (PRODUCT O2).
func Common() []Setting {
	return []Setting{
		{Flag: "db", Env: "NOMOSAUTH_DB", Default: "nomosauth.db", Help: "database: a SQLite file path, or postgres://user:pass@host:port/db for PostgreSQL", apply: str(func(c *Config) *string { return &c.DB })},
		{Flag: "json", Env: "NOMOSAUTH_JSON", Default: "false", Bool: true, Help: "print JSON instead of text", apply: boolean(func(c *Config) *bool { return &c.JSON })},
	}
}

// Serve are the settings of `nomosauth serve` beyond Common (PRODUCT O3).
func Serve() []Setting {
	return []Setting{
		{Flag: "addr", Env: "NOMOSAUTH_ADDR", Default: "127.0.0.1:8080", Help: "address to listen on", apply: str(func(c *Config) *string { return &c.Addr })},
		{Flag: "issuer", Env: "NOMOSAUTH_ISSUER", Help: "issuer URL, used exactly as given in metadata, tokens and redirects (with --dev: http://localhost:PORT)", apply: str(func(c *Config) *string { return &c.Issuer })},
		{Flag: "audience", Env: "NOMOSAUTH_AUDIENCE", Help: "aud claim of access tokens (default: the issuer)", apply: str(func(c *Config) *string { return &c.Audience })},
		{Flag: "dev", Env: "NOMOSAUTH_DEV", Default: "false", Bool: true, Help: "development mode: plain HTTP on loopback, demo data on an empty database", apply: boolean(func(c *Config) *bool { return &c.Dev })},
		{Flag: "tls-cert", Env: "NOMOSAUTH_TLS_CERT", Help: "TLS certificate file (PEM)", apply: str(func(c *Config) *string { return &c.TLSCert })},
		{Flag: "tls-key", Env: "NOMOSAUTH_TLS_KEY", Help: "TLS private key file (PEM)", apply: str(func(c *Config) *string { return &c.TLSKey })},
		{Flag: "trusted-proxy", Env: "NOMOSAUTH_TRUSTED_PROXY", Help: "comma-separated IPs or CIDRs of TLS-terminating proxies whose X-Forwarded-Proto is trusted", apply: proxies},
		{Flag: "smtp-url", Env: "NOMOSAUTH_SMTP_URL", Help: "SMTP server for one-time codes: smtp://[user:pass@]host:port (STARTTLS required), smtps://... (implicit TLS) or smtp+insecure://... (plain text, explicit opt-out)", apply: str(func(c *Config) *string { return &c.SMTPURL })},
		{Flag: "mail-from", Env: "NOMOSAUTH_MAIL_FROM", Help: "sender address of one-time-code emails", apply: str(func(c *Config) *string { return &c.MailFrom })},
		{Flag: "signing-alg", Env: "NOMOSAUTH_SIGNING_ALG", Help: "signing algorithm: ES256, RS256 or EdDSA; the first key's (default ES256), and on a database with a key of another algorithm the start fails (change it with keys rotate --alg)", apply: str(func(c *Config) *string { return &c.SigningAlg })},
		refreshIdleTTL(),
		{Flag: "refresh-retry-window", Env: "NOMOSAUTH_REFRESH_RETRY_WINDOW", Default: "10s", Help: "how long a just-rotated refresh token may be retried", apply: duration(func(c *Config) *time.Duration { return &c.RefreshRetryWindow })},
		keyPoll(),
		keyPublishDelay(),
		{Flag: "session-idle", Env: "NOMOSAUTH_SESSION_IDLE", Default: "1h", Help: "a customer session unused this long ends", apply: duration(func(c *Config) *time.Duration { return &c.SessionIdle })},
		{Flag: "session-max", Env: "NOMOSAUTH_SESSION_MAX", Default: "24h", Help: "a customer session ends this long after sign-in, however active", apply: duration(func(c *Config) *time.Duration { return &c.SessionMax })},
		{Flag: "cleanup-interval", Env: "NOMOSAUTH_CLEANUP_INTERVAL", Default: "10m", Help: "how often expired rows are deleted", apply: duration(func(c *Config) *time.Duration { return &c.CleanupInterval })},
		{Flag: "audit-retention", Env: "NOMOSAUTH_AUDIT_RETENTION", Default: "365d", Help: "how long audit events are kept before cleanup deletes them; 0 keeps them for ever", apply: duration(func(c *Config) *time.Duration { return &c.AuditRetention })},
		{Flag: "revocation-poll", Env: "NOMOSAUTH_REVOCATION_POLL", Default: "1s", Help: "how often revocations, and changes to clients, customers and subscriptions, made by other processes are read from the database: the bound on when they are in force here", apply: duration(func(c *Config) *time.Duration { return &c.RevocationPoll })},
		{Flag: "view-memory", Env: "NOMOSAUTH_VIEW_MEMORY", Default: "8", Help: "MiB of memory for the protected API's in-memory view of customers and subscriptions; an organization beyond it is read from the database; 0 turns the view off", apply: integer(func(c *Config) *int { return &c.ViewMemory })},
		{Flag: "rate-limit", Env: "NOMOSAUTH_RATE_LIMIT", Default: "10", Help: "requests per second per caller (client, or customer grant) on the API and per client on the token endpoint; 0 turns limits off", apply: integer(func(c *Config) *int { return &c.RateLimit })},
		{Flag: "rate-burst", Env: "NOMOSAUTH_RATE_BURST", Default: "20", Help: "requests a caller may make at once before --rate-limit paces it", apply: integer(func(c *Config) *int { return &c.RateBurst })},
		{Flag: "address-rate-limit", Env: "NOMOSAUTH_ADDRESS_RATE_LIMIT", Default: "50", Help: "requests per second per source address on the token endpoint and for API requests without a valid token; 0 turns it off", apply: integer(func(c *Config) *int { return &c.AddrRateLimit })},
		{Flag: "metrics-addr", Env: "NOMOSAUTH_METRICS_ADDR", Default: "127.0.0.1:9464", Help: "address of the Prometheus GET /metrics listener, never the public one; --metrics-addr= (empty) turns it off", apply: str(func(c *Config) *string { return &c.MetricsAddr })},
		{Flag: "cpu-profile", Env: "NOMOSAUTH_CPU_PROFILE", Help: "write a CPU profile (pprof) to this file until shutdown, for performance work", apply: str(func(c *Config) *string { return &c.CPUProfile })},
		{Flag: "otel-endpoint", Env: "NOMOSAUTH_OTEL_ENDPOINT", Help: "base URL of an OpenTelemetry OTLP/HTTP receiver (http://collector:4318); traces go to its /v1/traces; empty turns tracing off", apply: str(func(c *Config) *string { return &c.OTelEndpoint })},
		{Flag: "log-level", Env: "NOMOSAUTH_LOG_LEVEL", Default: "info", Help: "debug, info, warn or error", apply: str(func(c *Config) *string { return &c.LogLevel })},
	}
}

// keyPublishDelay is PRODUCT T8's publish then sign: the JWKS max-age
// serve announces, and how long `keys rotate` publishes a new key before it
// signs. One setting, so the two cannot drift apart.
func keyPublishDelay() Setting {
	return Setting{Flag: "key-publish-delay", Env: "NOMOSAUTH_KEY_PUBLISH_DELAY", Default: "300s",
		Help:  "how long resource servers may cache the JWKS (its max-age), and so how long keys rotate publishes a new signing key before it signs; give keys rotate the value the servers run with",
		apply: duration(func(c *Config) *time.Duration { return &c.KeyPublishDelay })}
}

// Rotation are the settings `nomosauth keys rotate` shares with serve.
func Rotation() []Setting { return []Setting{keyPublishDelay(), keyPoll()} }

// refreshIdleTTL is PRODUCT T5's idle lifetime of a refresh token, also
// how long `keys rotate-seal` keeps a replaced seal key opening tokens.
func refreshIdleTTL() Setting {
	return Setting{Flag: "refresh-idle-ttl", Env: "NOMOSAUTH_REFRESH_IDLE_TTL", Default: "90d", Help: "a refresh token unused this long expires; keys rotate-seal keeps a replaced seal key this long",
		apply: duration(func(c *Config) *time.Duration { return &c.RefreshIdleTTL })}
}

// keyPoll is how often serve reloads keys, and so how long `keys
// rotate-seal` waits (twice it) before a new seal key seals.
func keyPoll() Setting {
	return Setting{Flag: "key-poll", Env: "NOMOSAUTH_KEY_POLL", Default: "5s", Help: "how often signing and seal keys are reloaded from the database; a new key of keys rotate or rotate-seal signs or seals no sooner than two polls after it is stored",
		apply: duration(func(c *Config) *time.Duration { return &c.KeyPoll })}
}

// SealRotation are the settings `nomosauth keys rotate-seal` shares with
// serve: give it the values the servers run with.
func SealRotation() []Setting { return []Setting{keyPoll(), refreshIdleTTL()} }

// Bind applies each setting's default and environment value to c and
// registers its flag on fs; parsing fs afterwards lets flags win. Bad
// environment values are reported together.
func Bind(fs *flag.FlagSet, c *Config, getenv func(string) string, settings []Setting) error {
	var errs []error
	for _, s := range settings {
		if err := s.apply(c, s.Default); err != nil {
			errs = append(errs, fmt.Errorf("default of --%s: %w", s.Flag, err))
		}
		if v := getenv(s.Env); v != "" {
			if err := s.apply(c, v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", s.Env, err))
			}
		}
		help := s.Help + " (env " + s.Env
		if s.Default != "" && !s.Bool {
			help += ", default " + s.Default
		}
		help += ")"
		apply := func(v string) error { return s.apply(c, v) }
		if s.Bool {
			fs.BoolFunc(s.Flag, help, apply)
		} else {
			fs.Func(s.Flag, help, apply)
		}
	}
	return errors.Join(errs...)
}

// Finish fills the defaults that depend on other settings.
func (c *Config) Finish() {
	if c.Issuer == "" && c.Dev {
		host, port, err := net.SplitHostPort(c.Addr)
		if err == nil {
			if host == "" || host == "127.0.0.1" || host == "::1" || host == "0.0.0.0" {
				host = "localhost"
			}
			scheme := "http"
			if c.TLSCert != "" {
				scheme = "https"
			}
			c.Issuer = scheme + "://" + net.JoinHostPort(host, port)
		}
	}
	if c.Audience == "" {
		c.Audience = c.Issuer
	}
}

// Validate reports every problem of a serve configuration at once.
func (c *Config) Validate() error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	host, _, err := net.SplitHostPort(c.Addr)
	if err != nil {
		fail("--addr %q is not host:port", c.Addr)
	}
	if c.DB == "" {
		fail("--db is required")
	}
	// PRODUCT O7: metrics on their own listener, never the public one.
	if c.MetricsAddr != "" {
		if _, port, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			fail("--metrics-addr %q is not host:port", c.MetricsAddr)
		} else if c.MetricsAddr == c.Addr && port != "0" { // port 0: each its own free port
			fail("--metrics-addr must differ from --addr: metrics are never served on the public listener")
		}
	}
	tls := c.TLSCert != "" || c.TLSKey != ""
	if (c.TLSCert == "") != (c.TLSKey == "") {
		fail("--tls-cert and --tls-key go together")
	}
	switch u, err := url.Parse(c.Issuer); {
	case c.Issuer == "" && c.Dev:
		// Finish makes the dev issuer from --addr, which it could not
		// split: the --addr error above says so.
	case c.Issuer == "":
		fail("--issuer is required without --dev")
	case err != nil || !u.IsAbs() || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		fail("--issuer %q must be an absolute URL without query, fragment or userinfo", c.Issuer)
	case u.Scheme != "https" && !(c.Dev && u.Scheme == "http"):
		fail("--issuer must use https (http only with --dev)")
	}
	// PRODUCT R8: HTTPS in production, plain HTTP only on loopback in dev.
	if !c.Dev && !tls && len(c.TrustedProxies) == 0 {
		fail("plain HTTP is refused: give --tls-cert and --tls-key, or --trusted-proxy for a TLS-terminating proxy, or use --dev")
	}
	if c.Dev && !tls && err == nil && !isLoopback(host) {
		fail("--dev serves plain HTTP on loopback only; --addr %q is not loopback", c.Addr)
	}
	if c.SigningAlg != "" && !slices.Contains(token.Algorithms(), c.SigningAlg) {
		fail("--signing-alg must be one of %s", strings.Join(token.Algorithms(), ", "))
	}
	if c.KeyPublishDelay < 0 || c.KeyPublishDelay > 24*time.Hour {
		fail("--key-publish-delay must be from 0 to 24h")
	}
	if c.RefreshIdleTTL <= 0 {
		fail("--refresh-idle-ttl must be positive")
	}
	if c.RefreshRetryWindow < 0 || c.RefreshRetryWindow >= c.RefreshIdleTTL {
		fail("--refresh-retry-window must be at least 0 and shorter than --refresh-idle-ttl")
	}
	if c.SessionIdle <= 0 || c.SessionMax < c.SessionIdle {
		fail("--session-idle must be positive and --session-max at least as long")
	}
	if c.KeyPoll <= 0 || c.CleanupInterval <= 0 || c.RevocationPoll <= 0 {
		fail("--key-poll, --cleanup-interval and --revocation-poll must be positive")
	}
	if c.AuditRetention < 0 {
		fail("--audit-retention must not be negative")
	}
	if c.RateLimit > 0 && c.RateBurst < 1 {
		fail("--rate-burst must be at least 1")
	}
	if c.SMTPURL != "" {
		u, err := url.Parse(c.SMTPURL)
		// PRODUCT S7: TLS unless the operator opts out with smtp+insecure.
		if err != nil || !slices.Contains([]string{"smtp", "smtps", "smtp+insecure"}, u.Scheme) || u.Hostname() == "" || u.Port() == "" {
			fail("--smtp-url must look like smtp://[user:pass@]host:port (STARTTLS), smtps://... (implicit TLS) or smtp+insecure://... (plain text)")
		}
		if c.MailFrom == "" {
			fail("--mail-from is required with --smtp-url")
		}
	}
	if c.OTelEndpoint != "" {
		if msg := checkOTelEndpoint(c.OTelEndpoint); msg != "" {
			fail("%s", msg)
		}
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.LogLevel) {
		fail("--log-level must be debug, info, warn or error")
	}
	return errors.Join(errs...)
}

// checkOTelEndpoint is PRODUCT O7's endpoint rule: a base URL the exporter
// appends /v1/traces to, so http or https, a host and a valid port, no
// query, fragment or userinfo, and not the traces path itself (which would
// be sent to .../v1/traces/v1/traces and fail silently). The message never
// repeats a value with userinfo in it: that may be a password.
func checkOTelEndpoint(v string) string {
	const want = "--otel-endpoint must be the base URL of an OTLP/HTTP receiver, http:// or https:// with a host (http://collector:4318)"
	u, err := url.Parse(v)
	if err != nil {
		return want
	}
	if u.User != nil {
		return want + ", without user or password: give credentials to the collector another way"
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return fmt.Sprintf("%s, without query or fragment; got %q", want, v)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Sprintf("%s; the port of %q is no port", want, v)
		}
	}
	if strings.HasSuffix(strings.TrimSuffix(u.Path, "/"), "/v1/traces") {
		return fmt.Sprintf("%s, without /v1/traces, which is added; got %q", want, v)
	}
	return ""
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	addr, err := netip.ParseAddr(host)
	return err == nil && addr.IsLoopback()
}
