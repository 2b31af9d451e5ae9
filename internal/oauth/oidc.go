package oauth

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/problem"
)

// PathUserInfo is OpenID Connect's UserInfo endpoint (Core §5.3): the
// server serves it and its metadata names it.
const PathUserInfo = "/userinfo"

// Prompt is the set of prompt values of an authorization request (OpenID
// Connect Core §3.1.2.1; PRODUCT T12).
type Prompt struct {
	None    bool // show no page: answer login_required or consent_required instead
	Login   bool // sign in afresh even with a session
	Consent bool // ask for consent even when a grant covers the request
}

// PromptValues are the prompt values this server understands, for the
// discovery document.
func PromptValues() []string { return []string{"none", "login", "consent"} }

// maxNonceLen bounds the nonce, which is stored with the code and signed
// into the ID token.
const maxNonceLen = 512

// maxMaxAge bounds max_age (a year), so it never overflows a Duration.
const maxMaxAge = 365 * 24 * 60 * 60

// decideOIDCParams reads nonce, prompt and max_age (OpenID Connect Core
// §3.1.2.1; PRODUCT T12). Malformed values are invalid_request, sent back
// to the app like every other error once the client is trusted.
func decideOIDCParams(req *AuthorizeRequest, params url.Values) error {
	req.Nonce = params.Get("nonce")
	if len(req.Nonce) > maxNonceLen {
		req.Nonce = ""
		return redirectError("invalid_request", "nonce is longer than "+strconv.Itoa(maxNonceLen)+" characters")
	}
	if raw := params.Get("prompt"); params.Has("prompt") {
		p, err := parsePrompt(raw)
		if err != nil {
			return err
		}
		req.Prompt = p
	}
	if params.Has("max_age") {
		raw := params.Get("max_age")
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || n < 0 || raw[0] == '+' {
			return redirectError("invalid_request", "max_age must be a number of seconds")
		}
		req.MaxAge, req.HasMaxAge = time.Duration(min(n, maxMaxAge))*time.Second, true
	}
	return nil
}

// parsePrompt is Core §3.1.2.1's prompt: space-separated values (runs of
// spaces separate too, an empty list is no prompt value); none
// with any other is invalid_request, and so is a value this server does
// not serve (select_account: a browser holds one session).
func parsePrompt(raw string) (Prompt, error) {
	var p Prompt
	values := strings.Fields(raw)
	if len(values) == 0 {
		return Prompt{}, redirectError("invalid_request", "prompt must be none, login or consent")
	}
	for _, v := range values {
		switch v {
		case "none":
			p.None = true
		case "login":
			p.Login = true
		case "consent":
			p.Consent = true
		default:
			return Prompt{}, redirectError("invalid_request", "prompt must be none, login or consent")
		}
	}
	if p.None && (p.Login || p.Consent) {
		return Prompt{}, redirectError("invalid_request", "prompt=none cannot be combined with other values")
	}
	return p, nil
}

// SignIn is what happens at /oauth/authorize before consent.
type SignIn int

const (
	// SignInUse continues with the browser's session.
	SignInUse SignIn = iota
	// SignInAsk shows the sign-in page (or sign-up, for that flow).
	SignInAsk
	// SignInRequired sends login_required back to the app: a sign-in is
	// needed and prompt=none forbids the page (Core §3.1.2.6).
	SignInRequired
)

// DecideSignIn is PRODUCT T12's sign-in rule: a live session (nil when
// the browser has none) is used unless prompt=login asks for a fresh
// sign-in or it began longer than max_age ago (Core §3.1.2.1); with
// prompt=none a needed sign-in is login_required instead of a page.
func DecideSignIn(req AuthorizeRequest, session *domain.Session, now time.Time) SignIn {
	fresh := session != nil && !req.Prompt.Login &&
		(!req.HasMaxAge || now.Sub(session.CreatedAt) <= req.MaxAge)
	switch {
	case fresh:
		return SignInUse
	case req.Prompt.None:
		return SignInRequired
	}
	return SignInAsk
}

// IDTokenWanted reports whether a token response for scopes carries an ID
// token: openid was granted (Core §3.1.3.3; PRODUCT T12).
func IDTokenWanted(scopes domain.Scopes) bool { return scopes.Has(domain.ScopeOpenID) }

// CheckUserInfo is PRODUCT T12 at /userinfo (OpenID Connect Core §5.3),
// after the token passed AdmitCaller: only a customer token granted openid
// may read the customer's claims; any other is insufficient_scope.
func CheckUserInfo(c Caller) error {
	if !c.IsCustomer() || !c.Scopes.Has(domain.ScopeOpenID) {
		return problem.InsufficientScope(domain.ScopeOpenID)
	}
	return nil
}
