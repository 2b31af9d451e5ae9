package txn

import (
	"context"
	"fmt"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/store"
	"github.com/nomosauth/nomosauth/internal/store/rowcodec"
)

// Store implements every store verb once, on a backend's port.
type Store struct {
	// Backend is the port; tests reach past the verbs through it
	// (storetest.Inspect).
	Backend Backend
	d       Dialect
	mg      func(ctx context.Context) ([]store.Migration, error)
	b       Backend // the same port, by its short name in this package
}

var _ store.Store = (*Store)(nil)

// New returns the store for backend b, whose SQL speaks dialect d;
// migrations lists what the backend's migration runner recorded.
func New(b Backend, d Dialect, migrations func(ctx context.Context) ([]store.Migration, error)) *Store {
	return &Store{Backend: b, b: b, d: d, mg: migrations}
}

// all runs a query and scans every row with scan.
func all[T any](ctx context.Context, q Querier, scan func(rowcodec.Scanner) (T, error), query string, args ...any) ([]T, error) {
	var out []T
	err := q.Query(ctx, query, args, func(r rowcodec.Scanner) error {
		v, err := scan(r)
		if err == nil {
			out = append(out, v)
		}
		return err
	})
	return out, err
}

// exists is ErrNotFound unless table has a row with id; the row is held
// (FOR KEY SHARE) against deletion until the transaction ends. table is
// one of our constant names, never input.
func (s *Store) exists(ctx context.Context, tx Querier, table, id string) error {
	var one int
	return tx.QueryRow(ctx, `SELECT 1 FROM `+table+` WHERE id = $1`+s.d.ForKeyShare, id).Scan(&one)
}

// affectedOne turns "no row changed" into ErrNotFound for writes aimed at one row.
func affectedOne(n int64, err error) error {
	if err == nil && n == 0 {
		return store.ErrNotFound
	}
	return err
}

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.b.Ping(ctx) }

// Close finishes queued writes and releases the database.
func (s *Store) Close() error { return s.b.Close() }

// AppliedMigrations lists the migrations recorded in the database.
func (s *Store) AppliedMigrations(ctx context.Context) ([]store.Migration, error) { return s.mg(ctx) }

// Orgs.

// CreateOrg stores a new organization.
func (s *Store) CreateOrg(ctx context.Context, o domain.Org) error {
	return s.b.Write(ctx, func(tx Querier) error {
		if _, err := tx.Exec(ctx, `INSERT INTO orgs (`+rowcodec.OrgColumns+`) VALUES ($1, $2, $3)`, o.ID, o.Name, rowcodec.Micros(o.CreatedAt)); err != nil {
			return err
		}
		return bumpOrg(ctx, tx, o.ID)
	})
}

// GetOrg loads one organization.
func (s *Store) GetOrg(ctx context.Context, id string) (domain.Org, error) {
	return rowcodec.Org(s.b.Reader().QueryRow(ctx, `SELECT `+rowcodec.OrgColumns+` FROM orgs WHERE id = $1`, id))
}

// ListOrgs lists every organization, newest first.
func (s *Store) ListOrgs(ctx context.Context) ([]domain.Org, error) {
	return all(ctx, s.b.Reader(), rowcodec.Org, `SELECT `+rowcodec.OrgColumns+` FROM orgs ORDER BY created_at DESC, id DESC`)
}

// Clients.

// CreateClient stores a client and its first secret.
func (s *Store) CreateClient(ctx context.Context, c domain.Client, secret *domain.ClientSecret, by domain.Origin) error {
	uris, err := rowcodec.RedirectURIs(c.RedirectURIs)
	if err != nil {
		return err
	}
	return s.b.Write(ctx, func(tx Querier) error {
		_, err := tx.Exec(ctx, `INSERT INTO clients (`+rowcodec.ClientColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			c.ID, c.OrgID, c.Name, c.Public, rowcodec.ScopesText(c.Scopes), uris, c.DefaultAPIVersion, c.Disabled, c.FirstParty, rowcodec.Micros(c.CreatedAt), c.DeviceGrant)
		if err != nil {
			return fmt.Errorf("insert client: %w", err)
		}
		if secret != nil {
			if err := insertSecret(ctx, tx, *secret); err != nil {
				return err
			}
		}
		if err := bumpOrg(ctx, tx, c.OrgID); err != nil {
			return err
		}
		return writeAudit(ctx, tx, by.Event(domain.AuditClientCreated, c.ID, c.ID, ""))
	})
}

func insertSecret(ctx context.Context, tx Querier, sec domain.ClientSecret) error {
	_, err := tx.Exec(ctx, `INSERT INTO client_secrets (hash, client_id, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
		sec.Hash, sec.ClientID, rowcodec.Micros(sec.CreatedAt), rowcodec.Micros(sec.ExpiresAt))
	return err
}

// GetClient loads one client.
func (s *Store) GetClient(ctx context.Context, id string) (domain.Client, error) {
	return rowcodec.Client(s.b.Reader().QueryRow(ctx, `SELECT `+rowcodec.ClientColumns+` FROM clients WHERE id = $1`, id))
}

// ListClients lists an organization's clients, or every client when orgID is empty, newest first.
func (s *Store) ListClients(ctx context.Context, orgID string) ([]domain.Client, error) {
	return all(ctx, s.b.Reader(), rowcodec.Client, `SELECT `+rowcodec.ClientColumns+` FROM clients WHERE $1 = '' OR org_id = $1 ORDER BY created_at DESC, id DESC`, orgID)
}

// ClientSecrets returns the client's stored secrets, newest first.
func (s *Store) ClientSecrets(ctx context.Context, clientID string) ([]domain.ClientSecret, error) {
	return all(ctx, s.b.Reader(), rowcodec.Secret, `SELECT client_id, hash, created_at, expires_at FROM client_secrets WHERE client_id = $1 ORDER BY created_at DESC`, clientID)
}

// RotateClientSecret adds sec and ends the overlap of the older secrets at oldExpiresAt.
func (s *Store) RotateClientSecret(ctx context.Context, sec domain.ClientSecret, oldExpiresAt time.Time, by domain.Origin) error {
	return s.b.Write(ctx, func(tx Querier) error {
		if err := s.exists(ctx, tx, "clients", sec.ClientID); err != nil {
			return err
		}
		// An older secret keeps the earlier of its own end and the new overlap's.
		if _, err := tx.Exec(ctx, `UPDATE client_secrets SET expires_at = $1 WHERE client_id = $2 AND (expires_at = 0 OR expires_at > $1)`,
			rowcodec.Micros(oldExpiresAt), sec.ClientID); err != nil {
			return err
		}
		if err := insertSecret(ctx, tx, sec); err != nil {
			return err
		}
		if err := bumpOrgOf(ctx, tx, "clients", sec.ClientID); err != nil {
			return err
		}
		return writeAudit(ctx, tx, by.Event(domain.AuditClientSecretRotated, sec.ClientID, sec.ClientID, ""))
	})
}

// DisableClient marks a client disabled; it can no longer authenticate.
// Disabling a disabled client changes nothing and audits nothing.
func (s *Store) DisableClient(ctx context.Context, id string, by domain.Origin) error {
	return s.b.Write(ctx, func(tx Querier) error {
		n, err := tx.Exec(ctx, `UPDATE clients SET disabled = TRUE WHERE id = $1 AND NOT disabled`, id)
		if err != nil {
			return err
		}
		if n == 0 {
			return s.exists(ctx, tx, "clients", id)
		}
		if err := bumpOrgOf(ctx, tx, "clients", id); err != nil {
			return err
		}
		return writeAudit(ctx, tx, by.Event(domain.AuditClientDisabled, id, id, ""))
	})
}

// Customers and subscriptions.

// CreateCustomer stores a customer; a taken email is ErrConflict.
func (s *Store) CreateCustomer(ctx context.Context, c domain.Customer, by domain.Origin) error {
	return s.b.Write(ctx, func(tx Querier) error {
		_, err := tx.Exec(ctx, `INSERT INTO customers (id, org_id, email, email_key, first_name, last_name, company_name, type, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			c.ID, c.OrgID, c.Email, rowcodec.EmailKey(c.Email), c.FirstName, c.LastName, c.CompanyName, string(c.Type), rowcodec.Micros(c.CreatedAt))
		if err != nil {
			return err
		}
		if err := bumpOrg(ctx, tx, c.OrgID); err != nil {
			return err
		}
		return writeAudit(ctx, tx, by.Event(domain.AuditCustomerCreated, c.ID, "", c.ID))
	})
}

// GetCustomer loads one customer.
func (s *Store) GetCustomer(ctx context.Context, id string) (domain.Customer, error) {
	return rowcodec.Customer(s.b.Reader().QueryRow(ctx, `SELECT `+rowcodec.CustomerColumns+` FROM customers WHERE id = $1`, id))
}

// UpdateCustomer applies p to customer id in one statement and returns
// the customer as stored after it.
func (s *Store) UpdateCustomer(ctx context.Context, id string, p domain.CustomerPatch) (domain.Customer, error) {
	var c domain.Customer
	err := s.b.Write(ctx, func(tx Querier) error {
		var err error
		c, err = rowcodec.Customer(tx.QueryRow(ctx, `UPDATE customers SET first_name = COALESCE($1, first_name),
			last_name = COALESCE($2, last_name), company_name = COALESCE($3, company_name) WHERE id = $4
			RETURNING `+rowcodec.CustomerColumns, p.FirstName, p.LastName, p.CompanyName, id))
		if err != nil {
			return err
		}
		return bumpOrg(ctx, tx, c.OrgID)
	})
	if err != nil {
		return domain.Customer{}, err
	}
	return c, nil
}

// CreateSubscription stores a subscription for an existing customer of the same organization.
func (s *Store) CreateSubscription(ctx context.Context, sub domain.Subscription) error {
	return s.b.Write(ctx, func(tx Querier) error {
		var orgID string
		if err := tx.QueryRow(ctx, `SELECT org_id FROM customers WHERE id = $1`+s.d.ForKeyShare, sub.CustomerID).Scan(&orgID); err != nil {
			return err
		}
		if orgID != sub.OrgID {
			return store.ErrConflict
		}
		a, b, m, p := sub.Address, sub.BillingAddress, sub.Meter, sub.Payment
		_, err := tx.Exec(ctx, `INSERT INTO subscriptions (`+rowcodec.SubscriptionColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,
			$11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25,
			$26, $27, $28, $29, $30, $31, $32, $33, $34)`,
			sub.ID, sub.OrgID, sub.CustomerID, string(sub.Status), string(sub.Type), sub.Plan, sub.Number, sub.EstimatedUsage,
			a.ID, a.Street, a.HouseNumber, a.Zip, a.City, m.ID, m.Number, m.Type, m.MeLo, m.MaLo,
			p.ID, p.IBANMasked, p.AccountHolder, rowcodec.Micros(sub.StartDate), rowcodec.Micros(sub.EndDate), rowcodec.Micros(sub.CreatedAt), rowcodec.Micros(sub.UpdatedAt),
			b.ID, b.Street, b.HouseNumber, b.Zip, b.City,
			rowcodec.Micros(b.CreatedAt), rowcodec.Micros(a.CreatedAt), rowcodec.Micros(m.CreatedAt), rowcodec.Micros(p.CreatedAt))
		if err != nil {
			return err
		}
		return bumpOrg(ctx, tx, sub.OrgID)
	})
}

// GetSubscription loads one subscription.
func (s *Store) GetSubscription(ctx context.Context, id string) (domain.Subscription, error) {
	return rowcodec.Subscription(s.b.Reader().QueryRow(ctx, `SELECT `+rowcodec.SubscriptionColumns+` FROM subscriptions WHERE id = $1`, id))
}

// ImportPrices upserts the points in one transaction, as one batch.
func (s *Store) ImportPrices(ctx context.Context, subscriptionID string, points []domain.PricePoint) error {
	return s.b.Write(ctx, func(tx Querier) error {
		if err := s.exists(ctx, tx, "subscriptions", subscriptionID); err != nil {
			return err
		}
		rows := make([][]any, len(points))
		for i, pt := range points {
			rows[i] = []any{subscriptionID, rowcodec.Micros(pt.Time), int64(pt.Electricity), int64(pt.Grid), int64(pt.Levies)}
		}
		if err := tx.ExecMany(ctx, `INSERT INTO prices (subscription_id, at, electricity, grid, levies) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (subscription_id, at) DO UPDATE SET electricity = excluded.electricity, grid = excluded.grid, levies = excluded.levies`, rows); err != nil {
			return err
		}
		return bumpOrgOf(ctx, tx, "subscriptions", subscriptionID)
	})
}

// ListPrices returns the points in [from, to), oldest first.
func (s *Store) ListPrices(ctx context.Context, subscriptionID string, from, to time.Time) ([]domain.PricePoint, error) {
	return all(ctx, s.b.Reader(), func(r rowcodec.Scanner) (domain.PricePoint, error) {
		var pt domain.PricePoint
		var at, e, g, l int64
		err := r.Scan(&at, &e, &g, &l)
		pt.Time, pt.Electricity, pt.Grid, pt.Levies = rowcodec.Time(at), domain.Amount(e), domain.Amount(g), domain.Amount(l)
		return pt, err
	}, `SELECT at, electricity, grid, levies FROM prices WHERE subscription_id = $1 AND at >= $2 AND at < $3 ORDER BY at`,
		subscriptionID, rowcodec.Micros(from), rowcodec.Micros(to))
}
