package revoke

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
)

// fakeGrants revokes grants from a map of grant id to its families.
type fakeGrants struct {
	families map[string][]string
	by       domain.Origin
}

var errNoGrant = errors.New("no such grant")

func (g *fakeGrants) RevokeGrant(_ context.Context, id string, by domain.Origin) ([]string, error) {
	fams, ok := g.families[id]
	if !ok {
		return nil, errNoGrant
	}
	g.by = by
	delete(g.families, id)
	return fams, nil
}

func TestRevokerGrant(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	st := &fakeGrants{families: map[string][]string{"grt_a": {"fam_1", "fam_2"}, "grt_b": {"fam_3"}}}
	r := Revoker{Store: st, Set: NewSet(), Now: func() time.Time { return now }}

	who := domain.Origin{Actor: domain.Actor{Kind: domain.ActorCustomer, ID: "cus_1"}, RequestID: "req-1"}
	got, err := r.Grant(t.Context(), "grt_a", who)
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

	if _, err := r.Grant(t.Context(), "grt_missing", domain.Origin{}); !errors.Is(err, errNoGrant) {
		t.Fatalf("A11/unknown_grant: err %v, want the store's error wrapped", err)
	}
}

func TestRevokerFamily(t *testing.T) {
	r := Revoker{Set: NewSet()} // replays need no store: it revoked the family itself
	r.Family("fam_1", time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC))
	if !r.Set.Revoked("fam_1") {
		t.Fatal("T5/replayed_family_refused_here_at_once")
	}
}
