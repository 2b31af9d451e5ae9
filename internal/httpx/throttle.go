package httpx

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// ThrottleLog returns a handler that passes every record to h, except
// that records whose message is one of msgs reach h at most once per
// interval (each message on its own), carrying "count": how many such
// records arrived since the last one passed, this one included. An outage
// that fails every request is then logged once per interval with a
// count, not once per request (PRODUCT S5).
func ThrottleLog(h slog.Handler, every time.Duration, now func() time.Time, msgs ...string) slog.Handler {
	t := &throttle{every: every, now: now, msgs: map[string]*throttled{}}
	for _, m := range msgs {
		t.msgs[m] = &throttled{}
	}
	return throttleHandler{h: h, t: t}
}

// throttle is the state that a handler and those derived from it share.
type throttle struct {
	every time.Duration
	now   func() time.Time
	mu    sync.Mutex
	msgs  map[string]*throttled // fixed at construction; entries change under mu
}

type throttled struct {
	last   time.Time // when a record last passed
	passed bool
	count  int // records since then, this one included
}

// admit reports whether a record with message msg passes, and the count
// it carries (0 for messages not throttled).
func (t *throttle) admit(msg string) (int, bool) {
	s, ok := t.msgs[msg]
	if !ok {
		return 0, true
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	s.count++
	now := t.now()
	if s.passed && now.Sub(s.last) < t.every {
		return 0, false
	}
	n := s.count
	s.last, s.passed, s.count = now, true, 0
	return n, true
}

type throttleHandler struct {
	h slog.Handler
	t *throttle
}

func (th throttleHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return th.h.Enabled(ctx, l)
}

func (th throttleHandler) Handle(ctx context.Context, r slog.Record) error {
	n, ok := th.t.admit(r.Message)
	if !ok {
		return nil
	}
	if n > 0 {
		r = r.Clone()
		r.AddAttrs(slog.Int("count", n))
	}
	return th.h.Handle(ctx, r)
}

func (th throttleHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return throttleHandler{h: th.h.WithAttrs(as), t: th.t}
}

func (th throttleHandler) WithGroup(name string) slog.Handler {
	return throttleHandler{h: th.h.WithGroup(name), t: th.t}
}
