package postgres

import (
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nomosauth/nomosauth/internal/store/migrate"
	"github.com/nomosauth/nomosauth/internal/store/postgres/pgtest"
	"github.com/nomosauth/nomosauth/internal/store/storetest"
)

// TestEmailKeyMigration: email keys an older release folded with Unicode
// case folding are recomputed ASCII-only (PRODUCT A7).
func TestEmailKeyMigration(t *testing.T) {
	pgtest.Base(t)
	storetest.EmailKeyMigration(t, migrations, func() string {
		dsn, _ := pgtest.Schema(t)
		return dsn
	}, func(dsn string, files []migrate.File, seed []string) error {
		pool, err := pgxpool.New(t.Context(), dsn)
		if err != nil {
			return err
		}
		defer pool.Close()
		err = runMigrations(t.Context(), pool, files)
		for _, q := range seed {
			if err == nil {
				_, err = pool.Exec(t.Context(), q)
			}
		}
		return err
	}, func(dsn string) (*Store, error) { return Open(t.Context(), dsn) })
}
