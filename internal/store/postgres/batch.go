package postgres

import (
	"context"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/store/rowcodec"
)

// maxIssueBatch bounds one group commit.
const maxIssueBatch = 128

type issueOp struct {
	ctx  context.Context
	fam  domain.Family
	tok  domain.RefreshToken
	done chan error
}

// issue hands a new family to the committer and waits for its commit, so
// the token response leaves only once the family is durable (PRODUCT S2).
func (s *Store) issue(ctx context.Context, fam domain.Family, tok domain.RefreshToken) error {
	op := issueOp{ctx: ctx, fam: fam, tok: tok, done: make(chan error, 1)}
	select {
	case s.issues <- op:
	case <-s.quit:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	return <-op.done
}

const errClosed storeError = "postgres: store closed"

// committer is group commit for the hottest write, a new token family
// (client credentials, code redemption starts its own in its transaction):
// everything that queued while one commit was in flight goes into the next
// as two multi-row inserts, so one commit and one WAL flush serve many
// requests. Inserts of fresh random keys take no locks on existing rows,
// so a batch cannot deadlock with other replicas.
func (s *Store) committer() {
	defer close(s.done)
	for {
		var first issueOp
		select {
		case first = <-s.issues:
		case <-s.quit:
			return
		}
		batch := []issueOp{first}
	drain:
		for len(batch) < maxIssueBatch {
			select {
			case op := <-s.issues:
				batch = append(batch, op)
			default:
				break drain
			}
		}
		s.commitIssues(batch)
	}
}

// commitIssues writes a batch in one transaction; when that fails it
// writes each op alone, so one bad op (a duplicate id) fails only itself.
func (s *Store) commitIssues(batch []issueOp) {
	live := batch[:0:0]
	for _, op := range batch {
		if err := op.ctx.Err(); err != nil {
			op.done <- err // the caller gave up: nothing was written for it
			continue
		}
		live = append(live, op)
	}
	if len(live) == 0 {
		return
	}
	err := s.tx(context.Background(), func(tx pgx.Tx) error { return insertFamilies(context.Background(), tx, live) })
	if err == nil || len(live) == 1 {
		for _, op := range live {
			op.done <- err
		}
		return
	}
	for _, op := range live {
		op.done <- s.tx(op.ctx, func(tx pgx.Tx) error { return startFamily(op.ctx, tx, op.fam, op.tok) })
	}
}

// insertFamilies inserts every op's family, then every first token.
func insertFamilies(ctx context.Context, tx pgx.Tx, ops []issueOp) error {
	var fams, toks strings.Builder
	famArgs := make([]any, 0, 8*len(ops))
	tokArgs := make([]any, 0, 7*len(ops))
	for i, op := range ops {
		if i > 0 {
			fams.WriteString(", ")
			toks.WriteString(", ")
		}
		fams.WriteString(placeholders(len(famArgs), 8))
		f := op.fam
		famArgs = append(famArgs, f.ID, f.ClientID, f.OrgID, f.CustomerID, f.GrantID, rowcodec.ScopesText(f.Scopes), rowcodec.Micros(f.CreatedAt), rowcodec.Micros(f.RevokedAt))
		toks.WriteString(placeholders(len(tokArgs), 7))
		t := op.tok
		tokArgs = append(tokArgs, t.Hash, f.ID, string(domain.RefreshLive), rowcodec.Micros(t.CreatedAt), rowcodec.Micros(t.ExpiresAt), rowcodec.Micros(t.RotatedAt), t.ReplacedBy)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO families (`+rowcodec.FamilyColumns+`) VALUES `+fams.String(), famArgs...); err != nil {
		return conflict(err)
	}
	_, err := tx.Exec(ctx, `INSERT INTO refresh_tokens (`+rowcodec.TokenColumns+`) VALUES `+toks.String(), tokArgs...)
	return conflict(err)
}

// placeholders returns "($from+1, ..., $from+n)".
func placeholders(from, n int) string {
	var b strings.Builder
	b.WriteByte('(')
	for i := 1; i <= n; i++ {
		if i > 1 {
			b.WriteString(", ")
		}
		b.WriteString("$" + strconv.Itoa(from+i))
	}
	b.WriteByte(')')
	return b.String()
}
