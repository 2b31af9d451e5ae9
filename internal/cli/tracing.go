package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/nomosauth/nomosauth/internal/api"
	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/store"
)

// tracesPath is where an OTLP/HTTP receiver takes traces (OTLP
// specification, "OTLP/HTTP Request").
const tracesPath = "/v1/traces"

// tracesFlushTimeout bounds how long a stopping serve waits for its last
// spans to reach the receiver.
const tracesFlushTimeout = 5 * time.Second

// tracing is the tracer provider serve hands its surfaces, and how to
// flush and stop it.
type tracing struct {
	provider trace.TracerProvider
	shutdown func(context.Context) error
}

// newTracing builds the tracer provider of PRODUCT O7: the no-op one when
// endpoint is empty, which costs nothing, else an SDK provider whose batch
// processor exports to endpoint's /v1/traces over OTLP/HTTP. It is never
// installed as otel's global provider; serve passes it down and shuts it
// down, flushing what is queued, when it stops. Export failures go to log.
func newTracing(ctx context.Context, endpoint string, log *slog.Logger) (tracing, error) {
	if endpoint == "" {
		return tracing{provider: noop.NewTracerProvider(), shutdown: func(context.Context) error { return nil }}, nil
	}
	// The SDK reports export failures only to otel's process-wide error
	// handler, whose default writes plain lines with the standard log
	// package into the JSON log stream; this is the one global of otel we
	// set, so they become warnings in the server's own log.
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		log.Warn("traces not exported", "err", err)
	}))
	exp, err := otlptracehttp.New(ctx,
		otlptracehttp.WithEndpointURL(strings.TrimSuffix(endpoint, "/")+tracesPath),
		otlptracehttp.WithTimeout(10*time.Second))
	if err != nil {
		return tracing{}, fmt.Errorf("otel exporter: %w", err)
	}
	attrs := []attribute.KeyValue{semconv.ServiceName("nomosauth")}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		attrs = append(attrs, semconv.ServiceVersion(info.Main.Version))
	}
	// The sampler and batch options are given, so the SDK's OTEL_*
	// environment defaults for them do not override the settings table.
	// Every request is sampled, whatever its traceparent's flags say: the
	// trace a caller sends is continued, but a caller on the public
	// listener cannot switch tracing off for its own requests.
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithResource(resource.NewWithAttributes(semconv.SchemaURL, attrs...)),
		sdktrace.WithSampler(sdktrace.AlwaysSample()),
		sdktrace.WithBatcher(exp,
			sdktrace.WithBatchTimeout(sdktrace.DefaultScheduleDelay*time.Millisecond),
			sdktrace.WithExportTimeout(sdktrace.DefaultExportTimeout*time.Millisecond),
			sdktrace.WithMaxQueueSize(sdktrace.DefaultMaxQueueSize),
			sdktrace.WithMaxExportBatchSize(sdktrace.DefaultMaxExportBatchSize)))
	return tracing{provider: tp, shutdown: tp.Shutdown}, nil
}

// tracer is the one tracer every surface records with.
func (t tracing) tracer() trace.Tracer {
	return t.provider.Tracer("github.com/nomosauth/nomosauth")
}

// tracedAPIStore gives the protected API's store reads a span each under
// the request's (PRODUCT O7). Writes pass through untouched, and with
// tracing off st itself is returned: off costs nothing.
func tracedAPIStore(st api.Store, tracer trace.Tracer) api.Store {
	if _, off := tracer.(noop.Tracer); off {
		return st
	}
	return apiReads{Store: st, tracer: tracer}
}

// apiReads is api.Store with a span around each read.
type apiReads struct {
	api.Store
	tracer trace.Tracer
}

// read runs one store read in a span named for its verb; not found is an
// answer, anything else fails the span.
func read[T any](ctx context.Context, tracer trace.Tracer, verb string, do func(context.Context) (T, error)) (T, error) {
	ctx, span := tracer.Start(ctx, "store."+verb)
	defer span.End()
	v, err := do(ctx)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		span.SetStatus(codes.Error, "")
	}
	return v, err
}

func (s apiReads) GetClient(ctx context.Context, id string) (domain.Client, error) {
	return read(ctx, s.tracer, "GetClient", func(ctx context.Context) (domain.Client, error) { return s.Store.GetClient(ctx, id) })
}

func (s apiReads) GetCustomer(ctx context.Context, id string) (domain.Customer, error) {
	return read(ctx, s.tracer, "GetCustomer", func(ctx context.Context) (domain.Customer, error) { return s.Store.GetCustomer(ctx, id) })
}

func (s apiReads) ListCustomers(ctx context.Context, f store.CustomerFilter, p store.Page) ([]domain.Customer, error) {
	return read(ctx, s.tracer, "ListCustomers", func(ctx context.Context) ([]domain.Customer, error) { return s.Store.ListCustomers(ctx, f, p) })
}

func (s apiReads) GetSubscription(ctx context.Context, id string) (domain.Subscription, error) {
	return read(ctx, s.tracer, "GetSubscription", func(ctx context.Context) (domain.Subscription, error) { return s.Store.GetSubscription(ctx, id) })
}

func (s apiReads) ListSubscriptions(ctx context.Context, f store.SubscriptionFilter, p store.Page) ([]domain.Subscription, error) {
	return read(ctx, s.tracer, "ListSubscriptions", func(ctx context.Context) ([]domain.Subscription, error) {
		return s.Store.ListSubscriptions(ctx, f, p)
	})
}

func (s apiReads) ListPrices(ctx context.Context, subscriptionID string, from, to time.Time) ([]domain.PricePoint, error) {
	return read(ctx, s.tracer, "ListPrices", func(ctx context.Context) ([]domain.PricePoint, error) {
		return s.Store.ListPrices(ctx, subscriptionID, from, to)
	})
}
