package storetest

import (
	"errors"
	"strings"
	"testing"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/store"
	"github.com/nomosauth/nomosauth/internal/store/migrate"
)

// Migrations checks a backend's migration runner on a database that has
// applied files: running them again changes nothing, a changed file stops
// the start, and a database that knows a migration the files do not (a
// newer release's) still opens, since migrations only add.
func Migrations(t *testing.T, files []migrate.File, run func([]migrate.File) error) {
	t.Helper()
	if len(files) == 0 {
		t.Fatal("no migration files")
	}
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
}

// Reopen checks that data survives closing and opening the database again,
// and that the second open applies nothing new: the ledger holds one row
// per file, with the file's name and checksum.
func Reopen(t *testing.T, open func() (store.Store, error), files []migrate.File) {
	t.Helper()
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
