package postgres

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/store"
	"github.com/nomosauth/nomosauth/internal/store/rowcodec"
)

// notFound turns pgx.ErrNoRows into store.ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ErrNotFound
	}
	return err
}

// conflict turns a unique violation into store.ErrConflict and a foreign
// key violation into store.ErrNotFound.
func conflict(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505":
			return store.ErrConflict
		case "23503":
			return store.ErrNotFound
		}
	}
	return err
}

// affectedOne turns "no row changed" into ErrNotFound.
func affectedOne(tag pgconn.CommandTag, err error) error {
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return store.ErrNotFound
	}
	return nil
}

// mustExist is ErrNotFound unless table has a row with id; table is one of
// our constant names, never input. The row is locked against deletion
// until the transaction ends.
func mustExist(ctx context.Context, tx pgx.Tx, table, id string) error {
	var one int
	err := tx.QueryRow(ctx, `SELECT 1 FROM `+table+` WHERE id = $1 FOR KEY SHARE`, id).Scan(&one)
	return notFound(err)
}

// Orgs.

// CreateOrg stores a new organization.
func (s *Store) CreateOrg(ctx context.Context, o domain.Org) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO orgs (`+rowcodec.OrgColumns+`) VALUES ($1, $2, $3)`, o.ID, o.Name, rowcodec.Micros(o.CreatedAt))
		return conflict(err)
	})
}

// GetOrg loads one organization.
func (s *Store) GetOrg(ctx context.Context, id string) (domain.Org, error) {
	var o domain.Org
	err := s.queryRow(ctx, func(r rowcodec.Scanner) (err error) { o, err = one(rowcodec.Org, r); return }, `SELECT `+rowcodec.OrgColumns+` FROM orgs WHERE id = $1`, id)
	return o, err
}

// ListOrgs lists every organization, newest first.
func (s *Store) ListOrgs(ctx context.Context) ([]domain.Org, error) {
	return queryAll(ctx, s, rowcodec.Org, `SELECT `+rowcodec.OrgColumns+` FROM orgs ORDER BY created_at DESC, id DESC`)
}

// Clients.

// CreateClient stores a client and its first secret.
func (s *Store) CreateClient(ctx context.Context, c domain.Client, secret *domain.ClientSecret) error {
	raw, err := rowcodec.RedirectURIs(c.RedirectURIs)
	if err != nil {
		return err
	}
	return s.tx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO clients (`+rowcodec.ClientColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			c.ID, c.OrgID, c.Name, c.Public, rowcodec.ScopesText(c.Scopes), raw, c.DefaultAPIVersion, c.Disabled, rowcodec.Micros(c.CreatedAt))
		if err != nil {
			return conflict(err)
		}
		if secret != nil {
			return insertSecret(ctx, tx, *secret)
		}
		return nil
	})
}

func insertSecret(ctx context.Context, tx pgx.Tx, sec domain.ClientSecret) error {
	_, err := tx.Exec(ctx, `INSERT INTO client_secrets (hash, client_id, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
		sec.Hash, sec.ClientID, rowcodec.Micros(sec.CreatedAt), rowcodec.Micros(sec.ExpiresAt))
	return conflict(err)
}

// GetClient loads one client.
func (s *Store) GetClient(ctx context.Context, id string) (domain.Client, error) {
	var c domain.Client
	err := s.queryRow(ctx, func(r rowcodec.Scanner) (err error) { c, err = one(rowcodec.Client, r); return }, `SELECT `+rowcodec.ClientColumns+` FROM clients WHERE id = $1`, id)
	return c, err
}

// ListClients lists an organization's clients, or every client when orgID is empty, newest first.
func (s *Store) ListClients(ctx context.Context, orgID string) ([]domain.Client, error) {
	return queryAll(ctx, s, rowcodec.Client, `SELECT `+rowcodec.ClientColumns+` FROM clients WHERE $1 = '' OR org_id = $1 ORDER BY created_at DESC, id DESC`, orgID)
}

// ClientSecrets returns the client's stored secrets, newest first.
func (s *Store) ClientSecrets(ctx context.Context, clientID string) ([]domain.ClientSecret, error) {
	return queryAll(ctx, s, rowcodec.Secret, `SELECT client_id, hash, created_at, expires_at FROM client_secrets WHERE client_id = $1 ORDER BY created_at DESC`, clientID)
}

// RotateClientSecret adds sec and ends the overlap of the older secrets at oldExpiresAt.
func (s *Store) RotateClientSecret(ctx context.Context, sec domain.ClientSecret, oldExpiresAt time.Time) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		if err := mustExist(ctx, tx, "clients", sec.ClientID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE client_secrets SET expires_at = $1 WHERE client_id = $2 AND (expires_at = 0 OR expires_at > $1)`,
			rowcodec.Micros(oldExpiresAt), sec.ClientID); err != nil {
			return err
		}
		return insertSecret(ctx, tx, sec)
	})
}

// DisableClient marks a client disabled.
func (s *Store) DisableClient(ctx context.Context, id string) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		return affectedOne(tx.Exec(ctx, `UPDATE clients SET disabled = TRUE WHERE id = $1`, id))
	})
}

// Customers and subscriptions.

// CreateCustomer stores a customer; a taken email is ErrConflict.
func (s *Store) CreateCustomer(ctx context.Context, c domain.Customer) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO customers (id, org_id, email, email_key, first_name, last_name, company_name, type, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			c.ID, c.OrgID, c.Email, rowcodec.EmailKey(c.Email), c.FirstName, c.LastName, c.CompanyName, string(c.Type), rowcodec.Micros(c.CreatedAt))
		return conflict(err)
	})
}

// GetCustomer loads one customer.
func (s *Store) GetCustomer(ctx context.Context, id string) (domain.Customer, error) {
	var c domain.Customer
	err := s.queryRow(ctx, func(r rowcodec.Scanner) (err error) { c, err = one(rowcodec.Customer, r); return }, `SELECT `+rowcodec.CustomerColumns+` FROM customers WHERE id = $1`, id)
	return c, err
}

// UpdateCustomer stores the customer's names and company name.
func (s *Store) UpdateCustomer(ctx context.Context, c domain.Customer) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		return affectedOne(tx.Exec(ctx, `UPDATE customers SET first_name = $1, last_name = $2, company_name = $3 WHERE id = $4`,
			c.FirstName, c.LastName, c.CompanyName, c.ID))
	})
}

// CreateSubscription stores a subscription for an existing customer of the same organization.
func (s *Store) CreateSubscription(ctx context.Context, sub domain.Subscription) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		var orgID string
		if err := tx.QueryRow(ctx, `SELECT org_id FROM customers WHERE id = $1 FOR KEY SHARE`, sub.CustomerID).Scan(&orgID); err != nil {
			return notFound(err)
		}
		if orgID != sub.OrgID {
			return store.ErrConflict
		}
		a, m, p := sub.Address, sub.Meter, sub.Payment
		_, err := tx.Exec(ctx, `INSERT INTO subscriptions (`+rowcodec.SubscriptionColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,
			$11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25)`,
			sub.ID, sub.OrgID, sub.CustomerID, string(sub.Status), string(sub.Type), sub.Plan, sub.Number, sub.EstimatedUsage,
			a.ID, a.Street, a.HouseNumber, a.Zip, a.City, m.ID, m.Number, m.Type, m.MeLo, m.MaLo,
			p.ID, p.IBANMasked, p.AccountHolder, rowcodec.Micros(sub.StartDate), rowcodec.Micros(sub.EndDate), rowcodec.Micros(sub.CreatedAt), rowcodec.Micros(sub.UpdatedAt))
		return conflict(err)
	})
}

// GetSubscription loads one subscription.
func (s *Store) GetSubscription(ctx context.Context, id string) (domain.Subscription, error) {
	var sub domain.Subscription
	err := s.queryRow(ctx, func(r rowcodec.Scanner) (err error) { sub, err = one(rowcodec.Subscription, r); return },
		`SELECT `+rowcodec.SubscriptionColumns+` FROM subscriptions WHERE id = $1`, id)
	return sub, err
}

// where collects the conditions of a list query, numbering placeholders.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	for range args {
		w.args = append(w.args, nil)
		cond = strings.Replace(cond, "?", "$"+strconv.Itoa(len(w.args)), 1)
	}
	copy(w.args[len(w.args)-len(args):], args)
	w.conds = append(w.conds, cond)
}

func (w *where) addIf(v string, cond string) {
	if v != "" {
		w.add(cond, v)
	}
}

// page adds the keyset condition of a newest-first list, its ORDER BY and
// LIMIT: rows strictly after the cursor in (created_at, id) descending.
func (w *where) page(p store.Page) string {
	if p.After.ID != "" {
		w.add(`(created_at, id) < (?, ?)`, rowcodec.Micros(p.After.CreatedAt), p.After.ID)
	}
	clause := ""
	if len(w.conds) > 0 {
		clause = ` WHERE ` + strings.Join(w.conds, ` AND `)
	}
	w.args = append(w.args, p.Limit)
	return clause + ` ORDER BY created_at DESC, id DESC LIMIT $` + strconv.Itoa(len(w.args))
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

// ImportPrices upserts the points in one transaction, sent as one batch.
func (s *Store) ImportPrices(ctx context.Context, subscriptionID string, points []domain.PricePoint) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		if err := mustExist(ctx, tx, "subscriptions", subscriptionID); err != nil {
			return err
		}
		b := &pgx.Batch{}
		for _, pt := range points {
			b.Queue(`INSERT INTO prices (subscription_id, at, electricity, grid, levies) VALUES ($1, $2, $3, $4, $5)
				ON CONFLICT (subscription_id, at) DO UPDATE SET electricity = excluded.electricity, grid = excluded.grid, levies = excluded.levies`,
				subscriptionID, rowcodec.Micros(pt.Time), int64(pt.Electricity), int64(pt.Grid), int64(pt.Levies))
		}
		return tx.SendBatch(ctx, b).Close()
	})
}

// ListPrices returns the points in [from, to), oldest first.
func (s *Store) ListPrices(ctx context.Context, subscriptionID string, from, to time.Time) ([]domain.PricePoint, error) {
	return queryAll(ctx, s, func(r rowcodec.Scanner) (domain.PricePoint, error) {
		var pt domain.PricePoint
		var at, e, g, l int64
		err := r.Scan(&at, &e, &g, &l)
		pt.Time, pt.Electricity, pt.Grid, pt.Levies = rowcodec.Time(at), domain.Amount(e), domain.Amount(g), domain.Amount(l)
		return pt, err
	}, `SELECT at, electricity, grid, levies FROM prices WHERE subscription_id = $1 AND at >= $2 AND at < $3 ORDER BY at`,
		subscriptionID, rowcodec.Micros(from), rowcodec.Micros(to))
}

// ServerKey returns the stored key called name, storing candidate first
// when there is none; the first replica's candidate wins.
func (s *Store) ServerKey(ctx context.Context, name string, candidate []byte) ([]byte, error) {
	var out []byte
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO server_keys (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING`,
			name, candidate, time.Now().UnixMicro()); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT value FROM server_keys WHERE name = $1`, name).Scan(&out)
	})
	return out, err
}

// one scans a single row with scan, a missing row being ErrNotFound.
func one[T any](scan func(rowcodec.Scanner) (T, error), r pgx.Row) (T, error) {
	v, err := scan(r)
	return v, notFound(err)
}
