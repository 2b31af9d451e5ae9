package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nomosauth/nomosauth/internal/fakeclock"
	"github.com/nomosauth/nomosauth/internal/problem"
	"github.com/nomosauth/nomosauth/internal/store"
)

// TestUnavailableDatabase: a request that failed because the database is
// unavailable gets 503 SERVICE_UNAVAILABLE with Retry-After in the
// envelope, however the error was wrapped on the way up (PRODUCT S5).
func TestUnavailableDatabase(t *testing.T) {
	down := fmt.Errorf("rotate refresh token: %w", fmt.Errorf("%w: connection refused", store.ErrUnavailable))
	for name, err := range map[string]error{
		"S5/store_error_is_503":          down,
		"S5/internal_problem_is_503":     problem.Internal(down),
		"S5/readiness_problem_is_503":    problem.Unavailable(down),
		"S5/problem_wrapping_is_503":     fmt.Errorf("token: %w", problem.Internal(down)),
		"S5/other_internal_error_is_500": errors.New("boom"),
	} {
		t.Run(name, func(t *testing.T) {
			var logs bytes.Buffer
			rec := httptest.NewRecorder()
			WriteError(rec, httptest.NewRequest(http.MethodPost, "/oauth/token", nil), slog.New(slog.NewJSONHandler(&logs, nil)), err)
			var env Envelope
			if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil {
				t.Fatal(err)
			}
			if !errors.Is(err, store.ErrUnavailable) {
				if rec.Code != http.StatusInternalServerError || rec.Header().Get("Retry-After") != "" {
					t.Fatalf("status %d, Retry-After %q; want 500 without", rec.Code, rec.Header().Get("Retry-After"))
				}
				return
			}
			if rec.Code != http.StatusServiceUnavailable || env.Code != "SERVICE_UNAVAILABLE" || rec.Header().Get("Retry-After") == "" {
				t.Fatalf("status %d, code %q, Retry-After %q; want 503 SERVICE_UNAVAILABLE with Retry-After", rec.Code, env.Code, rec.Header().Get("Retry-After"))
			}
			if env.Error != "temporarily_unavailable" || strings.Contains(env.Message, "connection refused") {
				t.Fatalf("envelope %+v: want temporarily_unavailable and no cause", env)
			}
			if !strings.Contains(logs.String(), `"msg":"`+store.MsgUnavailable+`"`) {
				t.Fatalf("log %q: want %q", logs.String(), store.MsgUnavailable)
			}
		})
	}
}

// TestThrottleLog: an outage that fails every request is logged once per
// interval with a count, not once per request; other lines pass as they
// are (PRODUCT S5).
func TestThrottleLog(t *testing.T) {
	t.Run("S5/outage_logged_once_per_interval", func(t *testing.T) {
		clock := fakeclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		var out bytes.Buffer
		log := slog.New(ThrottleLog(slog.NewJSONHandler(&out, nil), 10*time.Second, clock.Now, store.MsgUnavailable)).With("component", "test")
		lines := func() []map[string]any {
			var got []map[string]any
			for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
				if l == "" {
					continue
				}
				var m map[string]any
				if err := json.Unmarshal([]byte(l), &m); err != nil {
					t.Fatal(err)
				}
				got = append(got, m)
			}
			out.Reset()
			return got
		}
		for range 500 { // 500 failed requests in 5 s
			log.Error(store.MsgUnavailable, "request_id", "r")
			clock.Advance(10 * time.Millisecond)
		}
		log.Info("listening")
		got := lines()
		if len(got) != 2 || got[0]["count"] != 1.0 || got[1]["msg"] != "listening" {
			t.Fatalf("first 5 s of an outage: %v; want its first line, then the other line", got)
		}
		for range 1000 { // 10 s more
			log.Error(store.MsgUnavailable, "request_id", "r")
			clock.Advance(10 * time.Millisecond)
		}
		got = lines()
		if len(got) != 1 || got[0]["count"] != 1000.0 || got[0]["component"] != "test" {
			t.Fatalf("the next 10 s: %v; want one line counting 1000", got)
		}
	})
}
