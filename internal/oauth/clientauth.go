package oauth

import (
	"crypto/subtle"
	"encoding/base64"
	"net/url"
	"strings"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/problem"
)

// AuthMethod is how a client authenticated at the token endpoint.
type AuthMethod string

// The client authentication methods of RFC 8414 §2.
const (
	AuthBasic AuthMethod = "client_secret_basic"
	AuthPost  AuthMethod = "client_secret_post"
	AuthNone  AuthMethod = "none"
)

// Limits on presented credentials: generous for every id and secret we issue,
// small enough that hostile input costs nothing.
const (
	maxClientIDLen     = 128
	maxClientSecretLen = 256
)

// ClientCredentials is what a request presented to authenticate its client.
type ClientCredentials struct {
	ID     string
	Secret string
	Method AuthMethod
}

// ParseClientAuth reads the client's credentials from the Authorization
// header and the body parameters. PRODUCT T1; RFC 6749 §2.3.1: Basic id and
// secret are form-urlencoded before base64; two methods at once, or none, is
// invalid_client. An empty secret, as `client_secret=` or Basic `id:`, is
// no secret: libraries such as simple-oauth2 send one for public clients,
// which then authenticate with method none, and a confidential client that
// sends one fails in AuthenticateClient like one that sends nothing.
func ParseClientAuth(authorization string, params url.Values) (ClientCredentials, error) {
	postID, postSecret := params.Get("client_id"), params.Get("client_secret")
	hasPostSecret := postSecret != ""
	if authorization != "" {
		id, secret, err := parseBasic(authorization)
		if err != nil {
			return ClientCredentials{}, err
		}
		if hasPostSecret {
			return ClientCredentials{}, problem.InvalidClient().WithCause(errTwoMethods)
		}
		// RFC 6749 §3.2.1 lets the client repeat its id in the body; it must agree.
		if params.Has("client_id") && postID != id {
			return ClientCredentials{}, problem.InvalidClient().WithCause(errIDMismatch)
		}
		if secret == "" {
			return ClientCredentials{ID: id, Method: AuthNone}, nil
		}
		return ClientCredentials{ID: id, Secret: secret, Method: AuthBasic}, nil
	}
	if !validCredential(postID, maxClientIDLen) {
		return ClientCredentials{}, problem.InvalidClient().WithCause(errNoCredentials)
	}
	if !hasPostSecret {
		return ClientCredentials{ID: postID, Method: AuthNone}, nil
	}
	if !validCredential(postSecret, maxClientSecretLen) {
		return ClientCredentials{}, problem.InvalidClient().WithCause(errMalformed)
	}
	return ClientCredentials{ID: postID, Secret: postSecret, Method: AuthPost}, nil
}

func parseBasic(authorization string) (id, secret string, err error) {
	scheme, payload, ok := strings.Cut(authorization, " ")
	if !ok || !strings.EqualFold(scheme, "Basic") {
		return "", "", problem.InvalidClient().WithCause(errMalformed)
	}
	// Percent-encoding may triple each character before base64 grows it by 4/3.
	if len(payload) > base64.StdEncoding.EncodedLen(3*(maxClientIDLen+maxClientSecretLen)+1) {
		return "", "", problem.InvalidClient().WithCause(errMalformed)
	}
	raw, decErr := base64.StdEncoding.DecodeString(strings.TrimSpace(payload))
	if decErr != nil {
		return "", "", problem.InvalidClient().WithCause(errMalformed)
	}
	rawID, rawSecret, ok := strings.Cut(string(raw), ":")
	if !ok {
		return "", "", problem.InvalidClient().WithCause(errMalformed)
	}
	id, err1 := url.QueryUnescape(rawID)
	secret, err2 := url.QueryUnescape(rawSecret)
	if err1 != nil || err2 != nil || !validCredential(id, maxClientIDLen) || (secret != "" && !validCredential(secret, maxClientSecretLen)) {
		return "", "", problem.InvalidClient().WithCause(errMalformed)
	}
	return id, secret, nil
}

// validCredential accepts non-empty printable ASCII of bounded length.
func validCredential(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// AuthenticateClient decides whether creds authenticate client. presentedHash
// is the hash of creds.Secret, computed by the caller with the same function
// that hashed the stored secrets. PRODUCT T1, S1: constant-time comparison,
// and an old secret counts only inside its rotation overlap.
func AuthenticateClient(client domain.Client, secrets []domain.ClientSecret, creds ClientCredentials, presentedHash string, now time.Time) error {
	if client.Disabled {
		return problem.InvalidClient().WithCause(errDisabled)
	}
	if creds.Method == AuthNone {
		if !client.Public {
			return problem.InvalidClient().WithCause(errSecretMissing)
		}
		return nil
	}
	if client.Public {
		return problem.InvalidClient().WithCause(errPublicWithSecret)
	}
	match := 0
	for _, s := range secrets {
		eq := subtle.ConstantTimeCompare([]byte(s.Hash), []byte(presentedHash))
		if s.ValidAt(now) {
			match |= eq
		}
	}
	if match != 1 {
		return problem.InvalidClient().WithCause(errWrongSecret)
	}
	return nil
}

type authError string

func (e authError) Error() string { return string(e) }

// Causes for the log only; the client always sees the same invalid_client.
const (
	errTwoMethods       authError = "two client authentication methods"
	errIDMismatch       authError = "client_id in body differs from Basic credentials"
	errNoCredentials    authError = "no client credentials"
	errMalformed        authError = "malformed client credentials"
	errDisabled         authError = "client disabled"
	errSecretMissing    authError = "confidential client sent no secret"
	errPublicWithSecret authError = "public client sent a secret"
	errWrongSecret      authError = "wrong or expired client secret"
)
