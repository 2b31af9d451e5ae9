package store

import (
	"context"
	"errors"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
)

// Sentinel errors, checked with errors.Is and translated where their meaning
// is known.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
	// ErrUnavailable: the database cannot be reached or written (down,
	// restarting, out of disk, locked). The request may succeed later
	// (PRODUCT S5).
	ErrUnavailable = errors.New("database unavailable")
)

// RefreshDecider is the pure refresh rule the store runs inside its
// transaction, on the rows as they are there (oauth.RefreshRule.Decide). It
// may be called more than once and must do no I/O.
type RefreshDecider func(tok domain.RefreshToken, fam domain.Family, child *domain.RefreshToken) (domain.RefreshDecision, error)

// CodeDecider is the pure authorization-code rule (oauth.CodeRule.Check)
// the store runs inside its transaction. It must do no I/O.
type CodeDecider func(code domain.AuthCode, grant domain.Grant) (domain.CodeVerdict, error)

// Redemption is the outcome of RedeemCode: the verdict, the code as it was
// presented, and the family that was started (Redeem) or revoked (Replay).
// Revoked says a Replay revoked the family now; a replay of a family
// revoked before changes nothing. Customer is the code's customer as the
// redemption read it, so an ID token needs no read after the code is spent
// (PRODUCT T12, S2).
type Redemption struct {
	Verdict  domain.CodeVerdict
	Code     domain.AuthCode
	Family   domain.Family
	Revoked  bool
	Customer domain.Customer
}

// OneTimeDecider is the pure one-time-code rule the store runs inside its
// transaction. It must do no I/O.
type OneTimeDecider func(c domain.OneTimeCode) domain.OneTimeVerdict

// Unsealed is a client-credentials family known only from a token the
// server can check without a row (issue 17): its sealed first refresh
// token, or an access token minted with it. Family is the family as the
// token describes it, created at the issue time; Token is the sealed
// refresh token as its row would be (live, its hash, created at the issue
// time, expiring the refresh idle time later), with an empty Hash when
// only an access token was presented. Until Token.ExpiresAt the sealed
// token can come back, so a row that refuses it stays at least that long.
type Unsealed struct {
	Family domain.Family
	Token  domain.RefreshToken
}

// FamilyToken is a presented refresh token that names its family: a
// counted token (internal/seal Counter) of Generation, or a family's
// sealed first token (First, generation 0), whose family may have no row
// yet (issue 17).
type FamilyToken struct {
	FamilyID   string
	Generation uint64
	First      *Unsealed
	// RowChild is First's child should its family hold token rows (an
	// earlier build materialized it): the token derived from First
	// (ids.DeriveRefreshToken), as RotateRefreshToken takes it.
	RowChild domain.RefreshToken
	// NextKey is the id of the seal key a generation this rotation makes
	// live is minted under, kept in the family's row so every retry, on
	// any replica, mints that generation's one token.
	NextKey string
}

// Rotation is the outcome of RotateRefreshToken: the decision (verdict and
// the scope the new access token carries) and the family as it now is.
type Rotation struct {
	domain.RefreshDecision
	Family domain.Family
	// RowChild says the family holds token rows and the child handed out
	// is FamilyToken.RowChild, not a counted token.
	RowChild bool
}

// Store is everything nomosauth keeps, as the roles below. Methods take
// hashes, never secrets, and return records by value; a missing record is
// ErrNotFound. A verb that makes a security-relevant change takes its
// Origin and writes the change's audit row in the change's own
// transaction, so a row exists exactly when its change committed (PRODUCT O8). Writes that return nil are durable (PRODUCT S2). Consumers
// depend on the roles (or fewer methods), never on Store itself; only the
// wiring in cli holds a Store.
type Store interface {
	Directory
	Customers
	Families
	Grants
	Journey
	Keys
	Audit
	Devices
	MagicLinks
	Housekeeping
	Changes
}

// Directory is the operators' side of the records: organizations, clients
// and their secrets.
type Directory interface {
	CreateOrg(ctx context.Context, org domain.Org) error
	GetOrg(ctx context.Context, id string) (domain.Org, error)
	ListOrgs(ctx context.Context) ([]domain.Org, error)

	// CreateClient stores a client with its first secret (none for public clients).
	CreateClient(ctx context.Context, c domain.Client, secret *domain.ClientSecret, by domain.Origin) error
	GetClient(ctx context.Context, id string) (domain.Client, error)
	// ListClients lists an organization's clients, or every client when
	// orgID is empty, newest first.
	ListClients(ctx context.Context, orgID string) ([]domain.Client, error)
	// ClientSecrets returns every stored secret of the client, current and overlapping.
	ClientSecrets(ctx context.Context, clientID string) ([]domain.ClientSecret, error)
	// RotateClientSecret adds a secret and sets every older secret still
	// valid at its creation to expire at oldExpiresAt (PRODUCT S1).
	RotateClientSecret(ctx context.Context, secret domain.ClientSecret, oldExpiresAt time.Time, by domain.Origin) error
	DisableClient(ctx context.Context, id string, by domain.Origin) error
}

// Changes are the per-organization change counters (issue 17). Every
// verb of Directory and Customers that changes a record of an
// organization (CreateOrg, CreateClient, RotateClientSecret, a
// DisableClient that disables, CreateCustomer, UpdateCustomer,
// CreateSubscription, ImportPrices) adds one to its organization's counter
// in its own transaction; a write that fails adds nothing. A process that
// holds an organization's records in memory drops them when the counter
// moves, which is how another process's change reaches it within one
// poll.
type Changes interface {
	// OrgChanges returns every organization's counter; one never
	// changed has none.
	OrgChanges(ctx context.Context) (map[string]int64, error)
}

// Customers is the data the protected API serves: customers, their
// subscriptions and the subscriptions' prices.
type Customers interface {
	// CreateCustomer fails with ErrConflict when the email, compared
	// case-insensitively, is taken anywhere on the server.
	CreateCustomer(ctx context.Context, c domain.Customer, by domain.Origin) error
	GetCustomer(ctx context.Context, id string) (domain.Customer, error)
	// ListCustomers lists the customers f matches, newest first, after p.After.
	ListCustomers(ctx context.Context, f CustomerFilter, p Page) ([]domain.Customer, error)
	// UpdateCustomer applies p to customer id in one statement and
	// returns the customer as stored after it.
	UpdateCustomer(ctx context.Context, id string, p domain.CustomerPatch) (domain.Customer, error)
	// CreateSubscription stores a subscription for an existing customer of
	// the same organization (another organization's customer is ErrConflict).
	CreateSubscription(ctx context.Context, s domain.Subscription) error
	GetSubscription(ctx context.Context, id string) (domain.Subscription, error)
	// ListSubscriptions lists the subscriptions f matches, newest first, after p.After.
	ListSubscriptions(ctx context.Context, f SubscriptionFilter, p Page) ([]domain.Subscription, error)
	// ImportPrices stores points for the subscription, replacing any at the
	// same instants, all or nothing.
	ImportPrices(ctx context.Context, subscriptionID string, points []domain.PricePoint) error
	// ListPrices returns the subscription's points in [from, to), oldest first.
	ListPrices(ctx context.Context, subscriptionID string, from, to time.Time) ([]domain.PricePoint, error)
}

// Families is the refresh-token side of the token endpoint (PRODUCT T5, S2, S3).
type Families interface {
	// IssueRefreshToken starts a family with its first live token as a
	// row, as releases before counted tokens did: upgrades keep rotating
	// such families by RotateRefreshToken.
	IssueRefreshToken(ctx context.Context, fam domain.Family, tok domain.RefreshToken) error
	// RotateRefreshToken presents the token with hash presented. In one
	// transaction it loads the token, its family and its child, asks decide,
	// and acts on the verdict: Rotate and Replace store next as the family's
	// one live token; Retry, whose live child must be next, writes nothing;
	// Reuse revokes the family at by.At and audits it. An error from decide
	// changes nothing and is returned as is.
	RotateRefreshToken(ctx context.Context, presented string, next domain.RefreshToken, by domain.Origin, decide RefreshDecider) (Rotation, error)
	// RotateFamilyToken presents a token that names its family, by the
	// same rule as RotateRefreshToken on the family's row alone: when
	// presented.First's family has no row it is inserted first
	// (idempotently under races on any replica); the family's live
	// generation is a live token, the one before it a token rotated at
	// GenerationAt whose child (next) is live, any older one a token whose
	// child was used. Rotate makes the next generation live until
	// next.ExpiresAt; Retry writes nothing; Reuse revokes the family at
	// by.At and audits it. A generation the family never reached is
	// ErrNotFound, and so is a sealed token of a tombstone (a family
	// revoked before it had a row). A sealed token of a family an earlier
	// build materialized with token rows is judged by RotateRefreshToken
	// on its hash, with RowChild as next (Rotation.RowChild).
	RotateFamilyToken(ctx context.Context, presented FamilyToken, next domain.RefreshToken, by domain.Origin, decide RefreshDecider) (Rotation, error)
	// GetFamily loads one family (introspection of a sealed token, PRODUCT T10).
	GetFamily(ctx context.Context, id string) (domain.Family, error)
	// RevokedFamilies lists the families revoked at or after since, so every
	// process can refuse their access tokens (PRODUCT A11).
	RevokedFamilies(ctx context.Context, since time.Time) ([]domain.Family, error)
	// RevokeHeldFamily is the revocation endpoint's verb (PRODUCT T9): in
	// one transaction it loads the family familyID names (an access
	// token's family claim) or, when familyID is empty, the family of the
	// refresh token whose hash is tokenHash, and asks may, the ownership
	// rule (oauth.MayRevoke), on it. Allowed, it revokes the family at
	// by.At and writes its token.revoked row, and returns the family's id;
	// revoked says whether this call revoked it (a family revoked before
	// keeps its time and gains no row). Refused, nothing changes and id is
	// empty. Nothing found is ErrNotFound, unless unsealed describes the
	// family (a client-credentials family that has no row yet, issue 17):
	// then may is asked on unsealed.Family and, allowed, the family's row
	// is inserted revoked (a tombstone, carried by RevokedFamilies like
	// any revocation) and kept until unsealed.Token.ExpiresAt, so its
	// sealed token is refused for as long as it could be presented.
	RevokeHeldFamily(ctx context.Context, familyID, tokenHash string, unsealed *Unsealed, by domain.Origin, may func(domain.Family) bool) (id string, revoked bool, err error)
	// RefreshTokenFamily loads the refresh token with hash hash and its
	// family, in one read, for introspection (PRODUCT T10).
	RefreshTokenFamily(ctx context.Context, hash string) (domain.RefreshToken, domain.Family, error)
}

// Grants is consent and what it yields: grants and authorization codes
// (PRODUCT A8, A11, T6).
type Grants interface {
	// UpsertGrant records a customer's consent (PRODUCT A8): when the
	// customer holds an active grant for g.ClientID, its scopes widen to
	// include g.Scopes and it is returned; otherwise g is stored.
	UpsertGrant(ctx context.Context, g domain.Grant, by domain.Origin) (domain.Grant, error)
	GetGrant(ctx context.Context, id string) (domain.Grant, error)
	// ActiveGrant returns the customer's active grant for the client.
	ActiveGrant(ctx context.Context, customerID, clientID string) (domain.Grant, error)
	// ListGrants lists the customer's active grants, newest first.
	ListGrants(ctx context.Context, customerID string) ([]domain.Grant, error)
	// RevokeGrant revokes the grant and every family born from it at
	// by.At, and returns those families' ids and whether this call revoked
	// the grant (PRODUCT A11). Revoking twice keeps the first time, and the
	// second call revokes, returns and audits nothing.
	RevokeGrant(ctx context.Context, id string, by domain.Origin) (families []string, revoked bool, err error)

	// CreateCode stores an authorization code.
	CreateCode(ctx context.Context, c domain.AuthCode) error
	// RedeemCode presents the code with hash presented. In one transaction
	// it loads the code and its grant and asks decide. CodeRedeem marks the
	// code used and starts fam (its client, organization, customer, grant
	// and scopes come from the code; its live generation, counted, from
	// the caller); CodeReplay
	// revokes the family the first redemption started (PRODUCT T6) at
	// by.At and audits it. An error from decide changes nothing and is
	// returned as is.
	RedeemCode(ctx context.Context, presented string, fam domain.Family, by domain.Origin, decide CodeDecider) (Redemption, error)
}

// Journey is the hosted sign-in: browser sessions and one-time codes (PRODUCT A7).
type Journey interface {
	// CreateSession stores a signed-in session and audits the sign-in.
	CreateSession(ctx context.Context, s domain.Session, by domain.Origin) error
	GetSession(ctx context.Context, hash string) (domain.Session, error)
	// TouchSession records activity, for the idle lifetime.
	TouchSession(ctx context.Context, hash string, at time.Time) error
	// DeleteSession ends a session; ending one that is gone is no error.
	DeleteSession(ctx context.Context, hash string) error

	// CreateOneTimeCode stores c as its browser's one pending code: any
	// earlier unused code of the same browser stops counting.
	CreateOneTimeCode(ctx context.Context, c domain.OneTimeCode) error
	// PendingOneTimeCode is the browser's code not used yet, the newest;
	// ErrNotFound when there is none. Expiry is the caller's to judge.
	PendingOneTimeCode(ctx context.Context, browserHash string) (domain.OneTimeCode, error)
	// VerifyOneTimeCode runs decide on the browser's pending code inside a
	// transaction at by.At: Accept marks it used, Reject counts a try,
	// Lockout counts the last try and audits it (PRODUCT A7, O8). No
	// pending code is ErrNotFound.
	VerifyOneTimeCode(ctx context.Context, browserHash string, by domain.Origin, decide OneTimeDecider) (domain.OneTimeCode, domain.OneTimeVerdict, error)
}

// Keys holds the signing keys and the server-wide secrets every replica shares.
type Keys interface {
	// AddSigningKey stores k, without retirement: the key that signs once
	// the keys before it retire. A zero handover adds a first key and fails
	// with ErrConflict when a key without retirement exists, so that
	// replicas starting together create one. A rotation retires the key
	// without retirement at handover, a publication delay ahead, and keeps
	// it published until publishedUntil (PRODUCT T8, publish then sign);
	// keys an earlier rotation retired keep their times. Behind a rotation
	// still waiting for its handover, the handover moves to just after
	// that one's, and publishedUntil with it. It returns when k begins to
	// sign: the handover as made (zero for a first key).
	AddSigningKey(ctx context.Context, k domain.SigningKey, handover, publishedUntil time.Time, by domain.Origin) (time.Time, error)
	ListSigningKeys(ctx context.Context) ([]domain.SigningKey, error)
	// AddSealKey stores k, the key that seals client-credentials refresh
	// tokens from k.SealsFrom (issue 17). A zero retireAt adds a first key
	// and fails with ErrConflict when a key without successor exists, so
	// replicas starting together create one; otherwise the key without
	// successor retires at retireAt. A rotation queues: when k.SealsFrom
	// is not after every stored key's, k seals from just after the latest
	// and retireAt moves with it (a second rotation with a shorter delay,
	// or made on a clock that is behind, never lets the key it replaces
	// seal again). It returns when k seals. Audited as seal_key.created
	// or seal_key.rotated.
	AddSealKey(ctx context.Context, k domain.SealKey, retireAt time.Time, by domain.Origin) (sealsFrom time.Time, err error)
	// ListSealKeys lists every stored seal key, newest first.
	ListSealKeys(ctx context.Context) ([]domain.SealKey, error)
	// ServerKey returns the server-wide secret called name, storing
	// candidate first when there is none, so every replica shares one.
	ServerKey(ctx context.Context, name string, candidate []byte) ([]byte, error)
}

// DeviceDecider is the pure device poll rule (oauth.DevicePollRule.Decide)
// the store runs inside its transaction, on the request and, once it was
// approved, the grant the approval made (zero before). It must do no I/O.
type DeviceDecider func(d domain.DeviceRequest, g domain.Grant) (domain.DeviceVerdict, error)

// DevicePoll is the outcome of PollDevice: the verdict, the request as it
// now is, and the family an Issue started.
type DevicePoll struct {
	Verdict domain.DeviceVerdict
	Request domain.DeviceRequest
	Family  domain.Family
}

// Devices is the device authorization grant (PRODUCT T11; RFC 8628).
type Devices interface {
	// CreateDeviceRequest stores a new pending request; a device or user
	// code hash taken already is ErrConflict (draw again).
	CreateDeviceRequest(ctx context.Context, d domain.DeviceRequest) error
	// DeviceRequestByUserCode loads the request whose user code has hash
	// h, in any state: the caller judges it.
	DeviceRequestByUserCode(ctx context.Context, h string) (domain.DeviceRequest, error)
	// AnswerDeviceRequest records the customer's answer to request id in
	// one transaction: approve upserts g as UpsertGrant does (its scopes
	// widened by the request's) and marks the request approved for g's
	// customer and the grant; deny marks it denied. Only a pending request
	// before its expiry (by.At) can be answered, else ErrConflict. The
	// answer's audit row (device.approved, with consent.given, or
	// device.denied) commits with it.
	AnswerDeviceRequest(ctx context.Context, id string, approve bool, g domain.Grant, by domain.Origin) (domain.DeviceRequest, error)
	// PollDevice presents the device code with hash presented. In one
	// transaction it loads the request, its row locked, and the grant an
	// approval made (held against revocation), and asks decide:
	// Pending records the poll at by.At; SlowDown records it and widens
	// the interval by five seconds (RFC 8628 §3.5); Issue starts fam (its
	// client, organization, customer, grant and scopes come from the
	// request; its live generation from the caller) and marks the request redeemed;
	// the other verdicts change nothing. An error from decide changes
	// nothing and is returned as is.
	PollDevice(ctx context.Context, presented string, fam domain.Family, by domain.Origin, decide DeviceDecider) (DevicePoll, error)
}

// MagicLinkDecider is the pure magic-link rule (oauth.CheckMagicLink at
// a fixed now) the store runs inside its transaction. It must do no I/O.
type MagicLinkDecider func(l domain.MagicLink) error

// MagicLinks are sign-in links an organization asks for on behalf of its
// customers (PRODUCT A12).
type MagicLinks interface {
	// CreateMagicLink stores l and audits it (magic_link.issued, by the
	// client) in one transaction; an unknown customer is ErrNotFound.
	CreateMagicLink(ctx context.Context, l domain.MagicLink, by domain.Origin) error
	// GetMagicLink loads the link whose token has hash hash, in any state.
	GetMagicLink(ctx context.Context, hash string) (domain.MagicLink, error)
	// RedeemMagicLink presents the link with hash hash. In one
	// transaction it loads the link, its row locked, and asks decide; an
	// error from decide changes nothing and is returned as is. Allowed,
	// it marks the link used at by.At, stores ses as a session of the
	// link's customer, and writes magic_link.used and signin.succeeded
	// with the customer as actor. An unknown link is ErrNotFound.
	RedeemMagicLink(ctx context.Context, hash string, ses domain.Session, by domain.Origin, decide MagicLinkDecider) (domain.MagicLink, error)
}

// Audit is the append-only audit log (PRODUCT O8). Most rows are written by
// the verbs whose changes they record; RecordAudit is for a decision that
// changes nothing else (a consent denied).
type Audit interface {
	RecordAudit(ctx context.Context, e domain.AuditEvent) error
	// ListAudit lists the events f matches, newest first, before p.Before.
	ListAudit(ctx context.Context, f AuditFilter, p AuditPage) ([]domain.AuditEvent, error)
}

// AuditFilter selects audit events; empty fields match everything.
type AuditFilter struct {
	Since      time.Time // at or after
	ClientID   string
	CustomerID string
	Action     domain.AuditAction
}

// AuditPage selects up to Limit events older than Before (an event id);
// zero Before is the newest.
type AuditPage struct {
	Before int64
	Limit  int
}

// Retention is how long cleanup keeps what no longer matters to a request.
type Retention struct {
	// Revoked is how long revoked families and used codes stay after
	// their last event, so their access tokens stay refused.
	Revoked time.Duration
	// Audit is how long audit events stay; zero keeps them for ever.
	Audit time.Duration
}

// Housekeeping is what keeps the store itself healthy.
type Housekeeping interface {
	// DeleteExpired removes what has expired by now and can no longer
	// matter (PRODUCT O6), and returns how many rows went.
	DeleteExpired(ctx context.Context, now time.Time, keep Retention) (int64, error)
	// AppliedMigrations lists the migrations recorded in the database, oldest first.
	AppliedMigrations(ctx context.Context) ([]Migration, error)
	Ping(ctx context.Context) error
	// Close finishes the writes already queued and releases the database.
	Close() error
}

// Migration is one applied schema migration.
type Migration struct {
	Version   int
	Name      string
	Checksum  string // hex SHA-256 of the file as applied
	AppliedAt time.Time
}

// Cursor is a position in a newest-first list: the last row seen. The zero
// cursor is the start.
type Cursor struct {
	CreatedAt time.Time
	ID        string
}

// Page selects up to Limit rows after After.
type Page struct {
	After Cursor
	Limit int
}

// CustomerFilter selects customers; empty fields match everything, and
// every condition must hold (PRODUCT R9: filters combine with AND).
type CustomerFilter struct {
	OrgID string
	ID    string
	Email string // compared case-insensitively
	// The API's filter[field][operator] conditions (PRODUCT R9).
	Emails  []TextMatch // compared case-insensitively
	Types   []TextMatch
	Created []TimeMatch
}

// SubscriptionFilter selects subscriptions; empty fields match everything,
// and every condition must hold.
type SubscriptionFilter struct {
	OrgID       string
	CustomerID  string
	Status      domain.SubscriptionStatus
	ExcludeType domain.SubscriptionType
	// The API's filter[field][operator] conditions (PRODUCT R9).
	Statuses  []TextMatch
	Customers []TextMatch
	Plans     []TextMatch
	Created   []TimeMatch
	Updated   []TimeMatch // a never-updated subscription's updated_at is its created_at
}

// MaxMatchValues bounds the values of one TextMatch, so an `in` filter
// makes a bounded statement.
const MaxMatchValues = 50

// TextMatch is a condition on a text column: it equals one of In, or with
// Not, none of them.
type TextMatch struct {
	In  []string
	Not bool
}

// Compare is the comparison of a TimeMatch.
type Compare string

// The comparisons of an instant with a filter's value.
const (
	Equal      Compare = "eq"
	After      Compare = "gt"
	AtOrAfter  Compare = "gte"
	Before     Compare = "lt"
	AtOrBefore Compare = "lte"
)

// TimeMatch is a condition on an instant column: column Op At.
type TimeMatch struct {
	Op Compare
	At time.Time
}

// Micros is At in the microseconds instant columns hold, rounded both
// ways, so a value finer than a microsecond compares exactly: rows at or
// after At are those at or after up, rows at or before At those at or
// before down (the store's SQL and the in-memory view alike).
func (m TimeMatch) Micros() (down, up int64) {
	down = m.At.UnixMicro()
	up = down
	if m.At.Sub(time.UnixMicro(down)) > 0 {
		up++
	}
	return down, up
}

// MsgUnavailable is the log message of work that failed because the
// database is unavailable (ErrUnavailable), a request's or a background
// poll's: the log throttles it (httpx.ThrottleLog), so an outage is
// logged once per interval with a count, not once per failure (PRODUCT S5).
const MsgUnavailable = "database unavailable"
