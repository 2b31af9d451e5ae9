package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/httpx"
	"github.com/nomosauth/nomosauth/internal/ids"
	"github.com/nomosauth/nomosauth/internal/oauth"
	"github.com/nomosauth/nomosauth/internal/problem"
	"github.com/nomosauth/nomosauth/internal/store"
)

// PathMagicLink is the Nomos "Authentication" operation (PRODUCT A12).
const PathMagicLink = "/admin/magic_link"

// MagicLinkJSON is the Nomos answer: {object: "magic_link", link}.
type MagicLinkJSON struct {
	Object string `json:"object"`
	Link   string `json:"link"`
}

// createMagicLink is POST /admin/magic_link (PRODUCT A12): an
// organization's client-credentials token with write:* (the scope rule
// ran in admission, R2) asks for a single-use, 15-minute sign-in link for
// one of its customers. The body is the OpenAPI's {customerId}, plus an
// optional next path on this server to land on; anything else is a 400.
func (a *API) createMagicLink(w http.ResponseWriter, r *http.Request) error {
	caller := callerOf(r.Context())
	if err := oauth.CheckMagicLinkCaller(caller.Caller); err != nil {
		return err
	}
	fields, err := readObject(w, r)
	if err != nil {
		return err
	}
	customerID, next, err := magicLinkBody(fields)
	if err != nil {
		return err
	}
	c, err := a.Store.GetCustomer(r.Context(), customerID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !oauth.CanSee(caller.Caller, c.OrgID, c.ID)) {
		return problem.NotFound() // PRODUCT A12, R3: another organization's customer does not exist here
	}
	if err != nil {
		return err
	}
	raw, err := a.IDs.MagicLink()
	if err != nil {
		return err
	}
	now := a.Now()
	l := domain.MagicLink{Hash: ids.Hash(raw), CustomerID: c.ID, OrgID: c.OrgID, ClientID: caller.ClientID, Next: next,
		CreatedAt: now, ExpiresAt: now.Add(domain.MagicLinkTTL)}
	by := httpx.Origin(r, a.Addr(r), domain.Actor{Kind: domain.ActorClient, ID: caller.ClientID}, now)
	if err := a.Store.CreateMagicLink(r.Context(), l, by); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return problem.NotFound()
		}
		return err
	}
	a.Metrics.MagicLinkIssued()
	a.Log.Info("magic link issued", "request_id", httpx.RequestID(r.Context()), "client_id", caller.ClientID, "customer_id", c.ID)
	httpx.WriteJSON(w, http.StatusOK, MagicLinkJSON{Object: "magic_link", Link: strings.TrimSuffix(a.Issuer, "/") + oauth.PathMagicLink + raw})
	return nil
}

// magicLinkBody reads {customerId, next?}: customerId a non-empty string,
// next a path on this server (oauth.CheckMagicNext); an unknown key or a
// wrong type is a 400 naming the field.
func magicLinkBody(fields map[string]json.RawMessage) (customerID, next string, err error) {
	var issues []problem.FieldError
	str := func(name string) (string, bool) {
		var v string
		raw := fields[name]
		if jsonKind(raw) != "string" || json.Unmarshal(raw, &v) != nil {
			issues = append(issues, problem.FieldError{Code: "invalid_type", Field: name, Message: "Expected string, received " + jsonKind(raw)})
			return "", false
		}
		return v, true
	}
	for _, name := range sortedKeys(fields) {
		switch name {
		case "customerId":
			if v, ok := str(name); ok {
				if customerID = strings.TrimSpace(v); customerID == "" {
					issues = append(issues, problem.FieldError{Code: "too_small", Field: name, Message: "Must be at least 1 character"})
				}
			}
		case "next":
			if v, ok := str(name); ok {
				if next, ok = oauth.CheckMagicNext(v, ""); !ok {
					issues = append(issues, problem.FieldError{Code: "invalid_string", Field: name,
						Message: "Must be a path on this server: starting with one /, without scheme, host, backslash or spaces"})
				}
			}
		default:
			issues = append(issues, problem.FieldError{Code: "unrecognized_keys", Field: fieldName(name), Message: "Unknown field; accepted: customerId, next"})
		}
	}
	if _, ok := fields["customerId"]; !ok {
		issues = append([]problem.FieldError{{Code: "invalid_type", Field: "customerId", Message: "Required"}}, issues...)
	}
	if len(issues) > 0 {
		return "", "", problem.Invalid(issues...)
	}
	return customerID, next, nil
}
