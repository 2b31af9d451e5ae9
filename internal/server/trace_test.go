package server

import (
	"net/http"
	"net/url"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/httpx"
)

// TestTokenSpans is PRODUCT O7 at the token endpoint: each grant's request
// span, named by its route and carrying the request id, holds the spans of
// its steps, and the refresh and code rules, which decide inside the
// store's transaction, show their decision under the commit.
func TestTokenSpans(t *testing.T) {
	tests := []struct {
		name string
		do   func(f *fixture) result
		// parents maps each step's span to its parent's name.
		parents map[string]string
	}{
		// No commit: client credentials write nothing (issue 17).
		{"O7/client_credentials", func(f *fixture) result { return f.clientCredentials("") },
			map[string]string{SpanAuthenticate: "POST /oauth/token", SpanDecide: "POST /oauth/token", SpanSign: "POST /oauth/token"}},
		{"O7/refresh_token", func(f *fixture) result {
			rt, _ := f.tokens("")
			return f.refresh(rt, "")
		}, map[string]string{SpanAuthenticate: "POST /oauth/token", SpanDecide: SpanCommit, SpanCommit: "POST /oauth/token", SpanSign: "POST /oauth/token"}},
		{"O7/authorization_code", func(f *fixture) result {
			code, _ := f.seedCode(t, domain.Scopes{domain.ScopeRead})
			return f.redeem(code, codeVerifier)
		}, map[string]string{SpanAuthenticate: "POST /oauth/token", SpanDecide: SpanCommit, SpanCommit: "POST /oauth/token", SpanSign: "POST /oauth/token"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := tracetest.NewSpanRecorder()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
			f := newTracedFixture(t, tp.Tracer("test"))
			r := tt.do(f)
			mustOK(t, r)
			// The last request's trace: the one whose server span carries
			// the response's request id.
			var root sdktrace.ReadOnlySpan
			for _, s := range rec.Ended() {
				if s.SpanKind() == trace.SpanKindServer && attr(s, httpx.RequestIDAttribute) == r.header.Get(httpx.RequestIDHeader) {
					root = s
				}
			}
			if root == nil {
				t.Fatalf("no server span with request id %q", r.header.Get(httpx.RequestIDHeader))
			}
			if root.Name() != "POST "+PathToken || attr(root, "http.route") != PathToken {
				t.Fatalf("server span %q, route %q", root.Name(), attr(root, "http.route"))
			}
			byID := map[trace.SpanID]sdktrace.ReadOnlySpan{}
			got := map[string]string{}
			for _, s := range rec.Ended() {
				if s.SpanContext().TraceID() == root.SpanContext().TraceID() {
					byID[s.SpanContext().SpanID()] = s
				}
			}
			for _, s := range byID {
				if p, ok := byID[s.Parent().SpanID()]; ok {
					if _, dup := got[s.Name()]; dup {
						t.Errorf("span %q twice", s.Name())
					}
					got[s.Name()] = p.Name()
				}
			}
			for name, parent := range tt.parents {
				if got[name] != parent {
					t.Errorf("span %q under %q, want under %q (all: %v)", name, got[name], parent, got)
				}
			}
			if len(got) != len(tt.parents) {
				t.Errorf("spans %v, want %v", got, tt.parents)
			}
		})
	}
}

// TestTokenSpanRecordsRefusal: a refused grant is an outcome, not a
// failed span; the span says what was refused.
func TestTokenSpanRecordsRefusal(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	f := newTracedFixture(t, tp.Tracer("test"))
	r := f.post(form, "grant_type=refresh_token&refresh_token="+url.QueryEscape("nrt_unknown"), f.client.ID, f.secret)
	if r.status != http.StatusUnauthorized {
		t.Fatalf("status %d", r.status)
	}
	for _, s := range rec.Ended() {
		if s.Name() == SpanCommit {
			if got := attr(s, "nomosauth.refused"); got != "not_found" {
				t.Fatalf("commit span refused %q", got)
			}
			if s.Status().Code != 0 {
				t.Fatalf("commit span status %v", s.Status())
			}
			return
		}
	}
	t.Fatal("no commit span")
}

func attr(s sdktrace.ReadOnlySpan, key attribute.Key) string {
	for _, kv := range s.Attributes() {
		if kv.Key == key {
			return kv.Value.String()
		}
	}
	return ""
}
