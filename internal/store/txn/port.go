package txn

import (
	"context"
	"errors"
	"fmt"

	"github.com/nomosauth/nomosauth/internal/store"
	"github.com/nomosauth/nomosauth/internal/store/rowcodec"
)

// Querier runs SQL on one backend, inside a transaction or on the read
// pool. Implementations translate driver errors into the store sentinels:
// no row is store.ErrNotFound (from Scan), a unique violation
// store.ErrConflict, a foreign-key violation store.ErrNotFound.
type Querier interface {
	// Exec runs a statement and returns how many rows it changed.
	Exec(ctx context.Context, query string, args ...any) (int64, error)
	// QueryRow runs a query for one row.
	QueryRow(ctx context.Context, query string, args ...any) rowcodec.Scanner
	// Query runs a query and calls each for every row, in order.
	Query(ctx context.Context, query string, args []any, each func(rowcodec.Scanner) error) error
	// ExecMany runs one statement once per argument list, as a batch where
	// the driver can.
	ExecMany(ctx context.Context, query string, argLists [][]any) error
}

// Backend is the port a database brings.
type Backend interface {
	// Reader is the querier for reads outside a transaction.
	Reader() Querier
	// Write runs fn in one transaction and returns once it has committed
	// (PRODUCT S2), or fn's error with nothing of fn written. fn may run
	// more than once (a retried serialization failure on PostgreSQL; on
	// SQLite, a group commit run again because another write in it
	// failed), so it sets its outputs afresh on every run.
	Write(ctx context.Context, fn func(tx Querier) error) error
	// Ping checks the database answers.
	Ping(ctx context.Context) error
	// Close finishes queued writes and releases the database.
	Close() error
}

// Dialect is what the SQL of the shells needs to know of a backend.
type Dialect struct {
	// Row-lock clauses appended to a SELECT inside a transaction, so that
	// concurrent transactions on any replica judge a row one after another
	// (PRODUCT S3). Empty on SQLite: its single writer runs one
	// transaction at a time.
	ForUpdate, ForShare, ForKeyShare string
	// ForUpdateOf is ForUpdate naming the aliases of a join whose rows it
	// locks (a row of an outer join's nullable side cannot be locked).
	ForUpdateOf string
	// Greatest is the scalar maximum of two values: GREATEST or max.
	Greatest string
}

// Violation is what a driver error says about a constraint, or about
// the database itself.
type Violation int

// The violations the store turns into sentinels.
const (
	NoViolation Violation = iota
	Unique                // a UNIQUE or PRIMARY KEY constraint
	ForeignKey            // a FOREIGN KEY constraint
	// Unavailable: the database cannot be reached or written (connection
	// lost or refused, shut down, disk full, I/O error); PRODUCT S5.
	Unavailable
)

// ClassifyBy classifies err with the driver's error type E: noRows is the
// driver's "no row" error, violation reads a constraint violation off E.
func ClassifyBy[E error](err error, noRows error, violation func(E) Violation) error {
	if err == nil {
		return nil
	}
	var e E
	v := NoViolation
	if errors.As(err, &e) {
		v = violation(e)
	}
	return Classify(err, errors.Is(err, noRows), v)
}

// Classify turns a driver error into the store sentinels, keeping the
// driver's error in the chain for the log: no row (noRows) and a
// foreign-key violation are store.ErrNotFound, a unique violation
// store.ErrConflict, an unavailable database store.ErrUnavailable. Each
// backend says which by its driver's codes, never by the message text. An
// error already classified (a layer above a classified call classifies
// again) is returned as it is.
func Classify(err error, noRows bool, v Violation) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrNotFound):
		return err
	case v == Unavailable:
		return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
	case noRows:
		return store.ErrNotFound
	case v == Unique:
		return fmt.Errorf("%w: %w", store.ErrConflict, err)
	case v == ForeignKey:
		return fmt.Errorf("%w: %w", store.ErrNotFound, err)
	}
	return err
}

// Rows is what the drivers' result sets share.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// EachRow calls fn for every row, stopping at the first error; the caller
// closes rows and classifies the error.
func EachRow(rows Rows, fn func(rowcodec.Scanner) error) error {
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
