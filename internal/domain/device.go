package domain

import "time"

// UserCodeAlphabet is the letters of device user codes: consonants only,
// so no word can be spelled and no letter is read as a digit (RFC 8628
// §6.1's base-20 set; PRODUCT T11). UserCodeLength of them make a code:
// 20^8, about 2^34.6.
const (
	UserCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"
	UserCodeLength   = 8
)

// DeviceState is where a device authorization request stands (PRODUCT T11).
type DeviceState string

// The device request states: pending until the customer answers on the
// /device page; approved or denied by that answer; redeemed once the
// device's poll has taken its tokens.
const (
	DevicePending  DeviceState = "pending"
	DeviceApproved DeviceState = "approved"
	DeviceDenied   DeviceState = "denied"
	DeviceRedeemed DeviceState = "redeemed"
)

// DeviceRequest is one device authorization request (RFC 8628 §3.1): the
// device polls with its device code, the customer answers on the /device
// page with the user code. Only the codes' hashes are stored.
type DeviceRequest struct {
	ID             string
	DeviceCodeHash string
	UserCodeHash   string
	ClientID       string
	OrgID          string
	Scopes         Scopes
	// DeviceName is what the client declared the device to be, if it did,
	// shown to the customer on the confirm page.
	DeviceName string
	// RequestedFrom is the network address the request came from, shown
	// to the customer so they can tell a remote request (phishing) from
	// the device in front of them.
	RequestedFrom string
	CreatedAt     time.Time
	ExpiresAt     time.Time
	// Interval is how long the device must wait between polls; each
	// slow_down adds five seconds (RFC 8628 §3.5).
	Interval     time.Duration
	LastPolledAt time.Time
	State        DeviceState
	// CustomerID and GrantID are set by the customer's Allow; FamilyID by
	// the redemption.
	CustomerID string
	GrantID    string
	FamilyID   string
}

// DeviceVerdict is the outcome of one device poll at the token endpoint.
type DeviceVerdict int

// The device poll verdicts (RFC 8628 §3.5): Pending, SlowDown, Expired and
// Denied are refusals the device keeps polling through or stops at; Issue
// hands out the tokens, once; Redeemed refuses a second redemption.
const (
	DevicePollPending DeviceVerdict = iota + 1
	DevicePollSlowDown
	DevicePollExpired
	DevicePollDenied
	DevicePollIssue
	DevicePollRedeemed
)
