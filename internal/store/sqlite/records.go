package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/store"
)

// micros stores a time as Unix microseconds, 0 for the zero time.
func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

func scopesText(s domain.Scopes) string { return s.Canonical().String() }

func parseScopes(s string) domain.Scopes {
	if s == "" {
		return domain.Scopes{}
	}
	return domain.Scopes(strings.Split(s, " ")).Canonical()
}

// rowScanner is what *sql.Row and *sql.Rows share.
type rowScanner interface{ Scan(dest ...any) error }

// notFound turns sql.ErrNoRows into store.ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	return err
}

// isUniqueViolation reports a UNIQUE or PRIMARY KEY constraint failure.
func isUniqueViolation(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// affectedOne turns "no row changed" into ErrNotFound for writes that target one row.
func affectedOne(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// mustExist is ErrNotFound unless table has a row with id; table is one of
// our constant names, never input.
func mustExist(tx *sql.Tx, table, id string) error {
	var n int
	if err := tx.QueryRow(`SELECT COUNT(*) FROM `+table+` WHERE id = ?`, id).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// queryAll runs a query on the readers and scans each row with scan.
func queryAll[T any](ctx context.Context, db *sql.DB, scan func(rowScanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Orgs.

const orgColumns = `id, name, created_at`

func scanOrg(r rowScanner) (domain.Org, error) {
	var o domain.Org
	var created int64
	err := r.Scan(&o.ID, &o.Name, &created)
	o.CreatedAt = fromMicros(created)
	return o, notFound(err)
}

// CreateOrg stores a new organization.
func (s *Store) CreateOrg(ctx context.Context, o domain.Org) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO orgs (`+orgColumns+`) VALUES (?, ?, ?)`, o.ID, o.Name, micros(o.CreatedAt))
		if isUniqueViolation(err) {
			return store.ErrConflict
		}
		return err
	})
}

// GetOrg loads one organization.
func (s *Store) GetOrg(ctx context.Context, id string) (domain.Org, error) {
	return scanOrg(s.rdb.QueryRowContext(ctx, `SELECT `+orgColumns+` FROM orgs WHERE id = ?`, id))
}

// ListOrgs lists every organization, newest first.
func (s *Store) ListOrgs(ctx context.Context) ([]domain.Org, error) {
	return queryAll(ctx, s.rdb, scanOrg, `SELECT `+orgColumns+` FROM orgs ORDER BY created_at DESC, id DESC`)
}

// Clients.

const clientColumns = `id, org_id, name, public, scopes, redirect_uris, default_api_version, disabled, created_at`

func scanClient(r rowScanner) (domain.Client, error) {
	var c domain.Client
	var scopes, uris string
	var created int64
	err := r.Scan(&c.ID, &c.OrgID, &c.Name, &c.Public, &scopes, &uris, &c.DefaultAPIVersion, &c.Disabled, &created)
	if err != nil {
		return c, notFound(err)
	}
	c.Scopes = parseScopes(scopes)
	c.CreatedAt = fromMicros(created)
	if err := json.Unmarshal([]byte(uris), &c.RedirectURIs); err != nil {
		return c, fmt.Errorf("client %s redirect uris: %w", c.ID, err)
	}
	return c, nil
}

// CreateClient stores a client and its first secret.
func (s *Store) CreateClient(ctx context.Context, c domain.Client, secret *domain.ClientSecret) error {
	uris, err := json.Marshal(nonNil(c.RedirectURIs))
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO clients (`+clientColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.ID, c.OrgID, c.Name, c.Public, scopesText(c.Scopes), string(uris), c.DefaultAPIVersion, c.Disabled, micros(c.CreatedAt))
		if isUniqueViolation(err) {
			return store.ErrConflict
		}
		if err != nil {
			return fmt.Errorf("insert client: %w", err)
		}
		if secret != nil {
			return insertSecret(tx, *secret)
		}
		return nil
	})
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func insertSecret(tx *sql.Tx, sec domain.ClientSecret) error {
	_, err := tx.Exec(`INSERT INTO client_secrets (hash, client_id, created_at, expires_at) VALUES (?, ?, ?, ?)`,
		sec.Hash, sec.ClientID, micros(sec.CreatedAt), micros(sec.ExpiresAt))
	if isUniqueViolation(err) {
		return store.ErrConflict
	}
	return err
}

// GetClient loads one client.
func (s *Store) GetClient(ctx context.Context, id string) (domain.Client, error) {
	return scanClient(s.rdb.QueryRowContext(ctx, `SELECT `+clientColumns+` FROM clients WHERE id = ?`, id))
}

// ListClients lists an organization's clients, or every client when orgID is empty, newest first.
func (s *Store) ListClients(ctx context.Context, orgID string) ([]domain.Client, error) {
	return queryAll(ctx, s.rdb, scanClient, `SELECT `+clientColumns+` FROM clients WHERE ? = '' OR org_id = ? ORDER BY created_at DESC, id DESC`, orgID, orgID)
}

func scanSecret(r rowScanner) (domain.ClientSecret, error) {
	var sec domain.ClientSecret
	var created, expires int64
	err := r.Scan(&sec.ClientID, &sec.Hash, &created, &expires)
	sec.CreatedAt, sec.ExpiresAt = fromMicros(created), fromMicros(expires)
	return sec, notFound(err)
}

// ClientSecrets returns the client's stored secrets, newest first.
func (s *Store) ClientSecrets(ctx context.Context, clientID string) ([]domain.ClientSecret, error) {
	return queryAll(ctx, s.rdb, scanSecret, `SELECT client_id, hash, created_at, expires_at FROM client_secrets WHERE client_id = ? ORDER BY created_at DESC`, clientID)
}

// RotateClientSecret adds sec and ends the overlap of the older secrets at oldExpiresAt.
func (s *Store) RotateClientSecret(ctx context.Context, sec domain.ClientSecret, oldExpiresAt time.Time) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		if err := mustExist(tx, "clients", sec.ClientID); err != nil {
			return err
		}
		// An older secret keeps the earlier of its own end and the new overlap's.
		if _, err := tx.Exec(`UPDATE client_secrets SET expires_at = ? WHERE client_id = ? AND (expires_at = 0 OR expires_at > ?)`,
			micros(oldExpiresAt), sec.ClientID, micros(oldExpiresAt)); err != nil {
			return err
		}
		return insertSecret(tx, sec)
	})
}

// DisableClient marks a client disabled; it can no longer authenticate.
func (s *Store) DisableClient(ctx context.Context, id string) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		return affectedOne(tx.Exec(`UPDATE clients SET disabled = 1 WHERE id = ?`, id))
	})
}

// Customers and subscriptions.

const customerColumns = `id, org_id, email, first_name, last_name, company_name, type, created_at`

func scanCustomer(r rowScanner) (domain.Customer, error) {
	var c domain.Customer
	var created int64
	err := r.Scan(&c.ID, &c.OrgID, &c.Email, &c.FirstName, &c.LastName, &c.CompanyName, &c.Type, &created)
	c.CreatedAt = fromMicros(created)
	return c, notFound(err)
}

// EmailKey is the case-insensitive form of an email that uniqueness is checked on.
func emailKey(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// CreateCustomer stores a customer; a taken email is ErrConflict.
func (s *Store) CreateCustomer(ctx context.Context, c domain.Customer) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO customers (id, org_id, email, email_key, first_name, last_name, company_name, type, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.ID, c.OrgID, c.Email, emailKey(c.Email), c.FirstName, c.LastName, c.CompanyName, string(c.Type), micros(c.CreatedAt))
		if isUniqueViolation(err) {
			return store.ErrConflict
		}
		return err
	})
}

// GetCustomer loads one customer.
func (s *Store) GetCustomer(ctx context.Context, id string) (domain.Customer, error) {
	return scanCustomer(s.rdb.QueryRowContext(ctx, `SELECT `+customerColumns+` FROM customers WHERE id = ?`, id))
}

const subscriptionColumns = `id, org_id, customer_id, status, type, plan, number, estimated_usage,
	address_id, street, house_number, zip, city, meter_id, meter_number, meter_type, melo, malo,
	payment_id, iban_masked, account_holder, start_date, end_date, created_at, updated_at`

func scanSubscription(r rowScanner) (domain.Subscription, error) {
	var sub domain.Subscription
	var start, end, created, updated int64
	a, m, p := &sub.Address, &sub.Meter, &sub.Payment
	err := r.Scan(&sub.ID, &sub.OrgID, &sub.CustomerID, &sub.Status, &sub.Type, &sub.Plan, &sub.Number, &sub.EstimatedUsage,
		&a.ID, &a.Street, &a.HouseNumber, &a.Zip, &a.City, &m.ID, &m.Number, &m.Type, &m.MeLo, &m.MaLo,
		&p.ID, &p.IBANMasked, &p.AccountHolder, &start, &end, &created, &updated)
	sub.StartDate, sub.EndDate = fromMicros(start), fromMicros(end)
	sub.CreatedAt, sub.UpdatedAt = fromMicros(created), fromMicros(updated)
	return sub, notFound(err)
}

// CreateSubscription stores a subscription for an existing customer.
func (s *Store) CreateSubscription(ctx context.Context, sub domain.Subscription) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		var orgID string
		if err := tx.QueryRow(`SELECT org_id FROM customers WHERE id = ?`, sub.CustomerID).Scan(&orgID); err != nil {
			return notFound(err)
		}
		if orgID != sub.OrgID {
			return store.ErrConflict
		}
		a, m, p := sub.Address, sub.Meter, sub.Payment
		_, err := tx.Exec(`INSERT INTO subscriptions (`+subscriptionColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			sub.ID, sub.OrgID, sub.CustomerID, string(sub.Status), string(sub.Type), sub.Plan, sub.Number, sub.EstimatedUsage,
			a.ID, a.Street, a.HouseNumber, a.Zip, a.City, m.ID, m.Number, m.Type, m.MeLo, m.MaLo,
			p.ID, p.IBANMasked, p.AccountHolder, micros(sub.StartDate), micros(sub.EndDate), micros(sub.CreatedAt), micros(sub.UpdatedAt))
		if isUniqueViolation(err) {
			return store.ErrConflict
		}
		return err
	})
}

// GetSubscription loads one subscription.
func (s *Store) GetSubscription(ctx context.Context, id string) (domain.Subscription, error) {
	return scanSubscription(s.rdb.QueryRowContext(ctx, `SELECT `+subscriptionColumns+` FROM subscriptions WHERE id = ?`, id))
}
