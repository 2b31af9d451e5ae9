package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"modernc.org/sqlite" // registers the "sqlite" driver

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

	file string // the database file; its WAL is file+"-wal"

	health health // whether the last writes could be written

	quit           chan struct{}
	checkpointDone chan struct{} // closes when the checkpointer has stopped
	// checkpoints counts passive checkpoints that copied the whole WAL;
	// failing counts ticks in a row whose checkpoint failed, and lastErr
	// is the latest failure, which Ping reports once it persists.
	checkpoints atomic.Int64
	truncates   atomic.Int64 // truncating checkpoints that emptied the WAL
	restarts    atomic.Int64 // ticks that found the WAL restarted since the last
	failing     atomic.Int64
	// commits counts the writer's commits, so the checkpointer can tell a
	// tick with no write from one whose writes restarted the WAL.
	commits atomic.Int64
	// writing is held by the writer for each batch and by a truncating
	// checkpoint, which the writer's commits would otherwise starve.
	writing sync.Mutex
	// Only the checkpointer uses these: the WAL's frame count and the
	// commit count at its last tick, and when a truncation last found
	// readers in the way.
	lastLogged  int
	lastCommits int64
	lastBusy    time.Time
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
// migrations and starts the writer and the checkpointer. Only serve and
// migrate create a database (PRODUCT O9); the admin commands use
// OpenExisting. observe, when given, learns of every commit (PRODUCT O7).
func Open(ctx context.Context, file string, observe ...txn.CommitObserver) (*Store, error) {
	return open(ctx, file, true, observe...)
}

// OpenExisting is Open for a database file that must exist already: a
// missing file is an error that names it, and none is created (PRODUCT O9).
func OpenExisting(ctx context.Context, file string) (*Store, error) {
	return open(ctx, file, false)
}

// Busy timeouts: how long a connection waits for a lock another holds.
// The writer and readers give up after 2 s, so a database locked by
// another process fails requests quickly with store.ErrUnavailable
// (PRODUCT S5); migrations, run once at start while other processes may be
// migrating too, wait longer; the checkpointer's truncating checkpoints
// block writers while they wait for readers, so they give up soon.
const (
	busyTimeout           = "busy_timeout(2000)"
	migrationBusyTimeout  = "busy_timeout(10000)"
	checkpointBusyTimeout = "busy_timeout(250)"
)

func open(ctx context.Context, file string, create bool, observe ...txn.CommitObserver) (*Store, error) {
	if file == "" || strings.HasPrefix(file, "file:") || strings.Contains(file, "?") {
		return nil, fmt.Errorf("sqlite: give a plain file path, not %q", file)
	}
	if err := checkPath(file, create); err != nil {
		return nil, err
	}
	files, err := migrate.Files(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	// synchronous=FULL: a commit is on disk before it returns (PRODUCT S2).
	pragmas := []string{"journal_mode(WAL)", "synchronous(FULL)", "foreign_keys(1)"}
	dsn := func(extra ...string) string {
		q := url.Values{}
		for _, p := range append(pragmas, extra...) {
			q.Add("_pragma", p)
		}
		if !create {
			q.Set("mode", "rw") // SQLite itself refuses to create the file
		}
		return "file:" + (&url.URL{Path: file}).EscapedPath() + "?" + q.Encode()
	}
	d := &db{file: file, wstmts: map[string]*sql.Stmt{}, unprepared: map[string]bool{}, quit: make(chan struct{})}
	// Migrations run on a connection of their own, closed before the
	// writer starts.
	mdb, err := sql.Open("sqlite", dsn(migrationBusyTimeout)+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	mdb.SetMaxOpenConns(1)
	err = migrate.Run(ctx, func(ctx context.Context, fn func(txn.Querier) error) error { return direct(ctx, mdb, fn) }, files, time.Now)
	mdb.Close()
	if err != nil {
		return nil, explain(file, err)
	}
	// The writer never checkpoints: a background connection does, so a
	// commit never waits for pages to be copied into the database file.
	if d.wdb, err = sql.Open("sqlite", dsn(busyTimeout, "wal_autocheckpoint(0)", fmt.Sprintf("journal_size_limit(%d)", walLimit))+"&_txlock=immediate"); err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	d.wdb.SetMaxOpenConns(1)
	d.wdb.SetMaxIdleConns(1)
	d.wdb.SetConnMaxLifetime(0)
	d.wdb.SetConnMaxIdleTime(0)
	if d.rdb, err = sql.Open("sqlite", dsn(busyTimeout, "query_only(1)")); err != nil {
		d.wdb.Close()
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	d.rdb.SetMaxOpenConns(maxReaders)
	d.rdb.SetMaxIdleConns(maxReaders)
	d.rdb.SetConnMaxIdleTime(0)
	if d.cdb, err = sql.Open("sqlite", dsn(checkpointBusyTimeout)); err != nil {
		d.rdb.Close()
		d.wdb.Close()
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	d.cdb.SetMaxOpenConns(1)
	// Every write of SQLite's one writer is group-committed, so the
	// batcher sees them all.
	d.writes = txn.NewBatcher(maxBatch, d.commit, firstObserver(observe))
	d.checkpointDone = d.startCheckpointer(checkpointInterval)
	applied := func(ctx context.Context) ([]store.Migration, error) { return migrate.Applied(ctx, d.Write) }
	return &Store{Store: txn.New(d, dialect, applied), db: d}, nil
}

// firstObserver is the optional observer of Open's variadic argument.
func firstObserver(observe []txn.CommitObserver) txn.CommitObserver {
	if len(observe) == 0 {
		return nil
	}
	return observe[0]
}

// direct runs fn in a transaction of its own on conn, outside the group
// commit: the migration runner's transactions, before the writer starts.
func direct(ctx context.Context, conn *sql.DB, fn func(txn.Querier) error) error {
	tx, err := conn.BeginTx(ctx, nil)
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

// Ping checks both pools, that checkpoints keep the WAL short and that the
// database can be written (PRODUCT S5): it fails while the last writes
// failed for want of the database, else it writes the header page, which
// a full disk or a read-only file refuses.
func (d *db) Ping(ctx context.Context) error {
	if err := d.rdb.PingContext(ctx); err != nil {
		return classify(err)
	}
	if n := d.failing.Load(); n >= checkpointFailures {
		if err := d.lastErr.Load(); err != nil {
			return fmt.Errorf("sqlite: the last %d WAL checkpoints failed: %w", n, *err)
		}
	}
	if err := d.health.failing(time.Now()); err != nil {
		return err
	}
	return d.Write(ctx, func(tx txn.Querier) error {
		var v int64
		if err := tx.QueryRow(ctx, `PRAGMA user_version`).Scan(&v); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `PRAGMA user_version = `+strconv.FormatInt(v, 10))
		return err
	})
}

// health remembers the last write that failed because the database could
// not be written, until a write succeeds.
type health struct {
	last atomic.Pointer[writeFailure]
}

type writeFailure struct {
	at  time.Time
	err error
}

// unwritableHold is how long a failed write alone keeps Ping failing;
// after it, Ping's own write decides.
const unwritableHold = 5 * time.Second

// record notes the outcome of a batch: a failure for want of the database
// marks it unwritable; a batch with a write that committed clears it.
func (h *health) record(results []error, now time.Time) {
	ok := false
	for _, err := range results {
		if errors.Is(err, store.ErrUnavailable) {
			h.last.Store(&writeFailure{at: now, err: err})
			return
		}
		ok = ok || err == nil
	}
	if ok {
		h.last.Store(nil)
	}
}

// failing returns the last write's failure while it is recent.
func (h *health) failing(now time.Time) error {
	if f := h.last.Load(); f != nil && now.Sub(f.at) < unwritableHold {
		return f.err
	}
	return nil
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
// (PASSIVE: it never waits for the writer or readers, and pauses the
// writer only to catch up or truncate, see checkpoint), so the WAL stays short
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
// was copied. Then, when the WAL holds more than walLimit of frames, or
// when no write came since the last tick, it truncates the WAL (PRODUCT
// S7): a passive checkpoint copies pages but the writer can restart the
// WAL only when no reader still uses it, so under steady reads and writes
// it grows. The frames in use, not the file's size, decide: the file keeps
// its high-water mark after a restart (journal_size_limit trims it), and
// truncating a WAL that restarts by itself would only pause the writer.
//
// Otherwise, when it copied everything it saw, it copies the few frames
// the writer committed meanwhile with the writer paused (catchUp), so the
// WAL is whole in the database file and the writer's next transaction
// restarts it from its start: under commits that never pause, a passive
// checkpoint alone never catches up, and the WAL would only grow between
// truncations. The commits after a restart overwrite frames the file
// already has, and an fsync that need not grow the file costs the disk
// about half as much (the benchmark's refresh scenario, issue 17). When
// readers held frames back, the writer is not paused for nothing: they
// would hold back the catch-up too.
func (d *db) checkpoint() (bool, error) {
	var busy, logged, copied int
	if err := d.cdb.QueryRow(`PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &logged, &copied); err != nil {
		return false, err
	}
	commits := d.commits.Load()
	idle := logged > 0 && commits == d.lastCommits
	if logged < d.lastLogged {
		d.restarts.Add(1)
	}
	d.lastLogged, d.lastCommits = logged, commits
	size := int64(logged) * walFrameSize
	if idle || size > 2*walLimit || (size > walLimit && time.Since(d.lastBusy) >= truncateEvery) {
		// TRUNCATE waits (the checkpointer's short busy timeout) for the
		// readers of the WAL to finish, copies the rest and empties the
		// file. New readers meanwhile read the database file. The writer
		// pauses meanwhile: its commits follow one another too closely
		// for the checkpoint to win the write lock by polling.
		d.writing.Lock()
		err := d.cdb.QueryRow(`PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logged, &copied)
		d.writing.Unlock()
		if err != nil {
			return false, err
		}
		if busy == 0 {
			d.lastLogged = 0
			d.truncates.Add(1)
		} else {
			d.lastBusy = time.Now()
		}
		return logged == copied, nil
	}
	if logged > 0 && copied == logged {
		return d.catchUp()
	}
	return logged == copied, nil
}

// catchUp is a passive checkpoint with the writer paused: it never waits
// for readers, and what it copies is what the writer committed during the
// unpaused checkpoint before it, so the pause is short: those frames and
// the checkpoint's fsyncs.
func (d *db) catchUp() (bool, error) {
	var busy, logged, copied int
	d.writing.Lock()
	err := d.cdb.QueryRow(`PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &logged, &copied)
	d.writing.Unlock()
	if err != nil {
		return false, err
	}
	d.lastLogged = logged
	return logged == copied, nil
}

// walLimit is the WAL size past which the checkpointer truncates it: well
// under PRODUCT S7's 64 MB, since the WAL grows between a truncation that
// found readers in the way and the next (TestWALStaysBounded measured peaks
// of 25-28 MB at 2,300-2,900 new families a second).
const walLimit = 8 << 20

// truncateEvery spaces truncations after one found readers in the way, as
// each blocks writers for up to the checkpointer's busy timeout; past
// twice walLimit they follow at once, so writers slow down rather than
// the WAL grow.
const truncateEvery = 250 * time.Millisecond

// walFrameSize is the size of one WAL frame: a 24-byte header and a page
// (SQLite's default page size, which nomosauth never changes).
const walFrameSize = 24 + 4096

// checkPath says why file cannot be a database, naming it (PRODUCT O9): it
// is a directory, read-only, its folder is missing or not a folder, or,
// when create is false, it does not exist or is empty.
func checkPath(file string, create bool) error {
	fi, err := os.Stat(file)
	switch {
	case err == nil && fi.IsDir():
		return fmt.Errorf("sqlite: cannot open %s: it is a directory, not a database file", file)
	case err == nil && fi.Size() == 0 && !create:
		// SQLite would take it for a new database and the migrations would
		// make one: only serve and migrate create a database.
		return fmt.Errorf("sqlite: cannot open %s: the file is empty, not a nomosauth database (only serve and migrate create one; check --db)", file)
	case err == nil:
		// Every command writes (migrations, the audit log, sessions): a
		// read-only file would fail at its first write, naming nothing.
		f, werr := os.OpenFile(file, os.O_RDWR, 0)
		if werr != nil {
			if errors.Is(werr, fs.ErrPermission) || errors.Is(werr, syscall.EROFS) {
				return fmt.Errorf("sqlite: cannot open %s: the file is read-only (nomosauth writes to its database)", file)
			}
			return fmt.Errorf("sqlite: cannot open %s: %w", file, werr)
		}
		f.Close()
		return nil
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("sqlite: cannot open %s: %w", file, err)
	}
	dir := filepath.Dir(file)
	switch di, err := os.Stat(dir); {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("sqlite: cannot open %s: the folder %s does not exist", file, dir)
	case err != nil:
		return fmt.Errorf("sqlite: cannot open %s: %w", file, err)
	case !di.IsDir():
		return fmt.Errorf("sqlite: cannot open %s: %s is not a folder", file, dir)
	case !create:
		return fmt.Errorf("sqlite: cannot open %s: no such database (only serve and migrate create one; check --db)", file)
	}
	return nil
}

// explain adds to a failed open which file it was and, when it could not
// be opened or written, why: SQLite's own message ("unable to open
// database file") names neither.
func explain(file string, err error) error {
	var se *sqlite.Error
	if !errors.As(err, &se) || !unavailable(se.Code()) {
		return fmt.Errorf("sqlite: open %s: %w", file, err)
	}
	reason := "cannot read or write it"
	if f, ferr := os.OpenFile(file, os.O_RDWR, 0); ferr != nil {
		if errors.Is(ferr, fs.ErrPermission) {
			reason = "the file is read-only"
		}
	} else {
		f.Close()
		if probe, perr := os.CreateTemp(filepath.Dir(file), ".nomosauth-probe-*"); perr != nil {
			reason = "its folder is read-only (SQLite writes the -wal and -shm files beside the database)"
		} else {
			probe.Close()
			os.Remove(probe.Name())
		}
	}
	return fmt.Errorf("sqlite: cannot open %s: %s: %w", file, reason, err)
}
