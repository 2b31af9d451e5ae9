package maintain

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/fakeclock"
	"github.com/nomosauth/nomosauth/internal/httpx"
	"github.com/nomosauth/nomosauth/internal/ids"
	"github.com/nomosauth/nomosauth/internal/metrics"
	"github.com/nomosauth/nomosauth/internal/revoke"
	"github.com/nomosauth/nomosauth/internal/seal"
	"github.com/nomosauth/nomosauth/internal/store"
	"github.com/nomosauth/nomosauth/internal/testfix"
	"github.com/nomosauth/nomosauth/internal/token"
)

// fakeStore is the storage maintenance reads, in memory.
type fakeStore struct {
	keys      []domain.SigningKey
	seals     []domain.SealKey
	revoked   []domain.Family
	deletedAt time.Time
	keep      store.Retention
	err       error
}

func (s *fakeStore) ListSigningKeys(context.Context) ([]domain.SigningKey, error) {
	return s.keys, s.err
}
func (s *fakeStore) ListSealKeys(context.Context) ([]domain.SealKey, error) {
	return s.seals, s.err
}
func (s *fakeStore) DeleteExpired(_ context.Context, now time.Time, keep store.Retention) (int64, error) {
	s.deletedAt, s.keep = now, keep
	return 1, s.err
}
func (s *fakeStore) RevokedFamilies(context.Context, time.Time) ([]domain.Family, error) {
	return s.revoked, s.err
}

var now = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

func newMaintainer(t *testing.T) (*Maintainer, *fakeStore) {
	t.Helper()
	gen := ids.Generator{Rand: rand.Reader}
	k, err := token.GenerateKey(token.AlgES256, rand.Reader, gen, now)
	if err != nil {
		t.Fatal(err)
	}
	ring, err := token.NewKeyRing([]domain.SigningKey{k}, now)
	if err != nil {
		t.Fatal(err)
	}
	st := &fakeStore{keys: []domain.SigningKey{k}}
	return &Maintainer{Store: st, Ring: ring, Now: func() time.Time { return now },
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Revoked: revoke.NewSet(),
		KeyPoll: time.Hour, Cleanup: time.Hour, RevocationPoll: time.Hour, AuditRetention: 24 * time.Hour}, st
}

func TestRunStopsWithItsContext(t *testing.T) {
	m, _ := newMaintainer(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := m.Run(ctx); err != nil {
		t.Fatalf("Run after cancel: %v", err)
	}
}

func TestReloadKeys(t *testing.T) {
	m, st := newMaintainer(t)
	next, err := token.GenerateKey(token.AlgES256, rand.Reader, ids.Generator{Rand: rand.Reader}, now)
	if err != nil {
		t.Fatal(err)
	}
	st.keys = append(st.keys, next)
	m.ReloadKeys(t.Context())
	if jwks := string(m.Ring.JWKS()); !strings.Contains(jwks, next.ID) {
		t.Fatalf("O2/rotated_key_published: JWKS lacks %s: %s", next.ID, jwks)
	}
	// A failed read keeps the ring it had.
	st.err = errors.New("database down")
	m.ReloadKeys(t.Context())
	if jwks := string(m.Ring.JWKS()); !strings.Contains(jwks, next.ID) {
		t.Fatal("a failed reload emptied the ring")
	}
}

// TestReloadKeysLoadsSealKeys is issue 17 point 2: a seal key rotated by
// another process is loaded by the key poll, and a failed read keeps the
// keys the ring had.
func TestReloadKeysLoadsSealKeys(t *testing.T) {
	m, st := newMaintainer(t)
	m.Seals = seal.NewRing(nil)
	k, err := seal.NewKey(rand.Reader, now, now)
	if err != nil {
		t.Fatal(err)
	}
	st.seals = []domain.SealKey{k}
	m.ReloadKeys(t.Context())
	if got, err := m.Seals.Sealer(now); err != nil || got.ID != k.ID {
		t.Fatalf("sealer %q, %v; want the stored key %q", got.ID, err, k.ID)
	}
	st.err = errors.New("database down")
	m.ReloadKeys(t.Context())
	if got, err := m.Seals.Sealer(now); err != nil || got.ID != k.ID {
		t.Fatal("a failed reload emptied the seal ring")
	}
}

func TestCleanUpKeepsRevokedFamiliesForALifetime(t *testing.T) {
	m, st := newMaintainer(t)
	m.CleanUp(t.Context())
	if want := (store.Retention{Revoked: token.AccessTTL + token.Leeway, Audit: 24 * time.Hour}); !st.deletedAt.Equal(now) || st.keep != want {
		t.Fatalf("O6: DeleteExpired(%v, %+v), want retention %+v", st.deletedAt, st.keep, want)
	}
}

func TestSyncRevocations(t *testing.T) {
	m, st := newMaintainer(t)
	st.revoked = []domain.Family{{ID: "fam_a", RevokedAt: now}}
	m.SyncRevocations(t.Context())
	if !m.Revoked.Revoked("fam_a") {
		t.Fatal("A11: a revocation made by another process was not synced")
	}
}

// TestPollMetrics: each poll's age restarts when it succeeds, not when it
// fails, and the revocation poll counts the families it learned (PRODUCT O7).
func TestPollMetrics(t *testing.T) {
	m, st := newMaintainer(t)
	clock := fakeclock.New(now)
	reg := prometheus.NewRegistry()
	var err error
	if m.Metrics, err = metrics.NewClocked(reg, clock.Now); err != nil {
		t.Fatal(err)
	}
	age := func(name string) float64 { return testfix.Gather(t, reg).Value(name) }
	clock.Advance(time.Minute)
	st.err = errors.New("database down")
	m.SyncRevocations(t.Context())
	m.ReloadKeys(t.Context())
	for _, name := range []string{"nomosauth_revocation_poll_age_seconds", "nomosauth_key_poll_age_seconds"} {
		if got := age(name); got != 60 {
			t.Fatalf("O7/failed_poll_keeps_age: %s %v, want 60", name, got)
		}
	}
	st.err = nil
	st.revoked = []domain.Family{{ID: "fam_a", RevokedAt: now}, {ID: "fam_b", RevokedAt: now}}
	m.SyncRevocations(t.Context())
	m.ReloadKeys(t.Context())
	clock.Advance(2 * time.Second)
	for _, name := range []string{"nomosauth_revocation_poll_age_seconds", "nomosauth_key_poll_age_seconds"} {
		if got := age(name); got != 2 {
			t.Fatalf("O7/poll_age_restarts: %s %v, want 2", name, got)
		}
	}
	m.SyncRevocations(t.Context()) // the same two again: nothing new
	if got := age("nomosauth_revocation_poll_families_total"); got != 2 {
		t.Fatalf("O7/learned_families: %v, want 2", got)
	}
}

// TestOutageLoggedOncePerInterval is PRODUCT S5 for the background polls:
// while the database is unavailable every poll fails, and the log, which
// throttles the outage message, says so once per interval with a count
// instead of once per poll; another failure is logged under its task.
func TestOutageLoggedOncePerInterval(t *testing.T) {
	m, st := newMaintainer(t)
	var out strings.Builder
	clock := fakeclock.New(now)
	m.Log = slog.New(httpx.ThrottleLog(slog.NewJSONHandler(&out, nil), 10*time.Second, clock.Now, store.MsgUnavailable))
	m.Changes = &OrgChanges{Counters: &counters{err: fmt.Errorf("poll: %w", store.ErrUnavailable)}, Forget: func(string) {}}
	st.err = fmt.Errorf("query: %w", store.ErrUnavailable)
	for range 5 {
		m.SyncRevocations(t.Context())
		m.SyncChanges(t.Context())
		m.ReloadKeys(t.Context())
		clock.Advance(time.Second)
	}
	if lines := strings.Count(out.String(), "\n"); lines != 1 || !strings.Contains(out.String(), `"msg":"database unavailable"`) {
		t.Fatalf("S5: %d log lines for 15 failed polls in 5 s, want 1:\n%s", lines, out.String())
	}
	clock.Advance(10 * time.Second)
	m.SyncRevocations(t.Context())
	if !strings.Contains(out.String(), `"count":15`) {
		t.Fatalf("S5: the next interval's line does not count the polls that failed meanwhile:\n%s", out.String())
	}
	out.Reset()
	st.err = errors.New("disk on fire")
	m.SyncRevocations(t.Context())
	if !strings.Contains(out.String(), `"msg":"sync revocations"`) {
		t.Fatalf("another failure is logged under its task:\n%s", out.String())
	}
}
