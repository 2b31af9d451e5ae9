package revoke

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/nomosauth/nomosauth/internal/metrics"
	"github.com/nomosauth/nomosauth/internal/store"
	"github.com/nomosauth/nomosauth/internal/testfix"
)

// newMetrics is a Metrics on a registry of the test's own.
func newMetrics(t *testing.T) (*metrics.Metrics, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	return m, reg
}

// fakeGrants revokes grants from a map of grant id to its families; a
// grant revoked before revokes nothing again.
type fakeGrants struct {
	families map[string][]string
	revoked  map[string]bool
	by       domain.Origin
}

var errNoGrant = errors.New("no such grant")

func (g *fakeGrants) RevokeGrant(_ context.Context, id string, by domain.Origin) ([]string, bool, error) {
	fams, ok := g.families[id]
	switch {
	case !ok:
		return nil, false, errNoGrant
	case g.revoked[id]:
		return nil, false, nil
	}
	g.by = by
	g.revoked[id] = true
	return fams, true, nil
}

func TestRevokerGrant(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	st := &fakeGrants{families: map[string][]string{"grt_a": {"fam_1", "fam_2"}, "grt_b": {"fam_3"}}, revoked: map[string]bool{}}
	m, reg := newMetrics(t)
	r := Revoker{Store: st, Set: NewSet(), Now: func() time.Time { return now }, Metrics: m}

	who := domain.Origin{Actor: domain.Actor{Kind: domain.ActorCustomer, ID: "cus_1"}, RequestID: "req-1"}
	got, err := r.Grant(t.Context(), "grt_a", who, metrics.ByCustomer)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !st.by.At.Equal(now) {
		t.Fatalf("A11/grant_revoked_in_store: families %v at %v", got, st.by.At)
	}
	if who.At = now; st.by != who {
		t.Fatalf("O8/revoker_passes_origin: store got %+v, want %+v", st.by, who)
	}
	for _, f := range []string{"fam_1", "fam_2"} {
		if !r.Set.Revoked(f) {
			t.Fatalf("A11/grant_revoked_here_at_once: %s not in the set", f)
		}
	}
	if r.Set.Revoked("fam_3") {
		t.Fatal("A11/other_grants_untouched: fam_3 is in the set")
	}

	if again, err := r.Grant(t.Context(), "grt_a", who, metrics.ByCustomer); err != nil || len(again) != 0 {
		t.Fatalf("A11/revoke_twice: %v %v", again, err)
	}
	if _, err := r.Grant(t.Context(), "grt_missing", domain.Origin{}, metrics.ByCustomer); !errors.Is(err, errNoGrant) {
		t.Fatalf("A11/unknown_grant: err %v, want the store's error wrapped", err)
	}
	got2 := testfix.Gather(t, reg)
	if n := got2.Value("nomosauth_revocations_total", "source", "customer"); n != 1 {
		t.Fatalf("O7/counted_once_by_source: customer revocations %v, want 1 (the second and the failed one uncounted)", n)
	}
}

func TestRevokerFamily(t *testing.T) {
	m, reg := newMetrics(t)
	r := Revoker{Set: NewSet(), Metrics: m} // replays need no store: it revoked the family itself
	r.Family("fam_1", time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC), metrics.ByRefreshReuse)
	if !r.Set.Revoked("fam_1") {
		t.Fatal("T5/replayed_family_refused_here_at_once")
	}
	got := testfix.Gather(t, reg)
	if got.Value("nomosauth_revocations_total", "source", "refresh_reuse") != 1 || got.Value("nomosauth_revocations_total", "source", "code_replay") != 0 {
		t.Fatal("O7/counted_by_source: want one refresh_reuse revocation")
	}
	(Revoker{Set: NewSet()}).Family("fam_2", time.Now(), metrics.ByCodeReplay) // no metrics: counts nothing, no panic
}

// fakeHeld revokes families from a map of family id to client, and refresh
// token hashes to their family; a family revoked before revokes nothing.
type fakeHeld struct {
	clients map[string]string
	tokens  map[string]string
	revoked map[string]bool
	by      domain.Origin
}

func (h *fakeHeld) RevokeHeldFamily(_ context.Context, familyID, tokenHash string, _ *store.Unsealed, by domain.Origin, may func(domain.Family) bool) (string, bool, error) {
	if familyID == "" {
		familyID = h.tokens[tokenHash]
	}
	client, ok := h.clients[familyID]
	if !ok {
		return "", false, errNoGrant
	}
	if !may(domain.Family{ID: familyID, ClientID: client}) {
		return "", false, nil
	}
	if h.revoked[familyID] {
		return familyID, false, nil
	}
	h.revoked[familyID], h.by = true, by
	return familyID, true, nil
}

func TestRevokerHeld(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	st := &fakeHeld{clients: map[string]string{"fam_1": "client_a", "fam_2": "client_b"}, tokens: map[string]string{"h1": "fam_1"}, revoked: map[string]bool{}}
	m, reg := newMetrics(t)
	r := Revoker{Families: st, Set: NewSet(), Now: func() time.Time { return now }, Metrics: m}
	mine := func(f domain.Family) bool { return f.ClientID == "client_a" }
	who := domain.Origin{Actor: domain.Actor{Kind: domain.ActorClient, ID: "client_a"}, RequestID: "req-1"}

	if ok, err := r.Held(t.Context(), "", "h1", nil, who, mine); err != nil || !ok || !r.Set.Revoked("fam_1") || !st.by.At.Equal(now) {
		t.Fatalf("T9/held_family_revoked_here_at_once: %v %v set %v at %v", ok, err, r.Set.Revoked("fam_1"), st.by.At)
	}
	if ok, err := r.Held(t.Context(), "fam_1", "", nil, who, mine); err != nil || ok {
		t.Fatalf("T9/revoke_twice: %v %v", ok, err)
	}
	if ok, err := r.Held(t.Context(), "fam_2", "", nil, who, mine); err != nil || ok || r.Set.Revoked("fam_2") {
		t.Fatalf("T9/foreign_family_untouched: %v %v set %v", ok, err, r.Set.Revoked("fam_2"))
	}
	if _, err := r.Held(t.Context(), "", "unknown", nil, who, mine); !errors.Is(err, errNoGrant) {
		t.Fatalf("T9/unknown_token: %v, want the store's error wrapped", err)
	}
	if n := testfix.Gather(t, reg).Value("nomosauth_revocations_total", "source", "revoke_endpoint"); n != 1 {
		t.Fatalf("O7/counted_once: revoke_endpoint revocations %v, want 1", n)
	}
}
