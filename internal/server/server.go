package server

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/nomosauth/nomosauth/internal/bearer"
	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/httpx"
	"github.com/nomosauth/nomosauth/internal/ids"
	"github.com/nomosauth/nomosauth/internal/metrics"
	"github.com/nomosauth/nomosauth/internal/oauth"
	"github.com/nomosauth/nomosauth/internal/problem"
	"github.com/nomosauth/nomosauth/internal/revoke"
	"github.com/nomosauth/nomosauth/internal/seal"
	"github.com/nomosauth/nomosauth/internal/token"
)

// Store is what the server surface needs from storage: the token
// endpoint's reads and writes, and a ping for readiness.
type Store interface {
	TokenStore
	revoke.FamilyStore
	// GetCustomer loads the customer /userinfo speaks of (PRODUCT T12).
	GetCustomer(ctx context.Context, id string) (domain.Customer, error)
	Ping(ctx context.Context) error
}

// Config is what the server surface is built from, in cli.
type Config struct {
	Store  Store
	Issuer *token.Issuer // mints access tokens; its ring serves the JWKS
	IDs    ids.Generator
	Now    func() time.Time
	Log    *slog.Logger
	// IssuerURL is the issuer exactly as configured (PRODUCT O3).
	IssuerURL      string
	RefreshIdleTTL time.Duration // PRODUCT T5: default 90 days
	RetryWindow    time.Duration // PRODUCT T5: default 10 s
	// Seals seals and opens client-credentials families' first refresh
	// tokens (issue 17); the key poll reloads it.
	Seals *seal.Ring
	// RefreshKey is the server-wide secret refresh tokens' children are
	// derived under, the same on every replica (PRODUCT T5).
	RefreshKey []byte
	// UserCodeKey is the server-wide secret device user codes are hashed
	// under, the same on every replica (PRODUCT T11).
	UserCodeKey []byte
	// Revoked learns of families the token endpoint revokes (PRODUCT A11).
	Revoked *revoke.Set
	// Verifier checks access tokens at revocation, introspection and
	// /userinfo, the API's cache of verified tokens (PRODUCT T9, T10,
	// T12); nil is Issuer.
	Verifier revoke.Verifier
	// ClientLimits and AddrLimits bound token requests per client id and
	// per source address (PRODUCT R5); nil is no limit. Addr resolves the
	// source address.
	ClientLimits *httpx.RateLimiter
	AddrLimits   *httpx.RateLimiter
	Addr         func(*http.Request) string
	// FailedAuthLimits and FailedAuthAddrLimits bound failed client
	// authentications per source address and client id, and per source
	// address (PRODUCT S6); nil is no limit.
	FailedAuthLimits     *httpx.RateLimiter
	FailedAuthAddrLimits *httpx.RateLimiter
	// JWKSMaxAge is how long resource servers may cache the JWKS, the
	// Cache-Control max-age; it is also how long a rotation publishes a
	// new key before it signs (PRODUCT T8, --key-publish-delay).
	JWKSMaxAge time.Duration
	// Tracer records the token endpoint's decision, commit and signing as
	// spans (PRODUCT O7); nil is the no-op tracer.
	Tracer trace.Tracer
	// Metrics counts token requests, verdicts, revocations and rate-limit
	// refusals (PRODUCT O7); nil counts nothing.
	Metrics *metrics.Metrics
}

// Server is the authorization server's own endpoints: token, metadata,
// JWKS, health and readiness.
type Server struct {
	// Tokens is the token endpoint, also the one place a refresh family
	// is born.
	Tokens *Tokens

	store    Store
	ring     *token.KeyRing
	log      *slog.Logger
	metadata []byte
	// issuerPath is the issuer's path ("" for none), where RFC 8414 §3.1
	// inserts the well-known name.
	issuerPath string
	jwksCache  string // the JWKS Cache-Control
	userInfo   *userInfo
}

// New checks cfg and builds the server surface; the metadata document is
// rendered once here.
func New(cfg Config) (*Server, error) {
	if err := missing(map[string]bool{
		"store": cfg.Store == nil, "issuer": cfg.Issuer == nil || cfg.Issuer.Ring == nil, "clock": cfg.Now == nil,
		"logger": cfg.Log == nil, "revocation set": cfg.Revoked == nil, "address resolver": cfg.Addr == nil,
		"issuer URL": cfg.IssuerURL == "", "refresh key": len(cfg.RefreshKey) == 0,
		"user code key": len(cfg.UserCodeKey) == 0, "seal keys": cfg.Seals == nil,
	}); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	tokens := &Tokens{Store: cfg.Store, Issuer: cfg.Issuer, IDs: cfg.IDs, Now: cfg.Now, Log: cfg.Log,
		RefreshIdleTTL: cfg.RefreshIdleTTL, RetryWindow: cfg.RetryWindow, RefreshKey: cfg.RefreshKey, UserCodeKey: cfg.UserCodeKey, Seals: cfg.Seals, Revoker: revoke.Revoker{Families: cfg.Store, Set: cfg.Revoked, Now: cfg.Now, Metrics: cfg.Metrics},
		Verifier: cmp.Or[revoke.Verifier](cfg.Verifier, cfg.Issuer), IssuerURL: cfg.IssuerURL,
		ClientLimits: cfg.ClientLimits, AddrLimits: cfg.AddrLimits, Addr: cfg.Addr,
		FailedAuthLimits: cfg.FailedAuthLimits, FailedAuthAddrLimits: cfg.FailedAuthAddrLimits, Tracer: cfg.Tracer, Metrics: cfg.Metrics}
	if tokens.Tracer == nil {
		tokens.Tracer = noop.NewTracerProvider().Tracer("")
	}
	tokens.Gate = &bearer.Gate{Verifier: tokens.Verifier, Revoked: cfg.Revoked, Clients: cfg.Store}
	return &Server{Tokens: tokens, store: cfg.Store, ring: cfg.Issuer.Ring, log: cfg.Log, metadata: metadata(cfg.IssuerURL), issuerPath: issuerPath(cfg.IssuerURL),
		jwksCache: fmt.Sprintf("public, max-age=%d", int64(cfg.JWKSMaxAge/time.Second)),
		userInfo: &userInfo{store: cfg.Store, gate: tokens.Gate, now: cfg.Now, log: cfg.Log, metrics: cfg.Metrics,
			addrLimits: cfg.AddrLimits, limits: cfg.ClientLimits, addr: cfg.Addr}}, nil
}

// missing reports every absent dependency at once, in name order.
func missing(absent map[string]bool) error {
	var names []string
	for name, gone := range absent {
		if gone {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return nil
	}
	slices.Sort(names)
	return errors.New("missing " + strings.Join(names, ", "))
}

// Paths of the endpoints the server itself serves. The authorization
// endpoint is oauth.PathAuthorize: the pages serve it, the metadata names it.
const (
	PathToken    = "/oauth/token"
	PathMetadata = "/.well-known/oauth-authorization-server"
	// PathOpenIDConfiguration is OpenID Connect Discovery 1.0 §4: the same
	// metadata as PathMetadata (PRODUCT T12).
	PathOpenIDConfiguration = "/.well-known/openid-configuration"
	PathJWKS                = "/.well-known/jwks.json"
	PathHealth              = "/healthz"
	PathReady               = "/readyz"
)

// PathRevoke and PathIntrospect are RFC 7009's and RFC 7662's endpoints
// (PRODUCT T9, T10).
const (
	PathRevoke     = "/oauth/revoke"
	PathIntrospect = "/oauth/introspect"
)

// Mount adds the server's routes to mux. The endpoints browser apps call
// directly answer cross-origin requests (PRODUCT A13); health does not.
func (s *Server) Mount(mux *http.ServeMux) {
	post, get := []string{http.MethodPost}, []string{http.MethodGet}
	httpx.MountCORS(mux, post, PathToken, httpx.Handle(s.log, s.Tokens.ServeToken))
	httpx.MountCORS(mux, post, PathRevoke, httpx.Handle(s.log, s.Tokens.ServeRevoke))
	httpx.MountCORS(mux, post, PathIntrospect, httpx.Handle(s.log, s.Tokens.ServeIntrospect))
	httpx.MountCORS(mux, post, PathDeviceAuthorization, httpx.Handle(s.log, s.Tokens.ServeDeviceAuthorization))
	serveMetadata := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		httpx.WriteRaw(w, http.StatusOK, "application/json", s.metadata)
	})
	// PRODUCT T12: one document, both names (RFC 8414 §2 takes OpenID
	// Connect Discovery's fields; Discovery §3 RFC 8414's).
	httpx.MountCORS(mux, get, PathMetadata, serveMetadata)
	httpx.MountCORS(mux, get, PathOpenIDConfiguration, serveMetadata)
	if s.issuerPath != "" {
		// RFC 8414 §3.1: an issuer with a path has its metadata at the
		// well-known name with the path appended (a proxy that maps the
		// issuer's path onto this server routes it here as it is).
		httpx.MountCORS(mux, get, PathMetadata+s.issuerPath, serveMetadata)
	}
	s.userInfo.mount(mux)
	httpx.MountCORS(mux, get, PathJWKS, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// PRODUCT T8: a rotated key is published at least this long before
		// it signs, so a verifier holding this copy never meets its kid unknown.
		w.Header().Set("Cache-Control", s.jwksCache)
		httpx.WriteRaw(w, http.StatusOK, "application/json", s.ring.JWKS())
	}))
	mux.HandleFunc("GET "+PathHealth, func(w http.ResponseWriter, r *http.Request) {
		httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.Handle("GET "+PathReady, httpx.Handle(s.log, s.ready))
}

// Root is the handler every request enters: the one mux every surface
// mounted its routes on, behind the middleware chain in its one visible
// order. A request no route matches gets the envelope's 404 or 405
// (PRODUCT R4). tracer gets one span per request and m, when not nil,
// times every request by route (PRODUCT O7); the no-op tracer and nil m
// add nothing.
func Root(mux *http.ServeMux, log *slog.Logger, https httpx.HTTPSPolicy, tracer trace.Tracer, m *metrics.Metrics) http.Handler {
	return httpx.Chain(httpx.Routes(mux, log),
		httpx.Measure(m),
		httpx.WithRequestID,
		httpx.Trace(tracer),
		httpx.AccessLog(log),
		httpx.Recover(log),
		https.SecurityHeaders,
		httpx.LimitHeaders(httpx.MaxRequestHeaders, log),
		https.Require(log),
	)
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		return problem.Unavailable(err)
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	return nil
}

// Metadata is the authorization server metadata of RFC 8414 §2, which is
// also OpenID Connect Discovery 1.0 §3's provider metadata (PRODUCT T12).
type Metadata struct {
	Issuer                 string   `json:"issuer"`
	AuthorizationEndpoint  string   `json:"authorization_endpoint,omitempty"`
	TokenEndpoint          string   `json:"token_endpoint"`
	UserInfoEndpoint       string   `json:"userinfo_endpoint"`
	JWKSURI                string   `json:"jwks_uri"`
	ScopesSupported        []string `json:"scopes_supported"`
	ResponseTypesSupported []string `json:"response_types_supported"`
	// Said outright: the defaults of RFC 8414 and OpenID Connect
	// Discovery (query and fragment; request_uri supported) promise more.
	ResponseModesSupported            []string `json:"response_modes_supported"`
	RequestParameterSupported         bool     `json:"request_parameter_supported"`
	RequestURIParameterSupported      bool     `json:"request_uri_parameter_supported"`
	GrantTypesSupported               []string `json:"grant_types_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	CodeChallengeMethodsSupported     []string `json:"code_challenge_methods_supported"`
	// RFC 9207 §3: every authorization response carries iss (PRODUCT A6).
	AuthorizationResponseISSParameterSupported bool `json:"authorization_response_iss_parameter_supported"`
	// RFC 8414 §2: revocation (PRODUCT T9) takes every token endpoint
	// method; introspection (T10) only confidential clients' methods.
	RevocationEndpoint                        string   `json:"revocation_endpoint"`
	RevocationEndpointAuthMethodsSupported    []string `json:"revocation_endpoint_auth_methods_supported"`
	IntrospectionEndpoint                     string   `json:"introspection_endpoint"`
	IntrospectionEndpointAuthMethodsSupported []string `json:"introspection_endpoint_auth_methods_supported"`
	// OpenID Connect Discovery 1.0 §3 (PRODUCT T12).
	SubjectTypesSupported            []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported []string `json:"id_token_signing_alg_values_supported"`
	ClaimsSupported                  []string `json:"claims_supported"`
	PromptValuesSupported            []string `json:"prompt_values_supported"`
	// RFC 8628 §4 (PRODUCT T11).
	DeviceAuthorizationEndpoint string `json:"device_authorization_endpoint"`
}

// issuerPath is the path of issuerURL without a trailing slash; "" when
// it has none, or one that would not make a plain ServeMux pattern (other
// characters than letters, digits, "-._~" and slashes, or empty or dot
// segments), which is then served at no well-known name of its own.
func issuerPath(issuerURL string) string {
	u, err := url.Parse(issuerURL)
	if err != nil {
		return ""
	}
	p := strings.TrimSuffix(u.Path, "/")
	plain := strings.Trim(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~/") == ""
	if !plain || path.Clean(p) != p {
		return ""
	}
	return p
}

// metadata renders the document once, listing what this build serves.
func metadata(issuerURL string) []byte {
	base := strings.TrimSuffix(issuerURL, "/")
	md := Metadata{
		Issuer:                            issuerURL,
		AuthorizationEndpoint:             base + oauth.PathAuthorize,
		TokenEndpoint:                     base + PathToken,
		UserInfoEndpoint:                  base + oauth.PathUserInfo,
		JWKSURI:                           base + PathJWKS,
		ScopesSupported:                   domain.AllScopes(),
		ResponseTypesSupported:            []string{"code"},
		ResponseModesSupported:            []string{"query"},
		GrantTypesSupported:               []string{oauth.GrantAuthorizationCode, oauth.GrantClientCredentials, oauth.GrantRefreshToken, oauth.GrantDeviceCode},
		TokenEndpointAuthMethodsSupported: []string{string(oauth.AuthBasic), string(oauth.AuthPost), string(oauth.AuthNone)},
		CodeChallengeMethodsSupported:     []string{oauth.PKCES256, oauth.PKCEPlain},
		AuthorizationResponseISSParameterSupported: true,
		RevocationEndpoint:                         base + PathRevoke,
		RevocationEndpointAuthMethodsSupported:     []string{string(oauth.AuthBasic), string(oauth.AuthPost), string(oauth.AuthNone)},
		IntrospectionEndpoint:                      base + PathIntrospect,
		IntrospectionEndpointAuthMethodsSupported:  []string{string(oauth.AuthBasic), string(oauth.AuthPost)},
		SubjectTypesSupported:                      []string{"public"},
		// Every algorithm a key of the ring may have, so a relying party
		// that cached this document accepts ID tokens across a rotation to
		// another algorithm (keys rotate --alg).
		IDTokenSigningAlgValuesSupported: token.Algorithms(),
		ClaimsSupported: []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "at_hash",
			"email", "email_verified", "name", "given_name", "family_name"},
		PromptValuesSupported:       oauth.PromptValues(),
		DeviceAuthorizationEndpoint: base + PathDeviceAuthorization,
	}
	body, _ := json.MarshalIndent(md, "", "  ") // plain strings: cannot fail
	return body
}
