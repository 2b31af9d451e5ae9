package api

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/httpx"
	"github.com/nomosauth/nomosauth/internal/oauth"
	"github.com/nomosauth/nomosauth/internal/problem"
	"github.com/nomosauth/nomosauth/internal/store"
)

// subscriptionFields are the members a subscription has in both shapes.
type subscriptionFields struct {
	Object         string          `json:"object"`
	ID             string          `json:"id"`
	Plan           string          `json:"plan"`
	Supplier       *string         `json:"supplier"`
	Number         *string         `json:"number"`
	Status         string          `json:"status"`
	EstimatedUsage int64           `json:"estimated_usage"`
	CreatedAt      string          `json:"created_at"`
	UpdatedAt      string          `json:"updated_at"`
	StartAt        *string         `json:"start_at"`
	TerminatedAt   *string         `json:"terminated_at"`
	EndAt          *string         `json:"end_at"`
	Metadata       *map[string]any `json:"metadata"`
	Type           string          `json:"type"`
}

// SubscriptionItemJSON is a subscription in a list: related objects by id.
type SubscriptionItemJSON struct {
	subscriptionFields
	Customer       string `json:"customer"`
	Address        string `json:"address"`
	Meter          string `json:"meter"`
	PaymentMethod  string `json:"payment_method"`
	BillingAddress string `json:"billing_address"`
}

// SubscriptionJSON is the Nomos Subscription object: related objects expanded.
type SubscriptionJSON struct {
	subscriptionFields
	Customer       CustomerJSON      `json:"customer"`
	Address        AddressJSON       `json:"address"`
	Meter          MeterJSON         `json:"meter"`
	PaymentMethod  PaymentMethodJSON `json:"payment_method"`
	BillingAddress AddressJSON       `json:"billing_address"`
}

// AddressJSON is the Nomos Address object.
type AddressJSON struct {
	Object      string `json:"object"`
	ID          string `json:"id"`
	Street      string `json:"street"`
	HouseNumber string `json:"house_number"`
	Zip         string `json:"zip"`
	City        string `json:"city"`
	CreatedAt   string `json:"created_at"`
}

// MeterJSON is the Nomos Meter object.
type MeterJSON struct {
	Object    string  `json:"object"`
	ID        string  `json:"id"`
	MeLo      *string `json:"melo"`
	Number    string  `json:"number"`
	Type      string  `json:"type"`
	MaLo      *string `json:"malo"`
	CreatedAt string  `json:"created_at"`
}

// PaymentMethodJSON is the Nomos PaymentMethod object (SEPA direct debit).
type PaymentMethodJSON struct {
	Object    string   `json:"object"`
	ID        string   `json:"id"`
	Type      string   `json:"type"`
	SEPADebit SEPAJSON `json:"sepa_debit"`
	CreatedAt string   `json:"created_at"`
}

// SEPAJSON is a payment method's SEPA details, the IBAN masked.
type SEPAJSON struct {
	IBAN          string `json:"iban"`
	AccountHolder string `json:"account_holder"`
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func commonFields(s domain.Subscription) subscriptionFields {
	return subscriptionFields{Object: "subscription", ID: s.ID, Plan: s.Plan, Number: optional(s.Number),
		Status: string(s.Status), EstimatedUsage: s.EstimatedUsage,
		CreatedAt: s.CreatedAt.UTC().Format(timeLayout), UpdatedAt: updatedAt(s).UTC().Format(timeLayout),
		StartAt: instant(s.StartDate), EndAt: instant(s.EndDate), Type: string(s.Type)}
}

func subscriptionItemJSON(s domain.Subscription) SubscriptionItemJSON {
	return SubscriptionItemJSON{subscriptionFields: commonFields(s), Customer: s.CustomerID, Address: s.Address.ID,
		Meter: s.Meter.ID, PaymentMethod: s.Payment.ID, BillingAddress: billingAddress(s).ID}
}

// billingAddress is the subscription's own billing address record; rows
// made before it existed show the delivery address (PRODUCT R9).
func billingAddress(s domain.Subscription) domain.Address {
	if s.BillingAddress.ID == "" {
		return s.Address
	}
	return s.BillingAddress
}

func subscriptionJSON(s domain.Subscription, c domain.Customer) SubscriptionJSON {
	// Each related record shows its own creation time; rows made before
	// they were kept show the subscription's (PRODUCT R9).
	created := func(t time.Time) string {
		if t.IsZero() {
			t = s.CreatedAt
		}
		return t.UTC().Format(timeLayout)
	}
	addr := func(a domain.Address) AddressJSON {
		return AddressJSON{Object: "address", ID: a.ID, Street: a.Street, HouseNumber: a.HouseNumber, Zip: a.Zip, City: a.City, CreatedAt: created(a.CreatedAt)}
	}
	return SubscriptionJSON{subscriptionFields: commonFields(s), Customer: customerJSON(c), Address: addr(s.Address),
		Meter: MeterJSON{Object: "meter", ID: s.Meter.ID, MeLo: optional(s.Meter.MeLo), Number: s.Meter.Number,
			Type: s.Meter.Type, MaLo: optional(s.Meter.MaLo), CreatedAt: created(s.Meter.CreatedAt)},
		PaymentMethod: PaymentMethodJSON{Object: "payment_method", ID: s.Payment.ID, Type: "sepa_debit",
			SEPADebit: SEPAJSON{IBAN: s.Payment.IBANMasked, AccountHolder: s.Payment.AccountHolder}, CreatedAt: created(s.Payment.CreatedAt)},
		BillingAddress: addr(billingAddress(s))}
}

func updatedAt(s domain.Subscription) time.Time {
	if s.UpdatedAt.IsZero() {
		return s.CreatedAt
	}
	return s.UpdatedAt
}

func subscriptionCursor(s domain.Subscription) store.Cursor {
	return store.Cursor{CreatedAt: s.CreatedAt, ID: s.ID}
}

// visibleSubscription loads a subscription the caller may see (oauth.CanSee,
// PRODUCT R3); feed-in only from the version that has it (PRODUCT R6).
// Anything else is the same 404 as a missing id.
func (a *API) visibleSubscription(r *http.Request, id string) (domain.Subscription, error) {
	caller := callerOf(r.Context())
	s, err := a.Store.GetSubscription(r.Context(), id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return s, problem.NotFound()
	case err != nil:
		return s, err
	case !oauth.CanSee(caller.Caller, s.OrgID, s.CustomerID),
		s.Type == domain.SubscriptionFeedIn && !FeedInVisible(caller.Version):
		return domain.Subscription{}, problem.NotFound()
	}
	return s, nil
}

var subscriptionStatuses = []string{string(domain.SubscriptionPending), string(domain.SubscriptionActive), string(domain.SubscriptionEnded)}

// listSubscriptions is GET /subscriptions, with the filters of
// subscriptionFilters (PRODUCT R9).
func (a *API) listSubscriptions(w http.ResponseWriter, r *http.Request) error {
	q, err := readQuery(r.URL.RawQuery, subscriptionListParams...)
	if err != nil {
		return err
	}
	fs, err := parseFilters(q, subscriptionFilters)
	if err != nil {
		return err
	}
	caller := callerOf(r.Context())
	// filter[customer][...] narrows the caller's reach (PRODUCT R3): a
	// customer token naming another customer finds nothing.
	reach := oauth.ListReachFor(caller.Caller, "")
	f := store.SubscriptionFilter{OrgID: reach.OrgID, CustomerID: reach.CustomerID, Statuses: fs.text["status"],
		Customers: fs.text["customer"], Plans: fs.text["plan"], Created: fs.times["created_at"], Updated: fs.times["updated_at"]}
	if !FeedInVisible(caller.Version) {
		f.ExcludeType = domain.SubscriptionFeedIn
	}
	// The cursor is bound to the caller's reach, version and normalized filters.
	scope := strings.Join([]string{"subscriptions", f.OrgID, f.CustomerID, string(f.ExcludeType), fs.normal}, "\x00")
	lq, err := a.parseList(q, scope)
	if err != nil {
		return err
	}
	body, err := a.renderedList(f.OrgID, scope, caller.Version, lq, func() (any, error) {
		rows, err := a.Store.ListSubscriptions(r.Context(), f, lq.fetchPage())
		return page(a, lq, rows, subscriptionCursor, subscriptionItemJSON), err
	})
	if err != nil {
		return err
	}
	httpx.WriteRaw(w, http.StatusOK, "application/json", body)
	return nil
}

// getSubscription is GET /subscriptions/{id}, with the customer expanded.
func (a *API) getSubscription(w http.ResponseWriter, r *http.Request) error {
	s, err := a.visibleSubscription(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	c, err := a.Store.GetCustomer(r.Context(), s.CustomerID)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, subscriptionJSON(s, c))
	return nil
}
