package mail

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"
)

// QueueConfig tunes a Queue; zero fields take the defaults.
type QueueConfig struct {
	// Workers deliver in parallel (default 4).
	Workers int
	// Capacity bounds the messages held at once: queued, waiting to be
	// retried or in delivery (default 1000, a few MB). Beyond it new
	// messages are dropped, so a dead mail server cannot exhaust memory.
	Capacity int
	// Attempts bounds the deliveries tried per message (default 5).
	Attempts int
	// Backoff is the wait before the first retry; it doubles with each
	// retry up to MaxBackoff (defaults 5 s and 1 min: five attempts span
	// about a minute and a quarter, well inside a code's 10 minutes).
	Backoff, MaxBackoff time.Duration
	// Log receives delivery failures, naming the recipient only by its
	// domain and a hash (PRODUCT O4). Nil discards them.
	Log *slog.Logger
}

// Queue-tuning defaults.
const (
	DefaultWorkers    = 4
	DefaultCapacity   = 1000
	DefaultAttempts   = 5
	DefaultBackoff    = 5 * time.Second
	DefaultMaxBackoff = time.Minute
)

// QueueStats counts what a Queue did since it started.
type QueueStats struct {
	Held    int    // queued, waiting to be retried or in delivery now
	Sent    uint64 // delivered
	Retried uint64 // failed attempts that were scheduled again
	Failed  uint64 // given up: a permanent failure, or every attempt failed
	Dropped uint64 // refused (queue full or closed) or abandoned at Close
}

// Queue sends mail after the request that asked for it has been answered
// (PRODUCT A7): Send only enqueues, so a sign-in for a known email costs
// no SMTP round trip more than one for an unknown email, and its response
// time does not tell whether an account exists. Workers deliver through
// the next Sender, retrying transient failures with doubling back-off a
// bounded number of times; memory is bounded by Capacity. Messages live
// in memory only: a restart loses those not yet delivered, and the
// customer asks for a new code on the verify page.
type Queue struct {
	next  Sender
	cfg   QueueConfig
	log   *slog.Logger
	ready chan *job // never blocks: it holds Capacity and held <= Capacity

	ctx     context.Context // ends in-flight deliveries when Close gives up
	abort   context.CancelFunc
	stop    chan struct{} // closed when the workers must return
	workers sync.WaitGroup

	mu      sync.Mutex
	held    int
	closing bool
	drained chan struct{} // closed once closing and nothing is held
	waiting map[*job]*time.Timer
	stats   QueueStats
	lost    int // abandoned when Close gave up
}

type job struct {
	m        Message
	attempts int
}

// NewQueue starts cfg.Workers workers delivering through next. Close
// stops them.
func NewQueue(next Sender, cfg QueueConfig) *Queue {
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.Capacity <= 0 {
		cfg.Capacity = DefaultCapacity
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = DefaultAttempts
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = DefaultBackoff
	}
	if cfg.MaxBackoff < cfg.Backoff {
		cfg.MaxBackoff = max(DefaultMaxBackoff, cfg.Backoff)
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, abort := context.WithCancel(context.Background())
	q := &Queue{next: next, cfg: cfg, log: log, ready: make(chan *job, cfg.Capacity), ctx: ctx, abort: abort,
		stop: make(chan struct{}), drained: make(chan struct{}), waiting: map[*job]*time.Timer{}}
	q.workers.Add(cfg.Workers)
	for range cfg.Workers {
		go q.work()
	}
	return q
}

// Send enqueues m and returns at once; ctx, the request's, is not used for
// the delivery, which outlives the request. A full or closed queue drops
// m, logs and counts it, and still returns nil: an error here would show
// only for known emails, since only they are mailed (PRODUCT A7). The
// customer who gets no email asks for a new code.
func (q *Queue) Send(_ context.Context, m Message) error {
	q.mu.Lock()
	refused := q.closing || q.held >= q.cfg.Capacity
	if refused {
		q.stats.Dropped++
	} else {
		q.held++
		q.ready <- &job{m: m}
	}
	closing := q.closing
	q.mu.Unlock()
	if refused {
		q.log.Error("one-time code email dropped", append(recipient(m.To), "reason", reason(closing))...)
	}
	return nil
}

func reason(closing bool) string {
	if closing {
		return "mail queue closed"
	}
	return "mail queue full"
}

// Stats returns the queue's counters.
func (q *Queue) Stats() QueueStats {
	q.mu.Lock()
	defer q.mu.Unlock()
	s := q.stats
	s.Held = q.held
	return s
}

// Close stops taking messages, gives those held until ctx ends to go out
// (retries waiting for their back-off are tried at once, one last time),
// then abandons the rest, ending deliveries in flight. It returns an error
// naming how many messages were abandoned.
func (q *Queue) Close(ctx context.Context) error {
	q.mu.Lock()
	if q.closing {
		q.mu.Unlock()
		return nil
	}
	q.closing = true
	for j, t := range q.waiting {
		if t.Stop() {
			delete(q.waiting, j)
			q.ready <- j
		}
	}
	if q.held == 0 {
		close(q.drained)
	}
	q.mu.Unlock()

	select {
	case <-q.drained:
	case <-ctx.Done():
	}
	q.abort()
	close(q.stop)
	q.workers.Wait()

	q.mu.Lock()
	for j, t := range q.waiting {
		t.Stop()
		delete(q.waiting, j)
	}
	q.lost += q.held
	q.stats.Dropped += uint64(q.held)
	q.held = 0
	lost := q.lost
	q.mu.Unlock()
	if lost > 0 {
		q.log.Error("mail queue closed with emails undelivered", "count", lost)
		return fmt.Errorf("mail queue: %d emails undelivered at shutdown", lost)
	}
	return nil
}

func (q *Queue) work() {
	defer q.workers.Done()
	for {
		select {
		case <-q.stop:
			return
		default:
		}
		select {
		case <-q.stop:
			return
		case j := <-q.ready:
			q.deliver(j)
		}
	}
}

// deliver tries j once and decides what comes next: done, given up, or
// another try after a back-off.
func (q *Queue) deliver(j *job) {
	err := q.next.Send(q.ctx, j.m)
	q.mu.Lock()
	j.attempts++
	attempts := j.attempts
	var retryIn time.Duration
	switch {
	case err == nil:
		q.stats.Sent++
		q.release()
	case q.ctx.Err() != nil: // Close gave up on it
		q.stats.Dropped++
		q.lost++
		q.release()
	case isPermanent(err) || attempts >= q.cfg.Attempts || q.closing:
		q.stats.Failed++
		q.release()
	default:
		q.stats.Retried++
		retryIn = q.backoff(attempts)
		q.waiting[j] = time.AfterFunc(retryIn, func() { q.retry(j) })
	}
	q.mu.Unlock()
	switch {
	case err == nil || q.ctx.Err() != nil:
	case retryIn > 0:
		q.log.Warn("one-time code email not delivered; will retry", append(recipient(j.m.To),
			"attempt", attempts, "retry_in", retryIn.String(), "cause", redact(err, j.m.To))...)
	default:
		q.log.Error("one-time code email not delivered; giving up", append(recipient(j.m.To),
			"attempts", attempts, "cause", redact(err, j.m.To))...)
	}
}

// retry puts j back in line once its back-off has passed.
func (q *Queue) retry(j *job) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, ok := q.waiting[j]; !ok {
		return // Close took it
	}
	delete(q.waiting, j)
	q.ready <- j
}

// release forgets one message; the caller holds q.mu.
func (q *Queue) release() {
	q.held--
	if q.closing && q.held == 0 {
		close(q.drained)
	}
}

// backoff is the wait after the given number of failed attempts.
func (q *Queue) backoff(attempts int) time.Duration {
	d := q.cfg.Backoff
	for i := 1; i < attempts && d < q.cfg.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, q.cfg.MaxBackoff)
}

// recipient names an address in the log without writing it (PRODUCT O4):
// its domain, and a hash an operator can compute from a complaint.
func recipient(addr string) []any {
	sum := sha256.Sum256([]byte(strings.ToLower(addr)))
	domain := ""
	if at := strings.LastIndex(addr, "@"); at >= 0 {
		domain = addr[at+1:]
	}
	return []any{"to_domain", domain, "to_hash", hex.EncodeToString(sum[:8])}
}

// redact is err's text with the recipient's address, which mail servers
// like to quote, replaced.
func redact(err error, addr string) string {
	if addr == "" {
		return err.Error()
	}
	return regexp.MustCompile(`(?i)`+regexp.QuoteMeta(addr)).ReplaceAllString(err.Error(), "<recipient>")
}
