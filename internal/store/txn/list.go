package txn

import (
	"context"
	"errors"
	"fmt"
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

// text adds a filter's conditions on a text column, each value a
// placeholder (PRODUCT R9); key normalizes a value as the column stores it.
func (w *where) text(column string, ms []store.TextMatch, key func(string) string) error {
	for _, m := range ms {
		if len(m.In) > store.MaxMatchValues {
			return fmt.Errorf("txn: %d values for %s, at most %d", len(m.In), column, store.MaxMatchValues)
		}
		if len(m.In) == 0 {
			if !m.Not {
				w.conds = append(w.conds, `1 = 0`) // in no value: nothing matches
			}
			continue
		}
		marks := make([]string, len(m.In))
		for i, v := range m.In {
			if key != nil {
				v = key(v)
			}
			marks[i] = w.arg(v)
		}
		op := " IN "
		if m.Not {
			op = " NOT IN "
		}
		w.conds = append(w.conds, column+op+"("+strings.Join(marks, ", ")+")")
	}
	return nil
}

// instant adds a filter's conditions on an instant column stored in
// microseconds, rounded as TimeMatch.Micros says.
func (w *where) instant(column string, ms []store.TimeMatch) error {
	for _, m := range ms {
		down, up := m.Micros()
		switch m.Op {
		case store.Equal:
			w.conds = append(w.conds, column+" >= "+w.arg(up)+" AND "+column+" <= "+w.arg(down))
		case store.After:
			w.conds = append(w.conds, column+" > "+w.arg(down))
		case store.AtOrAfter:
			w.conds = append(w.conds, column+" >= "+w.arg(up))
		case store.Before:
			w.conds = append(w.conds, column+" < "+w.arg(up))
		case store.AtOrBefore:
			w.conds = append(w.conds, column+" <= "+w.arg(down))
		default:
			return fmt.Errorf("txn: unknown comparison %q for %s", m.Op, column)
		}
	}
	return nil
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
	if err := errors.Join(w.text("email_key", f.Emails, rowcodec.EmailKey), w.text("type", f.Types, nil),
		w.instant("created_at", f.Created)); err != nil {
		return nil, err
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
	if err := errors.Join(w.text("status", f.Statuses, nil), w.text("customer_id", f.Customers, nil),
		w.text("plan", f.Plans, nil), w.instant("created_at", f.Created),
		// The API shows a never-updated subscription's updated_at as its created_at.
		w.instant("(CASE WHEN updated_at = 0 THEN created_at ELSE updated_at END)", f.Updated)); err != nil {
		return nil, err
	}
	tail := w.page(p)
	return all(ctx, s.b.Reader(), rowcodec.Subscription, `SELECT `+rowcodec.SubscriptionColumns+` FROM subscriptions`+tail, w.args...)
}
