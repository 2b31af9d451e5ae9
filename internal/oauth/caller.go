package oauth

import (
	"strings"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/problem"
)

// The protected API's caller rules (PRODUCT R1-R3): who a request acts
// for, what it may do, and whose records it may see. The api handlers parse,
// load, ask these functions, and respond.

// Caller is who a protected-API request acts for, from its verified access
// token: an organization's client (client credentials) or, when CustomerID
// is set, one customer through an app (PRODUCT T7).
type Caller struct {
	ClientID   string
	OrgID      string
	CustomerID string // set for customer tokens (PRODUCT T7)
	FamilyID   string
	Scopes     domain.Scopes
}

// IsCustomer reports whether the token acts for one customer.
func (c Caller) IsCustomer() bool { return c.CustomerID != "" }

// ParseBearer is PRODUCT R1's parse: the access token only from one
// Authorization header, "Bearer TOKEN" (RFC 6750 §2.1). authorization holds
// the request's Authorization header values; tokenInQuery reports whether
// the URL carries access_token (RFC 6750 §2.3), which is refused with a
// message saying where the token belongs.
func ParseBearer(authorization []string, tokenInQuery bool) (string, error) {
	if len(authorization) == 0 {
		if tokenInQuery {
			return "", problem.InvalidToken("Send the access token in the Authorization header, not the URL")
		}
		return "", problem.InvalidToken("An access token is required in the Authorization header: Bearer TOKEN")
	}
	if len(authorization) > 1 {
		return "", problem.InvalidToken("The Authorization header is repeated")
	}
	scheme, raw, ok := strings.Cut(authorization[0], " ")
	raw = strings.TrimSpace(raw)
	if !ok || !strings.EqualFold(scheme, "Bearer") || raw == "" || strings.ContainsAny(raw, " \t") {
		return "", problem.InvalidToken("The Authorization header must be: Bearer TOKEN")
	}
	return raw, nil
}

// AdmitCaller is PRODUCT R1's last step, after the signature check: a
// token whose family is revoked (PRODUCT A11), or whose client is disabled
// or no longer of the token's organization, is invalid_token.
func AdmitCaller(c Caller, client domain.Client, familyRevoked bool) error {
	switch {
	case familyRevoked:
		return problem.InvalidToken("The access token has been revoked")
	case client.Disabled || client.OrgID != c.OrgID:
		return problem.InvalidToken("The access token's client is disabled")
	}
	return nil
}

// CheckScope is PRODUCT R2: GET and HEAD need read:*, every other method
// write:*, else insufficient_scope. A customer token is read-only whatever
// it holds (PRODUCT T7, R3). method is the HTTP method, upper case.
func CheckScope(method string, c Caller) error {
	need := domain.ScopeWrite
	if method == "GET" || method == "HEAD" {
		need = domain.ScopeRead
	}
	if !c.Scopes.Has(need) || (need == domain.ScopeWrite && c.IsCustomer()) {
		return problem.InsufficientScope(need)
	}
	return nil
}

// CanSeeCustomerID is PRODUCT R3 before anything is loaded: a customer
// token may name only its own customer; an organization's token may name
// any, its organization is checked on the record (CanSee).
func CanSeeCustomerID(c Caller, customerID string) bool {
	return !c.IsCustomer() || customerID == c.CustomerID
}

// CanSee is PRODUCT R3 for one record of organization orgID that belongs to
// customer customerID (a customer is its own): a client-credentials token
// sees its organization's records, a customer token only that customer's.
// Anything else is answered as missing, never a hint that it exists.
func CanSee(c Caller, orgID, customerID string) bool {
	return orgID == c.OrgID && CanSeeCustomerID(c, customerID)
}

// ListReach is what a list may hold for a caller (PRODUCT R3).
type ListReach struct {
	// OrgID is the one organization whose records are listed.
	OrgID string
	// CustomerID, when set, restricts the list to that customer's records.
	CustomerID string
	// Empty reports that the request names a customer the caller may not
	// see: the list is empty, as for a missing customer, and the store
	// need not be asked.
	Empty bool
}

// ListReachFor is PRODUCT R3 for lists: the caller's organization and, for
// a customer token, only that customer. customerFilter is the customer the
// request filters on, "" for none; naming another customer with a customer
// token gives the empty list a missing customer gives.
func ListReachFor(c Caller, customerFilter string) ListReach {
	s := ListReach{OrgID: c.OrgID, CustomerID: c.CustomerID}
	if customerFilter != "" {
		s.CustomerID = customerFilter
		s.Empty = !CanSeeCustomerID(c, customerFilter)
	}
	return s
}
