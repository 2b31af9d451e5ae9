package mail_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/nomosauth/nomosauth/internal/mail"
)

// script is a fake Sender: each call takes the next error of fails (nil
// once they run out), and records when it was called. Calls block while
// gate is set and not yet closed, or until their context ends.
type script struct {
	mu    sync.Mutex
	fails []error
	calls []time.Time
	sent  []mail.Message
	gate  chan struct{}
}

func (s *script) Send(ctx context.Context, m mail.Message) error {
	s.mu.Lock()
	s.calls = append(s.calls, time.Now())
	gate := s.gate
	var err error
	if len(s.fails) > 0 {
		err, s.fails = s.fails[0], s.fails[1:]
	}
	s.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err == nil {
		s.mu.Lock()
		s.sent = append(s.sent, m)
		s.mu.Unlock()
	}
	return err
}

func (s *script) callTimes() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.calls...)
}

func codeMail(to string) mail.Message {
	return mail.Message{To: to, Subject: "123456 is your code", Text: "123456", HTML: "<b>123456</b>"}
}

var errBusy = &textproto.Error{Code: 421, Msg: "4.3.2 try again later, ada@example.com"}

// TestQueue: sign-in mail goes out after the answer, through a bounded
// queue with retries (PRODUCT A7).
func TestQueue(t *testing.T) {
	t.Run("A7/send_returns_before_delivery", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := &script{gate: make(chan struct{})}
			q := mail.NewQueue(s, mail.QueueConfig{})
			start := time.Now()
			if err := q.Send(t.Context(), codeMail("ada@example.com")); err != nil {
				t.Fatal(err)
			}
			synctest.Wait()
			if time.Since(start) != 0 || q.Stats().Held != 1 || len(s.callTimes()) != 1 {
				t.Fatalf("Send waited for the delivery: %+v", q.Stats())
			}
			close(s.gate)
			closeQueue(t, q)
			if st := q.Stats(); st.Sent != 1 || st.Held != 0 || len(s.sent) != 1 || s.sent[0].To != "ada@example.com" {
				t.Fatalf("stats %+v, sent %+v", st, s.sent)
			}
		})
	})
	t.Run("A7/transient_failures_retry_with_doubling_backoff", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := &script{fails: []error{errBusy, errors.New("connect to mail server: connection refused")}}
			q := mail.NewQueue(s, mail.QueueConfig{Backoff: 5 * time.Second})
			q.Send(t.Context(), codeMail("ada@example.com"))
			time.Sleep(time.Minute) // synctest: the fake clock jumps
			closeQueue(t, q)
			calls := s.callTimes()
			if len(calls) != 3 || calls[1].Sub(calls[0]) != 5*time.Second || calls[2].Sub(calls[1]) != 10*time.Second {
				t.Fatalf("attempts at %v", calls)
			}
			if st := q.Stats(); st.Sent != 1 || st.Retried != 2 || st.Failed != 0 {
				t.Fatalf("stats %+v", st)
			}
		})
	})
	t.Run("A7/gives_up_after_the_attempts_and_logs_no_address_or_code", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := &script{fails: []error{errBusy, errBusy, errBusy, errBusy, errBusy, errBusy}}
			var logs bytes.Buffer
			q := mail.NewQueue(s, mail.QueueConfig{Attempts: 4, Backoff: time.Second, MaxBackoff: 3 * time.Second,
				Log: slog.New(slog.NewJSONHandler(&logs, nil))})
			q.Send(t.Context(), codeMail("Ada@Example.com"))
			time.Sleep(time.Hour)
			calls := s.callTimes()
			if len(calls) != 4 || calls[3].Sub(calls[2]) != 3*time.Second { // 1 s, 2 s, then capped at 3 s
				t.Fatalf("attempts at %v", calls)
			}
			if st := q.Stats(); st.Failed != 1 || st.Retried != 3 || st.Held != 0 {
				t.Fatalf("stats %+v", st)
			}
			closeQueue(t, q)
			out := logs.String()
			if strings.Contains(strings.ToLower(out), "ada@example.com") || strings.Contains(out, "123456") ||
				!strings.Contains(out, `"to_domain":"Example.com"`) || !strings.Contains(out, "giving up") {
				t.Fatalf("log:\n%s", out)
			}
		})
	})
	t.Run("A7/permanent_failure_is_not_retried", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := &script{fails: []error{&textproto.Error{Code: 550, Msg: "mailbox unavailable"}}}
			q := mail.NewQueue(s, mail.QueueConfig{})
			q.Send(t.Context(), codeMail("ada@example.com"))
			time.Sleep(time.Hour)
			closeQueue(t, q)
			if st := q.Stats(); len(s.callTimes()) != 1 || st.Failed != 1 || st.Retried != 0 {
				t.Fatalf("stats %+v after %d calls", st, len(s.callTimes()))
			}
		})
	})
	t.Run("A7/bounded_memory_drops_beyond_capacity", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := &script{gate: make(chan struct{})}
			q := mail.NewQueue(s, mail.QueueConfig{Workers: 1, Capacity: 3})
			for range 10 {
				if err := q.Send(t.Context(), codeMail("ada@example.com")); err != nil {
					t.Fatal("a full queue must not tell the page (it would tell known emails apart)")
				}
			}
			if st := q.Stats(); st.Held != 3 || st.Dropped != 7 {
				t.Fatalf("stats %+v", st)
			}
			close(s.gate)
			closeQueue(t, q)
			if st := q.Stats(); st.Sent != 3 || st.Dropped != 7 {
				t.Fatalf("stats %+v", st)
			}
		})
	})
	t.Run("A7/close_drains_and_tries_waiting_retries_at_once", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := &script{fails: []error{errBusy}}
			q := mail.NewQueue(s, mail.QueueConfig{Backoff: time.Minute})
			q.Send(t.Context(), codeMail("ada@example.com"))
			q.Send(t.Context(), codeMail("bob@example.com"))
			synctest.Wait() // one failed and waits a minute, one went out
			start := time.Now()
			closeQueue(t, q)
			if time.Since(start) != 0 || len(s.sent) != 2 {
				t.Fatalf("close took %v, sent %d", time.Since(start), len(s.sent))
			}
			if err := q.Send(t.Context(), codeMail("eve@example.com")); err != nil || q.Stats().Dropped != 1 {
				t.Fatalf("send after close: %v %+v", err, q.Stats())
			}
		})
	})
	t.Run("A7/close_gives_up_at_its_deadline", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := &script{gate: make(chan struct{})} // a server that never answers
			q := mail.NewQueue(s, mail.QueueConfig{Workers: 1})
			q.Send(t.Context(), codeMail("ada@example.com"))
			q.Send(t.Context(), codeMail("bob@example.com"))
			ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
			defer cancel()
			start := time.Now()
			err := q.Close(ctx)
			if err == nil || time.Since(start) != 3*time.Second {
				t.Fatalf("close: %v after %v", err, time.Since(start))
			}
			if st := q.Stats(); st.Dropped != 2 || st.Held != 0 || st.Sent != 0 {
				t.Fatalf("stats %+v", st)
			}
		})
	})
}

func closeQueue(t *testing.T, q *mail.Queue) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := q.Close(ctx); err != nil {
		t.Fatal(err)
	}
}
