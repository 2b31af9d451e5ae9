package view_test

import (
	"path/filepath"
	"testing"

	"github.com/nomosauth/nomosauth/internal/directory"
	"github.com/nomosauth/nomosauth/internal/store"
	"github.com/nomosauth/nomosauth/internal/store/postgres"
	"github.com/nomosauth/nomosauth/internal/store/postgres/pgtest"
	"github.com/nomosauth/nomosauth/internal/store/sqlite"
	"github.com/nomosauth/nomosauth/internal/store/storetest"
	"github.com/nomosauth/nomosauth/internal/view"
)

// inMemory is the store as serve wires it (issue 17): clients from a
// directory, customers and subscriptions from a view, every write
// forgetting what it changed.
func inMemory(raw store.Store, ceiling int64) store.Store {
	dir := directory.New(raw, 0)
	v := view.New(raw, ceiling)
	return directory.Served{Store: view.Served{Store: view.Writes{Store: raw, Forget: []view.Forgetter{dir, v}}, View: v}, Directory: dir}
}

// TestConformanceInMemory runs the whole conformance suite through the
// directory and the view, so their answers provably match the SQL's
// (the R9 filters, case-insensitive email, cursor pages, tenancy) and
// own writes are seen at once: with room for everything, and with a
// ceiling so tight that organizations are evicted or read from the
// database.
func TestConformanceInMemory(t *testing.T) {
	for _, tc := range []struct {
		name    string
		ceiling int64
	}{{"roomy", 8 << 20}, {"tight", 2 << 10}} {
		t.Run("SQLite/"+tc.name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) storetest.Subject {
				s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "test.db"))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				return storetest.Subject{Store: inMemory(s, tc.ceiling), Inspector: storetest.Inspect(s.Backend)}
			})
		})
	}
	t.Run("PostgreSQL/roomy", func(t *testing.T) {
		pgtest.Base(t)
		storetest.Run(t, func(t *testing.T) storetest.Subject {
			dsn, _ := pgtest.Schema(t)
			s, err := postgres.Open(t.Context(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return storetest.Subject{Store: inMemory(s, 8<<20), Inspector: storetest.Inspect(s.Backend)}
		})
	})
}
