package storetest

import (
	"context"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/store/rowcodec"
	"github.com/nomosauth/nomosauth/internal/store/txn"
)

// Inspector holds the verbs only tests use: they look at, or reach past,
// what the store's own verbs show.
type Inspector interface {
	// FamilyTokens lists a family's tokens, oldest first.
	FamilyTokens(ctx context.Context, familyID string) ([]domain.RefreshToken, error)
	// RevokeFamily revokes a family at at, as another process would;
	// revoking twice keeps the first time.
	RevokeFamily(ctx context.Context, id string, at time.Time) error
	// RewriteAudit tries to UPDATE the audit rows.
	RewriteAudit(ctx context.Context) error
	// BreakAudit makes every later audit write fail.
	BreakAudit(ctx context.Context) error
}

// Inspect returns the inspector of a backend's port (a backend's
// Store.Backend).
func Inspect(b txn.Backend) Inspector { return inspector{b} }

type inspector struct{ b txn.Backend }

func (i inspector) FamilyTokens(ctx context.Context, familyID string) ([]domain.RefreshToken, error) {
	var out []domain.RefreshToken
	err := i.b.Reader().Query(ctx, `SELECT `+rowcodec.TokenColumns+` FROM refresh_tokens WHERE family_id = $1 ORDER BY created_at, hash`, []any{familyID},
		func(r rowcodec.Scanner) error {
			t, err := rowcodec.Token(r)
			out = append(out, t)
			return err
		})
	return out, err
}

func (i inspector) RevokeFamily(ctx context.Context, id string, at time.Time) error {
	return i.b.Write(ctx, func(tx txn.Querier) error {
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM families WHERE id = $1`, id).Scan(&one); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE families SET revoked_at = $1 WHERE id = $2 AND revoked_at = 0`, rowcodec.Micros(at), id)
		return err
	})
}

// RewriteAudit tries to change every audit row, as an intruder with
// database access would; the append-only log refuses (PRODUCT O8).
func (i inspector) RewriteAudit(ctx context.Context) error {
	return i.b.Write(ctx, func(tx txn.Querier) error {
		_, err := tx.Exec(ctx, `UPDATE audit_events SET action = 'tampered'`)
		return err
	})
}

// BreakAudit drops the audit table, so every audit write fails from now
// on: a change whose row cannot be written must not happen either.
func (i inspector) BreakAudit(ctx context.Context) error {
	return i.b.Write(ctx, func(tx txn.Querier) error {
		_, err := tx.Exec(ctx, `DROP TABLE audit_events`)
		return err
	})
}
