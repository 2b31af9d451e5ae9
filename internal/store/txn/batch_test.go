package txn

import (
	"errors"
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
	first := make(chan error, 1)
	go func() { first <- b.Do(t.Context(), 0) }()
	<-entered // the first write's commit is in flight
	// Five writes queued behind it, as callers' Do would leave them.
	queued := make([]chan error, 5)
	for i := range queued {
		queued[i] = make(chan error, 1)
		b.ops <- batchOp[int]{item: i + 1, done: queued[i]}
	}
	closed := make(chan struct{})
	go func() { b.Close(); close(closed) }()
	<-b.quit // closing has begun, before the commit in flight ends
	close(gate)
	<-closed
	if err := <-first; err != nil {
		t.Fatalf("the write in flight: %v", err)
	}
	for i, q := range queued {
		select {
		case err := <-q:
			if err != nil {
				t.Fatalf("queued write %d: %v", i, err)
			}
		default: // Close has returned: an outcome not sent now never will be
			t.Fatalf("queued write %d was never committed", i)
		}
	}
	if committed != 6 {
		t.Fatalf("committed %d writes, want 6", committed)
	}
	if err := b.Do(t.Context(), 7); !errors.Is(err, ErrClosed) {
		t.Fatalf("write after Close: %v, want ErrClosed", err)
	}
}
