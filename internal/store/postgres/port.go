package postgres

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nomosauth/nomosauth/internal/store/rowcodec"
	"github.com/nomosauth/nomosauth/internal/store/txn"
)

// classify turns driver errors into the store sentinels by SQLSTATE:
// 23505 unique_violation, 23503 foreign_key_violation; a database that
// cannot be reached or cannot work (PRODUCT S5) is store.ErrUnavailable:
// a lost or refused connection, the store's deadline passed, class 08
// connection_exception, 57P01-57P03 (shut down, crashed, starting up) and
// class 53 insufficient_resources (disk full, out of memory, too many
// connections).
func classify(err error) error {
	if err != nil && (lost(err) || errors.Is(err, context.DeadlineExceeded)) {
		return txn.Classify(err, false, txn.Unavailable)
	}
	return txn.ClassifyBy(err, pgx.ErrNoRows, func(e *pgconn.PgError) txn.Violation {
		if strings.HasPrefix(e.Code, "53") {
			return txn.Unavailable
		}
		return map[string]txn.Violation{"23505": txn.Unique, "23503": txn.ForeignKey}[e.Code]
	})
}

// lost reports a failure of the connection rather than of the statement:
// the server went away, refused or ended the session, or the network
// failed. The pool's other connections are likely stale too.
func lost(err error) bool {
	if err == nil {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return strings.HasPrefix(pe.Code, "08") || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03"
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) || errors.Is(err, pgconn.ErrConnClosed) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNREFUSED)
}

// unrun reports a failure that guarantees the statement did not take
// effect: pgx sent nothing, or the server answered that the session had
// ended instead of running it.
func unrun(err error) bool {
	var pe *pgconn.PgError
	return pgconn.SafeToRetry(err) || (errors.As(err, &pe) && lost(pe))
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
// On the pool (pool set), a call that meets a lost connection drops the
// pool's idle connections, which are stale too after a server restart,
// and is tried once more on a fresh one: reads always, a statement only
// when it surely did not run (PRODUCT S5).
type querier struct {
	c    conn
	pool *pgxpool.Pool
}

// again reports whether a call that failed with err is tried once more,
// and drops the pool's stale connections when so.
func (q querier) again(ctx context.Context, err error, safe bool) bool {
	if q.pool == nil || !lost(err) || ctx.Err() != nil {
		return false
	}
	q.pool.Reset()
	return safe
}

type row struct {
	q      querier
	ctx    context.Context
	query  string
	args   []any
	r      pgx.Row
	cancel context.CancelFunc
}

func (r row) Scan(dest ...any) error {
	defer r.cancel()
	err := r.r.Scan(dest...)
	if r.q.again(r.ctx, err, true) {
		err = r.q.c.QueryRow(r.ctx, r.query, r.args...).Scan(dest...)
	}
	return classify(err)
}

func (q querier) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	tag, err := q.c.Exec(ctx, query, args...)
	if q.again(ctx, err, unrun(err)) {
		tag, err = q.c.Exec(ctx, query, args...)
	}
	return tag.RowsAffected(), classify(err)
}

func (q querier) QueryRow(ctx context.Context, query string, args ...any) rowcodec.Scanner {
	ctx, cancel := withTimeout(ctx)
	return row{q: q, ctx: ctx, query: query, args: args, r: q.c.QueryRow(ctx, query, args...), cancel: cancel}
}

func (q querier) Query(ctx context.Context, query string, args []any, fn func(rowcodec.Scanner) error) error {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	seen := false // once fn has seen a row, a retry would show it again
	each := func(r rowcodec.Scanner) error { seen = true; return fn(r) }
	err := q.query(ctx, query, args, each)
	if !seen && q.again(ctx, err, true) {
		err = q.query(ctx, query, args, each)
	}
	return classify(err)
}

func (q querier) query(ctx context.Context, query string, args []any, fn func(rowcodec.Scanner) error) error {
	rows, err := q.c.Query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	return txn.EachRow(rows, fn)
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
// The row locks of the dialect serialise what must be (PRODUCT S3). A
// transaction whose connection was lost before its COMMIT was sent is
// tried once more on a fresh connection, after the pool's stale ones are
// dropped: the server rolled it back. A lost COMMIT is never retried,
// since it may have committed (PRODUCT S5).
func (d *db) Write(ctx context.Context, fn func(txn.Querier) error) error {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	if d.observe != nil {
		defer func(start time.Time) { d.observe(txn.Commit{Items: 1, Took: time.Since(start)}) }(time.Now())
	}
	var err error
	reconnected := false
	for range 4 {
		var committing bool
		committing, err = d.attempt(ctx, fn)
		switch {
		case retryable(err):
			continue
		case !committing && !reconnected && lost(err) && ctx.Err() == nil:
			reconnected = true
			d.pool.Reset()
			continue
		case lost(err):
			d.pool.Reset()
		}
		break
	}
	return classify(err)
}

// attempt runs fn in one transaction and reports whether the failure, if
// any, came from COMMIT.
func (d *db) attempt(ctx context.Context, fn func(txn.Querier) error) (committing bool, err error) {
	tx, err := d.pool.Begin(ctx)
	if err != nil {
		return false, err
	}
	defer tx.Rollback(context.Background())
	if err := fn(querier{c: tx}); err != nil {
		return false, err
	}
	return true, tx.Commit(ctx)
}
