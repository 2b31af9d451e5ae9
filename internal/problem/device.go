package problem

import "net/http"

// The device grant's polling answers (RFC 8628 §3.5): each a 400 with its
// OAuth error, which golang.org/x/oauth2 and other clients act on.

// AuthorizationPending: the customer has not answered yet; poll again
// after the interval.
func AuthorizationPending() *Error {
	return newError(http.StatusBadRequest, CodeBadRequest, "authorization_pending", "the customer has not answered yet")
}

// SlowDown: the device polled faster than its interval, which has now
// grown by five seconds.
func SlowDown() *Error {
	return newError(http.StatusBadRequest, CodeBadRequest, "slow_down", "polling too fast: wait five seconds longer between polls")
}

// ExpiredToken: the device code expired before the customer allowed it;
// the device must start again.
func ExpiredToken() *Error {
	return newError(http.StatusBadRequest, CodeBadRequest, "expired_token", "the device code has expired")
}

// AccessDenied: the customer denied the device's request.
func AccessDenied(msg string) *Error {
	return newError(http.StatusBadRequest, CodeBadRequest, "access_denied", msg)
}
