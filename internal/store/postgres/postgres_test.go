package postgres

import (
	"testing"

	"github.com/nomosauth/nomosauth/internal/store/migrate"
	"github.com/nomosauth/nomosauth/internal/store/postgres/pgtest"
	"github.com/nomosauth/nomosauth/internal/store/storetest"
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
