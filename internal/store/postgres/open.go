package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nomosauth/nomosauth/internal/store"
	"github.com/nomosauth/nomosauth/internal/store/rowcodec"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is the PostgreSQL backend.
type Store struct {
	pool *pgxpool.Pool

	issues   chan issueOp // group-committed IssueRefreshToken calls
	quit     chan struct{}
	done     chan struct{}
	once     sync.Once
	closeErr error
}

var _ store.Store = (*Store)(nil)

// opTimeout bounds one store call when the caller's context has no
// deadline, so a stuck database fails requests instead of hanging them.
const opTimeout = 10 * time.Second

// migrationLock is the advisory lock key that serialises migrations of
// replicas starting together.
const migrationLock = 7_202_611_055

// IsDSN reports whether db names a PostgreSQL database rather than a file.
func IsDSN(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// Open connects a pool to dsn, applies pending migrations and starts the
// group committer. Unknown DSN query parameters are passed to the server as
// settings (search_path=..., for example).
func Open(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse dsn: %w", err)
	}
	if cfg.MaxConns < 16 {
		cfg.MaxConns = 16
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = "nomosauth"
	// Commits are durable before they return (PRODUCT S2), whatever the
	// server's default.
	cfg.ConnConfig.RuntimeParams["synchronous_commit"] = "on"
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	s := &Store{pool: pool, issues: make(chan issueOp), quit: make(chan struct{}), done: make(chan struct{})}
	go s.committer()
	return s, nil
}

// Migrations lists the embedded migration versions, oldest first.
func Migrations() ([]int, error) {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var out []int
	for _, name := range names {
		v, err := strconv.Atoi(strings.SplitN(path.Base(name), "_", 2)[0])
		if err != nil {
			return nil, fmt.Errorf("bad migration name %s", name)
		}
		out = append(out, v)
	}
	return out, nil
}

// migrate applies each migration not yet applied, one transaction each,
// under an advisory lock so replicas starting together take turns.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrationLock); err != nil {
		return fmt.Errorf("migrate: lock: %w", err)
	}
	defer conn.Exec(context.Background(), `SELECT pg_advisory_unlock($1)`, migrationLock)
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for _, name := range names {
		version, _ := strconv.Atoi(strings.SplitN(path.Base(name), "_", 2)[0])
		body, err := migrations.ReadFile(name)
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			var n int
			if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = $1`, version).Scan(&n); err != nil || n > 0 {
				return err
			}
			if _, err := tx.Exec(ctx, string(body)); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`, version, time.Now().UnixMicro())
			return err
		})
		if err != nil {
			return fmt.Errorf("migrate %s: %w", path.Base(name), err)
		}
	}
	return nil
}

// AppliedMigrations lists the versions recorded in the database.
func (s *Store) AppliedMigrations(ctx context.Context) ([]int, error) {
	return queryAll(ctx, s, func(r rowcodec.Scanner) (int, error) {
		var v int
		return v, r.Scan(&v)
	}, `SELECT version FROM schema_migrations ORDER BY version`)
}

func withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, opTimeout)
}

// retryable reports a failure that a fresh attempt of the whole
// transaction may not meet: a serialization failure or a deadlock.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// tx runs fn in a READ COMMITTED transaction and commits it, retrying a
// few times when the database asks for it. fn may run more than once.
func (s *Store) tx(ctx context.Context, fn func(pgx.Tx) error) error {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		err = pgx.BeginFunc(ctx, s.pool, fn)
		if !retryable(err) {
			return err
		}
	}
	return err
}

// querier is what a pool and a transaction share.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// queryRow runs a one-row query on the pool with the store's deadline.
func (s *Store) queryRow(ctx context.Context, scan func(rowcodec.Scanner) error, sql string, args ...any) error {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	return scan(s.pool.QueryRow(ctx, sql, args...))
}

// queryAll runs a query on the pool and scans each row with scan.
func queryAll[T any](ctx context.Context, s *Store, scan func(rowcodec.Scanner) (T, error), sql string, args ...any) ([]T, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	return collect(ctx, s.pool, scan, sql, args...)
}

func collect[T any](ctx context.Context, q querier, scan func(rowcodec.Scanner) (T, error), sql string, args ...any) ([]T, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	return s.pool.Ping(ctx)
}

// Close stops the group committer after the writes already queued and
// closes the pool.
func (s *Store) Close() error {
	s.once.Do(func() {
		close(s.quit)
		<-s.done
		s.pool.Close()
	})
	return s.closeErr
}
