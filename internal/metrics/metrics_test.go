package metrics_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/nomosauth/nomosauth/internal/domain"
	. "github.com/nomosauth/nomosauth/internal/metrics"
	"github.com/nomosauth/nomosauth/internal/testfix"
)

var update = flag.Bool("update", false, "rewrite golden files")

func newTest(t testing.TB) (*Metrics, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := New(reg)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Watch(Sources{RevokedFamilies: func() int { return 3 }, SigningKeyAge: func() time.Duration { return time.Hour },
		Mail: func() MailStats { return MailStats{Sent: 5, Failed: 1} }}); err != nil {
		t.Fatal(err)
	}
	return m, reg
}

// TestClientLabelBound: the first MaxClientLabels distinct clients are
// labels, every later one is other, and no client is unknown (PRODUCT O7).
func TestClientLabelBound(t *testing.T) {
	m, reg := newTest(t)
	for i := range MaxClientLabels {
		m.TokenRequest("client_credentials", fmt.Sprintf("client_%03d", i), OutcomeOK)
	}
	tests := []struct {
		name, id, want string
	}{
		{"O7/known_client_keeps_its_label", "client_000", "client_000"},
		{"O7/last_slot_taken", "client_099", "client_099"},
		{"O7/beyond_the_bound_is_other", "client_100", OtherClient},
		{"O7/still_other_later", "client_100", OtherClient},
		{"O7/no_client_is_unknown", "", ClientUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := testfix.Gather(t, reg).Value("nomosauth_token_requests_total", "client", tt.want)
			m.TokenRequest("client_credentials", tt.id, OutcomeOK)
			if got := testfix.Gather(t, reg).Value("nomosauth_token_requests_total", "client", tt.want); got != before+1 {
				t.Fatalf("client %q: series %q went %v -> %v, want +1", tt.id, tt.want, before, got)
			}
		})
	}
	clients := map[string]bool{}
	for _, s := range testfix.Gather(t, reg)["nomosauth_token_requests_total"].GetMetric() {
		for _, l := range s.GetLabel() {
			if l.GetName() == "client" {
				clients[l.GetValue()] = true
			}
		}
	}
	if len(clients) != MaxClientLabels+2 { // the ids, other and unknown
		t.Fatalf("O7/bounded_series: %d client labels, want %d", len(clients), MaxClientLabels+2)
	}
}

// TestNilRecordsNothing: surfaces built without metrics call the same methods.
func TestNilRecordsNothing(t *testing.T) {
	var m *Metrics
	m.TokenRequest("client_credentials", "client_a", OutcomeOK)
	m.Refresh(domain.RefreshReuse)
	m.CodeRedemption(true)
	m.IDTokenIssued()
	m.DevicePoll(domain.DevicePollIssue)
	m.DeviceAuthorization(OutcomeOK)
	m.MagicLinkIssued()
	m.MagicLinkUsed()
	m.Revoked(ByAdmin)
	m.RevocationPolled(1)
	m.KeysPolled()
	m.RateLimited(TokenAddr)
	m.Commit(3, time.Millisecond, true)
	m.Request("GET /x", 200, time.Millisecond)
	if err := m.Watch(Sources{}); err != nil {
		t.Fatal(err)
	}
}

// TestRouteLabels: the route pattern and status class label HTTP latency;
// a request no pattern matched is one series, whatever its path.
func TestRouteLabels(t *testing.T) {
	m, reg := newTest(t)
	m.Request("POST /oauth/token", 200, time.Millisecond)
	m.Request("POST /oauth/token", 401, time.Millisecond)
	m.Request("", 404, time.Millisecond)
	m.Request("", 404, time.Millisecond)
	got := testfix.Gather(t, reg)
	for _, c := range []struct {
		route, status string
		want          float64
	}{{"POST /oauth/token", "2xx", 1}, {"POST /oauth/token", "4xx", 1}, {RouteUnmatched, "4xx", 2}} {
		if n := got.Value("nomosauth_http_request_duration_seconds", "route", c.route, "status", c.status); n != c.want {
			t.Fatalf("O7/route_labels: %s %s: %v, want %v", c.route, c.status, n, c.want)
		}
	}
}

// TestMetricNamesGolden pins every metric's name, type, labels and help
// (PRODUCT O7): dashboards and alerts depend on them. Rerun with -update
// when a change is intended, and update the README, docs/deployment.md
// and deploy/grafana-dashboard.json with it.
func TestMetricNamesGolden(t *testing.T) {
	testfix.Golden(t, "testdata/metrics.txt", []byte(describe(t)), *update)
}

// describe lists the registry's families, one per line: name, type,
// label names, help. Every vector gets one observation so it shows.
func describe(t *testing.T) string {
	m, reg := newTest(t)
	m.TokenRequest("client_credentials", "client_a", OutcomeOK)
	m.Request("GET /x", 200, time.Millisecond)
	var lines []string
	for name, f := range testfix.Gather(t, reg) {
		labels := map[string]bool{}
		for _, s := range f.GetMetric() {
			for _, l := range s.GetLabel() {
				labels[l.GetName()] = true
			}
		}
		names := slices.Sorted(func(yield func(string) bool) {
			for l := range labels {
				if !yield(l) {
					return
				}
			}
		})
		lines = append(lines, fmt.Sprintf("%s %s {%s} %s", name, strings.ToLower(f.GetType().String()), strings.Join(names, ","), f.GetHelp()))
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n") + "\n"
}

// TestDashboardNamesKnownMetrics: every query of the Grafana dashboard
// names only metrics of the golden list, so a rename cannot leave a panel
// empty.
func TestDashboardNamesKnownMetrics(t *testing.T) {
	golden, err := os.ReadFile("testdata/metrics.txt")
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]dto.MetricType{}
	for _, line := range strings.Split(strings.TrimSpace(string(golden)), "\n") {
		f := strings.Fields(line)
		known[f[0]] = dto.MetricType(dto.MetricType_value[strings.ToUpper(f[1])])
	}
	raw, err := os.ReadFile("../../deploy/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash any
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("the dashboard is not JSON: %v", err)
	}
	var exprs []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if s, ok := x.(string); ok && k == "expr" {
					exprs = append(exprs, s)
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(dash)
	if len(exprs) < 7 {
		t.Fatalf("the dashboard has %d queries, want a panel for each of the issue's seven views", len(exprs))
	}
	name := regexp.MustCompile(`\bnomosauth_[a-z_]+`)
	for _, e := range exprs {
		names := name.FindAllString(e, -1)
		if len(names) == 0 {
			t.Errorf("query %q names no nomosauth metric", e)
		}
		for _, n := range names {
			base := n
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				if b, ok := strings.CutSuffix(n, suffix); ok && known[b] == dto.MetricType_HISTOGRAM {
					base = b
				}
			}
			if _, ok := known[base]; !ok {
				t.Errorf("query %q names %s, which is not in testdata/metrics.txt", e, n)
			}
		}
	}
}

// BenchmarkTokenRequest is the per-request cost of the token endpoint's
// counter: the bounded client label and a cached child.
func BenchmarkTokenRequest(b *testing.B) {
	m, _ := newTest(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.TokenRequest("client_credentials", "client_a", OutcomeOK)
		}
	})
}

// BenchmarkRequest is the per-request cost of the HTTP latency histogram.
func BenchmarkRequest(b *testing.B) {
	m, _ := newTest(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.Request("GET /subscriptions", 200, 3*time.Millisecond)
		}
	})
}
