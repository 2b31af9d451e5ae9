package maintain

import (
	"context"
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/nomosauth/nomosauth/internal/fakeclock"
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

// Issue17/held_fresh_only_while_the_poll_succeeds: what is held counts as
// fresh for MaxAge after the last successful read of the counters (its
// start), not before the first, and no longer once reads fail for longer:
// a process cut off from the database stops serving from memory.
func TestIssue17HeldFreshOnlyWhileThePollSucceeds(t *testing.T) {
	clock := fakeclock.New(time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC))
	src := &counters{v: map[string]int64{"org_a": 1}}
	c := &OrgChanges{Counters: src, Forget: func(string) {}, Now: clock.Now, MaxAge: 3 * time.Second}
	if c.Fresh() {
		t.Fatal("fresh before any read")
	}
	if _, err := c.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	clock.Advance(3 * time.Second)
	if !c.Fresh() {
		t.Fatal("stale within MaxAge of the last read")
	}
	src.err = errors.New("database down")
	c.Sync(t.Context())
	clock.Advance(time.Millisecond)
	if c.Fresh() {
		t.Fatal("fresh past MaxAge with only failed reads since")
	}
	src.err = nil
	if _, err := c.Sync(t.Context()); err != nil || !c.Fresh() {
		t.Fatalf("a successful read makes it fresh again: %v", err)
	}
	if (&OrgChanges{}).Fresh() != true {
		t.Fatal("no MaxAge: always fresh")
	}
}
