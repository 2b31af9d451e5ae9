package sqlite

import (
	"context"
	"errors"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/store"
	"github.com/nomosauth/nomosauth/internal/store/rowcodec"
)

func insertToken(tx *wtx, t domain.RefreshToken) error {
	_, err := tx.Exec(`INSERT INTO refresh_tokens (`+rowcodec.TokenColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		t.Hash, t.FamilyID, string(t.State), rowcodec.Micros(t.CreatedAt), rowcodec.Micros(t.ExpiresAt), rowcodec.Micros(t.RotatedAt), t.ReplacedBy)
	if isUniqueViolation(err) {
		return store.ErrConflict
	}
	return err
}

// IssueRefreshToken starts a family with its first live token.
func (s *Store) IssueRefreshToken(ctx context.Context, fam domain.Family, tok domain.RefreshToken) error {
	return s.write(ctx, func(tx *wtx) error { return startFamily(tx, fam, tok) })
}

// startFamily inserts a family and its first live token.
func startFamily(tx *wtx, fam domain.Family, tok domain.RefreshToken) error {
	_, err := tx.Exec(`INSERT INTO families (`+rowcodec.FamilyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		fam.ID, fam.ClientID, fam.OrgID, fam.CustomerID, fam.GrantID, rowcodec.ScopesText(fam.Scopes), rowcodec.Micros(fam.CreatedAt), rowcodec.Micros(fam.RevokedAt))
	if isUniqueViolation(err) {
		return store.ErrConflict
	}
	if err != nil {
		return err
	}
	tok.FamilyID = fam.ID
	tok.State = domain.RefreshLive
	return insertToken(tx, tok)
}

// RotateRefreshToken runs the refresh rule on the rows inside the writer's
// transaction. The writer is the only one that writes, so no other rotation
// can interleave between the read and the update (PRODUCT S3).
func (s *Store) RotateRefreshToken(ctx context.Context, presented string, next domain.RefreshToken, now time.Time, decide store.RefreshDecider) (store.Rotation, error) {
	var out store.Rotation
	err := s.write(ctx, func(tx *wtx) error {
		out = store.Rotation{}
		tok, err := one(rowcodec.Token, tx.QueryRow(`SELECT `+rowcodec.TokenColumns+` FROM refresh_tokens WHERE hash = ?`, presented))
		if err != nil {
			return err
		}
		fam, err := one(rowcodec.Family, tx.QueryRow(`SELECT `+rowcodec.FamilyColumns+` FROM families WHERE id = ?`, tok.FamilyID))
		if err != nil {
			return err
		}
		var child *domain.RefreshToken
		if tok.ReplacedBy != "" {
			c, err := one(rowcodec.Token, tx.QueryRow(`SELECT `+rowcodec.TokenColumns+` FROM refresh_tokens WHERE hash = ?`, tok.ReplacedBy))
			if err == nil {
				child = &c
			} else if !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		verdict, err := decide(tok, fam, child)
		if err != nil {
			return err
		}
		out = store.Rotation{Verdict: verdict, Family: fam}
		switch verdict {
		case domain.RefreshReuse:
			_, err := tx.Exec(`UPDATE families SET revoked_at = ? WHERE id = ? AND revoked_at = 0`, rowcodec.Micros(now), fam.ID)
			out.Family.RevokedAt = now
			return err
		case domain.RefreshRetry:
			if _, err := tx.Exec(`UPDATE refresh_tokens SET state = ?, rotated_at = ? WHERE hash = ?`, string(domain.RefreshSuperseded), rowcodec.Micros(now), child.Hash); err != nil {
				return err
			}
			if _, err := tx.Exec(`UPDATE refresh_tokens SET replaced_by = ? WHERE hash = ?`, next.Hash, tok.Hash); err != nil {
				return err
			}
		case domain.RefreshRotate:
			if _, err := tx.Exec(`UPDATE refresh_tokens SET state = ?, rotated_at = ?, replaced_by = ? WHERE hash = ?`, string(domain.RefreshRotated), rowcodec.Micros(now), next.Hash, tok.Hash); err != nil {
				return err
			}
		default:
			return errBadVerdict
		}
		next.FamilyID, next.State = fam.ID, domain.RefreshLive
		return insertToken(tx, next)
	})
	return out, err
}

type storeError string

func (e storeError) Error() string { return string(e) }

const errBadVerdict storeError = "sqlite: decider returned no verdict"

// GetFamily loads one refresh family.
func (s *Store) GetFamily(ctx context.Context, id string) (domain.Family, error) {
	return one(rowcodec.Family, s.queryRow(ctx, `SELECT `+rowcodec.FamilyColumns+` FROM families WHERE id = ?`, id))
}

// FamilyTokens lists a family's tokens, oldest first.
func (s *Store) FamilyTokens(ctx context.Context, familyID string) ([]domain.RefreshToken, error) {
	return queryAll(ctx, s, rowcodec.Token, `SELECT `+rowcodec.TokenColumns+` FROM refresh_tokens WHERE family_id = ? ORDER BY created_at, rowid`, familyID)
}

// RevokedFamilies lists the families revoked at or after since.
func (s *Store) RevokedFamilies(ctx context.Context, since time.Time) ([]domain.Family, error) {
	return queryAll(ctx, s, rowcodec.Family, `SELECT `+rowcodec.FamilyColumns+` FROM families WHERE revoked_at >= ? AND revoked_at > 0 ORDER BY revoked_at`, rowcodec.Micros(since))
}

// RevokeFamily revokes a family at at; revoking twice keeps the first time.
func (s *Store) RevokeFamily(ctx context.Context, id string, at time.Time) error {
	return s.write(ctx, func(tx *wtx) error {
		if err := mustExist(tx, "families", id); err != nil {
			return err
		}
		_, err := tx.Exec(`UPDATE families SET revoked_at = ? WHERE id = ? AND revoked_at = 0`, rowcodec.Micros(at), id)
		return err
	})
}

// Signing keys.

// AddSigningKey stores k as the active key; see store.Store.
func (s *Store) AddSigningKey(ctx context.Context, k domain.SigningKey, retireOthers bool, publishUntil time.Time) error {
	return s.write(ctx, func(tx *wtx) error {
		if retireOthers {
			if _, err := tx.Exec(`UPDATE signing_keys SET retired_at = ?, published_until = ? WHERE retired_at = 0`, rowcodec.Micros(k.CreatedAt), rowcodec.Micros(publishUntil)); err != nil {
				return err
			}
		} else {
			var n int
			if err := tx.QueryRow(`SELECT COUNT(*) FROM signing_keys WHERE retired_at = 0`).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return store.ErrConflict
			}
		}
		_, err := tx.Exec(`INSERT INTO signing_keys (`+rowcodec.KeyColumns+`) VALUES (?, ?, ?, ?, 0, 0)`, k.ID, k.Algorithm, k.PrivateDER, rowcodec.Micros(k.CreatedAt))
		if isUniqueViolation(err) {
			return store.ErrConflict
		}
		return err
	})
}

// ListSigningKeys lists every stored key, newest first.
func (s *Store) ListSigningKeys(ctx context.Context) ([]domain.SigningKey, error) {
	return queryAll(ctx, s, rowcodec.Key, `SELECT `+rowcodec.KeyColumns+` FROM signing_keys ORDER BY created_at DESC, id DESC`)
}

// DeleteExpired removes expired refresh tokens, families with no token
// left whose access tokens have all expired (keepRevoked after their last
// event), secrets past their overlap and keys past publication (PRODUCT O6).
func (s *Store) DeleteExpired(ctx context.Context, now time.Time, keepRevoked time.Duration) (int64, error) {
	var total int64
	err := s.write(ctx, func(tx *wtx) error {
		total = 0
		cutoff := rowcodec.Micros(now.Add(-keepRevoked))
		stmts := []struct {
			q    string
			args []any
		}{
			{`DELETE FROM refresh_tokens WHERE expires_at <= ?`, []any{rowcodec.Micros(now)}},
			{`DELETE FROM families WHERE max(created_at, revoked_at) < ? AND NOT EXISTS (SELECT 1 FROM refresh_tokens WHERE family_id = families.id)`, []any{cutoff}},
			{`DELETE FROM client_secrets WHERE expires_at <> 0 AND expires_at <= ?`, []any{rowcodec.Micros(now)}},
			{`DELETE FROM signing_keys WHERE published_until <> 0 AND published_until <= ?`, []any{rowcodec.Micros(now)}},
			// Used codes stay while their tokens could be live, so a replay
			// can still revoke them (PRODUCT T6).
			{`DELETE FROM auth_codes WHERE expires_at <= ?`, []any{cutoff}},
			{`DELETE FROM sessions WHERE expires_at <= ?`, []any{rowcodec.Micros(now)}},
			{`DELETE FROM one_time_codes WHERE expires_at <= ?`, []any{rowcodec.Micros(now)}},
		}
		for _, st := range stmts {
			res, err := tx.Exec(st.q, st.args...)
			if err != nil {
				return err
			}
			n, _ := res.RowsAffected()
			total += n
		}
		return nil
	})
	return total, err
}
