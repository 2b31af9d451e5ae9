package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// report holds every run, and the medians the table shows.
type report struct {
	Machine       string `json:"machine"`
	Duration      string `json:"duration_per_scenario"`
	Runs          int    `json:"runs"`
	BareBytes     int    `json:"bare_body_bytes"`
	LogLevel      string `json:"server_log_level"`
	SigningAlg    string `json:"signing_alg"`
	ServerPeakRSS int64  `json:"server_peak_rss_bytes"`
	// DBGrowthPer10k is how many bytes the database grew while 10,000
	// client-credentials tokens were issued.
	DBGrowthPer10k int64               `json:"db_growth_bytes_per_10k_client_credentials"`
	Results        map[string][]result `json:"results"` // "scenario/conns" -> one result per run
	Medians        []row               `json:"medians"`
	order          []string
}

// row is the median of a scenario at one concurrency over the runs.
type row struct {
	Scenario    string  `json:"scenario"`
	Connections int     `json:"connections"`
	PerSecond   float64 `json:"requests_per_second"`
	OfBare      float64 `json:"fraction_of_bare"`
	P50ms       float64 `json:"p50_ms"`
	P90ms       float64 `json:"p90_ms"`
	P99ms       float64 `json:"p99_ms"`
	ServerCPUus float64 `json:"server_cpu_us_per_request"`
	Errors      int     `json:"errors"`
	Exhausted   bool    `json:"exhausted,omitempty"`
}

func machine() string {
	return fmt.Sprintf("%s/%s, %d CPUs, %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())
}

func key(name string, conns int) string { return fmt.Sprintf("%s/%d", name, conns) }

func (r *report) add(name string, conns int, res result) {
	if r.Results == nil {
		r.Results = map[string][]result{}
	}
	k := key(name, conns)
	if _, ok := r.Results[k]; !ok {
		r.order = append(r.order, k)
	}
	r.Results[k] = append(r.Results[k], res)
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func (r *report) medians() []row {
	var rows []row
	bare := map[int]float64{}
	for _, k := range r.order {
		var name string
		var conns int
		i := strings.LastIndex(k, "/")
		name = k[:i]
		fmt.Sscanf(k[i+1:], "%d", &conns)
		runs := r.Results[k]
		pick := func(f func(result) float64) float64 {
			xs := make([]float64, len(runs))
			for j, res := range runs {
				xs[j] = f(res)
			}
			return median(xs)
		}
		ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
		rw := row{Scenario: name, Connections: conns,
			PerSecond:   pick(func(x result) float64 { return x.PerSecond }),
			P50ms:       pick(func(x result) float64 { return ms(x.P50) }),
			P90ms:       pick(func(x result) float64 { return ms(x.P90) }),
			P99ms:       pick(func(x result) float64 { return ms(x.P99) }),
			ServerCPUus: pick(func(x result) float64 { return float64(x.ServerCPU) / float64(time.Microsecond) })}
		for _, res := range runs {
			rw.Errors += res.Errors
			rw.Exhausted = rw.Exhausted || res.Exhausted
		}
		if name == "bare" {
			bare[conns] = rw.PerSecond
		}
		rows = append(rows, rw)
	}
	for i := range rows {
		if b := bare[rows[i].Connections]; b > 0 {
			rows[i].OfBare = rows[i].PerSecond / b
		}
	}
	slices.SortStableFunc(rows, func(a, b row) int { return a.Connections - b.Connections })
	return rows
}

func (r *report) writeTable(w io.Writer) {
	r.Medians = r.medians()
	fmt.Fprintf(w, "nomosauth-bench: %s; %s per scenario, median of %d runs; server log level %s; %s tokens; bare body %d bytes\n\n",
		r.Machine, r.Duration, r.Runs, r.LogLevel, r.SigningAlg, r.BareBytes)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tconns\treq/s\tof bare\tp50 ms\tp90 ms\tp99 ms\tserver CPU µs/req\terrors\t")
	for _, rw := range r.Medians {
		note := ""
		if rw.Exhausted {
			note = " (input used up)"
		}
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%.0f%%\t%.2f\t%.2f\t%.2f\t%.0f\t%d%s\t\n", rw.Scenario, rw.Connections, rw.PerSecond, 100*rw.OfBare,
			rw.P50ms, rw.P90ms, rw.P99ms, rw.ServerCPUus, rw.Errors, note)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nserver peak RSS: %.1f MB\n", float64(r.ServerPeakRSS)/(1<<20))
	fmt.Fprintf(w, "database growth per %d client_credentials tokens: %.1f KB\n", growthTokens, float64(r.DBGrowthPer10k)/1024)
}

func (r *report) writeJSON(path string) error {
	if r.Medians == nil {
		r.Medians = r.medians()
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
