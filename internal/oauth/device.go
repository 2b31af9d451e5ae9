package oauth

import (
	"strings"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/problem"
)

// GrantDeviceCode is the device grant's grant_type (RFC 8628 §3.4).
const GrantDeviceCode = "urn:ietf:params:oauth:grant-type:device_code"

// The device grant's lifetimes (PRODUCT T11; RFC 8628 §3.2, §3.5).
const (
	DeviceCodeTTL  = 10 * time.Minute
	DeviceInterval = 5 * time.Second
	// DeviceSlowDownStep is what each slow_down adds to the interval.
	DeviceSlowDownStep = 5 * time.Second
)

// ParseUserCode reads a user code as a customer typed it: case does not
// matter, and dashes and spaces from copying the XXXX-XXXX form are
// forgiven (PRODUCT T11). ok is false for anything but eight letters of
// the code alphabet, so a typo costs no try against the limit.
func ParseUserCode(typed string) (code string, ok bool) {
	if len(typed) > 32 {
		return "", false
	}
	code = strings.Map(func(r rune) rune {
		switch {
		case r == '-' || r == ' ' || r == '\t':
			return -1
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		}
		return r
	}, typed)
	if len(code) != domain.UserCodeLength {
		return "", false
	}
	for i := 0; i < len(code); i++ {
		if !strings.ContainsRune(domain.UserCodeAlphabet, rune(code[i])) {
			return "", false
		}
	}
	return code, true
}

// FormatUserCode shows a user code as the customer reads it: XXXX-XXXX.
func FormatUserCode(code string) string {
	if len(code) != domain.UserCodeLength {
		return code
	}
	return code[:4] + "-" + code[4:]
}

// DevicePollRule is PRODUCT T11 for one poll of the token endpoint: which
// client polls, and when.
type DevicePollRule struct {
	Client domain.Client
	Now    time.Time
}

// Decide judges the device request req a poll presents. It runs inside the
// store's transaction and may run more than once, so it does no I/O.
//
//   - a device code of another client is invalid_grant;
//   - a redeemed request is Redeemed: tokens go out once;
//   - past its expiry, Expired; denied by the customer, Denied;
//   - approved, but the grant the approval made was revoked since (the
//     customer took it back on connected apps before the device polled),
//     Denied: a revoked grant issues nothing (PRODUCT A11);
//   - approved, Issue, whatever the pace of the polls;
//   - still pending: SlowDown when this poll came sooner than the interval
//     after the last one (RFC 8628 §3.5), else Pending.
func (r DevicePollRule) Decide(req domain.DeviceRequest, grant domain.Grant) (domain.DeviceVerdict, error) {
	switch {
	case req.ClientID != r.Client.ID:
		return 0, problem.InvalidGrant("the device code was issued to another client")
	case req.State == domain.DeviceRedeemed:
		return domain.DevicePollRedeemed, nil
	case !r.Now.Before(req.ExpiresAt):
		return domain.DevicePollExpired, nil
	case req.State == domain.DeviceDenied:
		return domain.DevicePollDenied, nil
	case req.State == domain.DeviceApproved && (grant.ID != req.GrantID || grant.Revoked()):
		return domain.DevicePollDenied, nil
	case req.State == domain.DeviceApproved:
		return domain.DevicePollIssue, nil
	case !req.LastPolledAt.IsZero() && r.Now.Sub(req.LastPolledAt) < req.Interval:
		return domain.DevicePollSlowDown, nil
	}
	return domain.DevicePollPending, nil
}

// DevicePollRefusal is the answer a refusing verdict gets at the token
// endpoint (RFC 8628 §3.5), or nil for Issue.
func DevicePollRefusal(v domain.DeviceVerdict) error {
	switch v {
	case domain.DevicePollIssue:
		return nil
	case domain.DevicePollPending:
		return problem.AuthorizationPending()
	case domain.DevicePollSlowDown:
		return problem.SlowDown()
	case domain.DevicePollExpired:
		return problem.ExpiredToken()
	case domain.DevicePollDenied:
		return problem.AccessDenied("the customer denied the device's request")
	}
	return problem.InvalidGrant("the device code was already used")
}
