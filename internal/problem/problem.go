package problem

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// DocsBase is where the envelope's docs link points, one page per code, as in
// the Nomos API whose envelope nomosauth reproduces.
const DocsBase = "https://docs.nomos.energy/api-references/errors/"

// Envelope codes, PRODUCT R4.
const (
	CodeBadRequest          = "BAD_REQUEST"
	CodeUnauthorized        = "UNAUTHORIZED"
	CodeForbidden           = "FORBIDDEN"
	CodeNotFound            = "NOT_FOUND"
	CodeMethodNotAllowed    = "METHOD_NOT_ALLOWED"
	CodeConflict            = "CONFLICT"
	CodeUnprocessableEntity = "UNPROCESSABLE_ENTITY"
	CodeTooManyRequests     = "TOO_MANY_REQUESTS"
	CodeInternal            = "INTERNAL_SERVER_ERROR"
	CodeUnavailable         = "SERVICE_UNAVAILABLE"
)

// Error is the one error type: what the client sees (status, envelope code,
// OAuth error, a safe message, headers) and the cause, which only the log sees.
type Error struct {
	Status     int
	Code       string
	OAuthError string // RFC 6749 §5.2 error code, empty when not an OAuth error
	Message    string
	Header     http.Header
	// Fields is the per-field breakdown of a validation failure; the envelope
	// shows it from the structured-errors API version on (PRODUCT R6).
	Fields []FieldError
	Cause  error
}

// FieldError is one entry of the envelope's errors array: a zod-style issue
// code (invalid_type, too_small, too_big, invalid_format, unrecognized_keys,
// invalid_value, custom), the field's path and a message.
type FieldError struct {
	Code    string `json:"code"`
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Invalid is a 400 for a request whose fields failed validation. The message
// names the first failure, as the Nomos API does ("invalid_type in 'end':
// Required"); fields lists them all.
func Invalid(fields ...FieldError) *Error {
	msg := "Invalid request"
	if len(fields) > 0 {
		msg = fields[0].Code + " in '" + fields[0].Field + "': " + fields[0].Message
	}
	e := newError(http.StatusBadRequest, CodeBadRequest, "", msg)
	e.Fields = fields
	return e
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Code)
	if e.OAuthError != "" {
		b.WriteString(" (" + e.OAuthError + ")")
	}
	b.WriteString(": " + e.Message)
	if e.Cause != nil {
		b.WriteString(": " + e.Cause.Error())
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Cause }

// WithCause returns e carrying cause for the log.
func (e *Error) WithCause(cause error) *Error {
	e.Cause = cause
	return e
}

func newError(status int, code, oauthErr, msg string) *Error {
	return &Error{Status: status, Code: code, OAuthError: oauthErr, Message: msg, Header: http.Header{}}
}

// HeadersTooLarge is a 431 (RFC 6585 §5) for a request whose header
// fields together pass limit bytes, in the envelope as any bad input
// (PRODUCT S4).
func HeadersTooLarge(limit int) *Error {
	return newError(http.StatusRequestHeaderFieldsTooLarge, CodeBadRequest, "invalid_request",
		fmt.Sprintf("The request's header fields are too large (at most %d KiB).", limit>>10))
}

// BadRequest is a plain 400 for input that is wrong.
func BadRequest(msg string) *Error {
	return newError(http.StatusBadRequest, CodeBadRequest, "", msg)
}

// InvalidRequest is RFC 6749 §5.2 invalid_request: a malformed token request (PRODUCT T2).
func InvalidRequest(msg string) *Error {
	return newError(http.StatusBadRequest, CodeBadRequest, "invalid_request", msg)
}

// Realm is the HTTP authentication realm of the token endpoint's Basic challenge.
const Realm = "nomosauth"

// InvalidClient is RFC 6749 §5.2 invalid_client with a Basic challenge (PRODUCT T1).
// The message never says which part was wrong, so ids cannot be probed.
func InvalidClient() *Error {
	e := newError(http.StatusUnauthorized, CodeUnauthorized, "invalid_client", "Client authentication failed")
	e.Header.Set("WWW-Authenticate", `Basic realm="`+Realm+`", charset="UTF-8"`)
	return e
}

// InvalidGrant is RFC 6749 §5.2 invalid_grant; Nomos answers it with 401 (PRODUCT T5, T6).
func InvalidGrant(msg string) *Error {
	return newError(http.StatusUnauthorized, CodeUnauthorized, "invalid_grant", msg)
}

// InvalidScope is RFC 6749 §5.2 invalid_scope (PRODUCT T3).
func InvalidScope(msg string) *Error {
	return newError(http.StatusBadRequest, CodeBadRequest, "invalid_scope", msg)
}

// UnauthorizedClient is RFC 6749 §5.2 unauthorized_client: the client may not use this grant.
func UnauthorizedClient(msg string) *Error {
	return newError(http.StatusBadRequest, CodeBadRequest, "unauthorized_client", msg)
}

// UnsupportedGrantType is RFC 6749 §5.2 unsupported_grant_type.
func UnsupportedGrantType(grant string) *Error {
	return newError(http.StatusBadRequest, CodeBadRequest, "unsupported_grant_type",
		"grant_type "+Quote(grant)+" is not supported")
}

// InvalidToken is RFC 6750 §3.1 invalid_token for the protected API (PRODUCT R1).
func InvalidToken(msg string) *Error {
	e := newError(http.StatusUnauthorized, CodeUnauthorized, "invalid_token", msg)
	e.Header.Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	return e
}

// InsufficientScope is RFC 6750 §3.1 insufficient_scope (PRODUCT R2).
func InsufficientScope(need string) *Error {
	e := newError(http.StatusForbidden, CodeForbidden, "insufficient_scope", "This request needs scope "+need)
	e.Header.Set("WWW-Authenticate", `Bearer error="insufficient_scope", scope="`+need+`"`)
	return e
}

// Forbidden is a plain 403.
func Forbidden(msg string) *Error {
	return newError(http.StatusForbidden, CodeForbidden, "", msg)
}

// NotFound is the one body for a missing resource, whether it is absent or
// merely not the caller's (PRODUCT R3).
func NotFound() *Error {
	return newError(http.StatusNotFound, CodeNotFound, "", "Resource not found")
}

// MethodNotAllowed is a 405 carrying the allowed methods.
func MethodNotAllowed(allow string) *Error {
	e := newError(http.StatusMethodNotAllowed, CodeMethodNotAllowed, "", "Method not allowed")
	e.Header.Set("Allow", allow)
	return e
}

// Conflict is a 409.
func Conflict(msg string) *Error {
	return newError(http.StatusConflict, CodeConflict, "", msg)
}

// TooManyRequests is a 429 with Retry-After in whole seconds.
func TooManyRequests(retryAfterSeconds int) *Error {
	e := newError(http.StatusTooManyRequests, CodeTooManyRequests, "",
		fmt.Sprintf("Wait %d seconds before retrying.", retryAfterSeconds))
	e.Header.Set("Retry-After", strconv.Itoa(retryAfterSeconds))
	return e
}

// Internal is a 500 whose message hides the cause.
func Internal(cause error) *Error {
	return newError(http.StatusInternalServerError, CodeInternal, "server_error", "Internal Server Error").WithCause(cause)
}

// UnavailableRetryAfter is the Retry-After of Unavailable, in seconds.
const UnavailableRetryAfter = 5

// Unavailable is a 503 with Retry-After: the database cannot be reached
// or written for now (PRODUCT S5), or the server is not ready.
func Unavailable(cause error) *Error {
	e := newError(http.StatusServiceUnavailable, CodeUnavailable, "temporarily_unavailable",
		fmt.Sprintf("Service temporarily unavailable. Retry in %d seconds.", UnavailableRetryAfter)).WithCause(cause)
	e.Header.Set("Retry-After", strconv.Itoa(UnavailableRetryAfter))
	return e
}

// Quote quotes client input for a message: cut to a safe length, with
// control characters and quotes replaced, so echoed input cannot forge text.
func Quote(s string) string {
	const max = 40
	if len(s) > max {
		s = s[:max] + "…"
	}
	return `"` + strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '"' {
			return '?'
		}
		return r
	}, s) + `"`
}

// OAuthDescription is message as an OAuth error_description may carry it:
// RFC 6749 §4.1.2.1 and §5.2 allow only %x20-21 / %x23-5B / %x5D-7E, so
// a double quote becomes a single one, a backslash a slash, and any
// other character outside the set (non-ASCII, controls) a question mark.
// The envelope's message keeps the text as it was.
func OAuthDescription(message string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '"':
			return '\''
		case r == '\\':
			return '/'
		case r < 0x20 || r > 0x7e:
			return '?'
		}
		return r
	}, message)
}
