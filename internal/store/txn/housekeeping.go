package txn

import (
	"context"
	"time"

	"github.com/nomosauth/nomosauth/internal/store"
	"github.com/nomosauth/nomosauth/internal/store/rowcodec"
)

// DeleteExpired removes, in one transaction, what can no longer matter
// (PRODUCT O6): expired refresh tokens; families with no token left whose
// access tokens have all expired (keepRevoked after their last event);
// secrets past their overlap; keys past publication; codes (a used one
// once its family has gone), sessions and
// one-time codes and magic links past their lifetime; audit events past their retention
// (PRODUCT O8). It returns how many rows went.
func (s *Store) DeleteExpired(ctx context.Context, now time.Time, keep store.Retention) (int64, error) {
	var total int64
	err := s.b.Write(ctx, func(tx Querier) error {
		total = 0
		at, cutoff := rowcodec.Micros(now), rowcodec.Micros(now.Add(-keep.Revoked))
		// Zero retention keeps audit events for ever: a cutoff of 0 deletes nothing.
		var auditCutoff int64
		if keep.Audit > 0 {
			auditCutoff = rowcodec.Micros(now.Add(-keep.Audit))
		}
		for _, st := range []struct {
			query string
			arg   int64
		}{
			{`DELETE FROM refresh_tokens WHERE expires_at <= $1`, at},
			// A family stays while its live counted token, or its sealed
			// first token (a tombstone's too: a revoked family that never
			// had a token row, issue 17), could come back.
			{`DELETE FROM families WHERE ` + s.d.Greatest + `(created_at, revoked_at) < $1 AND sealed_until < $1 AND live_until < $1 AND NOT EXISTS (SELECT 1 FROM refresh_tokens WHERE family_id = families.id)`, cutoff},
			{`DELETE FROM client_secrets WHERE expires_at <> 0 AND expires_at <= $1`, at},
			{`DELETE FROM signing_keys WHERE published_until <> 0 AND published_until <= $1`, at},
			// A retired seal key opens nothing any more (issue 17).
			{`DELETE FROM seal_keys WHERE retires_at <> 0 AND retires_at <= $1`, at},
			// A used code stays while the family it produced has a row (its
			// refresh tokens could be live, for the idle time), so a replay
			// still revokes them (PRODUCT T6); the family goes first, above.
			{`DELETE FROM auth_codes WHERE expires_at <= $1 AND (used_at = 0 OR NOT EXISTS (SELECT 1 FROM families WHERE id = auth_codes.family_id))`, cutoff},
			{`DELETE FROM sessions WHERE expires_at <= $1`, at},
			{`DELETE FROM one_time_codes WHERE expires_at <= $1`, at},
			// A device request is over once it expired; a redeemed one's
			// family lives on by itself (PRODUCT T11).
			{`DELETE FROM device_requests WHERE expires_at <= $1`, at},
			// A magic link is worth nothing once expired, used or not (PRODUCT A12).
			{`DELETE FROM magic_links WHERE expires_at <= $1`, at},
			// In slices, so a first purge of a long log does not hold the
			// writer for long: what is left goes on the next rounds.
			{`DELETE FROM audit_events WHERE id IN (SELECT id FROM audit_events WHERE at < $1 ORDER BY id LIMIT 10000)`, auditCutoff},
		} {
			n, err := tx.Exec(ctx, st.query, st.arg)
			if err != nil {
				return err
			}
			total += n
		}
		return nil
	})
	return total, err
}
