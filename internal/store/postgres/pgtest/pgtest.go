// Package pgtest gives tests a fresh PostgreSQL schema: the database comes
// from NOMOSAUTH_TEST_POSTGRES (scripts/with-postgres.sh starts a throwaway
// cluster and sets it). Unset, the test skips with a message, unless
// NOMOSAUTH_TEST_REQUIRE_POSTGRES=1 (CI), which makes it fail instead.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

// Base returns the test database's DSN, or skips (or fails) the test.
func Base(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("NOMOSAUTH_TEST_POSTGRES")
	if dsn == "" {
		if os.Getenv("NOMOSAUTH_TEST_REQUIRE_POSTGRES") == "1" {
			t.Fatal("NOMOSAUTH_TEST_POSTGRES is unset and NOMOSAUTH_TEST_REQUIRE_POSTGRES=1: run the tests through scripts/test.sh")
		}
		t.Skip("NOMOSAUTH_TEST_POSTGRES is unset: PostgreSQL is not tested (scripts/test.sh starts a throwaway cluster)")
	}
	return dsn
}

// Schema creates a fresh schema, dropped when the test ends, and returns
// the test database's DSN with that schema as its search path, and a
// connection to it for the test's own queries.
func Schema(t testing.TB) (string, *pgx.Conn) {
	t.Helper()
	base := Base(t)
	b := make([]byte, 6)
	rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	conn, err := pgx.Connect(context.Background(), base)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := conn.Exec(ctx, `CREATE SCHEMA `+schema); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `SET search_path = `+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Exec(context.Background(), `DROP SCHEMA `+schema+` CASCADE`)
		conn.Close(context.Background())
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), conn
}
