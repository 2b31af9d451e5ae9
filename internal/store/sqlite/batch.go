package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// maxBatch bounds one group commit; beyond it the next batch starts at once.
const maxBatch = 256

type writeOp struct {
	fn   func(tx *wtx) error
	done chan error
}

// wtx is the writer's transaction. Its Exec, QueryRow and Query run
// statements prepared once on the writer's connection; a query seen for
// the first time runs unprepared and is prepared after the commit, when
// the one connection is free again. Parsing SQL costs more than running
// these small statements.
type wtx struct {
	*sql.Tx
	s *Store
}

func (t *wtx) stmt(query string) *sql.Stmt {
	if st, ok := t.s.wstmts[query]; ok {
		return t.Tx.Stmt(st)
	}
	t.s.unprepared[query] = true
	return nil
}

// Exec runs query in the transaction.
func (t *wtx) Exec(query string, args ...any) (sql.Result, error) {
	if st := t.stmt(query); st != nil {
		return st.Exec(args...)
	}
	return t.Tx.Exec(query, args...)
}

// QueryRow runs query in the transaction.
func (t *wtx) QueryRow(query string, args ...any) *sql.Row {
	if st := t.stmt(query); st != nil {
		return st.QueryRow(args...)
	}
	return t.Tx.QueryRow(query, args...)
}

// Query runs query in the transaction.
func (t *wtx) Query(query string, args ...any) (*sql.Rows, error) {
	if st := t.stmt(query); st != nil {
		return st.Query(args...)
	}
	return t.Tx.Query(query, args...)
}

// prepareSeen prepares the queries the last transaction ran unprepared.
// Only the writer goroutine calls it, between transactions.
func (s *Store) prepareSeen() {
	for q := range s.unprepared {
		if st, err := s.wdb.Prepare(q); err == nil {
			s.wstmts[q] = st
		}
		delete(s.unprepared, q)
	}
}

var errClosed = errors.New("sqlite: store closed")

// write runs fn in the writer's current transaction and returns once that
// transaction has committed (or fn failed). fn must only touch tx and
// variables it owns; the caller reads those after write returns nil.
func (s *Store) write(ctx context.Context, fn func(tx *wtx) error) error {
	op := writeOp{fn: fn, done: make(chan error, 1)}
	select {
	case s.ops <- op:
	case <-s.quit:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once queued, wait for the outcome even if ctx ends: the write may
	// commit, and the caller must know whether it did.
	return <-op.done
}

// writer is the one goroutine that writes. While one batch commits (and
// fsyncs), new operations queue; the next batch takes all of them, so the
// cost of an fsync is shared by every request that arrived meanwhile.
func (s *Store) writer() {
	defer close(s.done)
	for {
		var first writeOp
		select {
		case first = <-s.ops:
		case <-s.quit:
			return
		}
		batch := []writeOp{first}
	drain:
		for len(batch) < maxBatch {
			select {
			case op := <-s.ops:
				batch = append(batch, op)
			default:
				break drain
			}
		}
		s.commit(batch)
	}
}

// commit runs the batch in one transaction. Each operation runs inside a
// savepoint, so one that fails rolls back alone and the others still commit.
func (s *Store) commit(batch []writeOp) {
	results := make([]error, len(batch))
	err := func() error {
		ctx := context.Background()
		sqlTx, err := s.wdb.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("begin: %w", err)
		}
		defer sqlTx.Rollback()
		tx := &wtx{Tx: sqlTx, s: s}
		single := len(batch) == 1
		for i, op := range batch {
			if single {
				results[i] = op.fn(tx)
				if results[i] != nil {
					return nil // nothing to commit
				}
				continue
			}
			if _, err := tx.Exec(`SAVEPOINT op`); err != nil {
				return fmt.Errorf("savepoint: %w", err)
			}
			results[i] = op.fn(tx)
			if results[i] != nil {
				if _, err := tx.Exec(`ROLLBACK TO op`); err != nil {
					return fmt.Errorf("rollback to savepoint: %w", err)
				}
			}
			if _, err := tx.Exec(`RELEASE op`); err != nil {
				return fmt.Errorf("release savepoint: %w", err)
			}
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		return nil
	}()
	s.prepareSeen()
	for i, op := range batch {
		if err != nil && results[i] == nil {
			results[i] = err
		}
		op.done <- results[i]
	}
}
