package postgres

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/store/rowcodec"
	"github.com/nomosauth/nomosauth/internal/store/txn"
)

// classify turns driver errors into the store sentinels by SQLSTATE:
// 23505 unique_violation, 23503 foreign_key_violation.
func classify(err error) error {
	return txn.ClassifyBy(err, pgx.ErrNoRows, func(e *pgconn.PgError) txn.Violation {
		return map[string]txn.Violation{"23505": txn.Unique, "23503": txn.ForeignKey}[e.Code]
	})
}

// retryable reports a failure that a fresh attempt of the whole
// transaction may not meet: a serialization failure or a deadlock.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// conn is what a pool, a connection and a transaction share.
type conn interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// querier is the port's Querier on a pool or a transaction. Outside a
// transaction each call gets the store's deadline when ctx has none.
type querier struct{ c conn }

type row struct {
	r      pgx.Row
	cancel context.CancelFunc
}

func (r row) Scan(dest ...any) error {
	defer r.cancel()
	return classify(r.r.Scan(dest...))
}

func (q querier) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	tag, err := q.c.Exec(ctx, query, args...)
	return tag.RowsAffected(), classify(err)
}

func (q querier) QueryRow(ctx context.Context, query string, args ...any) rowcodec.Scanner {
	ctx, cancel := withTimeout(ctx)
	return row{q.c.QueryRow(ctx, query, args...), cancel}
}

func (q querier) Query(ctx context.Context, query string, args []any, fn func(rowcodec.Scanner) error) error {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	rows, err := q.c.Query(ctx, query, args...)
	if err != nil {
		return classify(err)
	}
	defer rows.Close()
	return classify(txn.EachRow(rows, fn))
}

// ExecMany sends every statement in one round trip.
func (q querier) ExecMany(ctx context.Context, query string, argLists [][]any) error {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	b := &pgx.Batch{}
	for _, args := range argLists {
		b.Queue(query, args...)
	}
	return classify(q.c.SendBatch(ctx, b).Close())
}

// Write runs fn in a READ COMMITTED transaction and commits it, retrying
// a few times when the database asks for it; fn may run more than once.
// The row locks of the dialect serialise what must be (PRODUCT S3).
func (d *db) Write(ctx context.Context, fn func(txn.Querier) error) error {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	var err error
	for range 3 {
		err = pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error { return fn(querier{tx}) })
		if !retryable(err) {
			break
		}
	}
	return classify(err)
}

// commitFamilies is group commit for the hottest write, a new family
// (client credentials; a code redemption starts its own in its
// transaction): the batch goes in as two multi-row inserts in one
// transaction, so one commit and one WAL flush serve many requests.
// Inserts of fresh random keys take no locks on existing rows, so a batch
// cannot deadlock with other replicas. When the batch fails, each start
// is tried alone, so one bad start (a duplicate id) fails only itself.
func (d *db) commitFamilies(batch []familyStart) []error {
	errs := make([]error, len(batch))
	live := make([]familyStart, 0, len(batch))
	index := make([]int, 0, len(batch))
	for i, op := range batch {
		if errs[i] = op.ctx.Err(); errs[i] == nil { // a caller that gave up gets nothing written
			live, index = append(live, op), append(index, i)
		}
	}
	if len(live) == 0 {
		return errs
	}
	err := d.Write(context.Background(), func(tx txn.Querier) error { return insertFamilies(tx, live) })
	for j, i := range index {
		switch {
		case err == nil || len(live) == 1:
			errs[i] = err
		default:
			op := live[j]
			errs[i] = d.Write(op.ctx, func(tx txn.Querier) error { return txn.StartFamily(op.ctx, tx, op.fam, op.tok) })
		}
	}
	return errs
}

// insertFamilies inserts every family, then every first token.
func insertFamilies(tx txn.Querier, ops []familyStart) error {
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
	ctx := context.Background()
	if _, err := tx.Exec(ctx, `INSERT INTO families (`+rowcodec.FamilyColumns+`) VALUES `+fams.String(), famArgs...); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `INSERT INTO refresh_tokens (`+rowcodec.TokenColumns+`) VALUES `+toks.String(), tokArgs...)
	return err
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
