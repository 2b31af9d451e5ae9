package txn

import (
	"context"
	"errors"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/store"
	"github.com/nomosauth/nomosauth/internal/store/rowcodec"
)

// errBadVerdict: a decider returned a value that is no verdict.
var errBadVerdict = errors.New("store: decider returned no verdict")

// errRetryNotChild: a decider said Retry (hand out the child again) for a
// token whose live child is not the one the caller would hand out.
var errRetryNotChild = errors.New("store: retry of a token whose live child is not next")

// IssueRefreshToken starts a family with its first live token as a row,
// as releases before counted tokens did; no grant calls it any more, and
// tests seed the families an upgrade inherits with it.
func (s *Store) IssueRefreshToken(ctx context.Context, fam domain.Family, tok domain.RefreshToken) error {
	return s.b.Write(ctx, func(tx Querier) error {
		if err := insertFamily(ctx, tx, fam); err != nil {
			return err
		}
		tok.FamilyID, tok.State = fam.ID, domain.RefreshLive
		return insertToken(ctx, tx, tok)
	})
}

// errNoGeneration: a family started with no live generation, which no
// token could ever name.
var errNoGeneration = errors.New("store: a family starts with a live generation")

// StartFamily inserts a family whose refresh tokens are counted, its
// generation fam.Generation live until fam.LiveUntil, in tx: the one way
// a grant that stores its family at birth starts it (authorization code,
// device). No token is stored: the family's row is the token's state.
func StartFamily(ctx context.Context, tx Querier, fam domain.Family) error {
	if fam.Generation == 0 {
		return errNoGeneration
	}
	return insertFamily(ctx, tx, fam)
}

func insertFamily(ctx context.Context, tx Querier, fam domain.Family) error {
	_, err := tx.Exec(ctx, `INSERT INTO families (`+rowcodec.FamilyColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`, rowcodec.FamilyValues(fam)...)
	return err
}

func insertToken(ctx context.Context, tx Querier, t domain.RefreshToken) error {
	_, err := tx.Exec(ctx, `INSERT INTO refresh_tokens (`+rowcodec.TokenColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		t.Hash, t.FamilyID, string(t.State), rowcodec.Micros(t.CreatedAt), rowcodec.Micros(t.ExpiresAt), rowcodec.Micros(t.RotatedAt), t.ReplacedBy)
	return err
}

// revokeFamilyAudited stamps a family revoked at e.At and writes e, the
// audit row of the replay that revoked it, and says whether it did. A
// family revoked already keeps its first time and gains no second row: a
// replay of a replay is no new event.
func revokeFamilyAudited(ctx context.Context, tx Querier, fam domain.Family, e domain.AuditEvent) (bool, error) {
	n, err := tx.Exec(ctx, `UPDATE families SET revoked_at = $1 WHERE id = $2 AND revoked_at = 0`, rowcodec.Micros(e.At), fam.ID)
	if err != nil || n == 0 {
		return false, err
	}
	return true, writeAudit(ctx, tx, e)
}

// revokeReused revokes fam for a used token that came back (RFC 9700
// §4.14.2) at by.At, with its refresh.reuse_detected row, and returns it
// as the rotation reports it: revoked then.
func revokeReused(ctx context.Context, tx Querier, fam domain.Family, by domain.Origin) (domain.Family, error) {
	_, err := revokeFamilyAudited(ctx, tx, fam, by.Event(domain.AuditRefreshReuse, fam.ID, fam.ClientID, fam.CustomerID))
	fam.RevokedAt = by.At
	return fam, err
}

// RotateRefreshToken runs the refresh rule on the rows inside one
// transaction, the presented token's row and its family's row locked
// (PostgreSQL) or the single writer's (SQLite), so concurrent
// presentations on any replica are judged one after another, each on the
// rows the previous one left (PRODUCT T5, S3). A retry whose child is
// next writes nothing, so any number of retries, on any replica, all hand
// out the one child.
func (s *Store) RotateRefreshToken(ctx context.Context, presented string, next domain.RefreshToken, by domain.Origin, decide store.RefreshDecider) (store.Rotation, error) {
	var out store.Rotation
	err := s.b.Write(ctx, func(tx Querier) (err error) {
		out, err = s.rotateStored(ctx, tx, presented, next, by, decide)
		return err
	})
	return out, err
}

// RotateFamilyToken runs the refresh rule on the family's row alone
// (store.Families): a rotation rewrites that one row and stores no token,
// and concurrent presentations on any replica queue on its lock (PRODUCT
// T5, S3). The child of a generation is the next one, the same token for
// every retry, so a retry writes nothing.
func (s *Store) RotateFamilyToken(ctx context.Context, presented store.FamilyToken, next domain.RefreshToken, by domain.Origin, decide store.RefreshDecider) (store.Rotation, error) {
	var out store.Rotation
	err := s.b.Write(ctx, func(tx Querier) error {
		out = store.Rotation{}
		fresh := false
		if presented.First != nil {
			// On PostgreSQL a concurrent insert of the same family makes
			// this one wait for its transaction, then insert nothing.
			n, err := insertUnsealed(ctx, tx, *presented.First, time.Time{})
			if err != nil {
				return err
			}
			fresh = n == 1
		}
		fam, err := rowcodec.Family(tx.QueryRow(ctx, `SELECT `+rowcodec.FamilyColumns+` FROM families WHERE id = $1`+s.d.ForUpdate, presented.FamilyID))
		if err != nil {
			return err
		}
		if fam.Generation == 0 && !fresh {
			// A tombstone, or a family an earlier build materialized with
			// token rows: no counted token names it, and its sealed token
			// is judged by its row (a tombstone has none).
			if presented.First == nil {
				return store.ErrNotFound
			}
			out, err = s.rotateStored(ctx, tx, presented.First.Token.Hash, presented.RowChild, by, decide)
			out.RowChild = true
			return err
		}
		tok, child, ok := fam.CountedToken(presented.Generation, next.Hash)
		if !ok {
			return store.ErrNotFound
		}
		decision, err := decide(tok, fam, child)
		if err != nil {
			return err
		}
		out = store.Rotation{RefreshDecision: decision, Family: fam}
		switch decision.Verdict {
		case domain.RefreshReuse:
			out.Family, err = revokeReused(ctx, tx, fam, by)
			return err
		case domain.RefreshRetry:
			// The child of the generation before the live one is next.
			if child == nil || child.State != domain.RefreshLive {
				return errRetryNotChild
			}
			return nil
		case domain.RefreshRotate:
			// The times as the row keeps them (to the microsecond), so the
			// key a generation is minted under is the same now and at a retry.
			at, until := rowcodec.Micros(by.At), rowcodec.Micros(next.ExpiresAt)
			out.Family.Generation, out.Family.GenerationAt, out.Family.LiveUntil = fam.Generation+1, rowcodec.Time(at), rowcodec.Time(until)
			out.Family.GenerationKey = presented.NextKey
			_, err := tx.Exec(ctx, `UPDATE families SET generation = $1, generation_at = $2, live_until = $3, generation_key = $4 WHERE id = $5`,
				int64(out.Family.Generation), at, until, presented.NextKey, fam.ID)
			return err
		}
		// Replace: a counted child is always next, so no decider that
		// judged these rows could say it.
		return errBadVerdict
	})
	return out, err
}

// insertUnsealed inserts the row of u's family, revoked at revokedAt (a
// tombstone) or not (zero), its sealed token (generation 0) live until it
// expires, unless the family has a row already; it returns how many rows
// it inserted. sealed_until, the sealed token's expiry, is never lowered
// by a rotation, so clean-up keeps the row, and a revocation with it, for
// as long as the sealed token could come back. On PostgreSQL a concurrent
// insert of the same family makes this one wait for its transaction, then
// insert nothing.
func insertUnsealed(ctx context.Context, tx Querier, u store.Unsealed, revokedAt time.Time) (int64, error) {
	fam := u.Family
	fam.RevokedAt, fam.Generation, fam.GenerationAt, fam.LiveUntil = revokedAt, 0, u.Token.CreatedAt, u.Token.ExpiresAt
	return tx.Exec(ctx, `INSERT INTO families (`+rowcodec.FamilyColumns+`, sealed_until) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (id) DO NOTHING`,
		append(rowcodec.FamilyValues(fam), rowcodec.Micros(u.Token.ExpiresAt))...)
}

// rotateStored is RotateRefreshToken in tx: the rule on the presented
// token's row, its family's and its child's.
func (s *Store) rotateStored(ctx context.Context, tx Querier, presented string, next domain.RefreshToken, by domain.Origin, decide store.RefreshDecider) (store.Rotation, error) {
	now := by.At
	// One read for the token and its family, both locked.
	tok, fam, err := rowcodec.TokenFamily(tx.QueryRow(ctx, `SELECT `+rowcodec.TokenFamilyColumns+`
		FROM refresh_tokens t JOIN families f ON f.id = t.family_id WHERE t.hash = $1`+s.lockTokenFamily(), presented))
	if err != nil {
		return store.Rotation{}, err
	}
	// The child is read by a statement of its own, after the locks are
	// held: on PostgreSQL a statement that waited for a lock sees the
	// locked rows as committed meanwhile but the rest as before, so a
	// child a concurrent rotation just committed would be missed and
	// its retry judged a reuse (PRODUCT T5, S3).
	var child *domain.RefreshToken
	if tok.ReplacedBy != "" {
		c, err := rowcodec.Token(tx.QueryRow(ctx, `SELECT `+rowcodec.TokenColumns+` FROM refresh_tokens WHERE hash = $1`, tok.ReplacedBy))
		if err == nil {
			child = &c
		} else if !errors.Is(err, store.ErrNotFound) {
			return store.Rotation{}, err
		}
	}
	decision, err := decide(tok, fam, child)
	if err != nil {
		return store.Rotation{}, err
	}
	out := store.Rotation{RefreshDecision: decision, Family: fam}
	switch decision.Verdict {
	case domain.RefreshReuse:
		out.Family, err = revokeReused(ctx, tx, fam, by)
		return out, err
	case domain.RefreshRetry:
		// PRODUCT T5: the child of a moment ago is next itself (derived
		// from the presented token), still live: handing it out again
		// writes nothing and supersedes nothing.
		if child == nil || child.State != domain.RefreshLive || child.Hash != next.Hash {
			return out, errRetryNotChild
		}
		return out, nil
	case domain.RefreshReplace:
		// The child of a moment ago is not next (an older release drew
		// it at random): it dies and next takes its place, so the
		// family never has two live tokens.
		if child == nil {
			return out, errBadVerdict
		}
		if _, err := tx.Exec(ctx, `UPDATE refresh_tokens SET state = $1, rotated_at = $2 WHERE hash = $3`, string(domain.RefreshSuperseded), rowcodec.Micros(now), child.Hash); err != nil {
			return out, err
		}
		if _, err := tx.Exec(ctx, `UPDATE refresh_tokens SET replaced_by = $1 WHERE hash = $2`, next.Hash, tok.Hash); err != nil {
			return out, err
		}
	case domain.RefreshRotate:
		if _, err := tx.Exec(ctx, `UPDATE refresh_tokens SET state = $1, rotated_at = $2, replaced_by = $3 WHERE hash = $4`,
			string(domain.RefreshRotated), rowcodec.Micros(now), next.Hash, tok.Hash); err != nil {
			return out, err
		}
	default:
		return out, errBadVerdict
	}
	next.FamilyID, next.State = fam.ID, domain.RefreshLive
	return out, insertToken(ctx, tx, next)
}

// lockTokenFamily locks the token (t) and family (f) rows of rotate's read
// (PRODUCT S3); SQLite's single writer needs no lock.
func (s *Store) lockTokenFamily() string {
	if s.d.ForUpdateOf == "" {
		return ""
	}
	return s.d.ForUpdateOf + "t, f"
}

// RevokedFamilies lists the families revoked at or after since.
func (s *Store) RevokedFamilies(ctx context.Context, since time.Time) ([]domain.Family, error) {
	return all(ctx, s.b.Reader(), rowcodec.Family, `SELECT `+rowcodec.FamilyColumns+` FROM families WHERE revoked_at >= $1 AND revoked_at > 0 ORDER BY revoked_at`, rowcodec.Micros(since))
}

// RevokeHeldFamily is the revocation endpoint's verb (PRODUCT T9; RFC 7009
// §2.1): the family is loaded and locked, its client checked by may, and
// revoked with its token.revoked row in one transaction, through the same
// stamp the replays use, so the revocation feed (RevokedFamilies) carries
// it to every replica (PRODUCT A11, O8).
//
// A family that has no row yet (unsealed, issue 17) gets a tombstone: its
// row, inserted already revoked with the token.revoked row, which stays
// while its sealed token could come back (sealed_until), so the
// revocation holds across restarts and reaches every replica.
func (s *Store) RevokeHeldFamily(ctx context.Context, familyID, tokenHash string, unsealed *store.Unsealed, by domain.Origin, may func(domain.Family) bool) (string, bool, error) {
	var id string
	var revoked bool
	err := s.b.Write(ctx, func(tx Querier) error {
		id, revoked = "", false
		fid := familyID
		if fid == "" {
			if err := tx.QueryRow(ctx, `SELECT family_id FROM refresh_tokens WHERE hash = $1`, tokenHash).Scan(&fid); err != nil {
				return err
			}
		}
		fam, err := rowcodec.Family(tx.QueryRow(ctx, `SELECT `+rowcodec.FamilyColumns+` FROM families WHERE id = $1`+s.d.ForUpdate, fid))
		if errors.Is(err, store.ErrNotFound) && unsealed != nil && unsealed.Family.ID == fid {
			return s.tombstone(ctx, tx, *unsealed, by, may, &id, &revoked)
		}
		if err != nil {
			return err
		}
		if !may(fam) {
			return nil // RFC 7009 §2.2: another client's token changes nothing
		}
		id = fam.ID
		revoked, err = revokeFamilyAudited(ctx, tx, fam, by.Event(domain.AuditTokenRevoked, fam.ID, fam.ClientID, fam.CustomerID))
		return err
	})
	return id, revoked, err
}

// tombstone inserts u's family revoked at by.At, if may allows it, with
// its token.revoked row. A row another transaction inserted meanwhile
// (PostgreSQL: this insert waited for it) is revoked as RevokeHeldFamily
// revokes any family, so exactly one revocation is audited.
func (s *Store) tombstone(ctx context.Context, tx Querier, u store.Unsealed, by domain.Origin, may func(domain.Family) bool, id *string, revoked *bool) error {
	fam := u.Family
	if !may(fam) {
		return nil // RFC 7009 §2.2: another client's token changes nothing
	}
	n, err := insertUnsealed(ctx, tx, u, by.At)
	if err != nil {
		return err
	}
	e := by.Event(domain.AuditTokenRevoked, fam.ID, fam.ClientID, fam.CustomerID)
	if n == 1 {
		*id, *revoked = fam.ID, true
		return writeAudit(ctx, tx, e)
	}
	stored, err := rowcodec.Family(tx.QueryRow(ctx, `SELECT `+rowcodec.FamilyColumns+` FROM families WHERE id = $1`+s.d.ForUpdate, fam.ID))
	if err != nil || !may(stored) {
		return err
	}
	*id = stored.ID
	*revoked, err = revokeFamilyAudited(ctx, tx, stored, e)
	return err
}

// GetFamily loads one family (PRODUCT T10).
func (s *Store) GetFamily(ctx context.Context, id string) (domain.Family, error) {
	return rowcodec.Family(s.b.Reader().QueryRow(ctx, `SELECT `+rowcodec.FamilyColumns+` FROM families WHERE id = $1`, id))
}

// RefreshTokenFamily loads a refresh token and its family in one read
// (PRODUCT T10).
func (s *Store) RefreshTokenFamily(ctx context.Context, hash string) (domain.RefreshToken, domain.Family, error) {
	return rowcodec.TokenFamily(s.b.Reader().QueryRow(ctx, `SELECT `+rowcodec.TokenFamilyColumns+`
		FROM refresh_tokens t JOIN families f ON f.id = t.family_id WHERE t.hash = $1`, hash))
}
