package revoke

import (
	"context"
	"errors"
	"testing"
	"time"
)

// fakeGrants revokes grants from a map of grant id to its families.
type fakeGrants struct {
	families map[string][]string
	at       time.Time
}

var errNoGrant = errors.New("no such grant")

func (g *fakeGrants) RevokeGrant(_ context.Context, id string, at time.Time) ([]string, error) {
	fams, ok := g.families[id]
	if !ok {
		return nil, errNoGrant
	}
	g.at = at
	delete(g.families, id)
	return fams, nil
}

func TestRevokerGrant(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	st := &fakeGrants{families: map[string][]string{"grt_a": {"fam_1", "fam_2"}, "grt_b": {"fam_3"}}}
	r := Revoker{Store: st, Set: NewSet(), Now: func() time.Time { return now }}

	got, err := r.Grant(t.Context(), "grt_a")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !st.at.Equal(now) {
		t.Fatalf("A11/grant_revoked_in_store: families %v at %v", got, st.at)
	}
	for _, f := range []string{"fam_1", "fam_2"} {
		if !r.Set.Revoked(f) {
			t.Fatalf("A11/grant_revoked_here_at_once: %s not in the set", f)
		}
	}
	if r.Set.Revoked("fam_3") {
		t.Fatal("A11/other_grants_untouched: fam_3 is in the set")
	}

	if _, err := r.Grant(t.Context(), "grt_missing"); !errors.Is(err, errNoGrant) {
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
