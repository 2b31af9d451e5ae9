package postgres

import (
	"context"
	"embed"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nomosauth/nomosauth/internal/store"
	"github.com/nomosauth/nomosauth/internal/store/migrate"
	"github.com/nomosauth/nomosauth/internal/store/txn"
)

//go:embed migrations/*.sql
var migrations embed.FS

// dialect: row locks make concurrent transactions on any replica judge a
// row one after another (PRODUCT S3); KEY SHARE keeps a referenced row
// from being deleted without blocking updates of it.
var dialect = txn.Dialect{ForUpdate: " FOR UPDATE", ForUpdateOf: " FOR UPDATE OF ", ForShare: " FOR SHARE", ForKeyShare: " FOR KEY SHARE", Greatest: "GREATEST"}

// Store is the PostgreSQL backend: the store verbs of txn on this database.
type Store struct {
	*txn.Store
	db *db
}

var _ store.Store = (*Store)(nil)

// db is the port: the pool.
type db struct {
	pool *pgxpool.Pool
	// observe learns of each commit, grouped or not (PRODUCT O7); nil is none.
	observe txn.CommitObserver
}

// opTimeout bounds one store call when the caller's context has no
// deadline, so a stuck or unreachable database fails requests within
// about 2 s with store.ErrUnavailable instead of hanging them (PRODUCT S5).
const opTimeout = 2 * time.Second

// openTimeout bounds Open: connecting and migrating, which may wait for
// another replica's migrations.
const openTimeout = 10 * time.Second

// connectTimeout bounds one connection attempt unless the DSN's
// connect_timeout says otherwise.
const connectTimeout = 2 * time.Second

// migrationLock is the advisory lock key that serialises migrations of
// replicas starting together.
const migrationLock = 7_202_611_055

// IsDSN reports whether db names a PostgreSQL database rather than a file.
func IsDSN(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// Open connects a pool to dsn, applies pending migrations and starts the
// group committer. Unknown DSN query parameters are passed to the server as
// settings (search_path=..., for example). observe, when given, learns of
// every commit (PRODUCT O7).
func Open(ctx context.Context, dsn string, observe ...txn.CommitObserver) (*Store, error) {
	files, err := migrate.Files(migrations, "migrations")
	if err != nil {
		return nil, err
	}
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
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = connectTimeout
	}
	// A connection idle for a second is pinged when acquired (pgxpool's
	// default); its ping must not hang on a vanished server.
	cfg.PingTimeout = time.Second
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, openTimeout)
		defer cancel()
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", classify(err))
	}
	if err := runMigrations(ctx, pool, files); err != nil {
		pool.Close()
		return nil, classify(err)
	}
	d := &db{pool: pool}
	if len(observe) > 0 {
		d.observe = observe[0]
	}
	applied := func(ctx context.Context) ([]store.Migration, error) { return migrate.Applied(ctx, d.Write) }
	return &Store{Store: txn.New(d, dialect, applied), db: d}, nil
}

// runMigrations applies the files under an advisory lock held on one
// connection, so replicas starting together take turns.
func runMigrations(ctx context.Context, pool *pgxpool.Pool, files []migrate.File) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrationLock); err != nil {
		return fmt.Errorf("migrate: lock: %w", err)
	}
	defer conn.Exec(context.Background(), `SELECT pg_advisory_unlock($1)`, migrationLock)
	return migrate.Run(ctx, func(ctx context.Context, fn func(txn.Querier) error) error {
		return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error { return fn(querier{c: tx}) })
	}, files, time.Now)
}

func withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, opTimeout)
}

// Reader is the pool; a read that meets a lost connection is retried once.
func (d *db) Reader() txn.Querier { return querier{c: d.pool, pool: d.pool} }

// Ping checks the database answers.
func (d *db) Ping(ctx context.Context) error {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	err := d.pool.Ping(ctx)
	if lost(err) {
		d.pool.Reset()
	}
	return classify(err)
}

// Close closes the pool.
func (d *db) Close() error {
	d.pool.Close()
	return nil
}
