package txn

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ErrClosed is returned for work offered to a closed store.
var ErrClosed = errors.New("store closed")

// Batcher is group commit: one goroutine takes everything that queued
// while the previous commit was in flight (up to max items) and commits
// it at once, so one fsync serves many requests. Each caller waits for
// its own item's outcome.
type Batcher[T any] struct {
	ops    chan batchOp[T]
	quit   chan struct{}
	done   chan struct{}
	max    int
	commit func(batch []T) []error
	once   sync.Once
	// observe learns of each commit; nil is none.
	observe CommitObserver
}

// Commit describes one durable commit, for the metrics (PRODUCT O7).
type Commit struct {
	Items   int           // writes the commit carried
	Took    time.Duration // from the start of the transaction to its commit returning
	Grouped bool          // a group commit, or one write in its own transaction
}

// CommitObserver learns of each commit a backend makes: cli turns it into
// the commit latency and batch size histograms, so the store imports no
// metrics library (PRODUCT O7). It is called on the committing goroutine
// and must be quick.
type CommitObserver func(Commit)

type batchOp[T any] struct {
	item T
	done chan error
}

// NewBatcher starts a batcher whose commit returns one error per item, in
// order; observe, when not nil, learns of each commit.
func NewBatcher[T any](max int, commit func(batch []T) []error, observe CommitObserver) *Batcher[T] {
	b := &Batcher[T]{ops: make(chan batchOp[T]), quit: make(chan struct{}), done: make(chan struct{}), max: max, commit: commit,
		observe: observe}
	go b.loop()
	return b
}

// Do queues item and waits for the commit that carries it. Once queued it
// waits even if ctx ends: the item may commit, and the caller must know
// whether it did.
func (b *Batcher[T]) Do(ctx context.Context, item T) error {
	op := batchOp[T]{item: item, done: make(chan error, 1)}
	select {
	case b.ops <- op:
	case <-b.quit:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	return <-op.done
}

// Close stops the batcher after the items already queued have committed.
func (b *Batcher[T]) Close() {
	b.once.Do(func() { close(b.quit) })
	<-b.done
}

func (b *Batcher[T]) loop() {
	defer close(b.done)
	for {
		var first batchOp[T]
		select {
		case first = <-b.ops:
		case <-b.quit:
			return
		}
		batch := []batchOp[T]{first}
	drain:
		for len(batch) < b.max {
			select {
			case op := <-b.ops:
				batch = append(batch, op)
			default:
				break drain
			}
		}
		items := make([]T, len(batch))
		for i, op := range batch {
			items[i] = op.item
		}
		var start time.Time
		if b.observe != nil {
			start = time.Now()
		}
		errs := b.commit(items)
		if b.observe != nil {
			b.observe(Commit{Items: len(items), Took: time.Since(start), Grouped: true})
		}
		for i, op := range batch {
			op.done <- errs[i]
		}
	}
}
