package maintain

import (
	"context"
	"errors"
	"maps"
	"slices"
	"testing"
)

// counters is a change-counter table in memory.
type counters struct {
	v   map[string]int64
	err error
}

func (c *counters) OrgChanges(context.Context) (map[string]int64, error) {
	if c.err != nil {
		return nil, c.err
	}
	return maps.Clone(c.v), nil
}

// Issue17/poll_forgets_orgs_whose_counter_moved: the first poll takes the
// baseline; each later one forgets exactly the organizations whose
// counter moved or appeared, and a failed read forgets them on the next.
func TestIssue17PollForgetsOrgsWhoseCounterMoved(t *testing.T) {
	src := &counters{v: map[string]int64{"org_a": 3, "org_b": 1}}
	var forgot []string
	c := &OrgChanges{Counters: src, Forget: func(org string) { forgot = append(forgot, org) }}
	sync := func() []string {
		t.Helper()
		forgot = nil
		if _, err := c.Sync(t.Context()); err != nil {
			t.Fatal(err)
		}
		slices.Sort(forgot)
		return forgot
	}
	if got := sync(); len(got) != 0 {
		t.Fatalf("baseline forgot %v", got)
	}
	if got := sync(); len(got) != 0 {
		t.Fatalf("no change forgot %v", got)
	}
	src.v["org_a"], src.v["org_c"] = 4, 1
	if got := sync(); !slices.Equal(got, []string{"org_a", "org_c"}) {
		t.Fatalf("forgot %v, want org_a and org_c", got)
	}
	src.err = errors.New("down")
	if _, err := c.Sync(t.Context()); err == nil {
		t.Fatal("a failed read reported no error")
	}
	src.err = nil
	src.v["org_b"] = 2
	if got := sync(); !slices.Equal(got, []string{"org_b"}) {
		t.Fatalf("after an outage forgot %v, want org_b", got)
	}
}

// The Maintainer polls the counters with revocations.
func TestSyncChanges(t *testing.T) {
	m, _ := newMaintainer(t)
	m.SyncChanges(t.Context()) // none configured: nothing to do
	src := &counters{v: map[string]int64{"org_a": 1}}
	var forgot []string
	m.Changes = &OrgChanges{Counters: src, Forget: func(org string) { forgot = append(forgot, org) }}
	m.SyncChanges(t.Context())
	src.v["org_a"] = 2
	m.SyncChanges(t.Context())
	if !slices.Equal(forgot, []string{"org_a"}) {
		t.Fatalf("forgot %v", forgot)
	}
}
