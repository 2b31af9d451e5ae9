package sqlite

import (
	"context"
	"errors"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/store"
	"github.com/nomosauth/nomosauth/internal/store/rowcodec"
)

// Grants.

// UpsertGrant records consent; see store.Store.
func (s *Store) UpsertGrant(ctx context.Context, g domain.Grant) (domain.Grant, error) {
	var out domain.Grant
	err := s.write(ctx, func(tx *wtx) error {
		cur, err := one(rowcodec.Grant, tx.QueryRow(`SELECT `+rowcodec.GrantColumns+` FROM grants WHERE customer_id = ? AND client_id = ? AND revoked_at = 0`, g.CustomerID, g.ClientID))
		switch {
		case err == nil:
			cur.Scopes = append(cur.Scopes, g.Scopes...).Canonical()
			cur.UpdatedAt = g.UpdatedAt
			out = cur
			_, err = tx.Exec(`UPDATE grants SET scopes = ?, updated_at = ? WHERE id = ?`, rowcodec.ScopesText(cur.Scopes), rowcodec.Micros(cur.UpdatedAt), cur.ID)
			return err
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		for _, check := range [][2]string{{"customers", g.CustomerID}, {"clients", g.ClientID}} {
			if err := mustExist(tx, check[0], check[1]); err != nil {
				return err
			}
		}
		out = g
		_, err = tx.Exec(`INSERT INTO grants (`+rowcodec.GrantColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, 0)`,
			g.ID, g.CustomerID, g.ClientID, g.OrgID, rowcodec.ScopesText(g.Scopes), rowcodec.Micros(g.CreatedAt), rowcodec.Micros(g.UpdatedAt))
		if isUniqueViolation(err) {
			return store.ErrConflict
		}
		return err
	})
	return out, err
}

// GetGrant loads one grant.
func (s *Store) GetGrant(ctx context.Context, id string) (domain.Grant, error) {
	return one(rowcodec.Grant, s.queryRow(ctx, `SELECT `+rowcodec.GrantColumns+` FROM grants WHERE id = ?`, id))
}

// ActiveGrant returns the customer's active grant for the client.
func (s *Store) ActiveGrant(ctx context.Context, customerID, clientID string) (domain.Grant, error) {
	return one(rowcodec.Grant, s.queryRow(ctx, `SELECT `+rowcodec.GrantColumns+` FROM grants WHERE customer_id = ? AND client_id = ? AND revoked_at = 0`, customerID, clientID))
}

// ListGrants lists the customer's active grants, newest first.
func (s *Store) ListGrants(ctx context.Context, customerID string) ([]domain.Grant, error) {
	return queryAll(ctx, s, rowcodec.Grant, `SELECT `+rowcodec.GrantColumns+` FROM grants WHERE customer_id = ? AND revoked_at = 0 ORDER BY created_at DESC, id DESC`, customerID)
}

// RevokeGrant revokes the grant and its families; see store.Store.
func (s *Store) RevokeGrant(ctx context.Context, id string, at time.Time) ([]string, error) {
	var families []string
	err := s.write(ctx, func(tx *wtx) error {
		families = nil
		if err := mustExist(tx, "grants", id); err != nil {
			return err
		}
		if _, err := tx.Exec(`UPDATE grants SET revoked_at = ? WHERE id = ? AND revoked_at = 0`, rowcodec.Micros(at), id); err != nil {
			return err
		}
		rows, err := tx.Query(`UPDATE families SET revoked_at = ? WHERE grant_id = ? AND revoked_at = 0 RETURNING id`, rowcodec.Micros(at), id)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var fid string
			if err := rows.Scan(&fid); err != nil {
				return err
			}
			families = append(families, fid)
		}
		return rows.Err()
	})
	return families, err
}

// Authorization codes.

// CreateCode stores an authorization code.
func (s *Store) CreateCode(ctx context.Context, c domain.AuthCode) error {
	return s.write(ctx, func(tx *wtx) error {
		_, err := tx.Exec(`INSERT INTO auth_codes (`+rowcodec.CodeColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, '')`,
			c.Hash, c.ClientID, c.OrgID, c.CustomerID, c.GrantID, c.RedirectURI, c.Challenge, c.ChallengeMethod,
			rowcodec.ScopesText(c.Scopes), rowcodec.Micros(c.CreatedAt), rowcodec.Micros(c.ExpiresAt))
		if isUniqueViolation(err) {
			return store.ErrConflict
		}
		return err
	})
}

// RedeemCode runs the code rule on the rows inside the writer's
// transaction; the single writer means no two redemptions interleave.
func (s *Store) RedeemCode(ctx context.Context, presented string, fam domain.Family, tok domain.RefreshToken, now time.Time, decide store.CodeDecider) (store.Redemption, error) {
	var out store.Redemption
	err := s.write(ctx, func(tx *wtx) error {
		out = store.Redemption{}
		code, err := one(rowcodec.Code, tx.QueryRow(`SELECT `+rowcodec.CodeColumns+` FROM auth_codes WHERE hash = ?`, presented))
		if err != nil {
			return err
		}
		grant, err := one(rowcodec.Grant, tx.QueryRow(`SELECT `+rowcodec.GrantColumns+` FROM grants WHERE id = ?`, code.GrantID))
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
			if _, err := tx.Exec(`UPDATE families SET revoked_at = ? WHERE id = ? AND revoked_at = 0`, rowcodec.Micros(now), code.FamilyID); err != nil {
				return err
			}
			out.Family = domain.Family{ID: code.FamilyID, ClientID: code.ClientID, OrgID: code.OrgID, CustomerID: code.CustomerID, GrantID: code.GrantID, Scopes: code.Scopes, RevokedAt: now}
			return nil
		case domain.CodeRedeem:
		default:
			return errBadVerdict
		}
		fam.ClientID, fam.OrgID, fam.CustomerID, fam.GrantID, fam.Scopes = code.ClientID, code.OrgID, code.CustomerID, code.GrantID, code.Scopes
		out.Family = fam
		if _, err := tx.Exec(`UPDATE auth_codes SET used_at = ?, family_id = ? WHERE hash = ?`, rowcodec.Micros(now), fam.ID, code.Hash); err != nil {
			return err
		}
		return startFamily(tx, fam, tok)
	})
	return out, err
}

// Sessions.

// CreateSession stores a signed-in session.
func (s *Store) CreateSession(ctx context.Context, ses domain.Session) error {
	return s.write(ctx, func(tx *wtx) error {
		if err := mustExist(tx, "customers", ses.CustomerID); err != nil {
			return err
		}
		_, err := tx.Exec(`INSERT INTO sessions (`+rowcodec.SessionColumns+`) VALUES (?, ?, ?, ?, ?)`,
			ses.Hash, ses.CustomerID, rowcodec.Micros(ses.CreatedAt), rowcodec.Micros(ses.LastSeenAt), rowcodec.Micros(ses.ExpiresAt))
		if isUniqueViolation(err) {
			return store.ErrConflict
		}
		return err
	})
}

// GetSession loads a session by the hash of its id.
func (s *Store) GetSession(ctx context.Context, hash string) (domain.Session, error) {
	return one(rowcodec.Session, s.queryRow(ctx, `SELECT `+rowcodec.SessionColumns+` FROM sessions WHERE hash = ?`, hash))
}

// TouchSession records activity.
func (s *Store) TouchSession(ctx context.Context, hash string, at time.Time) error {
	return s.write(ctx, func(tx *wtx) error {
		return affectedOne(tx.Exec(`UPDATE sessions SET last_seen_at = ? WHERE hash = ?`, rowcodec.Micros(at), hash))
	})
}

// DeleteSession ends a session; ending one that is gone is no error.
func (s *Store) DeleteSession(ctx context.Context, hash string) error {
	return s.write(ctx, func(tx *wtx) error {
		_, err := tx.Exec(`DELETE FROM sessions WHERE hash = ?`, hash)
		return err
	})
}

// One-time codes.

// CreateOneTimeCode stores c as its browser's one pending code.
func (s *Store) CreateOneTimeCode(ctx context.Context, c domain.OneTimeCode) error {
	return s.write(ctx, func(tx *wtx) error {
		if _, err := tx.Exec(`UPDATE one_time_codes SET used_at = ? WHERE browser_hash = ? AND used_at = 0`, rowcodec.Micros(c.CreatedAt), c.BrowserHash); err != nil {
			return err
		}
		_, err := tx.Exec(`INSERT INTO one_time_codes (`+rowcodec.OneTimeColumns+`) VALUES (?, ?, ?, ?, 0, ?, ?, 0, ?, ?, ?)`,
			c.ID, c.BrowserHash, c.Email, c.CodeHash, rowcodec.Micros(c.CreatedAt), rowcodec.Micros(c.ExpiresAt), c.SignupOrgID, c.FirstName, c.LastName)
		if isUniqueViolation(err) {
			return store.ErrConflict
		}
		return err
	})
}

// VerifyOneTimeCode runs decide on the browser's pending code in the
// writer's transaction, so concurrent tries are counted one by one.
func (s *Store) VerifyOneTimeCode(ctx context.Context, browserHash string, now time.Time, decide store.OneTimeDecider) (domain.OneTimeCode, domain.OneTimeVerdict, error) {
	var code domain.OneTimeCode
	var verdict domain.OneTimeVerdict
	err := s.write(ctx, func(tx *wtx) error {
		var err error
		code, err = one(rowcodec.OneTime, tx.QueryRow(`SELECT `+rowcodec.OneTimeColumns+` FROM one_time_codes WHERE browser_hash = ? AND used_at = 0 ORDER BY created_at DESC LIMIT 1`, browserHash))
		if err != nil {
			return err
		}
		verdict = decide(code)
		switch verdict {
		case domain.OneTimeAccept:
			code.UsedAt = now
			_, err = tx.Exec(`UPDATE one_time_codes SET used_at = ? WHERE id = ?`, rowcodec.Micros(now), code.ID)
		case domain.OneTimeReject:
			code.Attempts++
			_, err = tx.Exec(`UPDATE one_time_codes SET attempts = attempts + 1 WHERE id = ?`, code.ID)
		case domain.OneTimeExhausted:
		default:
			return errBadVerdict
		}
		return err
	})
	return code, verdict, err
}
