package view

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/store"
)

// Loader is where the records come from: on a miss, for an organization
// that does not fit, and to load an organization (the store).
type Loader interface {
	GetCustomer(ctx context.Context, id string) (domain.Customer, error)
	ListCustomers(ctx context.Context, f store.CustomerFilter, p store.Page) ([]domain.Customer, error)
	GetSubscription(ctx context.Context, id string) (domain.Subscription, error)
	ListSubscriptions(ctx context.Context, f store.SubscriptionFilter, p store.Page) ([]domain.Subscription, error)
}

// loadPage is how many rows one query of a load reads.
const loadPage = 500

// maxTooBig bounds the remembered organizations that did not fit.
const maxTooBig = 1024

// View holds organizations' customers and subscriptions in memory. Build
// one with New; it is safe for concurrent use.
type View struct {
	load    Loader
	ceiling int64 // bytes, estimated; 0 serves everything from load
	// Fresh, when set, says whether what is held may be served: false
	// when the change poll has not succeeded lately, and then every read
	// goes to load (fail closed).
	Fresh func() bool

	mu sync.RWMutex
	// gen counts the forgets: a load that began before one installs
	// nothing, since it may have read what the change replaced.
	gen     uint64
	orgs    map[string]*orgView
	used    int64               // estimated bytes of every installed view
	loading map[string]bool     // organizations a load is under way for
	tooBig  map[string]struct{} // did not fit alone: read from load until forgotten
	// The ids of installed views' records, so a get by id finds its view.
	customerOrg     map[string]string
	subscriptionOrg map[string]string
	tick            atomic.Uint64 // the LRU clock
	stamps          uint64        // the last install's stamp
}

// orgView is one organization's records, newest first (created_at, then
// id, descending), immutable once installed.
type orgView struct {
	customers      []customerRow
	subscriptions  []subscriptionRow
	customerAt     map[string]int // id → index
	subscriptionAt map[string]int
	bytes          int64
	used           atomic.Uint64 // the tick of its last read
	stamp          uint64        // unique to this install (Stamp)
}

type customerRow struct {
	c       domain.Customer
	created int64  // microseconds, as stored
	key     string // the email key (PRODUCT A7)
}

type subscriptionRow struct {
	s                domain.Subscription
	created, updated int64 // microseconds; updated is created when never updated
}

// New returns a view that loads from l and holds at most ceiling bytes
// (estimated) of records; a ceiling of 0 turns the view off.
func New(l Loader, ceiling int64) *View {
	return &View{load: l, ceiling: ceiling, orgs: map[string]*orgView{}, loading: map[string]bool{},
		tooBig: map[string]struct{}{}, customerOrg: map[string]string{}, subscriptionOrg: map[string]string{}}
}

// micros is an instant as the store keeps it: microseconds since the
// epoch, 0 for the zero time.
func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// GetCustomer returns customer id, from memory when its organization's
// view is held; otherwise from the store, and its organization's view is
// loaded for the next read.
func (v *View) GetCustomer(ctx context.Context, id string) (domain.Customer, error) {
	return getOne(ctx, v, id, v.load.GetCustomer, func(c domain.Customer) string { return c.OrgID },
		func() *orgView { return v.orgs[v.customerOrg[id]] },
		func(ov *orgView) domain.Customer { return ov.customers[ov.customerAt[id]].c })
}

// GetSubscription returns subscription id, as GetCustomer does.
func (v *View) GetSubscription(ctx context.Context, id string) (domain.Subscription, error) {
	return getOne(ctx, v, id, v.load.GetSubscription, func(s domain.Subscription) string { return s.OrgID },
		func() *orgView { return v.orgs[v.subscriptionOrg[id]] },
		func(ov *orgView) domain.Subscription { return ov.subscriptions[ov.subscriptionAt[id]].s })
}

// getOne is a get by id: from held, the view holding the record (found
// under v.mu), by pick, when there is one and the view is fresh; else by
// load, and then the record's organization (org) is loaded for the next
// read.
func getOne[T any](ctx context.Context, v *View, id string, load func(context.Context, string) (T, error), org func(T) string,
	held func() *orgView, pick func(*orgView) T) (T, error) {
	if v.stale() {
		return load(ctx, id)
	}
	v.mu.RLock()
	ov := held()
	v.mu.RUnlock()
	if ov != nil {
		ov.used.Store(v.tick.Add(1))
		return pick(ov), nil
	}
	r, err := load(ctx, id)
	if err == nil {
		v.org(ctx, org(r))
	}
	return r, err
}

// ListCustomers lists the customers f matches, newest first, after p.After,
// exactly as the store does; a list not bound to one organization, or of
// an organization that does not fit, comes from the store.
func (v *View) ListCustomers(ctx context.Context, f store.CustomerFilter, p store.Page) ([]domain.Customer, error) {
	match, err := customerMatch(f)
	if err != nil {
		return nil, err
	}
	ov := v.orgFor(ctx, f.OrgID, p)
	if ov == nil {
		return v.load.ListCustomers(ctx, f, p)
	}
	return pageOf(ov.customers, p, match, func(r customerRow) (int64, string, domain.Customer) { return r.created, r.c.ID, r.c }), nil
}

// ListSubscriptions lists the subscriptions f matches, as ListCustomers does.
func (v *View) ListSubscriptions(ctx context.Context, f store.SubscriptionFilter, p store.Page) ([]domain.Subscription, error) {
	match, err := subscriptionMatch(f)
	if err != nil {
		return nil, err
	}
	ov := v.orgFor(ctx, f.OrgID, p)
	if ov == nil {
		return v.load.ListSubscriptions(ctx, f, p)
	}
	return pageOf(ov.subscriptions, p, match, func(r subscriptionRow) (int64, string, domain.Subscription) { return r.created, r.s.ID, r.s }), nil
}

// pageOf is one page of rows (newest first) as the store's keyset query
// gives it: the rows after p.After that match, at most p.Limit; row says
// a row's creation time, id and record.
func pageOf[R, T any](rows []R, p store.Page, match func(R) bool, row func(R) (int64, string, T)) []T {
	start := 0
	if p.After.ID != "" {
		at := micros(p.After.CreatedAt)
		start = sort.Search(len(rows), func(i int) bool {
			created, id, _ := row(rows[i])
			return before(created, id, at, p.After.ID)
		})
	}
	out := make([]T, 0, min(p.Limit, len(rows)-start))
	for _, r := range rows[start:] {
		if len(out) == p.Limit {
			break
		}
		if match(r) {
			_, _, v := row(r)
			out = append(out, v)
		}
	}
	return out
}

// before is the newest-first order of (created_at, id): whether a row
// comes after the position (at, id) in a list, the store's keyset
// condition created_at < at OR (created_at = at AND id < id).
func before(created int64, rowID string, at int64, id string) bool {
	return created < at || (created == at && rowID < id)
}

// orgFor is the view a list of orgID is answered from, or nil for the
// store: no organization (the store's filter spans them all), a limit
// the store alone interprets, or a view not held.
func (v *View) orgFor(ctx context.Context, orgID string, p store.Page) *orgView {
	if orgID == "" || p.Limit <= 0 {
		return nil
	}
	return v.org(ctx, orgID)
}

// org returns orgID's view, loading it when it is not held; nil when
// the view is off, the organization does not fit, another request is
// loading it, the load failed, or a change came during the load.
func (v *View) org(ctx context.Context, orgID string) *orgView {
	if v.ceiling <= 0 || v.stale() {
		return nil
	}
	v.mu.RLock()
	ov := v.orgs[orgID]
	v.mu.RUnlock()
	if ov != nil {
		ov.used.Store(v.tick.Add(1))
		return ov
	}
	v.mu.Lock()
	ov = v.orgs[orgID]
	_, big := v.tooBig[orgID]
	if ov != nil || big || v.loading[orgID] {
		v.mu.Unlock()
		return ov
	}
	v.loading[orgID] = true
	gen := v.gen
	v.mu.Unlock()

	ov, fits, err := v.read(ctx, orgID)

	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.loading, orgID)
	if err != nil || v.gen != gen { // a change came meanwhile: what was read may predate it
		return nil
	}
	if !fits {
		if len(v.tooBig) >= maxTooBig {
			clear(v.tooBig)
		}
		v.tooBig[orgID] = struct{}{}
		return nil
	}
	v.install(orgID, ov)
	return ov
}

// read loads orgID's records through the store's lists, page by page,
// and stops as soon as they exceed the ceiling (fits is then false).
func (v *View) read(ctx context.Context, orgID string) (ov *orgView, fits bool, err error) {
	ov = &orgView{customerAt: map[string]int{}, subscriptionAt: map[string]int{}}
	for p := (store.Page{Limit: loadPage}); ; {
		rows, err := v.load.ListCustomers(ctx, store.CustomerFilter{OrgID: orgID}, p)
		if err != nil {
			return nil, false, fmt.Errorf("load customers: %w", err)
		}
		for _, c := range rows {
			ov.customers = append(ov.customers, customerRow{c: c, created: micros(c.CreatedAt), key: domain.EmailKey(c.Email)})
			ov.bytes += customerBytes(c)
		}
		if ov.bytes > v.ceiling {
			return nil, false, nil
		}
		if len(rows) < p.Limit {
			break
		}
		last := rows[len(rows)-1]
		p.After = store.Cursor{CreatedAt: last.CreatedAt, ID: last.ID}
	}
	for p := (store.Page{Limit: loadPage}); ; {
		rows, err := v.load.ListSubscriptions(ctx, store.SubscriptionFilter{OrgID: orgID}, p)
		if err != nil {
			return nil, false, fmt.Errorf("load subscriptions: %w", err)
		}
		for _, s := range rows {
			r := subscriptionRow{s: s, created: micros(s.CreatedAt), updated: micros(s.UpdatedAt)}
			if r.updated == 0 { // the API shows a never-updated subscription's updated_at as its created_at
				r.updated = r.created
			}
			ov.subscriptions = append(ov.subscriptions, r)
			ov.bytes += subscriptionBytes(s)
		}
		if ov.bytes > v.ceiling {
			return nil, false, nil
		}
		if len(rows) < p.Limit {
			break
		}
		last := rows[len(rows)-1]
		p.After = store.Cursor{CreatedAt: last.CreatedAt, ID: last.ID}
	}
	// The order the cursor search relies on, whatever the database's
	// collation made of ties.
	sort.SliceStable(ov.customers, func(i, j int) bool {
		a, b := ov.customers[i], ov.customers[j]
		return before(b.created, b.c.ID, a.created, a.c.ID)
	})
	sort.SliceStable(ov.subscriptions, func(i, j int) bool {
		a, b := ov.subscriptions[i], ov.subscriptions[j]
		return before(b.created, b.s.ID, a.created, a.s.ID)
	})
	for i, r := range ov.customers {
		ov.customerAt[r.c.ID] = i
	}
	for i, r := range ov.subscriptions {
		ov.subscriptionAt[r.s.ID] = i
	}
	return ov, true, nil
}

// install holds ov as orgID's view, evicting the least recently used
// views until it fits under the ceiling. v.mu is held.
func (v *View) install(orgID string, ov *orgView) {
	for v.used+ov.bytes > v.ceiling && len(v.orgs) > 0 {
		victim, oldest := "", uint64(0)
		for id, o := range v.orgs {
			if t := o.used.Load(); victim == "" || t < oldest {
				victim, oldest = id, t
			}
		}
		v.drop(victim)
	}
	ov.used.Store(v.tick.Add(1))
	v.stamps++
	ov.stamp = v.stamps
	v.orgs[orgID] = ov
	v.used += ov.bytes
	for _, r := range ov.customers {
		v.customerOrg[r.c.ID] = orgID
	}
	for _, r := range ov.subscriptions {
		v.subscriptionOrg[r.s.ID] = orgID
	}
}

// drop removes orgID's view. v.mu is held.
func (v *View) drop(orgID string) {
	ov := v.orgs[orgID]
	if ov == nil {
		return
	}
	for _, r := range ov.customers {
		delete(v.customerOrg, r.c.ID)
	}
	for _, r := range ov.subscriptions {
		delete(v.subscriptionOrg, r.s.ID)
	}
	v.used -= ov.bytes
	delete(v.orgs, orgID)
}

// Stamp says whether orgID's records are held, and under which stamp: a
// number no other install of any organization's records has had, so
// whatever was worked out from the records under one stamp stays true
// until Stamp answers another (the API's rendered pages).
func (v *View) Stamp(orgID string) (uint64, bool) {
	if v.stale() {
		return 0, false
	}
	v.mu.RLock()
	defer v.mu.RUnlock()
	if ov := v.orgs[orgID]; ov != nil {
		return ov.stamp, true
	}
	return 0, false
}

// stale says what is held must not be served now (Fresh).
func (v *View) stale() bool { return v.Fresh != nil && !v.Fresh() }

// Forget drops organization orgID's view and its not-fitting mark, and
// makes loads under way install nothing.
func (v *View) Forget(orgID string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.gen++
	v.drop(orgID)
	delete(v.tooBig, orgID)
}

// ForgetAll drops every view, and makes loads under way install nothing.
func (v *View) ForgetAll() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.gen++
	clear(v.orgs)
	clear(v.tooBig)
	clear(v.customerOrg)
	clear(v.subscriptionOrg)
	v.used = 0
}

// Stats is what a view holds: organizations and their estimated bytes.
type Stats struct {
	Orgs  int
	Bytes int64
}

// Stats reports what the view holds.
func (v *View) Stats() Stats {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return Stats{Orgs: len(v.orgs), Bytes: v.used}
}

// indexEntry is an estimate of one id's cost in an index map: the map
// slot and the key's header (the key's bytes are the record's).
const indexEntry = 64

// customerBytes estimates what one customer costs held: its row, its
// strings, the email key and its entries in two indexes.
func customerBytes(c domain.Customer) int64 {
	n := unsafe.Sizeof(customerRow{}) + 2*indexEntry
	for _, s := range []string{c.ID, c.OrgID, c.Email, c.Email, c.FirstName, c.LastName, c.CompanyName, string(c.Type)} {
		n += uintptr(len(s))
	}
	return int64(n)
}

// subscriptionBytes estimates what one subscription costs held, as
// customerBytes does.
func subscriptionBytes(s domain.Subscription) int64 {
	n := unsafe.Sizeof(subscriptionRow{}) + 2*indexEntry
	a, b, m, p := s.Address, s.BillingAddress, s.Meter, s.Payment
	for _, x := range []string{s.ID, s.OrgID, s.CustomerID, string(s.Status), string(s.Type), s.Plan, s.Number,
		a.ID, a.Street, a.HouseNumber, a.Zip, a.City, b.ID, b.Street, b.HouseNumber, b.Zip, b.City,
		m.ID, m.Number, m.Type, m.MeLo, m.MaLo, p.ID, p.IBANMasked, p.AccountHolder} {
		n += uintptr(len(x))
	}
	return int64(n)
}
