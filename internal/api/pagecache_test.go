package api

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nomosauth/nomosauth/internal/admin"
	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/store"
	"github.com/nomosauth/nomosauth/internal/testfix"
)

// fakeStamps holds the organizations in m, under their stamps.
type fakeStamps map[string]uint64

func (s fakeStamps) Stamp(orgID string) (uint64, bool) { v, ok := s[orgID]; return v, ok }

// countingStore counts the list reads that reach the store.
type countingStore struct {
	Store
	lists atomic.Int64
}

func (c *countingStore) ListSubscriptions(ctx context.Context, f store.SubscriptionFilter, p store.Page) ([]domain.Subscription, error) {
	c.lists.Add(1)
	return c.Store.ListSubscriptions(ctx, f, p)
}

func (c *countingStore) ListCustomers(ctx context.Context, f store.CustomerFilter, p store.Page) ([]domain.Customer, error) {
	c.lists.Add(1)
	return c.Store.ListCustomers(ctx, f, p)
}

// TestRenderedPagesKeptUnderTheirStamp: a list page of an organization
// whose records are held in memory is rendered once per stamp and
// served again only to a request that would render the same bytes (same
// list, reach, filters, version, limit and cursor); a new stamp renders
// afresh, and an organization not held is always read (issue 17).
func TestRenderedPagesKeptUnderTheirStamp(t *testing.T) {
	f := newFixture(t, nil)
	stamps := fakeStamps{f.orgA: 1}
	counted := &countingStore{Store: f.api.Store}
	f.api.Store, f.api.Stamps = counted, stamps
	reads := func() int64 { return counted.lists.Load() }

	get := func(path, bearer string) string {
		t.Helper()
		res := f.call("GET", path, bearer, "")
		if res.status != 200 {
			t.Fatalf("GET %s: %d %s", path, res.status, res.raw)
		}
		return res.raw
	}
	org := get("/subscriptions", f.orgToken())
	if reads() != 1 || get("/subscriptions", f.orgToken()) != org || reads() != 1 {
		t.Fatalf("a held organization's page is rendered once: %d reads", reads())
	}
	// Each of these would render other bytes: none is served the page above.
	for i, path := range []struct{ path, bearer string }{
		{"/subscriptions", f.cus1Token()},                         // another reach
		{"/subscriptions", f.token(f.old, "", "read:*")},          // another version
		{"/subscriptions?filter[status][eq]=ended", f.orgToken()}, // another filter
		{"/subscriptions?limit=1", f.orgToken()},                  // another limit
		{"/customers", f.orgToken()},                              // another list
	} {
		if got := get(path.path, path.bearer); got == org || reads() != int64(2+i) {
			t.Fatalf("%s: served the cached page or read %d times", path.path, reads())
		}
	}
	next := f.call("GET", "/subscriptions?limit=1", f.orgToken(), "").body["next_page"].(string)
	before := reads()
	if get("/subscriptions?limit=1&cursor="+next, f.orgToken()) == get("/subscriptions?limit=1", f.orgToken()) {
		t.Fatal("the next page is another page")
	}
	if reads() != before+1 {
		t.Fatalf("the next page is rendered once, the first served again: %d reads", reads()-before)
	}

	// A new subscription shows once the records are held under a new stamp.
	f.clock.Advance(time.Second)
	if _, err := f.admin.CreateSubscription(context.Background(), testfix.DemoSubscription(admin.SubscriptionSpec{CustomerID: f.cus2.ID, Status: domain.SubscriptionActive})); err != nil {
		t.Fatal(err)
	}
	stamps[f.orgA] = 2
	if get("/subscriptions", f.orgToken()) == org {
		t.Fatal("a new stamp renders the page afresh")
	}

	// Org B is not held: every request reads.
	before = reads()
	get("/subscriptions", f.orgBToken())
	get("/subscriptions", f.orgBToken())
	if reads() != before+2 {
		t.Fatalf("an organization not held is read every time: %d reads", reads()-before)
	}
}
