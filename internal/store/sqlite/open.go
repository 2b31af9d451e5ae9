package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/nomosauth/nomosauth/internal/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is the SQLite backend.
type Store struct {
	rdb *sql.DB // readers: many connections, query_only
	wdb *sql.DB // the writer: one connection, BEGIN IMMEDIATE

	stmts sync.Map // query text -> *sql.Stmt on rdb

	// The writer's prepared statements; only the writer goroutine uses them.
	wstmts     map[string]*sql.Stmt
	unprepared map[string]bool

	cdb *sql.DB // the checkpointer's connection

	ops  chan writeOp
	quit chan struct{}
	done chan struct{}
	// checkpointDone closes when the checkpointer has stopped.
	checkpointDone chan struct{}
	closeErr       error
	once           sync.Once
}

var _ store.Store = (*Store)(nil)

// maxReaders bounds concurrent read connections: WAL readers do not block
// one another, and a few per core is plenty.
const maxReaders = 8

// Open opens (creating if needed) the database file at path, applies pending
// migrations and starts the writer.
func Open(ctx context.Context, file string) (*Store, error) {
	if file == "" || strings.HasPrefix(file, "file:") || strings.Contains(file, "?") {
		return nil, fmt.Errorf("sqlite: give a plain file path, not %q", file)
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
	// The writer never checkpoints: a background connection does, so a
	// commit never waits for pages to be copied into the database file.
	wdb, err := sql.Open("sqlite", dsn("wal_autocheckpoint(0)", "journal_size_limit(67108864)")+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxLifetime(0)
	wdb.SetConnMaxIdleTime(0)
	if err := migrate(ctx, wdb); err != nil {
		wdb.Close()
		return nil, err
	}
	rdb, err := sql.Open("sqlite", dsn("query_only(1)"))
	if err != nil {
		wdb.Close()
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	rdb.SetMaxOpenConns(maxReaders)
	rdb.SetMaxIdleConns(maxReaders)
	rdb.SetConnMaxIdleTime(0)
	s := &Store{rdb: rdb, wdb: wdb, ops: make(chan writeOp), quit: make(chan struct{}), done: make(chan struct{}), checkpointDone: make(chan struct{}),
		wstmts: map[string]*sql.Stmt{}, unprepared: map[string]bool{}}
	cdb, err := sql.Open("sqlite", dsn())
	if err != nil {
		rdb.Close()
		wdb.Close()
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	cdb.SetMaxOpenConns(1)
	s.cdb = cdb
	go s.writer()
	go s.checkpointer()
	return s, nil
}

// migrate applies each numbered migration not yet applied, one transaction
// each. Two processes opening one file at once are serialised by BEGIN
// IMMEDIATE, and the loser sees the winner's versions.
func migrate(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for _, name := range names {
		version, err := strconv.Atoi(strings.SplitN(path.Base(name), "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migrate: bad file name %s", name)
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		if err := applyMigration(ctx, db, version, string(body)); err != nil {
			return fmt.Errorf("migrate %s: %w", path.Base(name), err)
		}
	}
	return nil
}

func applyMigration(ctx context.Context, db *sql.DB, version int, body string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, body); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, version, time.Now().UnixMicro()); err != nil {
		return err
	}
	return tx.Commit()
}

// Ping checks both pools.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.rdb.PingContext(ctx); err != nil {
		return err
	}
	return s.write(ctx, func(tx *wtx) error { return nil })
}

// Close stops the writer after the writes already queued and closes the pools.
func (s *Store) Close() error {
	s.once.Do(func() {
		close(s.quit)
		<-s.done
		s.stmts.Range(func(_, v any) bool { v.(*sql.Stmt).Close(); return true })
		for _, st := range s.wstmts {
			st.Close()
		}
		<-s.checkpointDone
		s.closeErr = errors.Join(s.rdb.Close(), s.wdb.Close(), s.cdb.Close())
	})
	return s.closeErr
}

// AppliedMigrations lists the versions recorded in the database.
func (s *Store) AppliedMigrations(ctx context.Context) ([]int, error) {
	return queryAll(ctx, s, func(r rowScanner) (int, error) {
		var v int
		return v, r.Scan(&v)
	}, `SELECT version FROM schema_migrations ORDER BY version`)
}

// checkpointInterval is how often committed WAL pages are copied into the
// database file, off the write path.
const checkpointInterval = 200 * time.Millisecond

// checkpointer copies committed pages from the WAL into the database file
// (PASSIVE: it never blocks the writer or readers), so the WAL stays short
// and no commit pays for a checkpoint.
func (s *Store) checkpointer() {
	defer close(s.checkpointDone)
	t := time.NewTicker(checkpointInterval)
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			return
		case <-t.C:
			s.cdb.Exec(`PRAGMA wal_checkpoint(PASSIVE)`)
		}
	}
}
