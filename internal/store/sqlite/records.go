package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/store"
	"github.com/nomosauth/nomosauth/internal/store/rowcodec"
)

// rowScanner is what *sql.Row and *sql.Rows share.
type rowScanner = rowcodec.Scanner

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
func mustExist(tx *wtx, table, id string) error {
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
func queryAll[T any](ctx context.Context, s *Store, scan func(rowcodec.Scanner) (T, error), query string, args ...any) ([]T, error) {
	stmt, err := s.readStmt(ctx, query)
	if err != nil {
		return nil, err
	}
	rows, err := stmt.QueryContext(ctx, args...)
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

// queryRow runs a one-row query on the readers.
func (s *Store) queryRow(ctx context.Context, query string, args ...any) rowcodec.Scanner {
	stmt, err := s.readStmt(ctx, query)
	if err != nil {
		return errRow{err}
	}
	return stmt.QueryRowContext(ctx, args...)
}

// errRow is a row whose query could not even be prepared.
type errRow struct{ err error }

func (e errRow) Scan(...any) error { return e.err }

// readStmt returns the query prepared on the read pool, preparing it once:
// parsing SQL costs more than running these small queries. The queries
// are constants of this package (the list filters combine a few fixed
// clauses), so the cache stays small.
func (s *Store) readStmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if v, ok := s.stmts.Load(query); ok {
		return v.(*sql.Stmt), nil
	}
	stmt, err := s.rdb.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := s.stmts.LoadOrStore(query, stmt); loaded {
		stmt.Close()
		return prev.(*sql.Stmt), nil
	}
	return stmt, nil
}

// Orgs.

// CreateOrg stores a new organization.
func (s *Store) CreateOrg(ctx context.Context, o domain.Org) error {
	return s.write(ctx, func(tx *wtx) error {
		_, err := tx.Exec(`INSERT INTO orgs (`+rowcodec.OrgColumns+`) VALUES (?, ?, ?)`, o.ID, o.Name, rowcodec.Micros(o.CreatedAt))
		if isUniqueViolation(err) {
			return store.ErrConflict
		}
		return err
	})
}

// GetOrg loads one organization.
func (s *Store) GetOrg(ctx context.Context, id string) (domain.Org, error) {
	return one(rowcodec.Org, s.queryRow(ctx, `SELECT `+rowcodec.OrgColumns+` FROM orgs WHERE id = ?`, id))
}

// ListOrgs lists every organization, newest first.
func (s *Store) ListOrgs(ctx context.Context) ([]domain.Org, error) {
	return queryAll(ctx, s, rowcodec.Org, `SELECT `+rowcodec.OrgColumns+` FROM orgs ORDER BY created_at DESC, id DESC`)
}

// Clients.

// CreateClient stores a client and its first secret.
func (s *Store) CreateClient(ctx context.Context, c domain.Client, secret *domain.ClientSecret) error {
	uris, err := rowcodec.RedirectURIs(c.RedirectURIs)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *wtx) error {
		_, err := tx.Exec(`INSERT INTO clients (`+rowcodec.ClientColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.ID, c.OrgID, c.Name, c.Public, rowcodec.ScopesText(c.Scopes), uris, c.DefaultAPIVersion, c.Disabled, rowcodec.Micros(c.CreatedAt))
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

func insertSecret(tx *wtx, sec domain.ClientSecret) error {
	_, err := tx.Exec(`INSERT INTO client_secrets (hash, client_id, created_at, expires_at) VALUES (?, ?, ?, ?)`,
		sec.Hash, sec.ClientID, rowcodec.Micros(sec.CreatedAt), rowcodec.Micros(sec.ExpiresAt))
	if isUniqueViolation(err) {
		return store.ErrConflict
	}
	return err
}

// GetClient loads one client.
func (s *Store) GetClient(ctx context.Context, id string) (domain.Client, error) {
	return one(rowcodec.Client, s.queryRow(ctx, `SELECT `+rowcodec.ClientColumns+` FROM clients WHERE id = ?`, id))
}

// ListClients lists an organization's clients, or every client when orgID is empty, newest first.
func (s *Store) ListClients(ctx context.Context, orgID string) ([]domain.Client, error) {
	return queryAll(ctx, s, rowcodec.Client, `SELECT `+rowcodec.ClientColumns+` FROM clients WHERE ? = '' OR org_id = ? ORDER BY created_at DESC, id DESC`, orgID, orgID)
}

// ClientSecrets returns the client's stored secrets, newest first.
func (s *Store) ClientSecrets(ctx context.Context, clientID string) ([]domain.ClientSecret, error) {
	return queryAll(ctx, s, rowcodec.Secret, `SELECT client_id, hash, created_at, expires_at FROM client_secrets WHERE client_id = ? ORDER BY created_at DESC`, clientID)
}

// RotateClientSecret adds sec and ends the overlap of the older secrets at oldExpiresAt.
func (s *Store) RotateClientSecret(ctx context.Context, sec domain.ClientSecret, oldExpiresAt time.Time) error {
	return s.write(ctx, func(tx *wtx) error {
		if err := mustExist(tx, "clients", sec.ClientID); err != nil {
			return err
		}
		// An older secret keeps the earlier of its own end and the new overlap's.
		if _, err := tx.Exec(`UPDATE client_secrets SET expires_at = ? WHERE client_id = ? AND (expires_at = 0 OR expires_at > ?)`,
			rowcodec.Micros(oldExpiresAt), sec.ClientID, rowcodec.Micros(oldExpiresAt)); err != nil {
			return err
		}
		return insertSecret(tx, sec)
	})
}

// DisableClient marks a client disabled; it can no longer authenticate.
func (s *Store) DisableClient(ctx context.Context, id string) error {
	return s.write(ctx, func(tx *wtx) error {
		return affectedOne(tx.Exec(`UPDATE clients SET disabled = 1 WHERE id = ?`, id))
	})
}

// Customers and subscriptions.

// CreateCustomer stores a customer; a taken email is ErrConflict.
func (s *Store) CreateCustomer(ctx context.Context, c domain.Customer) error {
	return s.write(ctx, func(tx *wtx) error {
		_, err := tx.Exec(`INSERT INTO customers (id, org_id, email, email_key, first_name, last_name, company_name, type, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.ID, c.OrgID, c.Email, rowcodec.EmailKey(c.Email), c.FirstName, c.LastName, c.CompanyName, string(c.Type), rowcodec.Micros(c.CreatedAt))
		if isUniqueViolation(err) {
			return store.ErrConflict
		}
		return err
	})
}

// GetCustomer loads one customer.
func (s *Store) GetCustomer(ctx context.Context, id string) (domain.Customer, error) {
	return one(rowcodec.Customer, s.queryRow(ctx, `SELECT `+rowcodec.CustomerColumns+` FROM customers WHERE id = ?`, id))
}

// CreateSubscription stores a subscription for an existing customer.
func (s *Store) CreateSubscription(ctx context.Context, sub domain.Subscription) error {
	return s.write(ctx, func(tx *wtx) error {
		var orgID string
		if err := tx.QueryRow(`SELECT org_id FROM customers WHERE id = ?`, sub.CustomerID).Scan(&orgID); err != nil {
			return notFound(err)
		}
		if orgID != sub.OrgID {
			return store.ErrConflict
		}
		a, m, p := sub.Address, sub.Meter, sub.Payment
		_, err := tx.Exec(`INSERT INTO subscriptions (`+rowcodec.SubscriptionColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			sub.ID, sub.OrgID, sub.CustomerID, string(sub.Status), string(sub.Type), sub.Plan, sub.Number, sub.EstimatedUsage,
			a.ID, a.Street, a.HouseNumber, a.Zip, a.City, m.ID, m.Number, m.Type, m.MeLo, m.MaLo,
			p.ID, p.IBANMasked, p.AccountHolder, rowcodec.Micros(sub.StartDate), rowcodec.Micros(sub.EndDate), rowcodec.Micros(sub.CreatedAt), rowcodec.Micros(sub.UpdatedAt))
		if isUniqueViolation(err) {
			return store.ErrConflict
		}
		return err
	})
}

// GetSubscription loads one subscription.
func (s *Store) GetSubscription(ctx context.Context, id string) (domain.Subscription, error) {
	return one(rowcodec.Subscription, s.queryRow(ctx, `SELECT `+rowcodec.SubscriptionColumns+` FROM subscriptions WHERE id = ?`, id))
}

// one scans a single row with scan, a missing row being ErrNotFound.
func one[T any](scan func(rowcodec.Scanner) (T, error), r rowcodec.Scanner) (T, error) {
	v, err := scan(r)
	return v, notFound(err)
}
