package admin

import (
	"context"
	"fmt"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
)

// DevSeed is what --dev created on an empty database (PRODUCT O1).
type DevSeed struct {
	OrgID          string
	ClientID       string
	ClientSecret   string
	CustomerID     string
	CustomerEmail  string
	SubscriptionID string
}

// DevRedirectURI is the demo client's callback; any loopback port matches
// it (PRODUCT A2).
const DevRedirectURI = "http://127.0.0.1:3000/callback"

// SeedDev fills an empty database with a demo organization, a confidential
// client, a customer and an active subscription with a week of hourly prices
// around today in loc (PRODUCT O1). On a database that has any organization
// it does nothing and reports false.
func (a *Admin) SeedDev(ctx context.Context, loc *time.Location) (DevSeed, bool, error) {
	orgs, err := a.Directory.ListOrgs(ctx)
	if err != nil || len(orgs) > 0 {
		return DevSeed{}, false, err
	}
	org, err := a.CreateOrg(ctx, "Demo Energy")
	if err != nil {
		return DevSeed{}, false, fmt.Errorf("seed org: %w", err)
	}
	client, secret, err := a.CreateClient(ctx, ClientSpec{OrgID: org.ID, Name: "Demo Backend",
		RedirectURIs: []string{DevRedirectURI}})
	if err != nil {
		return DevSeed{}, false, fmt.Errorf("seed client: %w", err)
	}
	cus, err := a.CreateCustomer(ctx, CustomerSpec{OrgID: org.ID, Email: "demo@example.com", FirstName: "Max", LastName: "Mustermann"})
	if err != nil {
		return DevSeed{}, false, fmt.Errorf("seed customer: %w", err)
	}
	// The subscription starts today, and the API serves prices from its
	// start: the week of prices is today and the six days after.
	today := a.Now().In(loc)
	sub, err := a.CreateSubscription(ctx, SubscriptionSpec{CustomerID: cus.ID, EstimatedUsage: 3500, StartDate: today,
		Address: domain.Address{Street: "Torstraße", HouseNumber: "119", Zip: "10115", City: "Berlin"},
		Meter:   domain.Meter{Number: "1APA0195124010", Type: "smart"},
		IBAN:    "DE89 3704 0044 0532 0130 00", AccountHolder: "Max Mustermann"})
	if err != nil {
		return DevSeed{}, false, fmt.Errorf("seed subscription: %w", err)
	}
	if err := a.ImportPrices(ctx, sub.ID, DemoPrices(today, today.AddDate(0, 0, 6), loc)); err != nil {
		return DevSeed{}, false, fmt.Errorf("seed prices: %w", err)
	}
	return DevSeed{OrgID: org.ID, ClientID: client.ID, ClientSecret: secret, CustomerID: cus.ID,
		CustomerEmail: cus.Email, SubscriptionID: sub.ID}, true, nil
}
