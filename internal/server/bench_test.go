package server

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// BenchmarkClientCredentials measures client-credentials issuance (no
// database write since issue 17: the first refresh token is sealed)
// against the real handler on a loopback listener, many clients at once
// (b.SetParallelism(8) per core), and reports tokens per second.
func BenchmarkClientCredentials(b *testing.B) {
	f := newFixture(b)
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	client := &http.Client{Transport: tr}
	b.SetParallelism(8)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodPost, f.srv.URL+PathToken, strings.NewReader("grant_type=client_credentials"))
			req.Header.Set("Content-Type", form)
			req.SetBasicAuth(f.client.ID, f.secret)
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "tokens/s")
}
