package revoke

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/token"
)

// fakeSource is the revoked families of a shared database: it answers
// RevokedFamilies from a slice and records what was asked.
type fakeSource struct {
	families []domain.Family
	asked    []time.Time
	err      error
}

func (s *fakeSource) RevokedFamilies(_ context.Context, since time.Time) ([]domain.Family, error) {
	s.asked = append(s.asked, since)
	var out []domain.Family
	for _, f := range s.families {
		if !f.RevokedAt.Before(since) {
			out = append(out, f)
		}
	}
	return out, s.err
}

func TestSync(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	src := &fakeSource{}
	set := NewSet()
	if _, err := set.Sync(t.Context(), src, now); err != nil {
		t.Fatal(err)
	}
	if want := now.Add(-(token.AccessTTL + token.Leeway)); !src.asked[0].Equal(want) {
		t.Fatalf("A11/first_sync_reads_one_lifetime_back: since %v, want %v", src.asked[0], want)
	}
	// Another process revokes famA: the next sync brings it in.
	src.families = append(src.families, domain.Family{ID: "fam_a", RevokedAt: now})
	now = now.Add(time.Second)
	if _, err := set.Sync(t.Context(), src, now); err != nil {
		t.Fatal(err)
	}
	if !set.Revoked("fam_a") || set.Revoked("fam_b") {
		t.Fatalf("A11/sync_brings_revocations: A %v, B %v", set.Revoked("fam_a"), set.Revoked("fam_b"))
	}
	// A revocation stamped a little before the last sync (another
	// replica's clock) is still seen.
	src.families = append(src.families, domain.Family{ID: "fam_b", RevokedAt: now.Add(-30 * time.Second)})
	if _, err := set.Sync(t.Context(), src, now); err != nil {
		t.Fatal(err)
	}
	if !set.Revoked("fam_b") {
		t.Fatal("A11/skewed_clock: a revocation stamped before the last sync was missed")
	}
	// Once every access token of a revoked family has expired, it is forgotten.
	now = now.Add(token.AccessTTL + token.Leeway + time.Minute)
	if _, err := set.Sync(t.Context(), src, now); err != nil {
		t.Fatal(err)
	}
	if set.Revoked("fam_a") || set.Revoked("fam_b") {
		t.Fatal("O6/pruned: families kept past every token's expiry")
	}
	// A failed read keeps what the set knows.
	set.Add("fam_c", now)
	src.err = errors.New("database down")
	if _, err := set.Sync(t.Context(), src, now); err == nil || !set.Revoked("fam_c") {
		t.Fatalf("failed sync: %v, fam_c kept %v", err, set.Revoked("fam_c"))
	}
}

func TestRevokedIgnoresEmptyFamily(t *testing.T) {
	set := NewSet()
	set.Add("", time.Now())
	if set.Revoked("") {
		t.Fatal("a token without a family is never revoked")
	}
}

// TestSyncCountsLearned: Sync says how many families it learned, only those
// new to the set, for the revocation poll's counter (PRODUCT O7).
func TestSyncCountsLearned(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	src := &fakeSource{families: []domain.Family{{ID: "fam_a", RevokedAt: now}, {ID: "fam_b", RevokedAt: now}}}
	set := NewSet()
	set.Add("fam_a", now) // revoked by this process: not learned
	for i, want := range []int{1, 0} {
		n, err := set.Sync(t.Context(), src, now)
		if err != nil || n != want {
			t.Fatalf("O7/learned: sync %d learned %d (%v), want %d", i, n, err, want)
		}
	}
	if set.Len() != 2 {
		t.Fatalf("O7/len: %d, want 2", set.Len())
	}
}
