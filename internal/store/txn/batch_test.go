package txn

import (
	"sync"
	"testing"
)

// TestBatcherObservesEachCommit: the observer learns of every group
// commit with the number of items it carried, so the metrics' batch sizes
// add up to the writes made (PRODUCT O7).
func TestBatcherObservesEachCommit(t *testing.T) {
	var mu sync.Mutex
	var seen []Commit
	b := NewBatcher(4, func(batch []int) []error { return make([]error, len(batch)) }, func(c Commit) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, c)
	})
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			if err := b.Do(t.Context(), i); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	b.Close()
	items := 0
	for _, c := range seen {
		if !c.Grouped || c.Items < 1 || c.Items > 4 || c.Took < 0 {
			t.Fatalf("O7/commit_observed: %+v", c)
		}
		items += c.Items
	}
	if items != 20 {
		t.Fatalf("O7/every_write_counted: batches carried %d items, want 20", items)
	}
}
