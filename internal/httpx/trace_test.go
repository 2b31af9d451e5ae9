package httpx

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// traced is a small mux behind the chain's head (request id, then the
// span), recording spans in memory.
func traced(t *testing.T) (http.Handler, *tracetest.SpanRecorder) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { tp.Shutdown(t.Context()) })
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth/token", func(w http.ResponseWriter, r *http.Request) {
		// A child span: it must land in the request's trace.
		_, child := tp.Tracer("test").Start(r.Context(), "child")
		child.End()
		w.WriteHeader(http.StatusOK)
	})
	mux.HandleFunc("GET /customers/{id}", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("GET /boom", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
	mux.HandleFunc("/any/", func(w http.ResponseWriter, r *http.Request) {})
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	return Chain(Routes(mux, log), WithRequestID, Trace(tp.Tracer("test"))), rec
}

func TestTraceSpanPerRequest(t *testing.T) {
	tests := []struct {
		name, method, path string
		span, route        string
		status             int
		failed             bool
	}{
		{"O7/named_by_pattern", http.MethodPost, "/oauth/token", "POST /oauth/token", "/oauth/token", 200, false},
		{"O7/never_the_raw_path", http.MethodGet, "/customers/cus_secret123", "GET /customers/{id}", "/customers/{id}", 200, false},
		{"O7/pattern_without_method", http.MethodPut, "/any/thing", "PUT /any/", "/any/", 200, false},
		{"O7/5xx_fails_the_span", http.MethodGet, "/boom", "GET /boom", "/boom", 503, true},
		{"O7/405_is_no_failure", http.MethodGet, "/oauth/token", "GET", "", 405, false},
		{"O7/unrouted_is_the_method", http.MethodGet, "/nowhere/x", "GET", "", 404, false},
		{"O7/invented_method_is_HTTP", "BREW", "/nowhere", "HTTP", "", 404, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, rec := traced(t)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(tt.method, tt.path, nil))
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d", w.Code, tt.status)
			}
			span := serverSpan(t, rec)
			if span.Name() != tt.span {
				t.Errorf("span name %q, want %q", span.Name(), tt.span)
			}
			attrs := attrMap(span.Attributes())
			if got := attrs["http.route"]; got != attribute.StringValue(tt.route) && !(tt.route == "" && got.Type() == attribute.EMPTY) {
				t.Errorf("http.route %v, want %q", got.String(), tt.route)
			}
			if got := attrs["http.response.status_code"].AsInt64(); got != int64(tt.status) {
				t.Errorf("status attribute %d, want %d", got, tt.status)
			}
			if got := attrs[RequestIDAttribute].AsString(); got == "" || got != w.Header().Get(RequestIDHeader) {
				t.Errorf("request id attribute %q, header %q", got, w.Header().Get(RequestIDHeader))
			}
			if failed := span.Status().Code == codes.Error; failed != tt.failed {
				t.Errorf("span failed %v, want %v", failed, tt.failed)
			}
		})
	}
}

// TestTraceContinuesCallersTrace: a W3C traceparent makes the request span
// a child of the caller's, and the handler's spans children of it.
func TestTraceContinuesCallersTrace(t *testing.T) {
	h, rec := traced(t)
	r := httptest.NewRequest(http.MethodPost, "/oauth/token", nil)
	r.Header.Set("Traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	h.ServeHTTP(httptest.NewRecorder(), r)
	span := serverSpan(t, rec)
	if got := span.SpanContext().TraceID().String(); got != "0af7651916cd43dd8448eb211c80319c" {
		t.Fatalf("trace id %s, want the caller's", got)
	}
	if got := span.Parent().SpanID().String(); got != "b7ad6b7169203331" || !span.Parent().IsRemote() {
		t.Fatalf("parent %s (remote %v), want the caller's span", got, span.Parent().IsRemote())
	}
	children := 0
	for _, s := range rec.Ended() {
		if s.Name() == "child" && s.Parent().SpanID() == span.SpanContext().SpanID() {
			children++
		}
	}
	if children != 1 {
		t.Fatalf("%d children of the request span, want the handler's one", children)
	}
}

// TestTraceOffIsNext: with the no-op tracer the middleware is not there at
// all (PRODUCT O7: off costs nothing).
func TestTraceOffIsNext(t *testing.T) {
	next := &countingHandler{}
	if h := Trace(noop.NewTracerProvider().Tracer(""))(next); h != http.Handler(next) {
		t.Fatalf("tracing off wrapped the handler: %T", h)
	}
}

type countingHandler struct{ n int }

func (c *countingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) { c.n++ }

func serverSpan(t *testing.T, rec *tracetest.SpanRecorder) sdktrace.ReadOnlySpan {
	t.Helper()
	var found []sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if s.SpanKind() == trace.SpanKindServer {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d server spans, want 1", len(found))
	}
	return found[0]
}

func attrMap(kvs []attribute.KeyValue) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range kvs {
		m[kv.Key] = kv.Value
	}
	return m
}

// BenchmarkTrace is the middleware's cost per request: none (no
// middleware), off (the no-op tracer, as serve runs without
// --otel-endpoint) and on (a recording tracer that exports nowhere).
func BenchmarkTrace(b *testing.B) {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth/token", func(w http.ResponseWriter, r *http.Request) {})
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	tp := sdktrace.NewTracerProvider()
	b.Cleanup(func() { tp.Shutdown(b.Context()) })
	for _, bc := range []struct {
		name string
		mw   []Middleware
	}{
		{"none", nil},
		{"off", []Middleware{Trace(noop.NewTracerProvider().Tracer(""))}},
		{"on", []Middleware{Trace(tp.Tracer("bench"))}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			h := Chain(Routes(mux, log), bc.mw...)
			r := httptest.NewRequest(http.MethodPost, "/oauth/token", nil)
			w := httptest.NewRecorder()
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(w, r)
			}
		})
	}
}
