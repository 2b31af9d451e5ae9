package storetest

import (
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/store"
	"github.com/nomosauth/nomosauth/internal/store/migrate"
)

// Migrations checks a backend's migrations, read from dir "migrations" of
// fsys: data survives closing and opening again, which applies nothing new
// (the ledger holds one row per file, with its name and checksum); and on
// a migrated database, running the files again changes nothing, a changed
// file stops the start, and a database that knows a migration the files do
// not (a newer release's) still opens, since migrations only add. open
// opens the database under test; run runs the backend's migration runner
// with files on an open store.
func Migrations[S store.Store](t *testing.T, fsys fs.FS, open func() (S, error), run func(S, []migrate.File) error) {
	files, err := migrate.Files(fsys, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no migration files")
	}
	t.Run("reopen_applies_nothing_new", func(t *testing.T) {
		reopen(t, func() (store.Store, error) { return open() }, files)
	})
	t.Run("changed_file_refused", func(t *testing.T) {
		s, err := open()
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		run := func(files []migrate.File) error { return run(s, files) }
		if err := run(files); err != nil {
			t.Fatalf("running applied migrations again: %v", err)
		}
		changed := append([]migrate.File(nil), files...)
		last := &changed[len(changed)-1]
		last.Body += "\n-- edited after release\n"
		last.Checksum = strings.Repeat("0", 64)
		if err := run(changed); !errors.Is(err, migrate.ErrChanged) || !strings.Contains(err.Error(), last.Name) {
			t.Fatalf("a changed migration: err = %v, want ErrChanged naming %s", err, last.Name)
		}
		if err := run(files[:len(files)-1]); err != nil {
			t.Fatalf("a database newer than the binary: %v", err)
		}
	})
}

func reopen(t *testing.T, open func() (store.Store, error), files []migrate.File) {
	s, err := open()
	if err != nil {
		t.Fatal(err)
	}
	must(t, s.CreateOrg(t.Context(), domain.Org{ID: "org_1", Name: "A"}))
	must(t, s.Close())
	if s, err = open(); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.GetOrg(t.Context(), "org_1"); err != nil {
		t.Fatal(err)
	}
	applied, err := s.AppliedMigrations(t.Context())
	if err != nil || len(applied) != len(files) {
		t.Fatalf("applied %d migrations (%v), want one per file (%d)", len(applied), err, len(files))
	}
	for i, m := range applied {
		if m.Version != files[i].Version || m.Name != files[i].Name || m.Checksum != files[i].Checksum || m.AppliedAt.IsZero() {
			t.Errorf("applied %+v, file %s %s", m, files[i].Name, files[i].Checksum)
		}
	}
}

// OldLedger checks that a database migrated before the ledger kept names
// and checksums still opens, also when several processes start on it at
// once: each round, fresh returns the location of a new empty database,
// legacy migrates it as the old runner did (the files applied, a ledger of
// version and applied_at only), and open, called from several goroutines
// together, must succeed every time and leave each file's name and
// checksum recorded.
func OldLedger[S store.Store](t *testing.T, fsys fs.FS, fresh func() string, legacy func(loc string, files []migrate.File) error, open func(loc string) (S, error)) {
	files, err := migrate.Files(fsys, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	const rounds, together = 10, 8
	for range rounds {
		loc := fresh()
		if err := legacy(loc, files); err != nil {
			t.Fatal(err)
		}
		errs := make(chan error, together)
		for range together {
			go func() {
				s, err := open(loc)
				if err == nil {
					err = s.Close()
				}
				errs <- err
			}()
		}
		for range together {
			if err := <-errs; err != nil {
				t.Fatalf("opening a database with the old ledger, %d at once: %v", together, err)
			}
		}
		reopen(t, func() (store.Store, error) { return open(loc) }, files)
	}
}
