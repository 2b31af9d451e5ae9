package admin

import (
	"context"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/problem"
)

// SubscriptionSpec describes a subscription to create. What the Nomos
// Subscription object requires is required: the customer, the delivery
// address, the meter number, the IBAN and its account holder (PRODUCT R9).
type SubscriptionSpec struct {
	CustomerID     string
	Status         domain.SubscriptionStatus // default active
	Type           domain.SubscriptionType   // default consumption
	StartDate      time.Time                 // its day, in its own location (customers: Europe/Berlin); default today (UTC)
	Plan           string                    // default a new plan id
	EstimatedUsage int64                     // kWh per year
	Address        domain.Address
	BillingAddress domain.Address // its own record; empty is a copy of Address
	Meter          domain.Meter   // Type defaults to smart
	IBAN           string         // stored masked only
	AccountHolder  string
}

// CreateSubscription creates a subscription for a customer.
func (a *Admin) CreateSubscription(ctx context.Context, spec SubscriptionSpec) (domain.Subscription, error) {
	cus, err := a.Customers.GetCustomer(ctx, spec.CustomerID)
	if err != nil {
		return domain.Subscription{}, translate(err, "customer")
	}
	sub, err := a.newSubscription(spec, cus)
	if err != nil {
		return domain.Subscription{}, err
	}
	return sub, translate(a.Customers.CreateSubscription(ctx, sub), "subscription")
}

func (a *Admin) newSubscription(spec SubscriptionSpec, cus domain.Customer) (domain.Subscription, error) {
	now := a.Now().UTC()
	sub := domain.Subscription{OrgID: cus.OrgID, CustomerID: cus.ID, Status: spec.Status, Type: spec.Type,
		Plan: spec.Plan, EstimatedUsage: spec.EstimatedUsage, Address: spec.Address, Meter: spec.Meter,
		Payment: domain.PaymentMethod{AccountHolder: strings.TrimSpace(spec.AccountHolder)}, CreatedAt: now, UpdatedAt: now}
	if sub.Status == "" {
		sub.Status = domain.SubscriptionActive
	}
	if sub.Type == "" {
		sub.Type = domain.SubscriptionConsumption
	}
	if sub.Meter.Type == "" {
		sub.Meter.Type = "smart"
	}
	var errs []string
	switch sub.Status {
	case domain.SubscriptionPending, domain.SubscriptionActive, domain.SubscriptionEnded:
	default:
		errs = append(errs, "status must be pending, active or ended")
	}
	switch sub.Type {
	case domain.SubscriptionConsumption, domain.SubscriptionFeedIn:
	default:
		errs = append(errs, "type must be consumption or feed_in")
	}
	switch {
	case sub.Meter.Type != "smart" && sub.Meter.Type != "analog":
		errs = append(errs, "meter type must be smart or analog")
	case sub.Type == domain.SubscriptionFeedIn && sub.Meter.Type != "smart":
		errs = append(errs, "a feed-in subscription needs a smart meter")
	}
	if sub.EstimatedUsage < 0 || sub.EstimatedUsage > 10_000_000 {
		errs = append(errs, "estimated usage must be 0 to 10000000 kWh")
	}
	// The billing address is its own record (PRODUCT R9): given in full,
	// or a copy of the delivery address under its own id.
	sub.BillingAddress = spec.BillingAddress
	if sub.BillingAddress == (domain.Address{}) {
		sub.BillingAddress = domain.Address{Street: sub.Address.Street, HouseNumber: sub.Address.HouseNumber, Zip: sub.Address.Zip, City: sub.Address.City}
	}
	sub.Address.CreatedAt, sub.BillingAddress.CreatedAt, sub.Meter.CreatedAt, sub.Payment.CreatedAt = now, now, now, now
	if z := sub.Address.Zip; len(z) != 5 || strings.Trim(z, "0123456789") != "" {
		errs = append(errs, "zip must be five digits")
	}
	if z := sub.BillingAddress.Zip; len(z) != 5 || strings.Trim(z, "0123456789") != "" {
		errs = append(errs, "billing_zip must be five digits")
	}
	// The OpenAPI requires these non-empty (PRODUCT R9); the others are
	// optional and bounded alike when given.
	for _, f := range []struct {
		name, v  string
		required bool
	}{{"plan", sub.Plan, false}, {"street", sub.Address.Street, true}, {"house_number", sub.Address.HouseNumber, true},
		{"city", sub.Address.City, true}, {"meter_number", sub.Meter.Number, true}, {"melo", sub.Meter.MeLo, false}, {"malo", sub.Meter.MaLo, false},
		{"account_holder", sub.Payment.AccountHolder, true}, {"billing_street", sub.BillingAddress.Street, true},
		{"billing_house_number", sub.BillingAddress.HouseNumber, true}, {"billing_city", sub.BillingAddress.City, true}} {
		if f.v != "" || f.required {
			if _, err := checkName(f.name, f.v); err != nil {
				errs = append(errs, err.Error())
			}
		}
	}
	if spec.IBAN == "" {
		errs = append(errs, "iban is required")
	} else {
		masked, err := maskIBAN(spec.IBAN)
		if err != nil {
			errs = append(errs, err.Error())
		}
		sub.Payment.IBANMasked = masked
	}
	if len(errs) > 0 {
		return domain.Subscription{}, problem.BadRequest(strings.Join(errs, "; "))
	}
	start := spec.StartDate
	if start.IsZero() {
		start = now
	}
	// A subscription starts at midnight of its day where its customer
	// lives: that instant is its start_at and its first price (issue 16).
	loc := start.Location()
	sub.StartDate = time.Date(start.Year(), start.Month(), start.Day(), 0, 0, 0, 0, loc).UTC()
	if sub.Status == domain.SubscriptionEnded {
		today := now.In(loc)
		sub.EndDate = time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, loc).UTC()
	}
	// Every related record gets its own id, as the Nomos API gives them.
	for _, f := range []struct {
		prefix string
		to     *string
	}{{domain.PrefixSubscription, &sub.ID}, {domain.PrefixAddress, &sub.Address.ID}, {domain.PrefixAddress, &sub.BillingAddress.ID}, {domain.PrefixMeter, &sub.Meter.ID}, {domain.PrefixPayment, &sub.Payment.ID}, {domain.PrefixPlan, &sub.Plan}} {
		if *f.to != "" {
			continue
		}
		id, err := a.IDs.ID(f.prefix)
		if err != nil {
			return domain.Subscription{}, err
		}
		*f.to = id
	}
	number, err := a.IDs.ID("")
	if err != nil {
		return domain.Subscription{}, err
	}
	sub.Number = strings.ToUpper(number[:8])
	return sub, nil
}

// maskIBAN checks an IBAN's mod-97 checksum (ISO 13616) and returns it with
// all but the country code and the last four characters hidden, the only
// form the API shows and so the only form stored.
func maskIBAN(raw string) (string, error) {
	iban := strings.ToUpper(strings.ReplaceAll(raw, " ", ""))
	bad := fmt.Errorf("iban %s is not a valid IBAN", problem.Quote(raw))
	if len(iban) < 15 || len(iban) > 34 || iban[0] < 'A' || iban[0] > 'Z' || iban[1] < 'A' || iban[1] > 'Z' {
		return "", bad
	}
	var digits strings.Builder
	for _, r := range iban[4:] + iban[:4] {
		switch {
		case r >= '0' && r <= '9':
			digits.WriteRune(r)
		case r >= 'A' && r <= 'Z':
			fmt.Fprintf(&digits, "%d", r-'A'+10)
		default:
			return "", bad
		}
	}
	n, _ := new(big.Int).SetString(digits.String(), 10)
	if new(big.Int).Mod(n, big.NewInt(97)).Int64() != 1 {
		return "", bad
	}
	return iban[:2] + strings.Repeat("*", len(iban)-6) + iban[len(iban)-4:], nil
}
