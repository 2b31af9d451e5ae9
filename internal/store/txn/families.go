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

// IssueRefreshToken starts a family with its first live token. No grant
// calls it since client-credentials families are sealed (issue 17): the
// grants that store a family start it inside their own transaction.
func (s *Store) IssueRefreshToken(ctx context.Context, fam domain.Family, tok domain.RefreshToken) error {
	return s.b.Write(ctx, func(tx Querier) error { return StartFamily(ctx, tx, fam, tok) })
}

// StartFamily inserts a family and its first live token in tx: the one
// way a stored family is born, for every grant.
func StartFamily(ctx context.Context, tx Querier, fam domain.Family, tok domain.RefreshToken) error {
	if _, err := tx.Exec(ctx, `INSERT INTO families (`+rowcodec.FamilyColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		fam.ID, fam.ClientID, fam.OrgID, fam.CustomerID, fam.GrantID, rowcodec.ScopesText(fam.Scopes), rowcodec.Micros(fam.CreatedAt), rowcodec.Micros(fam.RevokedAt)); err != nil {
		return err
	}
	tok.FamilyID, tok.State = fam.ID, domain.RefreshLive
	return insertToken(ctx, tx, tok)
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

// RotateRefreshToken runs the refresh rule on the rows inside one
// transaction, the presented token's row and its family's row locked
// (PostgreSQL) or the single writer's (SQLite), so concurrent
// presentations on any replica are judged one after another, each on the
// rows the previous one left (PRODUCT T5, S3). A retry whose child is
// next writes nothing, so any number of retries, on any replica, all hand
// out the one child.
func (s *Store) RotateRefreshToken(ctx context.Context, presented string, next domain.RefreshToken, by domain.Origin, decide store.RefreshDecider) (store.Rotation, error) {
	return s.rotate(ctx, presented, nil, next, by, decide)
}

// RotateSealedRefreshToken materializes a sealed first token's family in
// the transaction that runs the refresh rule on it (issue 17): the rule,
// the retry window and reuse detection are RotateRefreshToken's own.
func (s *Store) RotateSealedRefreshToken(ctx context.Context, first store.Unsealed, next domain.RefreshToken, by domain.Origin, decide store.RefreshDecider) (store.Rotation, error) {
	return s.rotate(ctx, first.Token.Hash, &first, next, by, decide)
}

// materialize inserts a sealed token's family and the token itself, live,
// unless the family has a row already: materialized by an earlier
// presentation (here or on another replica, whose insert this one waits
// for on PostgreSQL's unique index), or a tombstone, whose missing token
// row then refuses the presentation.
func materialize(ctx context.Context, tx Querier, u store.Unsealed) error {
	fam, tok := u.Family, u.Token
	n, err := insertUnsealed(ctx, tx, u, time.Time{})
	if err != nil || n == 0 {
		return err
	}
	tok.FamilyID, tok.State = fam.ID, domain.RefreshLive
	return insertToken(ctx, tx, tok)
}

// insertUnsealed inserts the row of u's family, revoked at revokedAt (a
// tombstone) or not (zero), kept at least until its sealed token expires,
// unless the family has a row already; it returns how many rows it
// inserted. On PostgreSQL a concurrent insert of the same family makes
// this one wait for its transaction, then insert nothing.
func insertUnsealed(ctx context.Context, tx Querier, u store.Unsealed, revokedAt time.Time) (int64, error) {
	fam := u.Family
	return tx.Exec(ctx, `INSERT INTO families (`+rowcodec.FamilyColumns+`, sealed_until) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING`,
		fam.ID, fam.ClientID, fam.OrgID, fam.CustomerID, fam.GrantID, rowcodec.ScopesText(fam.Scopes), rowcodec.Micros(fam.CreatedAt), rowcodec.Micros(revokedAt), rowcodec.Micros(u.Token.ExpiresAt))
}

// rotate is RotateRefreshToken, after materializing unsealed when given.
func (s *Store) rotate(ctx context.Context, presented string, unsealed *store.Unsealed, next domain.RefreshToken, by domain.Origin, decide store.RefreshDecider) (store.Rotation, error) {
	now := by.At
	var out store.Rotation
	err := s.b.Write(ctx, func(tx Querier) error {
		out = store.Rotation{}
		if unsealed != nil {
			if err := materialize(ctx, tx, *unsealed); err != nil {
				return err
			}
		}
		// One read for the token and its family, both locked.
		tok, fam, err := rowcodec.TokenFamily(tx.QueryRow(ctx, `SELECT `+rowcodec.TokenFamilyColumns+`
			FROM refresh_tokens t JOIN families f ON f.id = t.family_id WHERE t.hash = $1`+s.lockTokenFamily(), presented))
		if err != nil {
			return err
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
				return err
			}
		}
		decision, err := decide(tok, fam, child)
		if err != nil {
			return err
		}
		out = store.Rotation{RefreshDecision: decision, Family: fam}
		switch decision.Verdict {
		case domain.RefreshReuse:
			out.Family.RevokedAt = now
			_, err := revokeFamilyAudited(ctx, tx, fam, by.Event(domain.AuditRefreshReuse, fam.ID, fam.ClientID, fam.CustomerID))
			return err
		case domain.RefreshRetry:
			// PRODUCT T5: the child of a moment ago is next itself (derived
			// from the presented token), still live: handing it out again
			// writes nothing and supersedes nothing.
			if child == nil || child.State != domain.RefreshLive || child.Hash != next.Hash {
				return errRetryNotChild
			}
			return nil
		case domain.RefreshReplace:
			// The child of a moment ago is not next (an older release drew
			// it at random): it dies and next takes its place, so the
			// family never has two live tokens.
			if child == nil {
				return errBadVerdict
			}
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
