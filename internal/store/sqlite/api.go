package sqlite

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/store"
	"github.com/nomosauth/nomosauth/internal/store/rowcodec"
)

// where collects the conditions of a list query.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

// addIf adds cond only when v is set: empty filter fields match everything.
func (w *where) addIf(v string, cond string) {
	if v != "" {
		w.add(cond, v)
	}
}

// page adds the keyset condition of a newest-first list and its ORDER BY
// and LIMIT: rows strictly after the cursor in (created_at, id) descending.
func (w *where) page(p store.Page) string {
	if p.After.ID != "" {
		c := rowcodec.Micros(p.After.CreatedAt)
		w.add(`(created_at < ? OR (created_at = ? AND id < ?))`, c, c, p.After.ID)
	}
	clause := ""
	if len(w.conds) > 0 {
		clause = ` WHERE ` + strings.Join(w.conds, ` AND `)
	}
	w.args = append(w.args, p.Limit)
	return clause + ` ORDER BY created_at DESC, id DESC LIMIT ?`
}

// ListCustomers lists matching customers, newest first.
func (s *Store) ListCustomers(ctx context.Context, f store.CustomerFilter, p store.Page) ([]domain.Customer, error) {
	var w where
	w.addIf(f.OrgID, `org_id = ?`)
	w.addIf(f.ID, `id = ?`)
	if f.Email != "" {
		w.add(`email_key = ?`, rowcodec.EmailKey(f.Email))
	}
	tail := w.page(p)
	return queryAll(ctx, s, rowcodec.Customer, `SELECT `+rowcodec.CustomerColumns+` FROM customers`+tail, w.args...)
}

// UpdateCustomer stores the customer's names and company name.
func (s *Store) UpdateCustomer(ctx context.Context, c domain.Customer) error {
	return s.write(ctx, func(tx *wtx) error {
		return affectedOne(tx.Exec(`UPDATE customers SET first_name = ?, last_name = ?, company_name = ? WHERE id = ?`,
			c.FirstName, c.LastName, c.CompanyName, c.ID))
	})
}

// ListSubscriptions lists matching subscriptions, newest first.
func (s *Store) ListSubscriptions(ctx context.Context, f store.SubscriptionFilter, p store.Page) ([]domain.Subscription, error) {
	var w where
	w.addIf(f.OrgID, `org_id = ?`)
	w.addIf(f.CustomerID, `customer_id = ?`)
	w.addIf(string(f.Status), `status = ?`)
	w.addIf(string(f.ExcludeType), `type <> ?`)
	tail := w.page(p)
	return queryAll(ctx, s, rowcodec.Subscription, `SELECT `+rowcodec.SubscriptionColumns+` FROM subscriptions`+tail, w.args...)
}

// ImportPrices upserts the points in one transaction.
func (s *Store) ImportPrices(ctx context.Context, subscriptionID string, points []domain.PricePoint) error {
	return s.write(ctx, func(tx *wtx) error {
		if err := mustExist(tx, "subscriptions", subscriptionID); err != nil {
			return err
		}
		stmt, err := tx.Prepare(`INSERT INTO prices (subscription_id, at, electricity, grid, levies) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (subscription_id, at) DO UPDATE SET electricity = excluded.electricity, grid = excluded.grid, levies = excluded.levies`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, pt := range points {
			if _, err := stmt.Exec(subscriptionID, rowcodec.Micros(pt.Time), int64(pt.Electricity), int64(pt.Grid), int64(pt.Levies)); err != nil {
				return fmt.Errorf("insert price: %w", err)
			}
		}
		return nil
	})
}

// ListPrices returns the points in [from, to), oldest first.
func (s *Store) ListPrices(ctx context.Context, subscriptionID string, from, to time.Time) ([]domain.PricePoint, error) {
	return queryAll(ctx, s, func(r rowScanner) (domain.PricePoint, error) {
		var pt domain.PricePoint
		var at int64
		err := r.Scan(&at, &pt.Electricity, &pt.Grid, &pt.Levies)
		pt.Time = rowcodec.Time(at)
		return pt, err
	}, `SELECT at, electricity, grid, levies FROM prices WHERE subscription_id = ? AND at >= ? AND at < ? ORDER BY at`,
		subscriptionID, rowcodec.Micros(from), rowcodec.Micros(to))
}

// ServerKey returns the stored key called name, storing candidate first when
// there is none.
func (s *Store) ServerKey(ctx context.Context, name string, candidate []byte) ([]byte, error) {
	var out []byte
	err := s.write(ctx, func(tx *wtx) error {
		if _, err := tx.Exec(`INSERT INTO server_keys (name, value, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING`,
			name, candidate, time.Now().UnixMicro()); err != nil {
			return err
		}
		return tx.QueryRow(`SELECT value FROM server_keys WHERE name = ?`, name).Scan(&out)
	})
	return out, err
}
