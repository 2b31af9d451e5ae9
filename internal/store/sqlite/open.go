package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/store"
	"github.com/nomosauth/nomosauth/internal/store/migrate"
	"github.com/nomosauth/nomosauth/internal/store/txn"
)

//go:embed migrations/*.sql
var migrations embed.FS

// dialect: SQLite takes no row locks; its one writer runs one transaction
// at a time, so a read inside it sees rows no one else can change.
var dialect = txn.Dialect{Greatest: "max"}

// Store is the SQLite backend: the store verbs of txn on this file.
type Store struct {
	*txn.Store
	db *db
}

var _ store.Store = (*Store)(nil)

// db is the port: the read pool, the one writer and the checkpointer.
type db struct {
	rdb *sql.DB // readers: many connections, query_only
	wdb *sql.DB // the writer: one connection, BEGIN IMMEDIATE
	cdb *sql.DB // the checkpointer's connection

	stmts sync.Map // query text -> *sql.Stmt on rdb

	// The writer's prepared statements; only the writer goroutine uses them.
	wstmts     map[string]*sql.Stmt
	unprepared map[string]bool

	writes *txn.Batcher[func(txn.Querier) error]

	quit           chan struct{}
	checkpointDone chan struct{} // closes when the checkpointer has stopped
	// checkpoints counts passive checkpoints that copied the whole WAL;
	// failing counts ticks in a row whose checkpoint failed, and lastErr
	// is the latest failure, which Ping reports once it persists.
	checkpoints atomic.Int64
	failing     atomic.Int64
	lastErr     atomic.Pointer[error]
	closeErr    error
	once        sync.Once
}

// maxReaders bounds concurrent read connections: WAL readers do not block
// one another, and a few per core is plenty.
const maxReaders = 8

// maxBatch bounds one group commit; beyond it the next batch starts at once.
const maxBatch = 256

// Open opens (creating if needed) the database file at path, applies pending
// migrations and starts the writer and the checkpointer.
func Open(ctx context.Context, file string) (*Store, error) {
	if file == "" || strings.HasPrefix(file, "file:") || strings.Contains(file, "?") {
		return nil, fmt.Errorf("sqlite: give a plain file path, not %q", file)
	}
	files, err := migrate.Files(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	// synchronous=FULL: a commit is on disk before it returns (PRODUCT S2).
	pragmas := []string{"busy_timeout(10000)", "journal_mode(WAL)", "synchronous(FULL)", "foreign_keys(1)"}
	dsn := func(extra ...string) string {
		q := url.Values{}
		for _, p := range append(pragmas, extra...) {
			q.Add("_pragma", p)
		}
		return "file:" + (&url.URL{Path: file}).EscapedPath() + "?" + q.Encode()
	}
	d := &db{wstmts: map[string]*sql.Stmt{}, unprepared: map[string]bool{}, quit: make(chan struct{})}
	// The writer never checkpoints: a background connection does, so a
	// commit never waits for pages to be copied into the database file.
	if d.wdb, err = sql.Open("sqlite", dsn("wal_autocheckpoint(0)", "journal_size_limit(67108864)")+"&_txlock=immediate"); err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	d.wdb.SetMaxOpenConns(1)
	d.wdb.SetMaxIdleConns(1)
	d.wdb.SetConnMaxLifetime(0)
	d.wdb.SetConnMaxIdleTime(0)
	if err := migrate.Run(ctx, d.direct, files, time.Now); err != nil {
		d.wdb.Close()
		return nil, err
	}
	if d.rdb, err = sql.Open("sqlite", dsn("query_only(1)")); err != nil {
		d.wdb.Close()
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	d.rdb.SetMaxOpenConns(maxReaders)
	d.rdb.SetMaxIdleConns(maxReaders)
	d.rdb.SetConnMaxIdleTime(0)
	if d.cdb, err = sql.Open("sqlite", dsn()); err != nil {
		d.rdb.Close()
		d.wdb.Close()
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	d.cdb.SetMaxOpenConns(1)
	d.writes = txn.NewBatcher(maxBatch, d.commit)
	d.checkpointDone = d.startCheckpointer(checkpointInterval)
	applied := func(ctx context.Context) ([]store.Migration, error) { return migrate.Applied(ctx, d.Write) }
	return &Store{Store: txn.New(d, dialect, applied), db: d}, nil
}

// direct runs fn in a transaction of its own on the writer's connection,
// outside the group commit: the migration runner's transactions, before
// the writer starts.
func (d *db) direct(ctx context.Context, fn func(txn.Querier) error) error {
	tx, err := d.wdb.BeginTx(ctx, nil)
	if err != nil {
		return classify(err)
	}
	defer tx.Rollback()
	if err := fn(&wtx{Tx: tx}); err != nil {
		return err
	}
	return classify(tx.Commit())
}

// Reader is the read pool.
func (d *db) Reader() txn.Querier { return reader{d} }

// Ping checks both pools and that checkpoints keep the WAL short.
func (d *db) Ping(ctx context.Context) error {
	if err := d.rdb.PingContext(ctx); err != nil {
		return err
	}
	if n := d.failing.Load(); n >= checkpointFailures {
		if err := d.lastErr.Load(); err != nil {
			return fmt.Errorf("sqlite: the last %d WAL checkpoints failed: %w", n, *err)
		}
	}
	return d.Write(ctx, func(txn.Querier) error { return nil })
}

// Close stops the writer after the writes already queued, then the
// checkpointer, and closes the pools.
func (d *db) Close() error {
	d.once.Do(func() {
		d.writes.Close()
		close(d.quit)
		if d.checkpointDone != nil {
			<-d.checkpointDone
		}
		d.stmts.Range(func(_, v any) bool { v.(*sql.Stmt).Close(); return true })
		for _, st := range d.wstmts {
			st.Close()
		}
		d.closeErr = errors.Join(d.rdb.Close(), d.wdb.Close(), d.cdb.Close())
	})
	return d.closeErr
}

// StartFamily commits a new family through the group commit.
func (d *db) StartFamily(ctx context.Context, fam domain.Family, tok domain.RefreshToken) error {
	return d.Write(ctx, func(tx txn.Querier) error { return txn.StartFamily(ctx, tx, fam, tok) })
}

// checkpointInterval is how often committed WAL pages are copied into the
// database file, off the write path.
const checkpointInterval = 200 * time.Millisecond

// checkpointFailures is how many failed checkpoints in a row (10 s at the
// interval) make Ping fail: the WAL then grows without bound.
const checkpointFailures = 50

// startCheckpointer starts the checkpointer and returns the channel that
// closes when it has stopped.
func (d *db) startCheckpointer(every time.Duration) chan struct{} {
	done := make(chan struct{})
	go d.checkpointer(every, done)
	return done
}

// checkpointer copies committed pages from the WAL into the database file
// (PASSIVE: it never blocks the writer or readers), so the WAL stays short
// and no commit pays for a checkpoint. A failure is retried on the next
// tick and reported by Ping once it persists.
func (d *db) checkpointer(every time.Duration, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-d.quit:
			return
		case <-t.C:
			whole, err := d.checkpoint()
			switch {
			case err != nil:
				d.lastErr.Store(&err)
				d.failing.Add(1)
			case whole:
				d.failing.Store(0)
				d.checkpoints.Add(1)
			default: // readers held back some pages: the next tick copies them
				d.failing.Store(0)
			}
		}
	}
}

// checkpoint runs one passive checkpoint and reports whether the whole WAL
// was copied.
func (d *db) checkpoint() (bool, error) {
	var busy, logged, copied int
	if err := d.cdb.QueryRow(`PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &logged, &copied); err != nil {
		return false, err
	}
	return logged == copied, nil
}
