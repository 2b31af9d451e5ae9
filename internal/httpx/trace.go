package httpx

import (
	"net/http"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// RequestIDAttribute is the span attribute that carries the request id, so
// a trace and the log lines of its request find each other (PRODUCT O7, O4).
const RequestIDAttribute = attribute.Key("nomosauth.request_id")

// Trace starts one server span per request (PRODUCT O7), continuing the
// caller's trace when it sends a W3C traceparent. The span is named by the
// route pattern the mux matched ("POST /oauth/token"), never the raw path,
// which holds ids; a 5xx marks it failed. It must run after WithRequestID
// and before Routes, which tells its status writer the pattern.
//
// The no-op tracer (tracing off) gets next itself back: off costs nothing.
func Trace(tracer trace.Tracer) Middleware {
	return func(next http.Handler) http.Handler {
		if _, off := tracer.(noop.Tracer); off || tracer == nil {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := propagation.TraceContext{}.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
			method := knownMethod(r.Method)
			ctx, span := tracer.Start(ctx, method, trace.WithSpanKind(trace.SpanKindServer),
				trace.WithAttributes(semconv.HTTPRequestMethodKey.String(method), RequestIDAttribute.String(RequestID(r.Context()))))
			defer span.End()
			r = r.WithContext(ctx)
			sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
			next.ServeHTTP(sw, r)
			if sw.pattern != "" { // set by Routes, which matched it
				span.SetName(spanName(method, sw.pattern))
				span.SetAttributes(semconv.HTTPRoute(route(sw.pattern)))
			}
			span.SetAttributes(semconv.HTTPResponseStatusCode(sw.status))
			if sw.status >= 500 {
				span.SetStatus(codes.Error, http.StatusText(sw.status))
			}
		})
	}
}

// knownMethod is the request's method when it is a standard one, else
// "HTTP": a client invents methods, and span names must stay few.
func knownMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "HTTP"
}

// spanName is "METHOD /route": the pattern itself when it names its
// method, else the request's method before it.
func spanName(method, pattern string) string {
	if strings.HasPrefix(pattern, "/") {
		return method + " " + pattern
	}
	return pattern
}

// route is a pattern's path template, without its method or host.
func route(pattern string) string {
	if i := strings.IndexByte(pattern, '/'); i >= 0 {
		return pattern[i:]
	}
	return pattern
}
