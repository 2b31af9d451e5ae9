package view

import (
	"context"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/store"
)

// Forgetter drops what it holds in memory of an organization (a View, a
// directory.Directory).
type Forgetter interface {
	Forget(orgID string)
	ForgetAll()
}

// Writes is a store.Store that tells its forgetters which organization
// each of its writes changed, right after the write returns: this
// process's own changes are in force for its next read (issue 17). It
// passes every write that bumps a change counter (store.Changes); when
// it cannot tell the organization, everything is forgotten.
type Writes struct {
	store.Store
	Forget []Forgetter
}

// forget tells every forgetter that orgID changed; "" is unknown.
func (w Writes) forget(orgID string) {
	for _, f := range w.Forget {
		if orgID == "" {
			f.ForgetAll()
		} else {
			f.Forget(orgID)
		}
	}
}

// orgOf reads the organization of the record get loads, even when the
// write's context has ended; "" when it cannot.
func orgOf[T any](ctx context.Context, get func(context.Context, string) (T, error), id string, org func(T) string) string {
	r, err := get(context.WithoutCancel(ctx), id)
	if err != nil {
		return ""
	}
	return org(r)
}

func clientOrg(c domain.Client) string             { return c.OrgID }
func customerOrg(c domain.Customer) string         { return c.OrgID }
func subscriptionOrg(s domain.Subscription) string { return s.OrgID }

// CreateOrg stores o, then forgets it.
func (w Writes) CreateOrg(ctx context.Context, o domain.Org) error {
	err := w.Store.CreateOrg(ctx, o)
	w.forget(o.ID)
	return err
}

// CreateClient stores c, then forgets its organization.
func (w Writes) CreateClient(ctx context.Context, c domain.Client, secret *domain.ClientSecret, by domain.Origin) error {
	err := w.Store.CreateClient(ctx, c, secret, by)
	w.forget(c.OrgID)
	return err
}

// RotateClientSecret rotates, then forgets the client's organization.
func (w Writes) RotateClientSecret(ctx context.Context, secret domain.ClientSecret, oldExpiresAt time.Time, by domain.Origin) error {
	err := w.Store.RotateClientSecret(ctx, secret, oldExpiresAt, by)
	w.forget(orgOf(ctx, w.Store.GetClient, secret.ClientID, clientOrg))
	return err
}

// DisableClient disables, then forgets the client's organization.
func (w Writes) DisableClient(ctx context.Context, id string, by domain.Origin) error {
	err := w.Store.DisableClient(ctx, id, by)
	w.forget(orgOf(ctx, w.Store.GetClient, id, clientOrg))
	return err
}

// CreateCustomer stores c, then forgets its organization.
func (w Writes) CreateCustomer(ctx context.Context, c domain.Customer, by domain.Origin) error {
	err := w.Store.CreateCustomer(ctx, c, by)
	w.forget(c.OrgID)
	return err
}

// UpdateCustomer applies p to customer id, then forgets its organization
// (read from the store when the write failed: it may have landed).
func (w Writes) UpdateCustomer(ctx context.Context, id string, p domain.CustomerPatch) (domain.Customer, error) {
	c, err := w.Store.UpdateCustomer(ctx, id, p)
	if err != nil {
		w.forget(orgOf(ctx, w.Store.GetCustomer, id, customerOrg))
		return c, err
	}
	w.forget(c.OrgID)
	return c, nil
}

// CreateSubscription stores s, then forgets its organization.
func (w Writes) CreateSubscription(ctx context.Context, s domain.Subscription) error {
	err := w.Store.CreateSubscription(ctx, s)
	w.forget(s.OrgID)
	return err
}

// ImportPrices stores the points, then forgets the subscription's
// organization (prices are read from the store, but what a view may
// serve later keeps to one rule: every counted change forgets).
func (w Writes) ImportPrices(ctx context.Context, subscriptionID string, points []domain.PricePoint) error {
	err := w.Store.ImportPrices(ctx, subscriptionID, points)
	w.forget(orgOf(ctx, w.Store.GetSubscription, subscriptionID, subscriptionOrg))
	return err
}

// Served is a store.Store whose reads of customers and subscriptions are
// served by View; every other verb goes to Store.
type Served struct {
	store.Store
	View *View
}

// GetCustomer reads through the view.
func (s Served) GetCustomer(ctx context.Context, id string) (domain.Customer, error) {
	return s.View.GetCustomer(ctx, id)
}

// ListCustomers reads through the view.
func (s Served) ListCustomers(ctx context.Context, f store.CustomerFilter, p store.Page) ([]domain.Customer, error) {
	return s.View.ListCustomers(ctx, f, p)
}

// GetSubscription reads through the view.
func (s Served) GetSubscription(ctx context.Context, id string) (domain.Subscription, error) {
	return s.View.GetSubscription(ctx, id)
}

// ListSubscriptions reads through the view.
func (s Served) ListSubscriptions(ctx context.Context, f store.SubscriptionFilter, p store.Page) ([]domain.Subscription, error) {
	return s.View.ListSubscriptions(ctx, f, p)
}
