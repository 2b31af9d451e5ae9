package cli

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"testing"

	"golang.org/x/oauth2/clientcredentials"
)

// BenchmarkProtectedGET measures GET /subscriptions through the whole
// protected path (bearer JWT verification, revocation check, client cache,
// rate-limit bookkeeping off, tenant query on SQLite) on a loopback port,
// next to a bare net/http handler returning the same bytes: the machine's
// HTTP ceiling, in the same run. Compare the req/s of the two.
func BenchmarkProtectedGET(b *testing.B) {
	db := filepath.Join(b.TempDir(), "bench.db")
	org := jsonOut(b, run(b, db, "org", "create", "--name", "Bench", "--json"))["id"].(string)
	client := jsonOut(b, run(b, db, "client", "create", "--org", org, "--name", "Bench", "--json"))
	for i := range 3 {
		cus := jsonOut(b, run(b, db, "customer", "create", "--org", org, "--email", fmt.Sprintf("bench%d@example.com", i), "--first-name", "Ada", "--last-name", "Lovelace", "--json"))["id"].(string)
		jsonOut(b, run(b, db, "subscription", "create", "--customer", cus, "--street", "Torstraße", "--house-number", "119", "--zip", "10115", "--city", "Berlin", "--meter-number", "1APA0195124010", "--iban", "DE89370400440532013000", "--account-holder", "Ada Lovelace", "--json"))
	}
	_, base := startApp(b, db, "--addr", "127.0.0.1:0", "--issuer", "http://127.0.0.1", "--dev", "--rate-limit", "0", "--address-rate-limit", "0")
	cc := clientcredentials.Config{ClientID: client["client_id"].(string), ClientSecret: client["client_secret"].(string), TokenURL: base + "/oauth/token"}
	tok, err := cc.Token(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	auth := "Bearer " + tok.AccessToken
	body := fetch(b, http.DefaultClient, base+"/subscriptions", auth)

	bare := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go bare.Serve(ln)
	b.Cleanup(func() { bare.Close() })

	for _, target := range []struct{ name, url string }{
		{"bare", "http://" + ln.Addr().String() + "/subscriptions"},
		{"protected", base + "/subscriptions"},
	} {
		b.Run(target.name, func(b *testing.B) {
			hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}}
			defer hc.CloseIdleConnections()
			b.SetParallelism(4) // 8 connections on 2 cores
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if got := fetch(b, hc, target.url, auth); len(got) != len(body) {
						b.Errorf("got %d bytes, want %d", len(got), len(body))
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
	}
}

func fetch(b testing.TB, hc *http.Client, url, auth string) []byte {
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	req.Header.Set("Authorization", auth)
	resp, err := hc.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		b.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return body
}
