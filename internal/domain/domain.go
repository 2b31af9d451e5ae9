package domain

import (
	"slices"
	"strings"
	"time"
)

// Id prefixes, PRODUCT Domain table.
const (
	PrefixOrg          = "org_"
	PrefixClient       = "client_"
	PrefixCustomer     = "cus_"
	PrefixSubscription = "sub_"
	PrefixFamily       = "fam_"
	PrefixKey          = "key_"
	PrefixPlan         = "pln_"
	PrefixAddress      = "adr_"
	PrefixMeter        = "mtr_"
	PrefixPayment      = "pm_"
	PrefixGrant        = "grt_"
	PrefixDevice       = "dev_"
)

// Org is a tenant: it owns customers, subscriptions and Auth Clients.
type Org struct {
	ID        string
	Name      string
	CreatedAt time.Time
}

// Client is an Auth Client. A confidential client has secrets; a public one
// authenticates with its id alone and must use PKCE.
type Client struct {
	ID                string
	OrgID             string
	Name              string
	Public            bool
	Scopes            Scopes
	RedirectURIs      []string
	DefaultAPIVersion string
	Disabled          bool
	// FirstParty marks an app the operator runs itself (client create
	// --first-party): only such an app may skip the consent page with
	// flow_type=login (PRODUCT A9).
	FirstParty bool
	// DeviceGrant lets the client use the device authorization grant
	// (client create --device-grant; PRODUCT T11): chargers, heat pumps
	// and displays without a usable browser.
	DeviceGrant bool
	CreatedAt   time.Time
}

// ClientSecret is the stored form of one client secret: only its hash.
// ExpiresAt is zero while the secret is current; rotation sets it to the end
// of the overlap period (PRODUCT S1).
type ClientSecret struct {
	ClientID  string
	Hash      string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// ValidAt reports whether the secret may still authenticate at now.
func (s ClientSecret) ValidAt(now time.Time) bool {
	return s.ExpiresAt.IsZero() || now.Before(s.ExpiresAt)
}

// CustomerType is person or company.
type CustomerType string

// The customer types of the Nomos API.
const (
	CustomerPerson  CustomerType = "person"
	CustomerCompany CustomerType = "company"
)

// Customer belongs to one organization; its email is unique across the server,
// compared case-insensitively.
type Customer struct {
	ID          string
	OrgID       string
	Email       string
	FirstName   string
	LastName    string
	CompanyName string
	Type        CustomerType
	CreatedAt   time.Time
}

// CustomerPatch is a change to a customer's names: a nil field keeps the
// stored value, so a change never writes back a field it did not name
// (one read earlier, perhaps stale, would undo a concurrent change).
type CustomerPatch struct {
	FirstName, LastName, CompanyName *string
}

// EmailKey is the form of a customer's email that uniqueness and sign-in
// compare (PRODUCT A7): the exact characters, with the ASCII letters A-Z
// folded to a-z and nothing else. No Unicode case folding or normalization
// (strings.ToLower maps the Kelvin sign U+212A onto k), so no address is
// ever folded onto another. The stored key is the same fold in SQL
// (SQLite's lower() and PostgreSQL's translate() over A-Z).
func EmailKey(email string) string {
	b := []byte(email)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
	return string(b)
}

// SubscriptionStatus is pending, active or ended.
type SubscriptionStatus string

// The subscription states.
const (
	SubscriptionPending SubscriptionStatus = "pending"
	SubscriptionActive  SubscriptionStatus = "active"
	SubscriptionEnded   SubscriptionStatus = "ended"
)

// SubscriptionType says whether a subscription covers consumption or feed-in.
type SubscriptionType string

// The subscription types of the Nomos API. Feed-in subscriptions exist only
// from API version 2026-05-27.curie on.
const (
	SubscriptionConsumption SubscriptionType = "consumption"
	SubscriptionFeedIn      SubscriptionType = "feed_in"
)

// Address is a delivery or billing address.
type Address struct {
	ID          string
	Street      string
	HouseNumber string
	Zip         string
	City        string
	CreatedAt   time.Time
}

// Meter is the electricity meter of a subscription; Type is smart or analog.
type Meter struct {
	ID        string
	Number    string
	Type      string
	MeLo      string
	MaLo      string
	CreatedAt time.Time
}

// PaymentMethod is a SEPA direct debit. Only the masked IBAN is kept: the
// API shows nothing more, so nothing more is stored.
type PaymentMethod struct {
	ID            string
	IBANMasked    string
	AccountHolder string
	CreatedAt     time.Time
}

// Subscription belongs to a customer. StartDate and EndDate are the instants
// it starts and ends (midnight of a day in the customer's time zone; rows
// made before that was so hold midnight UTC); EndDate is zero while
// open-ended. No price is the subscription's outside them.
type Subscription struct {
	ID             string
	OrgID          string
	CustomerID     string
	Status         SubscriptionStatus
	Type           SubscriptionType
	Plan           string
	Number         string
	EstimatedUsage int64 // kWh per year
	Address        Address
	BillingAddress Address // its own record; zero on rows made before it was
	Meter          Meter
	Payment        PaymentMethod
	StartDate      time.Time
	EndDate        time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Family is the chain of rotating refresh tokens born from one grant or one
// client-credentials request. Scopes is what was originally granted; a
// refresh may narrow an access token's scope but never widen the family's.
type Family struct {
	ID         string
	ClientID   string
	OrgID      string
	CustomerID string // empty for client-credentials families
	GrantID    string // the customer's grant it was born from; empty for client credentials
	Scopes     Scopes
	CreatedAt  time.Time
	RevokedAt  time.Time // zero while the family lives
	// Generation is the family's live counted refresh token (internal/seal
	// Counter): the one of this generation, issued at GenerationAt, lives
	// until LiveUntil; every earlier one was rotated. Zero: the family's
	// tokens are rows (a family of a release before counted tokens), or it
	// has none (a tombstone, or a client-credentials family whose sealed
	// first token is its generation 0).
	Generation   uint64
	GenerationAt time.Time
	// GenerationKey is the id of the seal key the live generation is
	// minted under; empty for one stored before families named it, minted
	// under the key that sealed at GenerationAt.
	GenerationKey string
	// LiveUntil is when the family's live token, counted or sealed, dies.
	// Clean-up keeps the row until then and until its sealed first token,
	// if it had one, could no longer come back, so a revoked family stays
	// revoked.
	LiveUntil time.Time
}

// Revoked reports whether the family was revoked.
func (f Family) Revoked() bool { return !f.RevokedAt.IsZero() }

// CountedToken is the family's counted token of generation g as the
// refresh rule sees a token's row (oauth.RefreshRule.Decide), with its
// child: the live generation is a live token with no child; the one
// before it was rotated when the live one was issued, and its child,
// whose hash is childHash (the token minted for generation g+1), is
// live; an older one was rotated and so was its child. ok is false for a
// generation the family never reached.
func (f Family) CountedToken(g uint64, childHash string) (tok RefreshToken, child *RefreshToken, ok bool) {
	tok = RefreshToken{FamilyID: f.ID, State: RefreshLive, CreatedAt: f.GenerationAt, ExpiresAt: f.LiveUntil}
	switch {
	case g == f.Generation:
		return tok, nil, true
	case g+1 == f.Generation:
		tok.State, tok.RotatedAt, tok.ReplacedBy, tok.CreatedAt = RefreshRotated, f.GenerationAt, childHash, time.Time{}
		return tok, &RefreshToken{Hash: childHash, FamilyID: f.ID, State: RefreshLive, CreatedAt: f.GenerationAt, ExpiresAt: f.LiveUntil}, true
	case g < f.Generation:
		tok.State, tok.CreatedAt = RefreshRotated, time.Time{}
		return tok, &RefreshToken{FamilyID: f.ID, State: RefreshRotated}, true
	}
	return RefreshToken{}, nil, false
}

// RefreshState says where a refresh token is in its life.
type RefreshState string

// Refresh token states. A live token may be rotated; a rotated one was
// exchanged for ReplacedBy; a superseded one was issued and then killed when
// a retry of its parent derived another child (verdict Replace, PRODUCT T5).
const (
	RefreshLive       RefreshState = "live"
	RefreshRotated    RefreshState = "rotated"
	RefreshSuperseded RefreshState = "superseded"
)

// RefreshToken is the stored form of one refresh token: its hash, never the
// token itself.
type RefreshToken struct {
	Hash       string
	FamilyID   string
	State      RefreshState
	CreatedAt  time.Time
	ExpiresAt  time.Time // idle expiry: a token unused until then is dead
	RotatedAt  time.Time // when it left the live state
	ReplacedBy string    // hash of the token it was exchanged for
}

// SigningKey is one asymmetric access-token signing key. The private key is
// PKCS #8 DER. A key signs until RetiredAt, which a rotation sets a
// publication delay ahead (PRODUCT T8), and stays published until
// PublishedUntil, when every token it signed has expired.
type SigningKey struct {
	ID             string
	Algorithm      string
	PrivateDER     []byte
	CreatedAt      time.Time
	RetiredAt      time.Time
	PublishedUntil time.Time
}

// Active reports whether the key has no retirement set: it signs new
// tokens now, or will once the keys a rotation retired hand over.
func (k SigningKey) Active() bool { return k.RetiredAt.IsZero() }

// SealKey is a server key that seals the first refresh token of a
// client-credentials family (issue 17; internal/seal): ID names it inside
// every token it seals, Secret is 32 random bytes (AES-256-GCM). Like
// signing keys they rotate with overlap: a new key seals from SealsFrom
// (a key poll after its creation, so every replica can open its tokens
// before any is issued), and the key it replaces still opens tokens until
// RetiresAt, at least the refresh idle time later (PRODUCT T5).
type SealKey struct {
	ID        string // 16 lower-case hex digits: 8 random bytes
	Secret    []byte
	CreatedAt time.Time
	SealsFrom time.Time
	RetiresAt time.Time // zero while no newer key replaces it
}

// RefreshVerdict is the outcome of presenting a refresh token (PRODUCT T5).
type RefreshVerdict int

// The refresh verdicts. Rotate kills the presented live token and issues its
// child; Retry hands out again the still-unused child of a token rotated
// moments ago, inside the retry window, and writes nothing; Replace is a
// retry whose stored child is not the one this presentation derives (one
// drawn at random by an older release, or under another server key): that
// child dies and the derived one takes its place; Reuse revokes the whole
// family.
const (
	RefreshRotate RefreshVerdict = iota + 1
	RefreshRetry
	RefreshReuse
	RefreshReplace
)

func (v RefreshVerdict) String() string {
	switch v {
	case RefreshRotate:
		return "rotate"
	case RefreshRetry:
		return "retry"
	case RefreshReuse:
		return "reuse"
	case RefreshReplace:
		return "replace"
	}
	return "invalid"
}

// RefreshDecision is what the refresh rule decides for one presentation:
// the verdict and, for Rotate, Retry and Replace, the scope of the new access token
// (PRODUCT T5, T7), so the caller never works it out again.
type RefreshDecision struct {
	Verdict RefreshVerdict
	Scopes  Scopes
}

// Grant is a customer's consent to one client for a set of scopes (PRODUCT
// A8). A customer has at most one active grant per client; consenting again
// widens it. Revoking it revokes every family born from it (PRODUCT A11).
type Grant struct {
	ID         string
	CustomerID string
	ClientID   string
	OrgID      string
	Scopes     Scopes
	CreatedAt  time.Time
	UpdatedAt  time.Time
	RevokedAt  time.Time // zero while active
	// DeviceName lists the devices paired through this grant with the
	// device grant, as their client declared them, one a line (the name
	// rule allows no line breaks); connected apps show every one, so a
	// device paired by someone else cannot hide behind the customer's own
	// (PRODUCT T11, A11). Empty for a browser's grant.
	DeviceName string
}

// maxDeviceNames bounds the devices a grant lists.
const maxDeviceNames = 20

// DeviceNames are the devices a grant lists, oldest first.
func (g Grant) DeviceNames() []string {
	if g.DeviceName == "" {
		return nil
	}
	return strings.Split(g.DeviceName, "\n")
}

// AddDeviceName is list (a grant's DeviceName) with name added at the
// end, unless it is empty or listed already; past maxDeviceNames the
// oldest goes.
func AddDeviceName(list, name string) string {
	if name == "" {
		return list
	}
	names := Grant{DeviceName: list}.DeviceNames()
	if slices.Contains(names, name) {
		return list
	}
	names = append(names, name)
	if len(names) > maxDeviceNames {
		names = names[len(names)-maxDeviceNames:]
	}
	return strings.Join(names, "\n")
}

// Revoked reports whether the customer took the grant back.
func (g Grant) Revoked() bool { return !g.RevokedAt.IsZero() }

// AuthCode is the stored form of an authorization code: its hash and what
// it is bound to (PRODUCT T6). RedirectURI is the one sent to
// /oauth/authorize. FamilyID is the family its redemption started.
type AuthCode struct {
	Hash            string
	ClientID        string
	OrgID           string
	CustomerID      string
	GrantID         string
	RedirectURI     string
	Challenge       string
	ChallengeMethod string
	Scopes          Scopes
	CreatedAt       time.Time
	ExpiresAt       time.Time
	UsedAt          time.Time // zero until redeemed
	FamilyID        string
	// Nonce and AuthTime go into the ID token of the redemption (PRODUCT
	// T12): the nonce sent to /oauth/authorize, "" when none, and when the
	// customer's session signed in.
	Nonce    string
	AuthTime time.Time
}

// CodeVerdict is the outcome of presenting an authorization code.
type CodeVerdict int

// The code verdicts: Redeem starts a family; Replay, a second use, revokes
// every token the code produced (RFC 6749 §4.1.2).
const (
	CodeRedeem CodeVerdict = iota + 1
	CodeReplay
)

// Session is a signed-in customer's browser session on the hosted pages.
// Only the hash of the cookie's random id is stored.
type Session struct {
	Hash       string
	CustomerID string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time // the absolute end, whatever the activity
	// AccountOnly: a magic link started it, so it reaches the customer's
	// own area (connected apps, sign-out) and nothing else (PRODUCT A12):
	// an authorization or device journey asks this browser for a one-time
	// code like any other.
	AccountOnly bool
}

// OneTimeCode is an emailed six-digit sign-in code (PRODUCT A7), bound to
// the browser that asked for it (the hash of its pre-sign-in cookie id).
// A sign-up code also carries the new customer's details.
type OneTimeCode struct {
	ID          string
	BrowserHash string
	Email       string
	CodeHash    string
	Attempts    int
	CreatedAt   time.Time
	ExpiresAt   time.Time
	UsedAt      time.Time
	// Sign-up only (PRODUCT A9): the organization to join, and the names.
	SignupOrgID string
	FirstName   string
	LastName    string
}

// OneTimeVerdict is the outcome of a one-time-code try.
type OneTimeVerdict int

// The one-time-code verdicts: Accept uses the code up; Reject counts a
// failed try; Lockout is the failed try that spends the last one (counted
// like Reject, and audited: PRODUCT O8); Exhausted means no try is left or
// the code expired.
const (
	OneTimeAccept OneTimeVerdict = iota + 1
	OneTimeReject
	OneTimeExhausted
	OneTimeLockout
)

// MagicLink is a sign-in link an organization's client asked for on behalf
// of one of its customers (PRODUCT A12). Only the hash of its random token
// is stored; it is single use and short-lived.
type MagicLink struct {
	Hash       string
	CustomerID string
	OrgID      string
	ClientID   string // the client that asked for it
	Next       string // a path on this server to land on; empty is connected apps
	CreatedAt  time.Time
	ExpiresAt  time.Time
	UsedAt     time.Time // zero until redeemed
}

// MagicLinkTTL is how long a magic link can be redeemed (PRODUCT A12).
const MagicLinkTTL = 15 * time.Minute
