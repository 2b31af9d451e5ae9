package server

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/httpx"
	"github.com/nomosauth/nomosauth/internal/oauth"
	"github.com/nomosauth/nomosauth/internal/problem"
	"github.com/nomosauth/nomosauth/internal/token"
)

// Pinger is what readiness needs from storage.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Server is the root of the HTTP surface.
type Server struct {
	Tokens *Tokens
	Ring   *token.KeyRing
	Store  Pinger
	Log    *slog.Logger
	// IssuerURL is the issuer exactly as configured (PRODUCT O3).
	IssuerURL string
	HTTPS     httpx.HTTPSPolicy
	// Mounts adds surfaces built elsewhere (pages, protected API), by pattern.
	Mounts map[string]http.Handler
}

// Paths of the endpoints the server itself serves.
const (
	PathToken = "/oauth/token"
	// PathAuthorize is served by the pages surface, mounted from cli.
	PathAuthorize = "/oauth/authorize"
	PathMetadata  = "/.well-known/oauth-authorization-server"
	PathJWKS      = "/.well-known/jwks.json"
	PathHealth    = "/healthz"
	PathReady     = "/readyz"
)

// Handler returns the root handler: every route in one place, middleware
// chained in one visible order.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST "+PathToken, httpx.Handle(s.Log, s.Tokens.ServeToken))
	metadata := s.metadata()
	mux.HandleFunc("GET "+PathMetadata, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		httpx.WriteRaw(w, http.StatusOK, "application/json", metadata)
	})
	mux.HandleFunc("GET "+PathJWKS, func(w http.ResponseWriter, r *http.Request) {
		// Short enough that a rotated key reaches verifiers quickly.
		w.Header().Set("Cache-Control", "public, max-age=300")
		httpx.WriteRaw(w, http.StatusOK, "application/json", s.Ring.JWKS())
	})
	mux.HandleFunc("GET "+PathHealth, func(w http.ResponseWriter, r *http.Request) {
		httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.Handle("GET "+PathReady, httpx.Handle(s.Log, s.ready))
	for pattern, h := range s.Mounts {
		mux.Handle(pattern, h)
	}
	return httpx.Chain(httpx.Routes(mux, s.Log),
		httpx.WithRequestID,
		httpx.AccessLog(s.Log),
		httpx.Recover(s.Log),
		httpx.SecurityHeaders,
		s.HTTPS.Require(s.Log),
	)
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.Store.Ping(ctx); err != nil {
		return problem.Unavailable(err)
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	return nil
}

// Metadata is the authorization server metadata of RFC 8414 §2.
type Metadata struct {
	Issuer                            string   `json:"issuer"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint,omitempty"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	JWKSURI                           string   `json:"jwks_uri"`
	ScopesSupported                   []string `json:"scopes_supported"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	GrantTypesSupported               []string `json:"grant_types_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	CodeChallengeMethodsSupported     []string `json:"code_challenge_methods_supported"`
	// RFC 9207 §3: every authorization response carries iss (PRODUCT A6).
	AuthorizationResponseISSParameterSupported bool `json:"authorization_response_iss_parameter_supported"`
}

// metadata renders the document once, listing what this build serves.
func (s *Server) metadata() []byte {
	base := strings.TrimSuffix(s.IssuerURL, "/")
	md := Metadata{
		Issuer:                            s.IssuerURL,
		AuthorizationEndpoint:             base + PathAuthorize,
		TokenEndpoint:                     base + PathToken,
		JWKSURI:                           base + PathJWKS,
		ScopesSupported:                   domain.AllScopes(),
		ResponseTypesSupported:            []string{"code"},
		GrantTypesSupported:               []string{oauth.GrantAuthorizationCode, oauth.GrantClientCredentials, oauth.GrantRefreshToken},
		TokenEndpointAuthMethodsSupported: []string{string(oauth.AuthBasic), string(oauth.AuthPost), string(oauth.AuthNone)},
		CodeChallengeMethodsSupported:     []string{oauth.PKCES256, oauth.PKCEPlain},
		AuthorizationResponseISSParameterSupported: true,
	}
	body, _ := json.MarshalIndent(md, "", "  ") // plain strings: cannot fail
	return body
}
