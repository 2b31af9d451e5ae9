package main

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPercentiles(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 100; i++ {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	for p, want := range map[int]time.Duration{50: 50 * time.Millisecond, 90: 90 * time.Millisecond, 99: 99 * time.Millisecond} {
		if got := pct(ds, p); got != want {
			t.Errorf("p%d = %v, want %v", p, got, want)
		}
	}
	if pct(nil, 99) != 0 || pct(ds[:1], 99) != time.Millisecond {
		t.Error("edge cases")
	}
	if median([]float64{3, 1, 2}) != 2 || median([]float64{4, 1, 2, 3}) != 2.5 {
		t.Error("median")
	}
}

func TestBareBodyIsExactSizeJSON(t *testing.T) {
	for _, n := range []int{10, 798, 4096} {
		b := bareBody(n)
		var v map[string]string
		if len(b) != n || json.Unmarshal(b, &v) != nil {
			t.Errorf("bareBody(%d): %d bytes, valid JSON %v", n, len(b), json.Unmarshal(b, &v) == nil)
		}
	}
}

func TestOptionsBounded(t *testing.T) {
	for _, args := range [][]string{
		{"-duration", "2m"}, {"-duration", "0s"}, {"-runs", "0"}, {"-runs", "10"},
		{"-connections", "0"}, {"-connections", "1000"}, {"-connections", "x"}, {"-scenarios", "password"},
	} {
		if _, err := parseOptions(args, io.Discard); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
	o, err := parseOptions([]string{"-connections", "8, 32", "-scenarios", "refresh,jwks"}, io.Discard)
	if err != nil || len(o.connections) != 2 || o.connections[1] != 32 || strings.Join(o.scenarios, ",") != "refresh,jwks" {
		t.Fatalf("%+v %v", o, err)
	}
}

func TestReportMediansAndRatios(t *testing.T) {
	r := &report{}
	for _, ps := range []float64{100, 300, 200} {
		r.add("bare", 8, result{PerSecond: ps * 10})
		r.add("jwks", 8, result{PerSecond: ps, P99: time.Duration(ps) * time.Microsecond})
	}
	rows := r.medians()
	if len(rows) != 2 || rows[1].Scenario != "jwks" || rows[1].PerSecond != 200 || rows[1].OfBare != 0.1 || rows[1].P99ms != 0.2 {
		t.Fatalf("rows %+v", rows)
	}
	path := filepath.Join(t.TempDir(), "r.json")
	if err := r.writeJSON(path); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	if !strings.Contains(string(raw), `"fraction_of_bare": 0.1`) {
		t.Fatalf("json: %s", raw)
	}
}

func TestConsoleCode(t *testing.T) {
	out := "x\n--- email to a@b (development mode) ---\nSubject: 111111 is your code\n\n  111111\n---\n--- email to a@b ---\nSubject: 222222\n"
	if got := lastConsoleCode(out); got != "222222" {
		t.Fatalf("got %q", got)
	}
}

// TestBenchRunsEveryScenario runs the program end to end, briefly, against
// a freshly built server: every scenario answers without errors, the
// report has a row for each, and the growth phase measured the database
// (issue 17). The program broke once when the admin commands it seeds
// with gained required flags; this keeps it runnable.
func TestBenchRunsEveryScenario(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts the server")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "nomosauth")
	if out, err := exec.Command("go", "build", "-o", bin, "../nomosauth").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	jsonPath := filepath.Join(dir, "bench.json")
	var stdout, stderr strings.Builder
	code := run(t.Context(), []string{"-nomosauth", bin, "-duration", "300ms", "-runs", "1", "-connections", "2", "-json", jsonPath}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout.String(), stderr.String())
	}
	var r report
	raw, err := os.ReadFile(jsonPath)
	if err != nil || json.Unmarshal(raw, &r) != nil {
		t.Fatalf("report: %v %s", err, raw)
	}
	seen := map[string]bool{}
	for _, rw := range r.Medians {
		seen[rw.Scenario] = true
		if rw.Errors > 0 || rw.PerSecond <= 0 {
			t.Errorf("%s at %d connections: %.0f req/s, %d errors", rw.Scenario, rw.Connections, rw.PerSecond, rw.Errors)
		}
	}
	for _, name := range append(scenarioNames(), "bare") {
		if !seen[name] {
			t.Errorf("no row for %s", name)
		}
	}
	if r.ServerPeakRSS <= 0 || !strings.Contains(stdout.String(), "database growth per 10000 client_credentials tokens") {
		t.Errorf("peak RSS %d; table:\n%s", r.ServerPeakRSS, stdout.String())
	}
}

// TestMain lets the test binary stand in for the program when the bench
// starts its bare handler by running itself with -bare-size.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "-bare-size" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		defer stop()
		os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}
