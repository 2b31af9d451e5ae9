package cli

import (
	"io"
	"log/slog"
	"testing"

	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/nomosauth/nomosauth/internal/api"
)

// TestTracingOffIsNoop: without --otel-endpoint serve gets the no-op
// provider, and the API's store is not wrapped (PRODUCT O7: off costs
// nothing); with one, its reads are.
func TestTracingOffIsNoop(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	off, err := newTracing(t.Context(), "", quiet)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := off.provider.(noop.TracerProvider); !ok {
		t.Fatalf("tracing off: %T, want the no-op provider", off.provider)
	}
	var st api.Store = apiReads{} // any store value will do: it is only passed on
	if got := tracedAPIStore(st, off.tracer()); got != st {
		t.Fatalf("tracing off wrapped the API's store: %T", got)
	}
	on, err := newTracing(t.Context(), "http://127.0.0.1:1", quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer on.shutdown(t.Context())
	if _, ok := tracedAPIStore(st, on.tracer()).(apiReads); !ok {
		t.Fatal("tracing on left the API's store reads untraced")
	}

	// A caller's traceparent that says "not sampled" continues its trace
	// but cannot switch tracing off for its request.
	parent := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{2}, Remote: true})
	_, span := on.tracer().Start(trace.ContextWithRemoteSpanContext(t.Context(), parent), "request")
	defer span.End()
	if sc := span.SpanContext(); !sc.IsSampled() || sc.TraceID() != parent.TraceID() {
		t.Fatalf("O7/caller_cannot_unsample: sampled %v, trace %v", sc.IsSampled(), sc.TraceID())
	}
}
