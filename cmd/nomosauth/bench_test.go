package main

import (
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkClientCredentialsReplicas issues client-credentials
// tokens through the real binary on loopback, 16 concurrent keep-alive
// clients spread over the replicas: SQLite with one process, PostgreSQL
// with one and with two replicas on one database (PRODUCT O5, S2).
//
//	go test ./cmd/nomosauth -run '^$' -bench Replicas -benchtime 5s -count 3
//
// with NOMOSAUTH_TEST_POSTGRES set (scripts/with-postgres.sh does that).
func BenchmarkClientCredentialsReplicas(b *testing.B) {
	bin := binary(b)
	limits := []string{"--rate-limit", "0", "--address-rate-limit", "0"}
	b.Run("sqlite/replicas=1", func(b *testing.B) {
		srv := start(b, bin, filepath.Join(b.TempDir(), "bench.db"), limits...)
		id, secret := credentials(b, srv.stdout)
		issue(b, []string{srv.base}, id, secret)
	})
	for _, n := range []int{1, 2} {
		b.Run("postgres/replicas="+string(rune('0'+n)), func(b *testing.B) {
			db, _ := postgresDSN(b)
			org := admin(b, bin, db, "org", "create", "--name", "Bench")["id"].(string)
			client := admin(b, bin, db, "client", "create", "--org", org, "--name", "Backend")
			var bases []string
			for range n {
				bases = append(bases, start(b, bin, db, limits...).base)
			}
			issue(b, bases, client["client_id"].(string), client["client_secret"].(string))
		})
	}
}

// issue runs b.N token requests from 16 goroutines, round-robin over bases,
// and reports tokens per second.
func issue(b *testing.B, bases []string, id, secret string) {
	transport := &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}
	defer transport.CloseIdleConnections()
	hc := &http.Client{Transport: transport, Timeout: 10 * time.Second}
	body := url.Values{"grant_type": {"client_credentials"}}.Encode()
	var next, failed atomic.Int64
	b.SetParallelism(8) // 8 x GOMAXPROCS(2) = 16 clients on these machines
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			base := bases[int(next.Add(1))%len(bases)]
			req, _ := http.NewRequest(http.MethodPost, base+"/oauth/token", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(id, secret)
			resp, err := hc.Do(req)
			if err != nil {
				failed.Add(1)
				continue
			}
			var buf [1024]byte
			for {
				if _, err := resp.Body.Read(buf[:]); err != nil {
					break
				}
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				failed.Add(1)
			}
		}
	})
	elapsed := time.Since(start)
	b.StopTimer()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d of %d requests failed", n, b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "tokens/s")
}
