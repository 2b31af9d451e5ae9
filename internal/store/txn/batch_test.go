package txn

import (
	"errors"
	"sync"
	"testing"
	"time"
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

// TestBatcherCloseCommitsWhatIsQueued: writes queued behind a commit in
// flight when the store closes still commit, and their callers learn it;
// a write offered after Close is refused. The loop meets the closing and
// the queue together, and chooses between them at random: many rounds.
func TestBatcherCloseCommitsWhatIsQueued(t *testing.T) {
	for range 20 {
		closeWithQueuedWrites(t)
	}
}

func closeWithQueuedWrites(t *testing.T) {
	entered := make(chan struct{}, 1)
	gate := make(chan struct{})
	var mu sync.Mutex
	committed := 0
	b := NewBatcher(8, func(batch []int) []error {
		select {
		case entered <- struct{}{}:
		default:
		}
		<-gate
		mu.Lock()
		committed += len(batch)
		mu.Unlock()
		return make([]error, len(batch))
	}, nil)
	outcomes := make(chan error, 6)
	go func() { outcomes <- b.Do(t.Context(), 0) }()
	<-entered
	for i := 1; i < 6; i++ {
		go func() { outcomes <- b.Do(t.Context(), i) }()
	}
	for len(b.ops) < 5 {
		time.Sleep(time.Millisecond)
	}
	closed := make(chan struct{})
	go func() { b.Close(); close(closed) }()
	<-b.quit
	close(gate)
	for range 6 {
		select {
		case err := <-outcomes:
			if err != nil {
				t.Fatalf("queued write: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a queued write was never committed")
		}
	}
	<-closed
	if committed != 6 {
		t.Fatalf("committed %d writes, want 6", committed)
	}
	if err := b.Do(t.Context(), 7); !errors.Is(err, ErrClosed) {
		t.Fatalf("write after Close: %v, want ErrClosed", err)
	}
}
