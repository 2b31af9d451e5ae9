// Package migrate is the one migration runner: each backend brings its
// numbered SQL files (NNNN_name.sql, embedded) and a way to run a
// transaction; the runner applies the files not yet applied, one
// transaction each and in order, records each file's SHA-256, and refuses
// to start when a file applied earlier has changed since. Released files
// are never edited: a change is a new file. Migrations only add, so a
// database a newer release migrated still serves an older one (a rolling
// upgrade, or a rollback): versions the binary does not know are left alone.
package migrate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nomosauth/nomosauth/internal/store"
	"github.com/nomosauth/nomosauth/internal/store/rowcodec"
	"github.com/nomosauth/nomosauth/internal/store/txn"
)

// File is one migration file.
type File struct {
	Version  int
	Name     string // the file's base name
	Body     string
	Checksum string // hex SHA-256 of Body
}

// Files reads the *.sql files of dir in fsys, ordered by version. A name
// without a leading number, or two files with one number, is an error.
func Files(fsys fs.FS, dir string) ([]File, error) {
	names, err := fs.Glob(fsys, path.Join(dir, "*.sql"))
	if err != nil {
		return nil, err
	}
	var out []File
	seen := map[int]string{}
	for _, name := range names {
		base := path.Base(name)
		prefix, _, _ := strings.Cut(base, "_")
		v, err := strconv.Atoi(prefix)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: the name must start with its number, as 0001_init.sql", base)
		}
		if other, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations %s and %s share number %d", other, base, v)
		}
		seen[v] = base
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(body)
		out = append(out, File{Version: v, Name: base, Body: string(body), Checksum: hex.EncodeToString(sum[:])})
	}
	slices.SortFunc(out, func(a, b File) int { return a.Version - b.Version })
	return out, nil
}

// TxRunner runs fn in one transaction and commits it. The backend holds
// whatever lock keeps two processes from migrating at once for as long as
// Run runs (an advisory lock on PostgreSQL; SQLite's writer lock is taken
// by each transaction).
type TxRunner func(ctx context.Context, fn func(tx txn.Querier) error) error

// ErrChanged is returned, wrapped, when an applied file has changed.
var ErrChanged = errors.New("an applied migration has changed")

// Run brings the database up to files.
func Run(ctx context.Context, inTx TxRunner, files []File, now func() time.Time) error {
	if err := prepareTable(ctx, inTx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for _, f := range files {
		if err := inTx(ctx, func(tx txn.Querier) error { return apply(ctx, tx, f, now()) }); err != nil {
			return fmt.Errorf("migrate %s: %w", f.Name, err)
		}
	}
	return nil
}

// prepareTable creates the ledger, and adds the name and checksum columns
// to a ledger written before they existed. It is one transaction, so two
// processes starting together on such a ledger take turns (SQLite's writer
// lock, taken at BEGIN IMMEDIATE; PostgreSQL's advisory lock besides): the
// second finds the columns the first added instead of adding them again.
// A probe that fails is rolled back to a savepoint, since a failed
// statement aborts a PostgreSQL transaction.
func prepareTable(ctx context.Context, inTx TxRunner) error {
	return inTx(ctx, func(tx txn.Querier) error {
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
			return err
		}
		for _, col := range []string{"name", "checksum"} {
			if _, err := tx.Exec(ctx, `SAVEPOINT probe`); err != nil {
				return err
			}
			_, probe := tx.Exec(ctx, `SELECT `+col+` FROM schema_migrations WHERE 1 = 0`)
			if probe != nil {
				if _, err := tx.Exec(ctx, `ROLLBACK TO SAVEPOINT probe`); err != nil {
					return err
				}
			}
			if _, err := tx.Exec(ctx, `RELEASE SAVEPOINT probe`); err != nil {
				return err
			}
			if probe == nil {
				continue
			}
			if _, err := tx.Exec(ctx, `ALTER TABLE schema_migrations ADD COLUMN `+col+` TEXT NOT NULL DEFAULT ''`); err != nil {
				return fmt.Errorf("add column %s: %w", col, err)
			}
		}
		return nil
	})
}

// apply runs f unless it is recorded; a recorded file must be unchanged.
// A row from before checksums were kept adopts the file's checksum.
func apply(ctx context.Context, tx txn.Querier, f File, now time.Time) error {
	var sum string
	err := tx.QueryRow(ctx, `SELECT checksum FROM schema_migrations WHERE version = $1`, f.Version).Scan(&sum)
	switch {
	case err == nil && sum == "":
		_, err = tx.Exec(ctx, `UPDATE schema_migrations SET name = $1, checksum = $2 WHERE version = $3`, f.Name, f.Checksum, f.Version)
		return err
	case err == nil && sum != f.Checksum:
		return fmt.Errorf("%w: %s was applied with SHA-256 %s and is now %s; restore the file and add a new migration instead", ErrChanged, f.Name, sum, f.Checksum)
	case err == nil:
		return nil
	case !errors.Is(err, store.ErrNotFound):
		return err
	}
	if _, err := tx.Exec(ctx, f.Body); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO schema_migrations (version, applied_at, name, checksum) VALUES ($1, $2, $3, $4)`,
		f.Version, rowcodec.Micros(now), f.Name, f.Checksum)
	return err
}

// Applied lists the recorded migrations, oldest first.
func Applied(ctx context.Context, inTx TxRunner) ([]store.Migration, error) {
	var out []store.Migration
	err := inTx(ctx, func(tx txn.Querier) error {
		out = nil
		return tx.Query(ctx, `SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version`, nil, func(r rowcodec.Scanner) error {
			var m store.Migration
			var at int64
			err := r.Scan(&m.Version, &m.Name, &m.Checksum, &at)
			m.AppliedAt = rowcodec.Time(at)
			out = append(out, m)
			return err
		})
	})
	return out, err
}
