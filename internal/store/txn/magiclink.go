package txn

import (
	"context"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/store"
	"github.com/nomosauth/nomosauth/internal/store/rowcodec"
)

const magicLinkColumns = `hash, customer_id, org_id, client_id, next, created_at, expires_at, used_at`

func scanMagicLink(r rowcodec.Scanner) (domain.MagicLink, error) {
	var l domain.MagicLink
	var created, expires, used int64
	if err := r.Scan(&l.Hash, &l.CustomerID, &l.OrgID, &l.ClientID, &l.Next, &created, &expires, &used); err != nil {
		return domain.MagicLink{}, err
	}
	l.CreatedAt, l.ExpiresAt, l.UsedAt = rowcodec.Time(created), rowcodec.Time(expires), rowcodec.Time(used)
	return l, nil
}

// CreateMagicLink stores a magic link with its audit row (PRODUCT A12, O8).
func (s *Store) CreateMagicLink(ctx context.Context, l domain.MagicLink, by domain.Origin) error {
	return s.b.Write(ctx, func(tx Querier) error {
		if err := s.exists(ctx, tx, "customers", l.CustomerID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO magic_links (`+magicLinkColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, 0)`,
			l.Hash, l.CustomerID, l.OrgID, l.ClientID, l.Next, rowcodec.Micros(l.CreatedAt), rowcodec.Micros(l.ExpiresAt)); err != nil {
			return err
		}
		return writeAudit(ctx, tx, by.Event(domain.AuditMagicLinkIssued, l.CustomerID, l.ClientID, l.CustomerID))
	})
}

// GetMagicLink loads a magic link by its token's hash.
func (s *Store) GetMagicLink(ctx context.Context, hash string) (domain.MagicLink, error) {
	return scanMagicLink(s.b.Reader().QueryRow(ctx, `SELECT `+magicLinkColumns+` FROM magic_links WHERE hash = $1`, hash))
}

// RedeemMagicLink judges the link on its locked row and, allowed, spends
// it and starts the session in the same transaction, so a link signs in
// once on any replica (PRODUCT A12, S3).
func (s *Store) RedeemMagicLink(ctx context.Context, hash string, ses domain.Session, by domain.Origin, decide store.MagicLinkDecider) (domain.MagicLink, error) {
	var out domain.MagicLink
	err := s.b.Write(ctx, func(tx Querier) error {
		l, err := scanMagicLink(tx.QueryRow(ctx, `SELECT `+magicLinkColumns+` FROM magic_links WHERE hash = $1`+s.d.ForUpdate, hash))
		if err != nil {
			return err
		}
		out = l
		if err := decide(l); err != nil {
			return err
		}
		if err := affectedOne(tx.Exec(ctx, `UPDATE magic_links SET used_at = $1 WHERE hash = $2 AND used_at = 0`, rowcodec.Micros(by.At), hash)); err != nil {
			return err
		}
		out.UsedAt = by.At
		ses.CustomerID = l.CustomerID
		if err := insertSession(ctx, tx, ses); err != nil {
			return err
		}
		by.Actor = domain.Actor{Kind: domain.ActorCustomer, ID: l.CustomerID}
		if err := writeAudit(ctx, tx, by.Event(domain.AuditMagicLinkUsed, l.CustomerID, l.ClientID, l.CustomerID)); err != nil {
			return err
		}
		return writeAudit(ctx, tx, by.Event(domain.AuditSignInSucceeded, l.CustomerID, "", l.CustomerID))
	})
	return out, err
}
