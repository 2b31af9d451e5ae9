package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/store"
	"github.com/nomosauth/nomosauth/internal/store/storetest"
)

// testDSN returns the database the tests use. Unset, the tests skip with a
// message, unless NOMOSAUTH_TEST_REQUIRE_POSTGRES=1 (CI sets it), which
// turns the skip into a failure.
func testDSN(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("NOMOSAUTH_TEST_POSTGRES")
	if dsn == "" {
		if os.Getenv("NOMOSAUTH_TEST_REQUIRE_POSTGRES") == "1" {
			t.Fatal("NOMOSAUTH_TEST_POSTGRES is unset and NOMOSAUTH_TEST_REQUIRE_POSTGRES=1: run the tests through scripts/test.sh")
		}
		t.Skip("NOMOSAUTH_TEST_POSTGRES is unset: the PostgreSQL backend is not tested (scripts/test.sh starts a throwaway cluster)")
	}
	return dsn
}

// schemaDSN creates a fresh schema and returns dsn with it as the search
// path; the schema is dropped when the test ends.
func schemaDSN(t testing.TB, dsn string) string {
	t.Helper()
	b := make([]byte, 6)
	rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(t.Context(), `CREATE SCHEMA `+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), dsn)
		if err != nil {
			return
		}
		defer conn.Close(context.Background())
		conn.Exec(context.Background(), `DROP SCHEMA `+schema+` CASCADE`)
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func openTemp(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.Context(), schemaDSN(t, testDSN(t)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	testDSN(t)
	storetest.Run(t, func(t *testing.T) store.Store { return openTemp(t) })
}

func TestReopenKeepsDataAndMigrationsAreIdempotent(t *testing.T) {
	dsn := schemaDSN(t, testDSN(t))
	s, err := Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateOrg(t.Context(), domain.Org{ID: "org_1", Name: "A"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.GetOrg(t.Context(), "org_1"); err != nil {
		t.Fatal(err)
	}
	applied, err := s.AppliedMigrations(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	embedded, _ := Migrations()
	if len(applied) != len(embedded) || applied[len(applied)-1] != embedded[len(embedded)-1] {
		t.Fatalf("applied %v, embedded %v", applied, embedded)
	}
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
	if os.Getenv("NOMOSAUTH_TEST_POSTGRES") == "" {
		b.Skip("NOMOSAUTH_TEST_POSTGRES is unset")
	}
	s, err := Open(b.Context(), schemaDSN(b, os.Getenv("NOMOSAUTH_TEST_POSTGRES")))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	storetest.BenchWrites(b, s)
}
