package domain

import (
	"slices"
	"time"
)

// AuditAction names a security-relevant change (PRODUCT O8). The names are
// stable: operators filter and alert on them.
type AuditAction string

// The audited changes.
const (
	AuditClientCreated       AuditAction = "client.created"
	AuditClientDisabled      AuditAction = "client.disabled"
	AuditClientSecretRotated AuditAction = "client.secret_rotated"
	AuditSigningKeyCreated   AuditAction = "signing_key.created"
	AuditSigningKeyRotated   AuditAction = "signing_key.rotated"
	AuditSealKeyCreated      AuditAction = "seal_key.created" // the first key sealing client-credentials refresh tokens (issue 17)
	AuditSealKeyRotated      AuditAction = "seal_key.rotated"
	AuditCustomerCreated     AuditAction = "customer.created"
	AuditConsentGiven        AuditAction = "consent.given"
	AuditConsentDenied       AuditAction = "consent.denied"
	AuditConsentRevoked      AuditAction = "consent.revoked"
	AuditRefreshReuse        AuditAction = "refresh.reuse_detected"
	AuditCodeReplay          AuditAction = "code.replayed"
	AuditTokenRevoked        AuditAction = "token.revoked" // by its client at the revocation endpoint (PRODUCT T9)
	AuditSignInSucceeded     AuditAction = "signin.succeeded"
	AuditSignInLockedOut     AuditAction = "signin.locked_out"
	AuditDeviceApproved      AuditAction = "device.approved"
	AuditDeviceDenied        AuditAction = "device.denied"
	AuditMagicLinkIssued     AuditAction = "magic_link.issued" // by a client at POST /admin/magic_link (PRODUCT A12)
	AuditMagicLinkUsed       AuditAction = "magic_link.used"   // by its customer on the hosted page (PRODUCT A12)
)

// AuditActionNames lists every audited action, in a fixed order.
func AuditActionNames() []AuditAction {
	return []AuditAction{
		AuditClientCreated, AuditClientDisabled, AuditClientSecretRotated,
		AuditSigningKeyCreated, AuditSigningKeyRotated, AuditCustomerCreated,
		AuditConsentGiven, AuditConsentDenied, AuditConsentRevoked,
		AuditRefreshReuse, AuditCodeReplay, AuditSignInSucceeded, AuditSignInLockedOut, AuditDeviceApproved, AuditDeviceDenied,
		AuditTokenRevoked, AuditMagicLinkIssued, AuditMagicLinkUsed, AuditSealKeyCreated, AuditSealKeyRotated,
	}
}

// Known reports whether a is one of the audited actions, for validating filters.
func (a AuditAction) Known() bool { return slices.Contains(AuditActionNames(), a) }

// ActorKind says who made a change.
type ActorKind string

// The actors: an operator at the admin CLI, a client at the token
// endpoint, a customer on the hosted pages, or the server itself.
const (
	ActorOperator ActorKind = "operator"
	ActorClient   ActorKind = "client"
	ActorCustomer ActorKind = "customer"
	ActorSystem   ActorKind = "system"
)

// Actor is who made a change: a kind and, for clients and customers, their
// id (an operator's login name when known).
type Actor struct {
	Kind ActorKind
	ID   string
}

// Origin is who made a change, when, and from where: what a store verb
// needs to write the change's audit row in the change's own transaction
// (PRODUCT O8). SourceAddr and RequestID are empty outside HTTP.
type Origin struct {
	Actor      Actor
	At         time.Time
	SourceAddr string
	RequestID  string
}

// System is the origin of a change the server makes by itself at at.
func System(at time.Time) Origin { return Origin{Actor: Actor{Kind: ActorSystem}, At: at} }

// AuditEvent is one row of the append-only audit log (PRODUCT O8). It
// never holds a secret, token, code or one-time code: targets are ids.
type AuditEvent struct {
	// ID orders the log by when rows were written. On PostgreSQL a
	// transaction that writes a row a moment after another may commit
	// before it, so a row can appear below ids already listed.
	ID     int64
	At     time.Time
	Action AuditAction
	Actor  Actor
	// TargetID is what the change was made to: a client, key, grant,
	// family, customer or one-time-code id.
	TargetID string
	// ClientID and CustomerID are the client and customer the change
	// concerns, when it concerns one, for filtering.
	ClientID   string
	CustomerID string
	SourceAddr string
	RequestID  string
}

// Event is the audit row o writes for action on target.
func (o Origin) Event(action AuditAction, target, clientID, customerID string) AuditEvent {
	return AuditEvent{At: o.At, Action: action, Actor: o.Actor, TargetID: target, ClientID: clientID, CustomerID: customerID,
		SourceAddr: o.SourceAddr, RequestID: o.RequestID}
}
