package txn

import (
	"context"
	"strconv"
	"strings"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/store"
	"github.com/nomosauth/nomosauth/internal/store/rowcodec"
)

// where collects the conditions of a list query and their arguments; each
// argument gets the next $n placeholder as it is added.
type where struct {
	conds []string
	args  []any
}

// arg adds v and returns its placeholder.
func (w *where) arg(v any) string {
	w.args = append(w.args, v)
	return "$" + strconv.Itoa(len(w.args))
}

// compare adds "column op value" when v is set: empty filter fields match everything.
func (w *where) compare(column, op, v string) {
	if v != "" {
		w.conds = append(w.conds, column+" "+op+" "+w.arg(v))
	}
}

// page adds the keyset condition of a newest-first list, its ORDER BY and
// LIMIT: rows strictly after the cursor in (created_at, id) descending.
func (w *where) page(p store.Page) string {
	if p.After.ID != "" {
		at, id := w.arg(rowcodec.Micros(p.After.CreatedAt)), w.arg(p.After.ID)
		w.conds = append(w.conds, `(created_at < `+at+` OR (created_at = `+at+` AND id < `+id+`))`)
	}
	clause := ""
	if len(w.conds) > 0 {
		clause = ` WHERE ` + strings.Join(w.conds, ` AND `)
	}
	return clause + ` ORDER BY created_at DESC, id DESC LIMIT ` + w.arg(p.Limit)
}

// ListCustomers lists matching customers, newest first.
func (s *Store) ListCustomers(ctx context.Context, f store.CustomerFilter, p store.Page) ([]domain.Customer, error) {
	var w where
	w.compare("org_id", "=", f.OrgID)
	w.compare("id", "=", f.ID)
	if f.Email != "" {
		w.compare("email_key", "=", rowcodec.EmailKey(f.Email))
	}
	tail := w.page(p)
	return all(ctx, s.b.Reader(), rowcodec.Customer, `SELECT `+rowcodec.CustomerColumns+` FROM customers`+tail, w.args...)
}

// ListSubscriptions lists matching subscriptions, newest first.
func (s *Store) ListSubscriptions(ctx context.Context, f store.SubscriptionFilter, p store.Page) ([]domain.Subscription, error) {
	var w where
	w.compare("org_id", "=", f.OrgID)
	w.compare("customer_id", "=", f.CustomerID)
	w.compare("status", "=", string(f.Status))
	w.compare("type", "<>", string(f.ExcludeType))
	tail := w.page(p)
	return all(ctx, s.b.Reader(), rowcodec.Subscription, `SELECT `+rowcodec.SubscriptionColumns+` FROM subscriptions`+tail, w.args...)
}
