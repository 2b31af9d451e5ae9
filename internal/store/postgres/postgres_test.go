package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nomosauth/nomosauth/internal/store/migrate"
	"github.com/nomosauth/nomosauth/internal/store/postgres/pgtest"
	"github.com/nomosauth/nomosauth/internal/store/storetest"
	"github.com/nomosauth/nomosauth/internal/store/txn"
)

func openTemp(t *testing.T) *Store {
	t.Helper()
	dsn, _ := pgtest.Schema(t)
	s, err := Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	pgtest.Base(t)
	storetest.Run(t, func(t *testing.T) storetest.Subject {
		s := openTemp(t)
		return storetest.Subject{Store: s, Inspector: storetest.Inspect(s.Backend)}
	})
}

func TestMigrations(t *testing.T) {
	dsn, _ := pgtest.Schema(t)
	storetest.Migrations(t, migrations, func() (*Store, error) { return Open(t.Context(), dsn) },
		func(s *Store, files []migrate.File) error { return runMigrations(t.Context(), s.db.pool, files) })
}

// TestOldLedger: a database the old runner migrated (its ledger without
// name and checksum) opens, also from several replicas at once.
func TestOldLedger(t *testing.T) {
	pgtest.Base(t)
	conns := map[string]*pgx.Conn{}
	storetest.OldLedger(t, migrations, func() string {
		dsn, conn := pgtest.Schema(t)
		conns[dsn] = conn
		return dsn
	}, func(dsn string, files []migrate.File) error {
		conn, ctx := conns[dsn], context.Background()
		if _, err := conn.Exec(ctx, `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
			return err
		}
		for _, f := range files {
			if _, err := conn.Exec(ctx, f.Body); err != nil {
				return err
			}
			if _, err := conn.Exec(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`, f.Version, time.Now().UnixMicro()); err != nil {
				return err
			}
		}
		return nil
	}, func(dsn string) (*Store, error) { return Open(t.Context(), dsn) })
}

func TestIsDSN(t *testing.T) {
	for db, want := range map[string]bool{"postgres://x/y": true, "postgresql://x": true, "nomosauth.db": false, "/tmp/postgres.db": false} {
		if IsDSN(db) != want {
			t.Errorf("IsDSN(%q) != %v", db, want)
		}
	}
}

// BenchmarkWrites: scripts/with-postgres.sh go test ./internal/store/postgres -run '^$' -bench Writes
func BenchmarkWrites(b *testing.B) {
	dsn, _ := pgtest.Schema(b)
	s, err := Open(b.Context(), dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	storetest.BenchWrites(b, s)
}

// TestCommitsObserved: Open's observer learns of a write committed in its
// own transaction, outside the group commit (PRODUCT O7).
func TestCommitsObserved(t *testing.T) {
	dsn, _ := pgtest.Schema(t)
	storetest.CommitsObserved(t, func(o txn.CommitObserver) (*Store, error) { return Open(t.Context(), dsn, o) }, false)
}
