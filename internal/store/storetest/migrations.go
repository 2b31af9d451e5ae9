package storetest

import (
	"errors"
	"strings"
	"testing"

	"github.com/nomosauth/nomosauth/internal/store/migrate"
)

// Migrations checks a backend's migration runner on a database that has
// applied files: running them again changes nothing, a changed file
// stops the start, and so does a database that knows a migration the
// files do not.
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
	if err := run(files[:len(files)-1]); err == nil || !strings.Contains(err.Error(), "does not know") {
		t.Fatalf("a database newer than the binary: err = %v", err)
	}
}
