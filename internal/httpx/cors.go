package httpx

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// CORS is PRODUCT A13 for one endpoint that browser apps call directly
// (token, revocation, introspection, userinfo, JWKS, metadata): any
// origin may read its answers, errors included, but never with
// credentials. The origin is the wildcard, which browsers refuse to pair
// with cookies, so a page on another site cannot ride a customer's
// session; these endpoints use no cookies anyway. The hosted pages are
// never wrapped: they send no CORS headers at all.
type CORS struct {
	// Methods are the endpoint's methods, as its preflight answers them.
	Methods []string
}

// corsMaxAge is how long a browser may cache a preflight answer.
const corsMaxAge = 24 * time.Hour

// corsAllowHeaders are the request headers a cross-origin call may send:
// client authentication (Basic), bearer tokens, and a JSON or form body.
// Authorization must be named: the wildcard does not cover it (Fetch
// standard, CORS-safelisted request headers).
const corsAllowHeaders = "Authorization, Content-Type, Accept, Accept-Language"

// corsExposeHeaders are the response headers beyond the safelisted ones a
// browser app may read: the request id for support, and the rate-limit
// and retry fields, so an app can back off (PRODUCT R4, R5, S5).
const corsExposeHeaders = RequestIDHeader + ", RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, Retry-After, WWW-Authenticate, X-API-Version"

// Wrap adds the CORS response headers to next's answers. The wildcard
// origin goes on every answer, with or without an Origin: the metadata and
// the JWKS are publicly cacheable, and a copy a cache kept from a
// same-origin or server-side fetch must serve a browser app as well. The
// exposed headers only matter to a browser reading a cross-origin answer
// (the endpoints whose answers it reads headers of are never cached), so
// they are sent only then, keeping the small cached answers small.
func (c CORS) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", "*")
		if r.Header.Get("Origin") != "" {
			h.Set("Access-Control-Expose-Headers", corsExposeHeaders)
		}
		next.ServeHTTP(w, r)
	})
}

// Preflight answers the browser's OPTIONS request before a cross-origin
// call (Fetch standard, CORS-preflight fetch): 204 with the methods and
// headers the endpoint takes. An OPTIONS request that is no preflight
// gets the same answer, which tells no secret.
func (c CORS) Preflight() http.Handler {
	methods := strings.Join(append(append([]string(nil), c.Methods...), http.MethodOptions), ", ")
	maxAge := strconv.Itoa(int(corsMaxAge / time.Second))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("Access-Control-Allow-Methods", methods)
		h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
		h.Set("Access-Control-Max-Age", maxAge)
		h.Set("Allow", methods)
		w.WriteHeader(http.StatusNoContent)
	})
}

// MountCORS mounts h for method at path with its CORS headers, and the
// path's preflight (PRODUCT A13). Endpoints with several methods at one
// path mount each with the full list, so the preflight is mounted once.
func MountCORS(mux *http.ServeMux, methods []string, path string, h http.Handler) {
	c := CORS{Methods: methods}
	for _, m := range methods {
		mux.Handle(m+" "+path, c.Wrap(h))
	}
	mux.Handle(http.MethodOptions+" "+path, c.Preflight())
}
