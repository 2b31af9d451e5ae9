package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/store"
	"github.com/nomosauth/nomosauth/internal/store/rowcodec"
)

func insertToken(ctx context.Context, tx pgx.Tx, t domain.RefreshToken) error {
	_, err := tx.Exec(ctx, `INSERT INTO refresh_tokens (`+rowcodec.TokenColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		t.Hash, t.FamilyID, string(t.State), rowcodec.Micros(t.CreatedAt), rowcodec.Micros(t.ExpiresAt), rowcodec.Micros(t.RotatedAt), t.ReplacedBy)
	return conflict(err)
}

// startFamily inserts a family and its first live token.
func startFamily(ctx context.Context, tx pgx.Tx, fam domain.Family, tok domain.RefreshToken) error {
	_, err := tx.Exec(ctx, `INSERT INTO families (`+rowcodec.FamilyColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		fam.ID, fam.ClientID, fam.OrgID, fam.CustomerID, fam.GrantID, rowcodec.ScopesText(fam.Scopes), rowcodec.Micros(fam.CreatedAt), rowcodec.Micros(fam.RevokedAt))
	if err != nil {
		return conflict(err)
	}
	tok.FamilyID, tok.State = fam.ID, domain.RefreshLive
	return insertToken(ctx, tx, tok)
}

// IssueRefreshToken starts a family with its first live token. Calls are
// group-committed: see committer.
func (s *Store) IssueRefreshToken(ctx context.Context, fam domain.Family, tok domain.RefreshToken) error {
	return s.issue(ctx, fam, tok)
}

// RotateRefreshToken runs the refresh rule with the presented token's row
// and its family's row locked, so concurrent presentations on any replica
// are judged one after another, each on the rows the previous one left
// (PRODUCT S3).
func (s *Store) RotateRefreshToken(ctx context.Context, presented string, next domain.RefreshToken, now time.Time, decide store.RefreshDecider) (store.Rotation, error) {
	var out store.Rotation
	err := s.tx(ctx, func(tx pgx.Tx) error {
		out = store.Rotation{}
		tok, err := one(rowcodec.Token, tx.QueryRow(ctx, `SELECT `+rowcodec.TokenColumns+` FROM refresh_tokens WHERE hash = $1 FOR UPDATE`, presented))
		if err != nil {
			return err
		}
		fam, err := one(rowcodec.Family, tx.QueryRow(ctx, `SELECT `+rowcodec.FamilyColumns+` FROM families WHERE id = $1 FOR UPDATE`, tok.FamilyID))
		if err != nil {
			return err
		}
		var child *domain.RefreshToken
		if tok.ReplacedBy != "" {
			c, err := one(rowcodec.Token, tx.QueryRow(ctx, `SELECT `+rowcodec.TokenColumns+` FROM refresh_tokens WHERE hash = $1`, tok.ReplacedBy))
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
			_, err := tx.Exec(ctx, `UPDATE families SET revoked_at = $1 WHERE id = $2 AND revoked_at = 0`, rowcodec.Micros(now), fam.ID)
			out.Family.RevokedAt = now
			return err
		case domain.RefreshRetry:
			if _, err := tx.Exec(ctx, `UPDATE refresh_tokens SET state = $1, rotated_at = $2 WHERE hash = $3`, string(domain.RefreshSuperseded), rowcodec.Micros(now), child.Hash); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE refresh_tokens SET replaced_by = $1 WHERE hash = $2`, next.Hash, tok.Hash); err != nil {
				return err
			}
		case domain.RefreshRotate:
			if _, err := tx.Exec(ctx, `UPDATE refresh_tokens SET state = $1, rotated_at = $2, replaced_by = $3 WHERE hash = $4`,
				string(domain.RefreshRotated), rowcodec.Micros(now), next.Hash, tok.Hash); err != nil {
				return err
			}
		default:
			return errBadVerdict
		}
		next.FamilyID, next.State = fam.ID, domain.RefreshLive
		return insertToken(ctx, tx, next)
	})
	return out, err
}

type storeError string

func (e storeError) Error() string { return string(e) }

const errBadVerdict storeError = "postgres: decider returned no verdict"

// GetFamily loads one refresh family.
func (s *Store) GetFamily(ctx context.Context, id string) (domain.Family, error) {
	var f domain.Family
	err := s.queryRow(ctx, func(r rowcodec.Scanner) (err error) { f, err = one(rowcodec.Family, r); return }, `SELECT `+rowcodec.FamilyColumns+` FROM families WHERE id = $1`, id)
	return f, err
}

// FamilyTokens lists a family's tokens, oldest first.
func (s *Store) FamilyTokens(ctx context.Context, familyID string) ([]domain.RefreshToken, error) {
	return queryAll(ctx, s, rowcodec.Token, `SELECT `+rowcodec.TokenColumns+` FROM refresh_tokens WHERE family_id = $1 ORDER BY created_at, hash`, familyID)
}

// RevokedFamilies lists the families revoked at or after since.
func (s *Store) RevokedFamilies(ctx context.Context, since time.Time) ([]domain.Family, error) {
	return queryAll(ctx, s, rowcodec.Family, `SELECT `+rowcodec.FamilyColumns+` FROM families WHERE revoked_at >= $1 AND revoked_at <> 0 ORDER BY revoked_at`, rowcodec.Micros(since))
}

// RevokeFamily revokes a family at at; revoking twice keeps the first time.
func (s *Store) RevokeFamily(ctx context.Context, id string, at time.Time) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		if err := mustExist(ctx, tx, "families", id); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE families SET revoked_at = $1 WHERE id = $2 AND revoked_at = 0`, rowcodec.Micros(at), id)
		return err
	})
}

// Signing keys.

// AddSigningKey stores k as the active key; see store.Store. A unique
// index allows one active key, so two replicas creating the first key at
// once, or rotating at once, leave exactly one: the other gets ErrConflict.
func (s *Store) AddSigningKey(ctx context.Context, k domain.SigningKey, retireOthers bool, publishUntil time.Time) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		if retireOthers {
			if _, err := tx.Exec(ctx, `UPDATE signing_keys SET retired_at = $1, published_until = $2 WHERE retired_at = 0`,
				rowcodec.Micros(k.CreatedAt), rowcodec.Micros(publishUntil)); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, `INSERT INTO signing_keys (`+rowcodec.KeyColumns+`) VALUES ($1, $2, $3, $4, 0, 0)`, k.ID, k.Algorithm, k.PrivateDER, rowcodec.Micros(k.CreatedAt))
		return conflict(err)
	})
}

// ListSigningKeys lists every stored key, newest first.
func (s *Store) ListSigningKeys(ctx context.Context) ([]domain.SigningKey, error) {
	return queryAll(ctx, s, rowcodec.Key, `SELECT `+rowcodec.KeyColumns+` FROM signing_keys ORDER BY created_at DESC, id DESC`)
}

// DeleteExpired removes what can no longer matter (PRODUCT O6); see the
// SQLite backend for the same rules.
func (s *Store) DeleteExpired(ctx context.Context, now time.Time, keepRevoked time.Duration) (int64, error) {
	var total int64
	err := s.tx(ctx, func(tx pgx.Tx) error {
		total = 0
		cutoff := rowcodec.Micros(now.Add(-keepRevoked))
		stmts := []struct {
			q    string
			args []any
		}{
			{`DELETE FROM refresh_tokens WHERE expires_at <= $1`, []any{rowcodec.Micros(now)}},
			{`DELETE FROM families WHERE GREATEST(created_at, revoked_at) < $1 AND NOT EXISTS (SELECT 1 FROM refresh_tokens WHERE family_id = families.id)`, []any{cutoff}},
			{`DELETE FROM client_secrets WHERE expires_at <> 0 AND expires_at <= $1`, []any{rowcodec.Micros(now)}},
			{`DELETE FROM signing_keys WHERE published_until <> 0 AND published_until <= $1`, []any{rowcodec.Micros(now)}},
			{`DELETE FROM auth_codes WHERE expires_at <= $1`, []any{cutoff}},
			{`DELETE FROM sessions WHERE expires_at <= $1`, []any{rowcodec.Micros(now)}},
			{`DELETE FROM one_time_codes WHERE expires_at <= $1`, []any{rowcodec.Micros(now)}},
		}
		for _, st := range stmts {
			tag, err := tx.Exec(ctx, st.q, st.args...)
			if err != nil {
				return err
			}
			total += tag.RowsAffected()
		}
		return nil
	})
	return total, err
}
