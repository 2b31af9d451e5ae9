package httpx

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/ids"
	"github.com/nomosauth/nomosauth/internal/metrics"
	"github.com/nomosauth/nomosauth/internal/problem"
)

// Middleware wraps a handler.
type Middleware func(http.Handler) http.Handler

// Chain applies middleware so that the first listed runs first.
func Chain(h http.Handler, mw ...Middleware) http.Handler {
	for i := len(mw) - 1; i >= 0; i-- {
		h = mw[i](h)
	}
	return h
}

type requestIDKey struct{}

// RequestIDHeader carries the request id on every response (PRODUCT R4).
const RequestIDHeader = "X-Request-Id"

// RequestID returns the request id of ctx, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// WithRequestID gives every request a fresh random id (a UUIDv4, as the
// Nomos API uses), sets it as a response header and puts it in the context.
// An id sent by the client is not trusted: it could forge log lines.
func WithRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := newUUID()
		w.Header().Set(RequestIDHeader, id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id)))
	})
}

// Origin is the audit origin of r (PRODUCT O8): actor acting at at, from
// addr (the resolved source address), under r's request id.
func Origin(r *http.Request, addr string, actor domain.Actor, at time.Time) domain.Origin {
	return domain.Origin{Actor: actor, At: at, SourceAddr: addr, RequestID: RequestID(r.Context())}
}

func newUUID() string {
	var b [16]byte
	rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	// 8-4-4-4-12 hex digits, written by hand: fmt costs a few percent of
	// a protected GET.
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:36], b[10:16])
	return string(out[:])
}

// AccessLog logs one line per request with its id, never its query string
// or body, which may hold codes or tokens (PRODUCT O4).
func AccessLog(log *slog.Logger) Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			sw, ok := w.(*statusWriter) // Measure's, when it runs first
			if !ok {
				sw = &statusWriter{ResponseWriter: w, status: http.StatusOK}
			}
			next.ServeHTTP(sw, r)
			log.LogAttrs(r.Context(), slog.LevelInfo, "request",
				slog.String("request_id", RequestID(r.Context())),
				slog.String("method", r.Method), slog.String("path", LoggedPath(r.URL.Path)),
				slog.Int("status", sw.status), slog.Duration("duration", time.Since(start)))
		})
	}
}

// LoggedPath is path as a log line may hold it (PRODUCT O4): a segment
// that holds one of our secrets (a magic link's, A12, or any other sent
// where it does not belong) is logged as {token}, whichever route, method
// or none met the request.
func LoggedPath(path string) string {
	if !ids.HoldsSecret(path) {
		return path
	}
	segs := strings.Split(path, "/")
	for i, s := range segs {
		if ids.HoldsSecret(s) {
			segs[i] = "{token}"
		}
	}
	return strings.Join(segs, "/")
}

type statusWriter struct {
	http.ResponseWriter
	status int
	// pattern is the route pattern that served the request, set by
	// Routes; "" when none matched.
	pattern string
}

// Measure records each request's latency by route pattern and status
// class (PRODUCT O7). It must run before Routes, which tells it the
// pattern; the raw path is never a label, so the series stay bounded.
func Measure(m *metrics.Metrics) Middleware {
	return func(next http.Handler) http.Handler {
		if m == nil {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
			next.ServeHTTP(sw, r)
			m.Request(sw.pattern, sw.status, time.Since(start))
		})
	}
}

// setPattern tells the statusWriters wrapping w which pattern serves the request.
func setPattern(w http.ResponseWriter, pattern string) {
	for w != nil {
		if sw, ok := w.(*statusWriter); ok {
			sw.pattern = pattern
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return
		}
		w = u.Unwrap()
	}
}

func (s *statusWriter) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Recover turns a panic into a 500 envelope and a log line.
func Recover(log *slog.Logger) Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				if v := recover(); v != nil {
					if v == http.ErrAbortHandler {
						panic(v)
					}
					WriteError(w, r, log, problem.Internal(fmt.Errorf("panic: %v", v)))
				}
			}()
			next.ServeHTTP(w, r)
		})
	}
}

// SecurityHeaders sets the headers every response carries; HSTS only when
// the request came over HTTPS, directly or through a trusted proxy (PRODUCT
// S7; RFC 6797 §7.2: never over plain HTTP, so a development server does
// not pin its host).
func (p HTTPSPolicy) SecurityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		if p.Secure(r) {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}

// HTTPSPolicy decides whether a request arrived over HTTPS (PRODUCT R8).
type HTTPSPolicy struct {
	// TrustedProxies are the peers whose X-Forwarded-Proto is believed.
	TrustedProxies []netip.Prefix
	// AllowPlain accepts plain HTTP (development mode only).
	AllowPlain bool
	// Exempt lists paths served over plain HTTP regardless, such as health probes.
	Exempt map[string]bool
}

// Secure reports whether r came over TLS, directly or through a trusted proxy.
func (p HTTPSPolicy) Secure(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	if !p.trustedPeer(r.RemoteAddr) {
		return false
	}
	proto := r.Header.Values("X-Forwarded-Proto")
	return len(proto) == 1 && strings.EqualFold(strings.TrimSpace(proto[0]), "https")
}

func (p HTTPSPolicy) trustedPeer(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		return false
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	return p.trusted(addr.Unmap())
}

func (p HTTPSPolicy) trusted(addr netip.Addr) bool {
	for _, pfx := range p.TrustedProxies {
		if pfx.Contains(addr) {
			return true
		}
	}
	return false
}

// Require refuses plain-HTTP requests unless the policy allows them.
func (p HTTPSPolicy) Require(log *slog.Logger) Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if p.AllowPlain || p.Exempt[r.URL.Path] || p.Secure(r) {
				next.ServeHTTP(w, r)
				return
			}
			WriteError(w, r, log, problem.BadRequest("HTTPS is required"))
		})
	}
}

// MaxRequestHeaders bounds a request's line and header fields (PRODUCT S4).
const MaxRequestHeaders = 16 << 10

// LimitHeaders answers a request whose request line and header fields
// together pass limit bytes with a 431 in the envelope (PRODUCT S4). The
// server reads up to a larger bound (http.Server.MaxHeaderBytes), so only
// requests past that one get net/http's plain-text 431.
func LimitHeaders(limit int, log *slog.Logger) Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if headerSize(r) > limit {
				WriteError(w, r, log, problem.HeadersTooLarge(limit))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// headerSize is about what r's request line and header fields took on the
// wire: each field as "Name: value\r\n", Host among them.
func headerSize(r *http.Request) int {
	n := len(r.Method) + len(r.RequestURI) + len(r.Proto) + 4 + len("Host: \r\n") + len(r.Host)
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return n
}
