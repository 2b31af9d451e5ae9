package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/nomosauth/nomosauth/internal/store/migrate"
	"github.com/nomosauth/nomosauth/internal/store/storetest"
	"github.com/nomosauth/nomosauth/internal/store/txn"
)

// TestEmailKeyMigration: email keys an older release folded with Unicode
// case folding are recomputed ASCII-only (PRODUCT A7).
func TestEmailKeyMigration(t *testing.T) {
	storetest.EmailKeyMigration(t, migrations, func() string { return filepath.Join(t.TempDir(), "old.db") },
		func(file string, files []migrate.File, seed []string) error {
			db, err := sql.Open("sqlite", "file:"+file)
			if err != nil {
				return err
			}
			defer db.Close()
			err = migrate.Run(t.Context(), func(ctx context.Context, fn func(txn.Querier) error) error {
				tx, err := db.BeginTx(ctx, nil)
				if err != nil {
					return err
				}
				defer tx.Rollback()
				if err := fn(&wtx{Tx: tx}); err != nil {
					return err
				}
				return tx.Commit()
			}, files, time.Now)
			for _, q := range seed {
				if err == nil {
					_, err = db.Exec(q)
				}
			}
			return err
		},
		func(file string) (*Store, error) { return Open(t.Context(), file) })
}
