package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/store"
	"github.com/nomosauth/nomosauth/internal/store/txn"
)

// CommitsObserved checks that the store open returns tells its observer
// of a write's commit, exactly once, grouped as the backend commits a
// lone write (PRODUCT O7).
func CommitsObserved[S store.Store](t *testing.T, open func(txn.CommitObserver) (S, error), grouped bool) {
	var mu sync.Mutex
	var seen []txn.Commit
	s, err := open(func(c txn.Commit) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, c)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.CreateOrg(t.Context(), domain.Org{ID: "org_a", Name: "A", CreatedAt: time.Now().UTC().Truncate(time.Microsecond)}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 1 || seen[0].Grouped != grouped || seen[0].Items != 1 {
		t.Fatalf("O7/commit_observed: %+v, want one commit of one write, grouped %v", seen, grouped)
	}
}
