package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/store"
	"github.com/nomosauth/nomosauth/internal/store/migrate"
	"github.com/nomosauth/nomosauth/internal/store/storetest"
	"github.com/nomosauth/nomosauth/internal/store/txn"
)

func openTemp(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Subject {
		s := openTemp(t)
		return storetest.Subject{Store: s, Inspector: storetest.Inspect(s.Backend)}
	})
}

func TestPragmas(t *testing.T) {
	s := openTemp(t)
	for pragma, want := range map[string]string{"journal_mode": "wal", "synchronous": "2", "foreign_keys": "1"} {
		var got string
		if err := s.db.wdb.QueryRow("PRAGMA " + pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("PRAGMA %s = %s, want %s", pragma, got, want)
		}
	}
	if _, err := s.db.rdb.Exec(`INSERT INTO orgs (id, name, created_at) VALUES ('org_x', 'x', 0)`); err == nil {
		t.Error("the read pool must refuse writes")
	}
}

func TestMigrations(t *testing.T) {
	path := filepath.Join(t.TempDir(), "test.db")
	storetest.Migrations(t, migrations, func() (*Store, error) { return Open(t.Context(), path) },
		func(s *Store, files []migrate.File) error {
			return migrate.Run(t.Context(), func(ctx context.Context, fn func(txn.Querier) error) error {
				return direct(ctx, s.db.wdb, fn)
			}, files, time.Now)
		})
}

// TestOldLedger: a file the old runner migrated (its ledger without name
// and checksum) opens, also from several processes at once.
func TestOldLedger(t *testing.T) {
	storetest.OldLedger(t, migrations, func() string { return filepath.Join(t.TempDir(), "old.db") },
		func(file string, files []migrate.File) error {
			// As the old code did: every connection in WAL mode.
			db, err := sql.Open("sqlite", "file:"+file+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)")
			if err != nil {
				return err
			}
			defer db.Close()
			if _, err := db.Exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
				return err
			}
			for _, f := range files {
				if _, err := db.Exec(f.Body); err != nil {
					return err
				}
				if _, err := db.Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, f.Version, time.Now().UnixMicro()); err != nil {
					return err
				}
			}
			return nil
		},
		func(file string) (*Store, error) { return Open(t.Context(), file) })
}

// TestClassifiesByCode: constraint failures become sentinels by SQLite's
// result code, whatever the message says.
func TestClassifiesByCode(t *testing.T) {
	s := openTemp(t)
	err := direct(t.Context(), s.db.wdb, func(tx txn.Querier) error {
		if _, err := tx.Exec(t.Context(), `INSERT INTO orgs (id, name, created_at) VALUES ('org_1', 'a', 0)`); err != nil {
			return err
		}
		_, err := tx.Exec(t.Context(), `INSERT INTO orgs (id, name, created_at) VALUES ('org_1', 'b', 0)`)
		return err
	})
	if !errors.Is(err, store.ErrConflict) {
		t.Errorf("duplicate key: %v, want ErrConflict", err)
	}
	err = direct(t.Context(), s.db.wdb, func(tx txn.Querier) error {
		_, err := tx.Exec(t.Context(), `INSERT INTO client_secrets (hash, client_id, created_at, expires_at) VALUES ('h', 'client_missing', 0, 0)`)
		return err
	})
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("foreign key: %v, want ErrNotFound", err)
	}
	if err := classify(errors.New("UNIQUE constraint failed: orgs.id")); errors.Is(err, store.ErrConflict) {
		t.Error("an error is classified by its text")
	}
}

func TestRejectsDSNs(t *testing.T) {
	for _, p := range []string{"", "file:x.db", "x.db?_pragma=synchronous(OFF)"} {
		if _, err := Open(t.Context(), p); err == nil {
			t.Errorf("Open(%q) accepted", p)
		}
	}
}

// BenchmarkWrites: go test ./internal/store/sqlite -run '^$' -bench Writes
func BenchmarkWrites(b *testing.B) {
	s, err := Open(b.Context(), filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	storetest.BenchWrites(b, s)
}

// TestCheckpointsOffTheWritePath: the writer does not checkpoint; the
// background checkpointer, started by Open, copies every committed page
// while the store is in use, so the WAL is reset instead of growing.
func TestCheckpointsOffTheWritePath(t *testing.T) {
	s := openTemp(t)
	var auto int
	if err := s.db.wdb.QueryRow(`PRAGMA wal_autocheckpoint`).Scan(&auto); err != nil || auto != 0 {
		t.Fatalf("writer wal_autocheckpoint = %d (%v), want 0", auto, err)
	}
	for i := range 300 {
		if err := s.CreateOrg(t.Context(), domain.Org{ID: fmt.Sprintf("org_%d", i), Name: "A"}); err != nil {
			t.Fatal(err)
		}
	}
	// Only the background goroutine counts checkpoints; one that copies
	// the whole WAL after the writes proves it runs.
	before := s.db.checkpoints.Load()
	deadline := time.Now().Add(10 * time.Second)
	for s.db.checkpoints.Load() == before {
		if time.Now().After(deadline) {
			t.Fatal("no background checkpoint copied the WAL within 10 s")
		}
		time.Sleep(checkpointInterval / 4)
	}
	if err := s.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// TestPingReportsFailingCheckpoints: a WAL that cannot be checkpointed
// grows without bound, so readiness says so once it persists.
func TestPingReportsFailingCheckpoints(t *testing.T) {
	s := openTemp(t)
	cause := errors.New("disk I/O error")
	s.db.lastErr.Store(&cause)
	s.db.failing.Store(checkpointFailures)
	if err := s.Ping(t.Context()); !errors.Is(err, cause) {
		t.Fatalf("Ping = %v, want the checkpoint failure", err)
	}
}

// TestCommitsObserved: Open's observer learns of each commit, grouped, as
// every SQLite write is (PRODUCT O7).
func TestCommitsObserved(t *testing.T) {
	db := filepath.Join(t.TempDir(), "observed.db")
	storetest.CommitsObserved(t, func(o txn.CommitObserver) (*Store, error) { return Open(t.Context(), db, o) }, true)
}

// TestBatchFailureRollsBackAlone: a group commit runs its operations
// without savepoints first; one that fails having written nothing (a
// refused token, a failed statement) leaves the batch going; one that
// fails after writing rolls the batch back, and the batch runs again with
// each operation in a savepoint, so only the failing one's writes are
// undone and the others commit, each told its own outcome.
func TestBatchFailureRollsBackAlone(t *testing.T) {
	s := openTemp(t)
	refuse := errors.New("refused")
	runs := map[string]int{}
	insert := func(id string, fail bool) func(txn.Querier) error {
		return func(q txn.Querier) error {
			runs[id]++
			if _, err := q.Exec(t.Context(), `INSERT INTO orgs (id, name, created_at) VALUES ($1, $1, 0)`, id); err != nil {
				return err
			}
			if fail {
				return refuse
			}
			return nil
		}
	}
	for _, tc := range []struct {
		name, prefix string
		ops          []func(txn.Querier) error
		want         []error
		rows         []string
		runs         int // how often the first operation ran
	}{
		{"all_succeed", "a", []func(txn.Querier) error{insert("a1", false), insert("a2", false), insert("a3", false)}, []error{nil, nil, nil}, []string{"a1", "a2", "a3"}, 1},
		{"middle_fails", "b", []func(txn.Querier) error{insert("b1", false), insert("b2", true), insert("b3", false)}, []error{nil, refuse, nil}, []string{"b1", "b3"}, 2},
		{"lone_fails", "c", []func(txn.Querier) error{insert("c1", true)}, []error{refuse}, nil, 1},
		{"duplicate_key", "d", []func(txn.Querier) error{insert("d1", false), insert("d1", false)}, []error{nil, store.ErrConflict}, []string{"d1"}, 2}, // two operations on d1, once each: the failed insert wrote nothing
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := s.db.commit(tc.ops)
			for i := range got {
				if !errors.Is(got[i], tc.want[i]) || (tc.want[i] == nil) != (got[i] == nil) {
					t.Fatalf("results %v, want %v", got, tc.want)
				}
			}
			var rows []string
			rs, err := s.db.rdb.Query(`SELECT id FROM orgs WHERE id LIKE $1 ORDER BY id`, tc.prefix+"%")
			if err != nil {
				t.Fatal(err)
			}
			for rs.Next() {
				var id string
				if err := rs.Scan(&id); err != nil {
					t.Fatal(err)
				}
				rows = append(rows, id)
			}
			rs.Close()
			if !slices.Equal(rows, tc.rows) {
				t.Fatalf("rows %v, want %v", rows, tc.rows)
			}
			// A batch runs once unless an operation failed after
			// writing: then it runs again, isolated.
			if n := runs[tc.prefix+"1"]; n != tc.runs {
				t.Fatalf("the first operation ran %d times, want %d", n, tc.runs)
			}
		})
	}
}
