package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/nomosauth/nomosauth/internal/store"
	"github.com/nomosauth/nomosauth/internal/store/rowcodec"
	"github.com/nomosauth/nomosauth/internal/store/txn"
)

// classify turns driver errors into the store sentinels by SQLite's
// extended result codes, never by the message text.
func classify(err error) error {
	return txn.ClassifyBy(err, sql.ErrNoRows, func(e *sqlite.Error) txn.Violation {
		if unavailable(e.Code()) {
			return txn.Unavailable
		}
		return map[int]txn.Violation{
			sqlite3.SQLITE_CONSTRAINT_UNIQUE:     txn.Unique,
			sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY: txn.Unique,
			sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY: txn.ForeignKey,
		}[e.Code()]
	})
}

// unavailable reports the primary result codes of a database that cannot
// be written or read for now (PRODUCT S5): the disk is full, the file
// cannot be opened, written or read, another process holds the lock past
// the busy timeout.
func unavailable(code int) bool {
	switch code & 0xff {
	case sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_BUSY:
		return true
	}
	return false
}

// row is one result row whose Scan classifies its error.
type row struct{ r rowcodec.Scanner }

func (r row) Scan(dest ...any) error { return classify(r.r.Scan(dest...)) }

// errRow is a row whose query failed before it ran.
type errRow struct{ err error }

func (e errRow) Scan(...any) error { return e.err }

// each scans rows with fn and closes them.
func each(rows *sql.Rows, err error, fn func(rowcodec.Scanner) error) error {
	if err != nil {
		return classify(err)
	}
	defer rows.Close()
	return classify(txn.EachRow(rows, fn))
}

func affected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, classify(err)
	}
	return res.RowsAffected()
}

// reader runs statements on the read pool, each prepared once: parsing SQL
// costs more than running these small queries. The queries are constants
// of txn (the list filters combine a few fixed clauses), so the cache
// stays small.
type reader struct{ d *db }

func (r reader) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if v, ok := r.d.stmts.Load(query); ok {
		return v.(*sql.Stmt), nil
	}
	stmt, err := r.d.rdb.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := r.d.stmts.LoadOrStore(query, stmt); loaded {
		stmt.Close()
		return prev.(*sql.Stmt), nil
	}
	return stmt, nil
}

func (r reader) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	return affected(r.d.rdb.ExecContext(ctx, query, args...))
}

func (r reader) QueryRow(ctx context.Context, query string, args ...any) rowcodec.Scanner {
	st, err := r.stmt(ctx, query)
	if err != nil {
		return errRow{err}
	}
	return row{st.QueryRowContext(ctx, args...)}
}

func (r reader) Query(ctx context.Context, query string, args []any, fn func(rowcodec.Scanner) error) error {
	st, err := r.stmt(ctx, query)
	if err != nil {
		return err
	}
	rows, err := st.QueryContext(ctx, args...)
	return each(rows, err, fn)
}

func (r reader) ExecMany(ctx context.Context, query string, argLists [][]any) error {
	return errors.New("sqlite: the read pool does not write")
}

// wtx is a transaction of the writer. It runs statements prepared once on
// the writer's connection; a query seen for the first time runs unprepared
// and is prepared after the commit, when the one connection is free again.
// Without d (migrations, run outside the writer) nothing is cached: only
// the writer goroutine may touch its statement maps.
// The caller's context is not used: once queued, a write runs to its
// outcome whatever its caller does, so a batch is never cut short.
type wtx struct {
	*sql.Tx
	d *db
	// wrote says a statement may have changed a row since it was last
	// cleared: an Exec that changed one, any ExecMany, any query that is
	// not a SELECT (an UPDATE ... RETURNING).
	wrote bool
}

func (t *wtx) stmt(query string) *sql.Stmt {
	if t.d == nil { // a transaction outside the writer: no cache to use or fill
		return nil
	}
	if st, ok := t.d.wstmts[query]; ok {
		return t.Tx.Stmt(st)
	}
	t.d.unprepared[query] = true
	return nil
}

func (t *wtx) Exec(_ context.Context, query string, args ...any) (int64, error) {
	var n int64
	var err error
	if st := t.stmt(query); st != nil {
		n, err = affected(st.Exec(args...))
	} else {
		n, err = affected(t.Tx.Exec(query, args...))
	}
	t.wrote = t.wrote || n > 0
	return n, err
}

// noteQuery marks a query that may write.
func (t *wtx) noteQuery(query string) {
	t.wrote = t.wrote || !strings.HasPrefix(strings.TrimSpace(query), "SELECT")
}

func (t *wtx) QueryRow(_ context.Context, query string, args ...any) rowcodec.Scanner {
	t.noteQuery(query)
	if st := t.stmt(query); st != nil {
		return row{st.QueryRow(args...)}
	}
	return row{t.Tx.QueryRow(query, args...)}
}

func (t *wtx) Query(_ context.Context, query string, args []any, fn func(rowcodec.Scanner) error) error {
	t.noteQuery(query)
	if st := t.stmt(query); st != nil {
		rows, err := st.Query(args...)
		return each(rows, err, fn)
	}
	rows, err := t.Tx.Query(query, args...)
	return each(rows, err, fn)
}

// ExecMany runs query for each argument list on one prepared statement.
func (t *wtx) ExecMany(_ context.Context, query string, argLists [][]any) error {
	t.wrote = true
	st, err := t.Tx.Prepare(query)
	if err != nil {
		return classify(err)
	}
	defer st.Close()
	for _, args := range argLists {
		if _, err := st.Exec(args...); err != nil {
			return classify(err)
		}
	}
	return nil
}

// prepareSeen prepares the queries the last transaction ran unprepared.
// Only the writer goroutine calls it, between transactions.
func (d *db) prepareSeen() {
	for q := range d.unprepared {
		if st, err := d.wdb.Prepare(q); err == nil {
			d.wstmts[q] = st
		}
		delete(d.unprepared, q)
	}
}

// Write runs fn in the writer's next transaction and returns once that
// transaction has committed (or fn failed): group commit, so the cost of
// an fsync is shared by every request that arrived meanwhile. SQLite has
// one writer, so no other transaction can interleave with fn (PRODUCT S3).
func (d *db) Write(ctx context.Context, fn func(txn.Querier) error) error {
	return d.writes.Do(ctx, fn)
}

// commit runs the batch in one transaction. Most batches succeed whole,
// and most failures (a refused or unknown token) write nothing before
// they fail, so the batch runs without a savepoint per operation (two
// statements each) and goes on past such a failure; when an operation
// fails after it wrote, the batch is rolled back and run again with each
// operation in a savepoint, so the failure rolls back alone and the
// others still commit. Operations may run more than once (txn.Backend).
func (d *db) commit(batch []func(txn.Querier) error) []error {
	results := make([]error, len(batch))
	d.writing.Lock()
	defer d.writing.Unlock()
	again, err := d.runBatch(batch, results, false)
	if again {
		_, err = d.runBatch(batch, results, true)
	}
	d.prepareSeen()
	err = classify(err)
	for i := range results {
		if err != nil && results[i] == nil {
			results[i] = err
		}
	}
	d.health.record(results, time.Now())
	return results
}

// runBatch runs batch in one transaction and commits it, each operation's
// error in results. With isolate each operation runs in a savepoint, so a
// failure rolls back alone. Without it, an operation that fails having
// written nothing leaves the transaction as it found it (SQLite undoes a
// failed statement), so the batch goes on; one that fails after writing,
// or with the database unavailable, rolls back the whole transaction, and
// runBatch says to run the batch again isolated (a lone operation leaves
// nothing to commit).
func (d *db) runBatch(batch []func(txn.Querier) error, results []error, isolate bool) (again bool, err error) {
	sqlTx, err := d.wdb.BeginTx(context.Background(), nil)
	if err != nil {
		return false, fmt.Errorf("begin: %w", err)
	}
	defer sqlTx.Rollback()
	tx := &wtx{Tx: sqlTx, d: d}
	for i, op := range batch {
		if isolate {
			if _, err := tx.Exec(context.Background(), `SAVEPOINT op`); err != nil {
				return false, fmt.Errorf("savepoint: %w", err)
			}
		}
		tx.wrote = false
		if results[i] = op(tx); results[i] != nil {
			switch {
			case len(batch) == 1:
				return false, nil
			case isolate:
				if _, err := tx.Exec(context.Background(), `ROLLBACK TO op`); err != nil {
					return false, fmt.Errorf("rollback to savepoint: %w", err)
				}
			case tx.wrote || errors.Is(results[i], store.ErrUnavailable):
				return true, nil
			}
		}
		if isolate {
			if _, err := tx.Exec(context.Background(), `RELEASE op`); err != nil {
				return false, fmt.Errorf("release savepoint: %w", err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("commit: %w", err)
	}
	d.commits.Add(1)
	return false, nil
}
