// Command nomosauth-bench measures nomosauth on this machine: it builds and
// starts the server on a loopback port with a fresh durable SQLite
// database, drives each scenario with keep-alive connections for a bounded
// time, measures a bare net/http handler returning as many bytes in the same
// run, and reports requests per second, latency percentiles, errors and the
// server's peak RSS as a table and as JSON. Every run stops by itself, and
// load only ever goes to 127.0.0.1.
//
//	go run ./cmd/nomosauth-bench -duration 5s -connections 8,32 -runs 3 -json bench.json
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// options are the command's flags.
type options struct {
	duration    time.Duration
	connections []int
	runs        int
	scenarios   []string
	jsonPath    string
	serverBin   string
	logLevel    string
	cpuProfile  string
	metrics     bool // the server collects and serves metrics
	signingAlg  string
	bareSize    int    // internal: serve the bare handler with this many bytes
	bareAddr    string // internal: where the bare handler listens
}

func parseOptions(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("nomosauth-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	conns := fs.String("connections", "8,32", "comma-separated numbers of concurrent keep-alive connections")
	scen := fs.String("scenarios", strings.Join(scenarioNames(), ","), "comma-separated scenarios to run")
	fs.DurationVar(&o.duration, "duration", 5*time.Second, "how long each scenario runs (at most 60s)")
	fs.IntVar(&o.runs, "runs", 3, "runs of everything; the report gives medians")
	fs.StringVar(&o.jsonPath, "json", "", "also write the results as JSON to this file")
	fs.StringVar(&o.serverBin, "nomosauth", "", "the nomosauth binary to start (default: go build ./cmd/nomosauth)")
	fs.StringVar(&o.logLevel, "log-level", "warn", "the server's --log-level (info logs one line per request)")
	fs.StringVar(&o.signingAlg, "signing-alg", "ES256", "the server's --signing-alg: ES256, EdDSA or RS256")
	fs.StringVar(&o.cpuProfile, "cpu-profile", "", "have the server write a CPU profile to this file")
	fs.BoolVar(&o.metrics, "metrics", true, "collect Prometheus metrics in the server (on a free loopback port); -metrics=false turns them off, to measure their cost")
	fs.IntVar(&o.bareSize, "bare-size", 0, "internal: serve the bare handler")
	fs.StringVar(&o.bareAddr, "bare-addr", "", "internal: the bare handler's address")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.duration <= 0 || o.duration > time.Minute {
		return o, fmt.Errorf("-duration must be between 0 and 60s")
	}
	if o.runs < 1 || o.runs > 9 {
		return o, fmt.Errorf("-runs must be 1 to 9")
	}
	for _, c := range strings.Split(*conns, ",") {
		var n int
		if _, err := fmt.Sscanf(strings.TrimSpace(c), "%d", &n); err != nil || n < 1 || n > 256 {
			return o, fmt.Errorf("-connections: %q is not 1 to 256", c)
		}
		o.connections = append(o.connections, n)
	}
	known := map[string]bool{}
	for _, n := range scenarioNames() {
		known[n] = true
	}
	for _, s := range strings.Split(*scen, ",") {
		s = strings.TrimSpace(s)
		if !known[s] {
			return o, fmt.Errorf("-scenarios: unknown %q (have %s)", s, strings.Join(scenarioNames(), ", "))
		}
		o.scenarios = append(o.scenarios, s)
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseOptions(args, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "nomosauth-bench:", err)
		return 2
	}
	if o.bareSize > 0 {
		if err := serveBare(ctx, o.bareAddr, o.bareSize); err != nil {
			fmt.Fprintln(stderr, "nomosauth-bench: bare handler:", err)
			return 1
		}
		return 0
	}
	report, err := bench(ctx, o, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "nomosauth-bench:", err)
		return 1
	}
	report.writeTable(stdout)
	if o.jsonPath != "" {
		if err := report.writeJSON(o.jsonPath); err != nil {
			fmt.Fprintln(stderr, "nomosauth-bench:", err)
			return 1
		}
	}
	return 0
}
