package main

import (
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/nomosauth/nomosauth/internal/httpx"
	"github.com/nomosauth/nomosauth/internal/server"
)

// receivedSpan is a span as an OTLP receiver got it.
type receivedSpan struct {
	service, name    string
	traceID, spanID  string
	parentID         string
	kind             tracepb.Span_SpanKind
	attrs            map[string]string
	failed           bool
	statusCodeNumber int64
}

// otlpReceiver is an in-process OTLP/HTTP trace receiver: it takes POST
// /v1/traces with a protobuf body, as a collector does, and keeps the spans.
type otlpReceiver struct {
	mu    sync.Mutex
	spans []receivedSpan
	bad   []string
}

func (o *otlpReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" || err != nil {
		o.mu.Lock()
		o.bad = append(o.bad, r.Method+" "+r.URL.Path+" "+r.Header.Get("Content-Type"))
		o.mu.Unlock()
		http.Error(w, "not an OTLP/HTTP trace export", http.StatusBadRequest)
		return
	}
	var req coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(body, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	o.mu.Lock()
	for _, rs := range req.ResourceSpans {
		service := ""
		for _, kv := range rs.GetResource().GetAttributes() {
			if kv.Key == "service.name" {
				service = kv.Value.GetStringValue()
			}
		}
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				rec := receivedSpan{service: service, name: s.Name, traceID: hex.EncodeToString(s.TraceId), spanID: hex.EncodeToString(s.SpanId),
					parentID: hex.EncodeToString(s.ParentSpanId), kind: s.Kind, attrs: map[string]string{},
					failed: s.GetStatus().GetCode() == tracepb.Status_STATUS_CODE_ERROR}
				for _, kv := range s.Attributes {
					rec.attrs[kv.Key] = kv.Value.GetStringValue() // "" for other types
					if kv.Key == "http.response.status_code" {
						rec.statusCodeNumber = kv.Value.GetIntValue()
					}
				}
				o.spans = append(o.spans, rec)
			}
		}
	}
	o.mu.Unlock()
	out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.Write(out)
}

func (o *otlpReceiver) received() ([]receivedSpan, []string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]receivedSpan(nil), o.spans...), append([]string(nil), o.bad...)
}

// TestTracesReachOTLPReceiver is PRODUCT O7's tracing end to end: serve
// with --otel-endpoint exports, over OTLP/HTTP, a client-credentials token
// request as a server span named by its route, carrying the request id the
// response sent, in the trace the caller's traceparent started, with the
// grant's decision and signing spans under it (and no commit: issue 17). The spans leave at
// the latest when serve stops (SIGTERM flushes the batch).
func TestTracesReachOTLPReceiver(t *testing.T) {
	bin := binary(t)
	recv := &otlpReceiver{}
	collector := httptest.NewServer(recv)
	defer collector.Close()
	srv := start(t, bin, filepath.Join(t.TempDir(), "trace.db"), "--otel-endpoint", collector.URL)
	id, secret := credentials(t, srv.stdout)

	const callerTrace, callerSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	req, _ := http.NewRequest(http.MethodPost, srv.base+server.PathToken,
		strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Traceparent", "00-"+callerTrace+"-"+callerSpan+"-01")
	req.SetBasicAuth(id, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	requestID := resp.Header.Get(httpx.RequestIDHeader)
	if resp.StatusCode != http.StatusOK || requestID == "" {
		t.Fatalf("token request: %d, request id %q", resp.StatusCode, requestID)
	}
	// The protected API's store read is a span of its request too.
	api, _ := http.NewRequest(http.MethodGet, srv.base+"/subscriptions", nil)
	api.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	if resp, err = http.DefaultClient.Do(api); err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /subscriptions: %d", resp.StatusCode)
	}

	srv.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- srv.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, srv.logs.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no shutdown after SIGTERM")
	}

	spans, bad := recv.received()
	if len(bad) > 0 {
		t.Fatalf("the receiver refused exports: %v", bad)
	}
	var root *receivedSpan
	for i, s := range spans {
		if s.kind == tracepb.Span_SPAN_KIND_SERVER && s.attrs[string(httpx.RequestIDAttribute)] == requestID {
			root = &spans[i]
		}
	}
	if root == nil {
		t.Fatalf("no server span with request id %s among %d spans: %+v\n%s", requestID, len(spans), spans, srv.logs.String())
	}
	if root.name != "POST "+server.PathToken || root.attrs["http.route"] != server.PathToken || root.statusCodeNumber != 200 || root.failed {
		t.Fatalf("request span %+v", *root)
	}
	if root.service != "nomosauth" {
		t.Fatalf("service.name %q", root.service)
	}
	if root.traceID != callerTrace || root.parentID != callerSpan {
		t.Fatalf("request span in trace %s under %s, want the caller's %s under %s", root.traceID, root.parentID, callerTrace, callerSpan)
	}
	children := map[string]int{}
	for _, s := range spans {
		if s.traceID == root.traceID && s.parentID == root.spanID {
			children[s.name]++
		}
	}
	// No commit span: a client-credentials token writes nothing (issue 17).
	for _, name := range []string{server.SpanAuthenticate, server.SpanDecide, server.SpanSign} {
		if children[name] != 1 {
			t.Errorf("%d %q spans under the request span, want 1 (children: %v)", children[name], name, children)
		}
	}
	reads := 0
	for _, s := range spans {
		for _, p := range spans {
			if s.name == "store.ListSubscriptions" && p.name == "GET /subscriptions" && s.parentID == p.spanID && s.traceID == p.traceID {
				reads++
			}
		}
	}
	if reads != 1 {
		t.Errorf("%d store.ListSubscriptions spans under GET /subscriptions, want 1", reads)
	}
}
