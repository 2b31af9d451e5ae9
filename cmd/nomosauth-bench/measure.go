package main

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sync"
	"time"
)

// result is one scenario at one concurrency in one run.
type result struct {
	Requests  int           `json:"requests"`
	Errors    int           `json:"errors"`
	Elapsed   time.Duration `json:"elapsed_ns"`
	PerSecond float64       `json:"requests_per_second"`
	P50       time.Duration `json:"p50_ns"`
	P90       time.Duration `json:"p90_ns"`
	P99       time.Duration `json:"p99_ns"`
	// Exhausted says the scenario's prepared input ran out before the time.
	Exhausted bool `json:"exhausted,omitempty"`
	// ServerCPU is the CPU time the serving process used per successful
	// request: what the server costs, apart from the load generator that
	// shares the machine.
	ServerCPU time.Duration `json:"server_cpu_per_request_ns"`
}

// measure runs sc against srv with conns workers, each on its own
// keep-alive connection, for d, and returns the rate, latency percentiles
// and server CPU time of the successful requests.
func measure(ctx context.Context, srv *process, conns int, d time.Duration, sc scenario) (result, error) {
	cpu0, err := srv.cpuTime()
	if err != nil {
		return result{}, err
	}
	transport := &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, DisableCompression: true}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: 10 * time.Second}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var mu sync.Mutex
	var all []time.Duration
	var errs int
	var exhausted bool
	var wg sync.WaitGroup
	start := time.Now()
	for w := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat := make([]time.Duration, 0, 4096)
			failed := 0
			used := false
			for ctx.Err() == nil {
				t0 := time.Now()
				err := sc.do(client, w)
				if errors.Is(err, errNoMore) {
					used = true
					break
				}
				if err != nil {
					if ctx.Err() == nil {
						failed++
					}
					continue
				}
				lat = append(lat, time.Since(t0))
			}
			mu.Lock()
			all = append(all, lat...)
			errs += failed
			exhausted = exhausted || used
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if elapsed > d {
		elapsed = d
	}
	cpu1, err := srv.cpuTime()
	if err != nil {
		return result{}, err
	}
	slices.Sort(all)
	r := result{Requests: len(all), Errors: errs, Elapsed: elapsed, Exhausted: exhausted,
		PerSecond: float64(len(all)) / elapsed.Seconds(), P50: pct(all, 50), P90: pct(all, 90), P99: pct(all, 99)}
	if len(all) > 0 {
		r.ServerCPU = (cpu1 - cpu0) / time.Duration(len(all))
	}
	return r, nil
}

// pct is the p-th percentile of sorted (nearest rank).
func pct(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p+99)/100 - 1
	return sorted[max(i, 0)]
}
