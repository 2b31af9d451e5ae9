package oauth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/url"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/problem"
)

// PKCE methods of RFC 7636 §4.2.
const (
	PKCES256  = "S256"
	PKCEPlain = "plain"
)

// PathAuthorize is the authorization endpoint (RFC 6749 §3.1): the pages
// serve it and the server's metadata names it (RFC 8414 §2), so its one
// home is here, below both.
const PathAuthorize = "/oauth/authorize"

// Flow types of PRODUCT A9.
const (
	FlowConsent = ""       // the default: sign in, then consent
	FlowLogin   = "login"  // sign in only; the app is an identity consumer
	FlowSignup  = "signup" // register a new customer, then consent
)

// AuthorizeRequest is a checked request to /oauth/authorize.
type AuthorizeRequest struct {
	Client          domain.Client
	RedirectURI     RedirectURI
	State           string
	Scopes          domain.Scopes
	Challenge       string
	ChallengeMethod string // "" when no challenge was sent
	FlowType        string
	// OpenID Connect Core §3.1.2.1 (PRODUCT T12): the nonce to put in the
	// ID token, the prompt values, and max_age when HasMaxAge.
	Nonce     string
	Prompt    Prompt
	MaxAge    time.Duration
	HasMaxAge bool
}

// AuthorizeError is an error to send back to the client's redirect URI
// (RFC 6749 §4.1.2.1), not to show on our own page.
type AuthorizeError struct {
	Code        string // invalid_request, unsupported_response_type, invalid_scope, access_denied, ...
	Description string
}

func (e *AuthorizeError) Error() string { return e.Code + ": " + e.Description }

func redirectError(code, desc string) *AuthorizeError {
	return &AuthorizeError{Code: code, Description: desc}
}

// maxStateLen bounds state, which comes back verbatim in a URL.
const maxStateLen = 1024

// authorizeParams are the parameters /oauth/authorize reads; anything else
// is ignored, as RFC 6749 §3.1 requires.
var authorizeParams = []string{"client_id", "redirect_uri", "response_type", "scope", "state",
	"code_challenge", "code_challenge_method", "flow_type", "nonce", "prompt", "max_age",
	"response_mode", "request", "request_uri"}

// TargetReason says why client_id or redirect_uri cannot be trusted.
type TargetReason string

// Reasons of a TargetError.
const (
	TargetMissing      TargetReason = "missing"      // Param is absent or empty
	TargetRepeated     TargetReason = "repeated"     // Param is sent more than once
	TargetMalformed    TargetReason = "malformed"    // client_id is not a well-formed id
	TargetDisabled     TargetReason = "disabled"     // the client is disabled
	TargetUnregistered TargetReason = "unregistered" // redirect_uri fails PRODUCT A2; Detail says how
)

// TargetError is why the request's client_id or redirect_uri cannot be
// trusted (PRODUCT A1): it belongs on our own error page, in the
// customer's language, and is never redirected. Detail is for the log.
type TargetError struct {
	Reason TargetReason
	Param  string // client_id or redirect_uri
	Detail string
}

func (e *TargetError) Error() string {
	msg := e.Param + " " + string(e.Reason)
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}

// ParseAuthorizeTarget reads client_id and redirect_uri, the two parameters
// that must be trusted before anything may be sent back to the redirect
// URI (PRODUCT A1). Its errors are *TargetError values.
func ParseAuthorizeTarget(params url.Values) (clientID, redirectURI string, err error) {
	for _, name := range []string{"client_id", "redirect_uri"} {
		switch n := len(params[name]); {
		case n == 0 || params.Get(name) == "":
			return "", "", &TargetError{Reason: TargetMissing, Param: name}
		case n > 1:
			return "", "", &TargetError{Reason: TargetRepeated, Param: name}
		}
	}
	clientID = params.Get("client_id")
	if !validCredential(clientID, maxClientIDLen) {
		return "", "", &TargetError{Reason: TargetMalformed, Param: "client_id"}
	}
	return clientID, params.Get("redirect_uri"), nil
}

// CheckAuthorizeClient is PRODUCT A1 and A2 once the client is loaded: an
// error here, a *TargetError, is shown on our own page and never redirected.
func CheckAuthorizeClient(client domain.Client, redirectURI string) (RedirectURI, error) {
	if client.Disabled {
		return RedirectURI{}, &TargetError{Reason: TargetDisabled, Param: "client_id"}
	}
	u, err := MatchRedirectURI(redirectURI, client.RedirectURIs)
	if err != nil {
		return RedirectURI{}, &TargetError{Reason: TargetUnregistered, Param: "redirect_uri", Detail: err.Error()}
	}
	return u, nil
}

// DecideAuthorize checks the rest of an authorization request for a client
// and redirect URI already trusted. Its errors are *AuthorizeError values,
// to be sent to the redirect URI with state and iss (PRODUCT A3-A6, A9).
func DecideAuthorize(client domain.Client, redirect RedirectURI, params url.Values) (AuthorizeRequest, error) {
	req := AuthorizeRequest{Client: client, RedirectURI: redirect, State: params.Get("state")}
	if len(req.State) > maxStateLen {
		// Cut, so the error redirect itself stays a sane length.
		req.State = ""
		return req, redirectError("invalid_request", "state is too long")
	}
	// RFC 6749 §3.1: parameters must not be repeated.
	for _, name := range authorizeParams {
		if len(params[name]) > 1 {
			return req, redirectError("invalid_request", name+" is repeated")
		}
	}
	switch rt := params.Get("response_type"); rt {
	case "code":
	case "":
		return req, redirectError("invalid_request", "response_type is required")
	default:
		return req, redirectError("unsupported_response_type", "only response_type=code is supported")
	}
	// The metadata says response_modes_supported ["query"] and no request
	// objects: a request for anything else is refused, not served in
	// another mode than it asked for (OpenID Connect Core §3.1.2.6).
	switch rm := params.Get("response_mode"); rm {
	case "", "query":
	default:
		return req, redirectError("invalid_request", "response_mode "+problem.Quote(rm)+" is not supported: only query")
	}
	if params.Has("request") {
		return req, redirectError("request_not_supported", "request objects are not supported")
	}
	if params.Has("request_uri") {
		return req, redirectError("request_uri_not_supported", "request_uri is not supported")
	}
	scopes, err := decideAuthorizeScope(params.Get("scope"), client)
	if err != nil {
		return req, err
	}
	req.Scopes = scopes
	req.Challenge, req.ChallengeMethod, err = decideChallenge(params.Get("code_challenge"), params.Get("code_challenge_method"), params.Has("code_challenge_method"), client)
	if err != nil {
		return req, err
	}
	switch ft := params.Get("flow_type"); ft {
	case FlowConsent, FlowLogin, FlowSignup:
		req.FlowType = ft
	default:
		return req, redirectError("invalid_request", "flow_type must be login or signup")
	}
	if err := decideOIDCParams(&req, params); err != nil {
		return req, err
	}
	return req, nil
}

// decideAuthorizeScope is PRODUCT A4, T7 and T12: read:* by default;
// customer tokens are read-only, so write:* or an unknown scope is
// invalid_scope. The client's registered scopes bound the API scopes; the
// identity scopes are open to every client of this flow (clientCap).
func decideAuthorizeScope(raw string, client domain.Client) (domain.Scopes, error) {
	want := domain.Scopes{domain.ScopeRead}
	if raw != "" {
		parsed, err := ParseScope(raw)
		if err != nil {
			return nil, redirectError("invalid_scope", problemMessage(err))
		}
		want = parsed
	}
	if want.Has(domain.ScopeWrite) {
		return nil, redirectError("invalid_scope", "customer tokens are read-only; write:* cannot be granted")
	}
	// PRODUCT T12: email and profile are claims of OpenID Connect, which
	// openid asks for; alone they would ask for nothing.
	if !want.Has(domain.ScopeOpenID) && (want.Has(domain.ScopeEmail) || want.Has(domain.ScopeProfile)) {
		return nil, redirectError("invalid_scope", "email and profile need the openid scope")
	}
	if !clientCap(client).Covers(want) {
		return nil, redirectError("invalid_scope", "the scope is not allowed for this client")
	}
	return want, nil
}

// decideChallenge is PRODUCT A5; RFC 7636 §4.2, §4.3. The method defaults
// to plain; a method without a challenge, an unknown method or a malformed
// challenge is invalid_request; public clients must send a challenge.
func decideChallenge(challenge, method string, methodSent bool, client domain.Client) (string, string, error) {
	if challenge == "" {
		if methodSent {
			return "", "", redirectError("invalid_request", "code_challenge_method was sent without code_challenge")
		}
		if client.Public {
			return "", "", redirectError("invalid_request", "public clients must use PKCE: code_challenge is required")
		}
		return "", "", nil
	}
	if !methodSent {
		method = PKCEPlain
	}
	switch method {
	case PKCES256:
		// The base64url of a SHA-256: 43 characters, no padding.
		if raw, err := base64.RawURLEncoding.DecodeString(challenge); err != nil || len(raw) != sha256.Size {
			return "", "", redirectError("invalid_request", "code_challenge is not a base64url SHA-256")
		}
	case PKCEPlain:
		if !validVerifier(challenge) {
			return "", "", redirectError("invalid_request", "code_challenge must be 43 to 128 characters of [A-Za-z0-9-._~]")
		}
	default:
		return "", "", redirectError("invalid_request", "code_challenge_method must be S256 or plain")
	}
	return challenge, method, nil
}

// validVerifier is RFC 7636 §4.1: 43 to 128 unreserved characters.
func validVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !isAlpha(c) && !isDigit(c) && c != '-' && c != '.' && c != '_' && c != '~' {
			return false
		}
	}
	return true
}

// VerifyPKCE checks a code_verifier against the stored challenge, in
// constant time (PRODUCT T6; RFC 7636 §4.6). Downgrade protection both
// ways: a verifier for a code issued without a challenge fails, and so
// does a missing verifier for a code issued with one (RFC 9700 §4.8.2).
func VerifyPKCE(challenge, method, verifier string) error {
	switch {
	case challenge == "" && verifier == "":
		return nil
	case challenge == "":
		return problem.InvalidGrant("code_verifier was sent but the code was issued without code_challenge")
	case verifier == "":
		return problem.InvalidGrant("code_verifier is required: the code was issued with code_challenge")
	case !validVerifier(verifier):
		return problem.InvalidGrant("code_verifier must be 43 to 128 characters of [A-Za-z0-9-._~]")
	}
	derived := verifier
	if method == PKCES256 {
		sum := sha256.Sum256([]byte(verifier))
		derived = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	if subtle.ConstantTimeCompare([]byte(derived), []byte(challenge)) != 1 {
		return problem.InvalidGrant("code_verifier does not match code_challenge")
	}
	return nil
}

// CodeRule is the authorization-code rule of PRODUCT T6 for one token
// request: which client presents the code, with what redirect URI and
// verifier, and when.
type CodeRule struct {
	Client      domain.Client
	RedirectURI string
	Verifier    string
	Now         time.Time
}

// Check judges the stored code and the grant it came from. It runs inside
// the store's transaction and may run more than once, so it does no I/O.
// A code already used is CodeReplay, whose tokens the store revokes (RFC
// 6749 §4.1.2); every other failure is an error that changes nothing.
func (cr CodeRule) Check(code domain.AuthCode, grant domain.Grant) (domain.CodeVerdict, error) {
	switch {
	case code.ClientID != cr.Client.ID:
		// RFC 6749 §4.1.3: the code is bound to its client. Said the same
		// way as an unknown code, so codes cannot be probed.
		return 0, problem.InvalidGrant("authorization code is invalid")
	case !code.UsedAt.IsZero():
		return domain.CodeReplay, nil
	case !cr.Now.Before(code.ExpiresAt):
		return 0, problem.InvalidGrant("authorization code has expired")
	case grant.Revoked():
		return 0, problem.InvalidGrant("the customer revoked this app's access")
	case code.RedirectURI != "" && cr.RedirectURI != code.RedirectURI:
		return 0, problem.InvalidGrant("redirect_uri does not match the one sent to /oauth/authorize")
	case cr.Client.Public && code.Challenge == "":
		return 0, problem.InvalidGrant("public clients must use PKCE")
	}
	if err := VerifyPKCE(code.Challenge, code.ChallengeMethod, cr.Verifier); err != nil {
		return 0, err
	}
	return domain.CodeRedeem, nil
}

// CustomerScopes is PRODUCT T7: a customer token is read-only whatever the
// code or the client carry. The identity scopes stay (T12): they open
// /userinfo and nothing at the protected API.
func CustomerScopes(s domain.Scopes) domain.Scopes {
	return s.Intersect(append(domain.Scopes{domain.ScopeRead}, domain.IdentityScopes()...))
}

// clientCap is what a client may hold: its registered API scopes and,
// registered for no one, the identity scopes (PRODUCT T12).
func clientCap(client domain.Client) domain.Scopes {
	return append(client.Scopes.Intersect(domain.APIScopes()), domain.IdentityScopes()...).Canonical()
}

func problemMessage(err error) string {
	if p, ok := err.(*problem.Error); ok {
		return p.Message
	}
	return err.Error()
}
