package oauth

import (
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
)

// SessionLive is PRODUCT A7's session lifetimes: a session ends at its
// absolute end (ExpiresAt, set at sign-in from the maximum lifetime) or
// after idle without activity, whichever comes first.
func SessionLive(s domain.Session, now time.Time, idle time.Duration) bool {
	return now.Before(s.ExpiresAt) && now.Before(s.LastSeenAt.Add(idle))
}

// TriesLeft is how many guesses remain on a one-time code after its
// attempts so far (PRODUCT A7: five in all); never negative.
func TriesLeft(c domain.OneTimeCode) int {
	return max(OneTimeMaxTries-c.Attempts, 0)
}

// Consent is what happens once a signed-in customer meets an
// authorization request.
type Consent int

const (
	// ConsentAsk shows the consent page (PRODUCT A8).
	ConsentAsk Consent = iota
	// ConsentCovered sends a code at once: an active grant already covers
	// every scope asked for (PRODUCT A8).
	ConsentCovered
	// ConsentImplied records the grant and sends a code without asking:
	// the login flow of a first-party app, one the operator runs itself
	// (PRODUCT A9). The grant is still recorded, so the customer sees the
	// app under connected apps and can revoke it (A11).
	ConsentImplied
	// ConsentOtherOrg refuses with access_denied: the customer belongs to
	// another organization than the client (PRODUCT A9, R3).
	ConsentOtherOrg
	// ConsentRequired sends consent_required back to the app: the page
	// would be shown and prompt=none forbids it (PRODUCT T12; OpenID
	// Connect Core §3.1.2.6).
	ConsentRequired
)

// DecideConsent decides whether a signed-in customer is asked for consent.
// grant is the customer's active grant to the client, nil when there is none.
// flow_type=login skips the page only for a first-party client (PRODUCT A9):
// any other app of the organization would otherwise get a code for a
// signed-in customer who never saw its name. prompt=consent always asks;
// prompt=none never does, it answers consent_required (PRODUCT T12).
func DecideConsent(req AuthorizeRequest, cust domain.Customer, grant *domain.Grant) Consent {
	switch {
	case cust.OrgID != req.Client.OrgID:
		return ConsentOtherOrg
	case req.Prompt.Consent:
	case grant != nil && grant.Scopes.Covers(req.Scopes):
		return ConsentCovered
	case req.FlowType == FlowLogin && req.Client.FirstParty:
		return ConsentImplied
	}
	if req.Prompt.None {
		return ConsentRequired
	}
	return ConsentAsk
}
