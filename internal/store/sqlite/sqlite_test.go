package sqlite

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"testing"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/store"
	"github.com/nomosauth/nomosauth/internal/store/storetest"
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
	storetest.Run(t, func(t *testing.T) store.Store { return openTemp(t) })
}

func TestPragmas(t *testing.T) {
	s := openTemp(t)
	for pragma, want := range map[string]string{"journal_mode": "wal", "synchronous": "2", "foreign_keys": "1"} {
		var got string
		if err := s.wdb.QueryRow("PRAGMA " + pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("PRAGMA %s = %s, want %s", pragma, got, want)
		}
	}
	if _, err := s.rdb.Exec(`INSERT INTO orgs (id, name, created_at) VALUES ('org_x', 'x', 0)`); err == nil {
		t.Error("the read pool must refuse writes")
	}
}

func TestReopenKeepsDataAndMigrationsAreIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "test.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateOrg(t.Context(), domain.Org{ID: "org_1", Name: "A"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.GetOrg(t.Context(), "org_1"); err != nil {
		t.Fatal(err)
	}
	files, _ := fs.Glob(migrations, "migrations/*.sql")
	var n int
	if err := s.rdb.QueryRow(`SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil || n != len(files) {
		t.Fatalf("schema_migrations has %d rows (%v), want one per migration file (%d)", n, err, len(files))
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

// TestCheckpointsOffTheWritePath: the writer does not checkpoint, and a
// passive checkpoint (what the background checkpointer runs) can copy
// every committed page while the store is in use, so the WAL is reset
// instead of growing.
func TestCheckpointsOffTheWritePath(t *testing.T) {
	s := openTemp(t)
	var auto int
	if err := s.wdb.QueryRow(`PRAGMA wal_autocheckpoint`).Scan(&auto); err != nil || auto != 0 {
		t.Fatalf("writer wal_autocheckpoint = %d (%v), want 0", auto, err)
	}
	for i := range 300 {
		if err := s.CreateOrg(t.Context(), domain.Org{ID: fmt.Sprintf("org_%d", i), Name: "A"}); err != nil {
			t.Fatal(err)
		}
	}
	var busy, logged, done int
	deadline := time.Now().Add(5 * time.Second)
	for {
		if err := s.cdb.QueryRow(`PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &logged, &done); err != nil {
			t.Fatal(err)
		}
		if logged == done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("WAL not checkpointed: %d logged, %d copied", logged, done)
		}
		time.Sleep(checkpointInterval)
	}
}
