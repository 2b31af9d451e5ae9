package txn

import (
	"cmp"
	"context"
	"errors"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/store"
	"github.com/nomosauth/nomosauth/internal/store/rowcodec"
)

// Grants.

// UpsertGrant records consent; see store.Grants. Two replicas recording
// the first consent at once: the unique index lets one insert win, and
// the other, tried again, widens that one.
func (s *Store) UpsertGrant(ctx context.Context, g domain.Grant, by domain.Origin) (out domain.Grant, err error) {
	for range 2 {
		out, err = s.upsertGrant(ctx, g, by)
		if !errors.Is(err, store.ErrConflict) {
			break
		}
	}
	return out, err
}

func (s *Store) upsertGrant(ctx context.Context, g domain.Grant, by domain.Origin) (domain.Grant, error) {
	var out domain.Grant
	err := s.b.Write(ctx, func(tx Querier) (err error) {
		out, err = s.upsertGrantIn(ctx, tx, g, by)
		return err
	})
	return out, err
}

// upsertGrantIn records consent in tx, with its audit row: the customer's
// active grant for the client widens to include g.Scopes, or g is stored.
func (s *Store) upsertGrantIn(ctx context.Context, tx Querier, g domain.Grant, by domain.Origin) (domain.Grant, error) {
	cur, err := rowcodec.Grant(tx.QueryRow(ctx, `SELECT `+rowcodec.GrantColumns+` FROM grants WHERE customer_id = $1 AND client_id = $2 AND revoked_at = 0`+s.d.ForUpdate, g.CustomerID, g.ClientID))
	switch {
	case err == nil:
		cur.Scopes = append(cur.Scopes, g.Scopes...).Canonical()
		cur.UpdatedAt = g.UpdatedAt
		cur.DeviceName = domain.AddDeviceName(cur.DeviceName, g.DeviceName)
		if _, err = tx.Exec(ctx, `UPDATE grants SET scopes = $1, updated_at = $2, device_name = $3 WHERE id = $4`,
			rowcodec.ScopesText(cur.Scopes), rowcodec.Micros(cur.UpdatedAt), cur.DeviceName, cur.ID); err != nil {
			return domain.Grant{}, err
		}
		return cur, writeAudit(ctx, tx, by.Event(domain.AuditConsentGiven, cur.ID, cur.ClientID, cur.CustomerID))
	case !errors.Is(err, store.ErrNotFound):
		return domain.Grant{}, err
	}
	for _, check := range [][2]string{{"customers", g.CustomerID}, {"clients", g.ClientID}} {
		if err := s.exists(ctx, tx, check[0], check[1]); err != nil {
			return domain.Grant{}, err
		}
	}
	if _, err = tx.Exec(ctx, `INSERT INTO grants (`+rowcodec.GrantColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8)`,
		g.ID, g.CustomerID, g.ClientID, g.OrgID, rowcodec.ScopesText(g.Scopes), rowcodec.Micros(g.CreatedAt), rowcodec.Micros(g.UpdatedAt), g.DeviceName); err != nil {
		return domain.Grant{}, err
	}
	return g, writeAudit(ctx, tx, by.Event(domain.AuditConsentGiven, g.ID, g.ClientID, g.CustomerID))
}

// GetGrant loads one grant.
func (s *Store) GetGrant(ctx context.Context, id string) (domain.Grant, error) {
	return rowcodec.Grant(s.b.Reader().QueryRow(ctx, `SELECT `+rowcodec.GrantColumns+` FROM grants WHERE id = $1`, id))
}

// ActiveGrant returns the customer's active grant for the client.
func (s *Store) ActiveGrant(ctx context.Context, customerID, clientID string) (domain.Grant, error) {
	return rowcodec.Grant(s.b.Reader().QueryRow(ctx, `SELECT `+rowcodec.GrantColumns+` FROM grants WHERE customer_id = $1 AND client_id = $2 AND revoked_at = 0`, customerID, clientID))
}

// ListGrants lists the customer's active grants, newest first.
func (s *Store) ListGrants(ctx context.Context, customerID string) ([]domain.Grant, error) {
	return all(ctx, s.b.Reader(), rowcodec.Grant, `SELECT `+rowcodec.GrantColumns+` FROM grants WHERE customer_id = $1 AND revoked_at = 0 ORDER BY created_at DESC, id DESC`, customerID)
}

// RevokeGrant revokes the grant and its families; see store.Grants.
func (s *Store) RevokeGrant(ctx context.Context, id string, by domain.Origin) (families []string, revoked bool, err error) {
	at := by.At
	err = s.b.Write(ctx, func(tx Querier) error {
		families, revoked = nil, false
		grant, err := rowcodec.Grant(tx.QueryRow(ctx, `SELECT `+rowcodec.GrantColumns+` FROM grants WHERE id = $1`+s.d.ForUpdate, id))
		if err != nil {
			return err
		}
		n, err := tx.Exec(ctx, `UPDATE grants SET revoked_at = $1 WHERE id = $2 AND revoked_at = 0`, rowcodec.Micros(at), id)
		if err != nil {
			return err
		}
		if revoked = n > 0; revoked {
			if err := writeAudit(ctx, tx, by.Event(domain.AuditConsentRevoked, id, grant.ClientID, grant.CustomerID)); err != nil {
				return err
			}
		}
		return tx.Query(ctx, `UPDATE families SET revoked_at = $1 WHERE grant_id = $2 AND revoked_at = 0 RETURNING id`, []any{rowcodec.Micros(at), id},
			func(r rowcodec.Scanner) error {
				var fid string
				err := r.Scan(&fid)
				families = append(families, fid)
				return err
			})
	})
	return families, revoked, err
}

// Authorization codes.

// CreateCode stores an authorization code.
func (s *Store) CreateCode(ctx context.Context, c domain.AuthCode) error {
	return s.b.Write(ctx, func(tx Querier) error {
		_, err := tx.Exec(ctx, `INSERT INTO auth_codes (`+rowcodec.CodeColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0, '', $12, $13)`,
			c.Hash, c.ClientID, c.OrgID, c.CustomerID, c.GrantID, c.RedirectURI, c.Challenge, c.ChallengeMethod,
			rowcodec.ScopesText(c.Scopes), rowcodec.Micros(c.CreatedAt), rowcodec.Micros(c.ExpiresAt), c.Nonce, rowcodec.Micros(c.AuthTime))
		return err
	})
}

// RedeemCode runs the code rule on the rows inside one transaction, the
// code's row locked, so two redemptions on any replicas are judged one
// after the other (PRODUCT T6, S3).
func (s *Store) RedeemCode(ctx context.Context, presented string, fam domain.Family, by domain.Origin, decide store.CodeDecider) (store.Redemption, error) {
	now := by.At
	var out store.Redemption
	err := s.b.Write(ctx, func(tx Querier) error {
		out = store.Redemption{}
		code, err := rowcodec.Code(tx.QueryRow(ctx, `SELECT `+rowcodec.CodeColumns+` FROM auth_codes WHERE hash = $1`+s.d.ForUpdate, presented))
		if err != nil {
			return err
		}
		grant, err := rowcodec.Grant(tx.QueryRow(ctx, `SELECT `+rowcodec.GrantColumns+` FROM grants WHERE id = $1`+s.d.ForShare, code.GrantID))
		if err != nil {
			return err
		}
		verdict, err := decide(code, grant)
		if err != nil {
			return err
		}
		out = store.Redemption{Verdict: verdict, Code: code}
		switch verdict {
		case domain.CodeReplay:
			out.Family = domain.Family{ID: code.FamilyID, ClientID: code.ClientID, OrgID: code.OrgID, CustomerID: code.CustomerID, GrantID: code.GrantID, Scopes: code.Scopes, RevokedAt: now}
			out.Revoked, err = revokeFamilyAudited(ctx, tx, out.Family, by.Event(domain.AuditCodeReplay, code.FamilyID, code.ClientID, code.CustomerID))
			return err
		case domain.CodeRedeem:
		default:
			return errBadVerdict
		}
		fam.ClientID, fam.OrgID, fam.CustomerID, fam.GrantID, fam.Scopes = code.ClientID, code.OrgID, code.CustomerID, code.GrantID, code.Scopes
		out.Family = fam
		if out.Customer, err = rowcodec.Customer(tx.QueryRow(ctx, `SELECT `+rowcodec.CustomerColumns+` FROM customers WHERE id = $1`, code.CustomerID)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE auth_codes SET used_at = $1, family_id = $2 WHERE hash = $3`, rowcodec.Micros(now), fam.ID, code.Hash); err != nil {
			return err
		}
		return StartFamily(ctx, tx, fam)
	})
	return out, err
}

// Sessions.

func insertSession(ctx context.Context, tx Querier, ses domain.Session) error {
	_, err := tx.Exec(ctx, `INSERT INTO sessions (`+rowcodec.SessionColumns+`) VALUES ($1, $2, $3, $4, $5, $6)`, rowcodec.SessionValues(ses)...)
	return err
}

// CreateSession stores a signed-in session.
func (s *Store) CreateSession(ctx context.Context, ses domain.Session, by domain.Origin) error {
	return s.b.Write(ctx, func(tx Querier) error {
		if err := s.exists(ctx, tx, "customers", ses.CustomerID); err != nil {
			return err
		}
		if err := insertSession(ctx, tx, ses); err != nil {
			return err
		}
		return writeAudit(ctx, tx, by.Event(domain.AuditSignInSucceeded, ses.CustomerID, "", ses.CustomerID))
	})
}

// GetSession loads a session by the hash of its id.
func (s *Store) GetSession(ctx context.Context, hash string) (domain.Session, error) {
	return rowcodec.Session(s.b.Reader().QueryRow(ctx, `SELECT `+rowcodec.SessionColumns+` FROM sessions WHERE hash = $1`, hash))
}

// TouchSession records activity.
func (s *Store) TouchSession(ctx context.Context, hash string, at time.Time) error {
	return s.b.Write(ctx, func(tx Querier) error {
		return affectedOne(tx.Exec(ctx, `UPDATE sessions SET last_seen_at = $1 WHERE hash = $2`, rowcodec.Micros(at), hash))
	})
}

// DeleteSession ends a session; ending one that is gone is no error.
func (s *Store) DeleteSession(ctx context.Context, hash string) error {
	return s.b.Write(ctx, func(tx Querier) error {
		_, err := tx.Exec(ctx, `DELETE FROM sessions WHERE hash = $1`, hash)
		return err
	})
}

// One-time codes.

// CreateOneTimeCode stores c as its browser's one pending code.
func (s *Store) CreateOneTimeCode(ctx context.Context, c domain.OneTimeCode) error {
	return s.b.Write(ctx, func(tx Querier) error {
		if _, err := tx.Exec(ctx, `UPDATE one_time_codes SET used_at = $1 WHERE browser_hash = $2 AND used_at = 0`, rowcodec.Micros(c.CreatedAt), c.BrowserHash); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO one_time_codes (`+rowcodec.OneTimeColumns+`) VALUES ($1, $2, $3, $4, 0, $5, $6, 0, $7, $8, $9)`,
			c.ID, c.BrowserHash, c.Email, c.CodeHash, rowcodec.Micros(c.CreatedAt), rowcodec.Micros(c.ExpiresAt), c.SignupOrgID, c.FirstName, c.LastName)
		return err
	})
}

// auditLockout writes the row of a sign-in locked out: its target is the
// customer the email belongs to, so the row outlives the code's clean-up
// and `audit list --customer` finds it; for an email of no customer (a
// sign-up) it is the code's id. Never the code or the email.
func (s *Store) auditLockout(ctx context.Context, tx Querier, code domain.OneTimeCode, by domain.Origin) error {
	var customerID string
	err := tx.QueryRow(ctx, `SELECT id FROM customers WHERE email_key = $1`, rowcodec.EmailKey(code.Email)).Scan(&customerID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return writeAudit(ctx, tx, by.Event(domain.AuditSignInLockedOut, cmp.Or(customerID, code.ID), "", customerID))
}

// pendingOneTime selects a browser's pending code: its newest unused one.
const pendingOneTime = `SELECT ` + rowcodec.OneTimeColumns + ` FROM one_time_codes WHERE browser_hash = $1 AND used_at = 0 ORDER BY created_at DESC LIMIT 1`

// PendingOneTimeCode is the browser's pending code.
func (s *Store) PendingOneTimeCode(ctx context.Context, browserHash string) (domain.OneTimeCode, error) {
	return rowcodec.OneTime(s.b.Reader().QueryRow(ctx, pendingOneTime, browserHash))
}

// VerifyOneTimeCode runs decide on the browser's pending code in one
// transaction, its row locked, so concurrent tries are counted one by one
// (PRODUCT A7).
func (s *Store) VerifyOneTimeCode(ctx context.Context, browserHash string, by domain.Origin, decide store.OneTimeDecider) (domain.OneTimeCode, domain.OneTimeVerdict, error) {
	now := by.At
	var code domain.OneTimeCode
	var verdict domain.OneTimeVerdict
	err := s.b.Write(ctx, func(tx Querier) error {
		var err error
		code, err = rowcodec.OneTime(tx.QueryRow(ctx, pendingOneTime+s.d.ForUpdate, browserHash))
		if err != nil {
			return err
		}
		verdict = decide(code)
		switch verdict {
		case domain.OneTimeAccept:
			code.UsedAt = now
			_, err = tx.Exec(ctx, `UPDATE one_time_codes SET used_at = $1 WHERE id = $2`, rowcodec.Micros(now), code.ID)
		case domain.OneTimeReject, domain.OneTimeLockout:
			code.Attempts++
			_, err = tx.Exec(ctx, `UPDATE one_time_codes SET attempts = attempts + 1 WHERE id = $1`, code.ID)
			if err == nil && verdict == domain.OneTimeLockout {
				err = s.auditLockout(ctx, tx, code, by)
			}
		case domain.OneTimeExhausted:
		default:
			return errBadVerdict
		}
		return err
	})
	return code, verdict, err
}
