package view_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/store"
	"github.com/nomosauth/nomosauth/internal/store/sqlite"
	"github.com/nomosauth/nomosauth/internal/view"
)

var base = time.Date(2026, 5, 27, 10, 30, 0, 123456000, time.UTC)

func check(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// counting is the store the view loads from: it counts the list reads
// and, while hold is set, stops the next list read until release is
// closed, telling entered first.
type counting struct {
	store.Store
	lists   atomic.Int64
	hold    atomic.Bool
	entered chan struct{}
	release chan struct{}
}

func (c *counting) ListCustomers(ctx context.Context, f store.CustomerFilter, p store.Page) ([]domain.Customer, error) {
	c.lists.Add(1)
	if c.hold.CompareAndSwap(true, false) {
		rows, err := c.Store.ListCustomers(ctx, f, p) // read before the change
		close(c.entered)
		<-c.release
		return rows, err
	}
	return c.Store.ListCustomers(ctx, f, p)
}

func open(t *testing.T) *counting {
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "test.db"))
	check(t, err)
	t.Cleanup(func() { s.Close() })
	return &counting{Store: s}
}

// seed makes org with n customers, each with one subscription.
func seed(t *testing.T, s store.Store, org string, n int) {
	check(t, s.CreateOrg(t.Context(), domain.Org{ID: org, Name: org, CreatedAt: base}))
	for i := range n {
		c := domain.Customer{ID: fmt.Sprintf("cus_%s_%03d", org, i), OrgID: org, Email: fmt.Sprintf("c%d@%s.example", i, org),
			FirstName: "Max", Type: domain.CustomerPerson, CreatedAt: base.Add(time.Duration(i) * time.Second)}
		check(t, s.CreateCustomer(t.Context(), c, domain.System(base)))
		check(t, s.CreateSubscription(t.Context(), domain.Subscription{ID: fmt.Sprintf("sub_%s_%03d", org, i), OrgID: org, CustomerID: c.ID,
			Status: domain.SubscriptionActive, Type: domain.SubscriptionConsumption, CreatedAt: c.CreatedAt}))
	}
}

func list(t *testing.T, v interface {
	ListCustomers(context.Context, store.CustomerFilter, store.Page) ([]domain.Customer, error)
}, org string) []domain.Customer {
	t.Helper()
	rows, err := v.ListCustomers(t.Context(), store.CustomerFilter{OrgID: org}, store.Page{Limit: 100})
	check(t, err)
	return rows
}

// Issue17/own_writes_in_force_at_once: a change made through this
// process's store is in the next read from memory, with no poll.
func TestIssue17OwnWritesInForceAtOnce(t *testing.T) {
	raw := open(t)
	seed(t, raw, "org_a", 2)
	v := view.New(raw, 1<<20)
	st := view.Served{Store: view.Writes{Store: raw, Forget: []view.Forgetter{v}}, View: v}
	if got := list(t, st, "org_a"); len(got) != 2 || got[0].FirstName != "Max" {
		t.Fatalf("first list: %+v", got)
	}
	loads := raw.lists.Load()
	if list(t, st, "org_a"); raw.lists.Load() != loads {
		t.Fatal("a warm list read the store")
	}
	c := domain.Customer{ID: "cus_org_a_000", FirstName: "Erika"}
	_, err := st.UpdateCustomer(t.Context(), c.ID, domain.CustomerPatch{FirstName: &c.FirstName})
	check(t, err)
	got, err := st.GetCustomer(t.Context(), c.ID)
	check(t, err)
	if got.FirstName != "Erika" {
		t.Fatalf("get after own update: %q", got.FirstName)
	}
	check(t, st.CreateCustomer(t.Context(), domain.Customer{ID: "cus_new", OrgID: "org_a", Email: "new@example.com", Type: domain.CustomerPerson,
		CreatedAt: base.Add(time.Hour)}, domain.System(base)))
	if rows := list(t, st, "org_a"); len(rows) != 3 || rows[0].ID != "cus_new" {
		t.Fatalf("list after own create: %+v", rows)
	}
}

// Issue17/load_before_forget_installs_nothing: a load that read the
// records before a change, and finishes after the change was forgotten,
// must not install what it read, or the change would stay unseen until
// the next one (the generation guard).
func TestIssue17LoadBeforeForgetInstallsNothing(t *testing.T) {
	raw := open(t)
	seed(t, raw, "org_a", 1)
	v := view.New(raw, 1<<20)
	raw.entered, raw.release = make(chan struct{}), make(chan struct{})
	raw.hold.Store(true)
	done := make(chan []domain.Customer)
	go func() {
		rows, _ := v.ListCustomers(context.Background(), store.CustomerFilter{OrgID: "org_a"}, store.Page{Limit: 10})
		done <- rows
	}()
	<-raw.entered // the load has read the old name
	rename(t, raw, "cus_org_a_000", "Erika")
	v.Forget("org_a") // as Writes or the poll does once the change committed
	close(raw.release)
	<-done // its own answer may be the old one: it began before the change
	if got := list(t, v, "org_a"); got[0].FirstName != "Erika" {
		t.Fatalf("after the change was forgotten the view serves %q: the stale load was installed", got[0].FirstName)
	}
}

// Issue17/ceiling_falls_back_and_evicts_lru: an organization larger than
// the memory ceiling is read from the database on every request (and no
// load is tried again until it changes); beyond the ceiling the least
// recently used organization is evicted.
func TestIssue17CeilingFallsBackAndEvictsLRU(t *testing.T) {
	raw := open(t)
	seed(t, raw, "org_big", 40)
	seed(t, raw, "org_a", 3)
	seed(t, raw, "org_b", 3)
	seed(t, raw, "org_c", 3)
	// Room for about two small organizations, never for the big one.
	v := view.New(raw, 8<<10)

	if got := list(t, v, "org_big"); len(got) != 40 {
		t.Fatalf("big org: %d customers", len(got))
	}
	before := raw.lists.Load()
	if got := list(t, v, "org_big"); len(got) != 40 || raw.lists.Load() != before+1 {
		t.Fatalf("big org: %d customers with %d reads, want 40 with one (the database, no new load)", len(got), raw.lists.Load()-before)
	}
	if st := v.Stats(); st.Orgs != 0 || st.Bytes != 0 {
		t.Fatalf("the big org is held: %+v", st)
	}

	list(t, v, "org_a")
	list(t, v, "org_b")
	if st := v.Stats(); st.Orgs != 2 || st.Bytes > 8<<10 {
		t.Fatalf("after a and b: %+v", st)
	}
	list(t, v, "org_a") // a is now more recent than b
	list(t, v, "org_c") // evicts b
	if st := v.Stats(); st.Orgs != 2 || st.Bytes > 8<<10 {
		t.Fatalf("after c: %+v", st)
	}
	// The held ones first: reading b loads it again and evicts another.
	for _, tc := range []struct {
		org  string
		held bool
	}{{"org_a", true}, {"org_c", true}, {"org_b", false}} {
		before := raw.lists.Load()
		list(t, v, tc.org)
		if read := raw.lists.Load() != before; read == tc.held {
			t.Errorf("%s: read the store %v, want held %v", tc.org, read, tc.held)
		}
	}
}

// Issue17/view_off: a ceiling of 0 serves every read from the store.
func TestIssue17ViewOff(t *testing.T) {
	raw := open(t)
	seed(t, raw, "org_a", 2)
	v := view.New(raw, 0)
	list(t, v, "org_a")
	before := raw.lists.Load()
	list(t, v, "org_a")
	if raw.lists.Load() != before+1 || v.Stats().Orgs != 0 {
		t.Fatal("a view with no memory held an organization")
	}
}

// TestIssue17StampChangesWithWhatIsHeld: an organization not held has no
// stamp; once loaded it has one, the same while nothing changes, and a
// new one after its records were forgotten and loaded again, by a write
// of this process or the change poll, so nothing worked out from the old
// records (the API's rendered pages) outlives them.
func TestIssue17StampChangesWithWhatIsHeld(t *testing.T) {
	raw := open(t)
	seed(t, raw, "org_a", 1)
	seed(t, raw, "org_b", 1)
	v := view.New(raw, 1<<20)
	st := view.Served{Store: view.Writes{Store: raw, Forget: []view.Forgetter{v}}, View: v}
	if _, held := v.Stamp("org_a"); held {
		t.Fatal("a stamp before any load")
	}
	list(t, st, "org_a")
	list(t, st, "org_b")
	a1, held := v.Stamp("org_a")
	b1, _ := v.Stamp("org_b")
	if !held || a1 == b1 {
		t.Fatalf("loaded: stamps %d and %d, held %v", a1, b1, held)
	}
	if list(t, st, "org_a"); func() uint64 { s, _ := v.Stamp("org_a"); return s }() != a1 {
		t.Fatal("a read changed the stamp")
	}
	rename(t, st, "cus_org_a_000", "Erika")
	if _, held := v.Stamp("org_a"); held {
		t.Fatal("a stamp survived an own write")
	}
	list(t, st, "org_a")
	if a2, held := v.Stamp("org_a"); !held || a2 == a1 {
		t.Fatalf("reloaded under stamp %d (was %d)", a2, a1)
	}
	v.Forget("org_b") // as the change poll does
	list(t, st, "org_b")
	if b2, _ := v.Stamp("org_b"); b2 == b1 {
		t.Fatal("the poll's forget kept the stamp")
	}
}

// Issue17/stale_view_reads_through: while Fresh says no, lists and gets
// come from the store and no stamp is given, so neither the view nor the
// API's rendered pages serve what may have changed elsewhere.
func TestIssue17StaleViewReadsThrough(t *testing.T) {
	raw := open(t)
	seed(t, raw, "org_a", 2)
	v := view.New(raw, 1<<20)
	fresh := true
	v.Fresh = func() bool { return fresh }
	st := view.Served{Store: raw, View: v}
	list(t, st, "org_a")
	if _, held := v.Stamp("org_a"); !held {
		t.Fatal("fresh: not held after a list")
	}
	fresh = false
	loads := raw.lists.Load()
	list(t, st, "org_a")
	if raw.lists.Load() == loads {
		t.Fatal("stale: a list was served from memory")
	}
	if _, held := v.Stamp("org_a"); held {
		t.Fatal("stale: a stamp was given")
	}
	fresh = true
	loads = raw.lists.Load()
	list(t, st, "org_a")
	if raw.lists.Load() != loads {
		t.Fatal("fresh again: the held view is served")
	}
}

// rename sets customer id's first name through s.
func rename(t *testing.T, s interface {
	UpdateCustomer(context.Context, string, domain.CustomerPatch) (domain.Customer, error)
}, id, first string) {
	t.Helper()
	_, err := s.UpdateCustomer(t.Context(), id, domain.CustomerPatch{FirstName: &first})
	check(t, err)
}
