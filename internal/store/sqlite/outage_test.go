package sqlite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/store"
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// TestUnwritableDatabase: a database that cannot be written fails writes
// with store.ErrUnavailable and fails Ping (so /readyz turns 503), and
// both recover by themselves when it can be written again, with nothing
// committed lost (PRODUCT S5).
func TestUnwritableDatabase(t *testing.T) {
	t.Run("S5/full_disk_is_unavailable", func(t *testing.T) {
		s := openTemp(t)
		ctx := t.Context()
		if err := s.CreateOrg(ctx, domain.Org{ID: "org_kept", Name: "Kept", CreatedAt: epoch}); err != nil {
			t.Fatal(err)
		}
		// The writer's file may not grow: SQLITE_FULL, as on a full disk.
		var pages int
		if err := s.db.wdb.QueryRow(`PRAGMA page_count`).Scan(&pages); err != nil {
			t.Fatal(err)
		}
		if _, err := s.db.wdb.Exec(fmt.Sprintf(`PRAGMA max_page_count = %d`, pages)); err != nil {
			t.Fatal(err)
		}
		var err error
		for i := 0; err == nil && i < 1000; i++ {
			err = s.CreateOrg(ctx, domain.Org{ID: fmt.Sprintf("org_%d", i), Name: strings.Repeat("x", 2000), CreatedAt: epoch})
		}
		if !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("write to a full database: %v, want ErrUnavailable", err)
		}
		if err := s.Ping(ctx); !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("Ping of a full database: %v, want ErrUnavailable", err)
		}
		if _, err := s.db.wdb.Exec(`PRAGMA max_page_count = 1073741823`); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateOrg(ctx, domain.Org{ID: "org_after", Name: "After", CreatedAt: epoch}); err != nil {
			t.Fatalf("write once space is back: %v", err)
		}
		if err := s.Ping(ctx); err != nil {
			t.Fatalf("Ping once space is back: %v", err)
		}
		if _, err := s.GetOrg(ctx, "org_kept"); err != nil {
			t.Fatalf("a committed org was lost: %v", err)
		}
	})
	t.Run("S5/read_only_database_fails_ping", func(t *testing.T) {
		s := openTemp(t)
		ctx := t.Context()
		// The writer's connection refuses writes, as on a file or
		// file system turned read-only under it: no write has failed
		// yet, so Ping must find out by writing.
		if _, err := s.db.wdb.Exec(`PRAGMA query_only = 1`); err != nil {
			t.Fatal(err)
		}
		if err := s.Ping(ctx); !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("Ping of an unwritable database: %v, want ErrUnavailable", err)
		}
		if err := s.CreateOrg(ctx, domain.Org{ID: "org_1", Name: "One", CreatedAt: epoch}); !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("write to an unwritable database: %v, want ErrUnavailable", err)
		}
		if _, err := s.db.wdb.Exec(`PRAGMA query_only = 0`); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateOrg(ctx, domain.Org{ID: "org_1", Name: "One", CreatedAt: epoch}); err != nil {
			t.Fatalf("write once writable again: %v", err)
		}
		if err := s.Ping(ctx); err != nil {
			t.Fatalf("Ping once writable again: %v", err)
		}
	})
}

// walLoad is how long TestWALStaysBounded writes.
const walLoad = 12 * time.Second

// TestWALStaysBounded: under sustained writes through the store, with
// readers that keep holding snapshots, the WAL file stays under 64 MB
// (PRODUCT S7): the checkpointer truncates it when it passes walLimit.
func TestWALStaysBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("writes for", walLoad)
	}
	t.Run("S7/wal_stays_bounded", func(t *testing.T) {
		s := openWithClient(t)
		ctx := t.Context()
		load, stop := context.WithTimeout(ctx, walLoad)
		defer stop()
		var wg sync.WaitGroup
		var seq, written atomic.Int64
		for range 4 {
			wg.Go(func() {
				for load.Err() == nil {
					n := seq.Add(1)
					fam := domain.Family{ID: fmt.Sprintf("fam_%d", n), ClientID: "client_w", OrgID: "org_w", Scopes: domain.APIScopes(), CreatedAt: epoch}
					tok := domain.RefreshToken{Hash: fmt.Sprintf("rt_%d_%s", n, strings.Repeat("h", 200)), CreatedAt: epoch, ExpiresAt: epoch.Add(time.Hour)}
					if err := s.IssueRefreshToken(ctx, fam, tok); err != nil {
						t.Error(err)
						return
					}
					written.Add(1)
				}
			})
		}
		// Two readers, each holding a snapshot for 50 ms, staggered, so
		// that one of them always reads from the WAL.
		for i := range 2 {
			wg.Go(func() {
				time.Sleep(time.Duration(i) * 25 * time.Millisecond)
				for load.Err() == nil {
					tx, err := s.db.rdb.BeginTx(ctx, nil)
					if err != nil {
						t.Error(err)
						return
					}
					var n int
					if err := tx.QueryRow(`SELECT count(*) FROM families`).Scan(&n); err != nil {
						t.Error(err)
					}
					time.Sleep(50 * time.Millisecond)
					tx.Rollback()
				}
			})
		}
		var peak int64
		tick := time.NewTicker(20 * time.Millisecond)
		for load.Err() == nil {
			<-tick.C
			if fi, err := os.Stat(s.db.file + "-wal"); err == nil {
				peak = max(peak, fi.Size())
			}
		}
		tick.Stop()
		wg.Wait()
		db, _ := os.Stat(s.db.file)
		t.Logf("%d refresh tokens in %v (%.0f/s); database %.1f MB; WAL peak %.1f MB; %d truncations",
			written.Load(), walLoad, float64(written.Load())/walLoad.Seconds(), float64(db.Size())/1e6, float64(peak)/1e6, s.db.truncates.Load())
		if peak >= 64<<20 {
			t.Fatalf("WAL peaked at %.1f MB, want under 64 MB", float64(peak)/1e6)
		}
	})
}

// TestWALRestartsUnderSteadyWrites: with small commits that never pause
// (refresh rotations) and no reader in the way, the checkpointer still
// gets the whole WAL into the database file on its ticks, so the writer
// restarts the WAL from its start (later commits overwrite frames the
// file already has) instead of appending until a truncation. A passive
// checkpoint alone never catches up with such a writer: without catchUp
// no tick finds the WAL restarted, and the test fails at its deadline.
func TestWALRestartsUnderSteadyWrites(t *testing.T) {
	s := openWithClient(t)
	ctx := t.Context()
	rotate := func(domain.RefreshToken, domain.Family, *domain.RefreshToken) (domain.RefreshDecision, error) {
		return domain.RefreshDecision{Verdict: domain.RefreshRotate}, nil
	}
	load, stop := context.WithTimeout(ctx, 20*time.Second)
	defer stop()
	const restarts = 3
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			first := store.Unsealed{
				Family: domain.Family{ID: fmt.Sprintf("fam_%d", w), ClientID: "client_w", OrgID: "org_w", Scopes: domain.APIScopes(), CreatedAt: epoch},
				Token:  domain.RefreshToken{CreatedAt: epoch, ExpiresAt: epoch.Add(time.Hour)},
			}
			presented := store.FamilyToken{FamilyID: first.Family.ID, First: &first}
			for load.Err() == nil && s.db.restarts.Load() < restarts {
				next := domain.RefreshToken{Hash: fmt.Sprintf("g%d", presented.Generation+1), ExpiresAt: epoch.Add(time.Hour)}
				if _, err := s.RotateFamilyToken(ctx, presented, next, domain.System(epoch), rotate); err != nil {
					t.Error(err)
					return
				}
				presented = store.FamilyToken{FamilyID: first.Family.ID, Generation: presented.Generation + 1}
			}
		})
	}
	wg.Wait()
	if got := s.db.restarts.Load(); got < restarts {
		t.Fatalf("the WAL restarted %d times under steady writes (%d truncations); want %d", got, s.db.truncates.Load(), restarts)
	}
}

// openWithClient opens a temporary store holding organization org_w and
// its client client_w, whose families the write-load tests make.
func openWithClient(t *testing.T) *Store {
	t.Helper()
	s := openTemp(t)
	if err := s.CreateOrg(t.Context(), domain.Org{ID: "org_w", Name: "W", CreatedAt: epoch}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateClient(t.Context(), domain.Client{ID: "client_w", OrgID: "org_w", Name: "W", Scopes: domain.APIScopes(), CreatedAt: epoch}, nil, domain.System(epoch)); err != nil {
		t.Fatal(err)
	}
	return s
}
