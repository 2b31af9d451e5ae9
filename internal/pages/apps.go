package pages

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/nomosauth/nomosauth/internal/metrics"
	"github.com/nomosauth/nomosauth/internal/store"
)

// apps is GET /account/apps: the customer's connected apps (PRODUCT A11).
func (p *Pages) apps(w http.ResponseWriter, r *http.Request) error {
	b, err := p.loadBrowser(w, r, true)
	if err != nil {
		return err
	}
	if b.customer == nil {
		return p.renderSignin(w, r, b, nil, "", "")
	}
	grants, err := p.Journey.ListGrants(r.Context(), b.customer.ID)
	if err != nil {
		return fmt.Errorf("list grants: %w", err)
	}
	v := appsView{layout: p.base(r, b)}
	for _, g := range grants {
		client, err := p.Directory.GetClient(r.Context(), g.ClientID)
		if err != nil {
			return fmt.Errorf("load client: %w", err)
		}
		org, err := p.Directory.GetOrg(r.Context(), g.OrgID)
		if err != nil {
			return fmt.Errorf("load organization: %w", err)
		}
		gv := grantView{ID: g.ID, App: client.Name, Org: org.Name, Since: g.CreatedAt.Format("2006-01-02"), Devices: g.DeviceNames()}
		for _, s := range g.Scopes {
			gv.Scopes = append(gv.Scopes, scopeText(v.T, s))
		}
		v.Grants = append(v.Grants, gv)
	}
	p.render(w, http.StatusOK, "apps", v)
	return nil
}

// revoke is POST /account/apps/revoke: the grant's refresh tokens die in
// the store, and its access tokens are refused here at once and on other
// replicas within the revocation poll (PRODUCT A11).
func (p *Pages) revoke(w http.ResponseWriter, r *http.Request) error {
	form, b, err := p.readForm(w, r, false)
	if err != nil {
		return err
	}
	if b.customer == nil {
		return p.renderSignin(w, r, b, nil, "", p.text(r, "err_session"))
	}
	grant, err := p.Journey.GetGrant(r.Context(), form.Get("grant"))
	if errors.Is(err, store.ErrNotFound) || (err == nil && grant.CustomerID != b.customer.ID) {
		return p.fail(r, http.StatusNotFound, "err_not_found")
	}
	if err != nil {
		return fmt.Errorf("load grant: %w", err)
	}
	families, err := p.revoker.Grant(r.Context(), grant.ID, p.origin(r, customerActor(b.customer.ID), time.Time{}), metrics.ByCustomer)
	if err != nil {
		return err
	}
	p.Log.Info("customer revoked an app", "request_id", requestID(r), "customer_id", b.customer.ID, "grant_id", grant.ID, "families", len(families))
	http.Redirect(w, r, PathApps, http.StatusSeeOther)
	return nil
}

// signout is POST /signout: the session ends and the browser gets a new id.
func (p *Pages) signout(w http.ResponseWriter, r *http.Request) error {
	_, b, err := p.readForm(w, r, false)
	if err != nil {
		return err
	}
	if err := p.Journey.DeleteSession(r.Context(), b.hash); err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	if _, err := p.newBrowser(w, r); err != nil {
		return err
	}
	p.render(w, http.StatusOK, "signedout", signedOutView{p.base(r, nil)})
	return nil
}
