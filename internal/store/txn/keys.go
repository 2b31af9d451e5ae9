package txn

import (
	"context"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/store"
	"github.com/nomosauth/nomosauth/internal/store/rowcodec"
)

// AddSigningKey stores k without retirement; see store.Keys. Only one key
// is without retirement at a time (PostgreSQL enforces it with a unique
// index), so two replicas creating the first key at once, or rotating at
// once, leave exactly one: the other gets ErrConflict or retires the
// first's key.
func (s *Store) AddSigningKey(ctx context.Context, k domain.SigningKey, handover, publishedUntil time.Time, by domain.Origin) (time.Time, error) {
	signsFrom := handover
	err := s.b.Write(ctx, func(tx Querier) error {
		signsFrom = handover
		action := domain.AuditSigningKeyCreated
		if !handover.IsZero() {
			action = domain.AuditSigningKeyRotated
			// Behind a rotation still waiting for its handover, the key it
			// left without retirement retires after that handover, whatever
			// the delay asked: keys sign in the order of their retirements
			// (token.KeyRing), so it must never sign before the waiting
			// rotation's key, nor this rotation's key before either.
			handoverAt := s.d.Greatest + `($1, (SELECT MAX(retired_at) + 1 FROM signing_keys))`
			err := tx.Query(ctx, `UPDATE signing_keys SET retired_at = `+handoverAt+`, published_until = `+handoverAt+` + $2
				WHERE retired_at = 0 RETURNING retired_at`, []any{rowcodec.Micros(handover), publishedUntil.Sub(handover).Microseconds()},
				func(r rowcodec.Scanner) error {
					var at int64
					if err := r.Scan(&at); err != nil {
						return err
					}
					signsFrom = rowcodec.Time(at)
					return nil
				})
			if err != nil {
				return err
			}
		} else {
			var active int
			if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM signing_keys WHERE retired_at = 0`).Scan(&active); err != nil {
				return err
			}
			if active > 0 {
				return store.ErrConflict
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO signing_keys (`+rowcodec.KeyColumns+`) VALUES ($1, $2, $3, $4, 0, 0)`, k.ID, k.Algorithm, k.PrivateDER, rowcodec.Micros(k.CreatedAt)); err != nil {
			return err
		}
		return writeAudit(ctx, tx, by.Event(action, k.ID, "", ""))
	})
	return signsFrom, err
}

// ListSigningKeys lists every stored key, newest first.
func (s *Store) ListSigningKeys(ctx context.Context) ([]domain.SigningKey, error) {
	return all(ctx, s.b.Reader(), rowcodec.Key, `SELECT `+rowcodec.KeyColumns+` FROM signing_keys ORDER BY created_at DESC, id DESC`)
}

// AddSealKey stores k; see store.Keys. Like signing keys, only one key is
// without successor at a time (a unique index on both backends), so two
// replicas creating the first key at once leave exactly one.
func (s *Store) AddSealKey(ctx context.Context, k domain.SealKey, retireAt time.Time, by domain.Origin) (time.Time, error) {
	sealsFrom := k.SealsFrom
	err := s.b.Write(ctx, func(tx Querier) error {
		sealsFrom = k.SealsFrom
		action := domain.AuditSealKeyCreated
		if !retireAt.IsZero() {
			action = domain.AuditSealKeyRotated
			// Behind a rotation still waiting for its handover, this key
			// seals after that one: the ring seals with the key of the
			// latest seals_from that has come (seal.Ring.Sealer), so a key
			// queued earlier must never seal again after this one, and the
			// key it leaves retires an overlap after this key takes over.
			// That key is locked first, and the latest seals_from read
			// after, so a rotation committed meanwhile (on PostgreSQL) is
			// either seen or makes this one a conflict, never queued behind
			// a stale latest.
			locked := 0
			err := tx.Query(ctx, `SELECT id FROM seal_keys WHERE retires_at = 0`+s.d.ForUpdate, nil, func(rowcodec.Scanner) error {
				locked++
				return nil
			})
			if err != nil {
				return err
			}
			var latest int64
			if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(seals_from), 0) FROM seal_keys`).Scan(&latest); err != nil {
				return err
			}
			if locked == 0 && latest != 0 {
				// Another rotation replaced the key this one saw.
				return store.ErrConflict
			}
			if rowcodec.Micros(k.SealsFrom) <= latest {
				sealsFrom = rowcodec.Time(latest + 1)
			}
			retires := rowcodec.Micros(retireAt) + rowcodec.Micros(sealsFrom) - rowcodec.Micros(k.SealsFrom)
			if _, err := tx.Exec(ctx, `UPDATE seal_keys SET retires_at = $1 WHERE retires_at = 0`, retires); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO seal_keys (`+rowcodec.SealKeyColumns+`) VALUES ($1, $2, $3, $4, 0)`,
			k.ID, k.Secret, rowcodec.Micros(k.CreatedAt), rowcodec.Micros(sealsFrom)); err != nil {
			return err
		}
		return writeAudit(ctx, tx, by.Event(action, k.ID, "", ""))
	})
	return sealsFrom, err
}

// ListSealKeys lists every stored seal key, newest first.
func (s *Store) ListSealKeys(ctx context.Context) ([]domain.SealKey, error) {
	return all(ctx, s.b.Reader(), rowcodec.SealKey, `SELECT `+rowcodec.SealKeyColumns+` FROM seal_keys ORDER BY created_at DESC, id DESC`)
}

// ServerKey returns the stored key called name, storing candidate first
// when there is none; the first replica's candidate wins.
func (s *Store) ServerKey(ctx context.Context, name string, candidate []byte) ([]byte, error) {
	var out []byte
	err := s.b.Write(ctx, func(tx Querier) error {
		if _, err := tx.Exec(ctx, `INSERT INTO server_keys (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING`,
			name, candidate, time.Now().UnixMicro()); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT value FROM server_keys WHERE name = $1`, name).Scan(&out)
	})
	return out, err
}
