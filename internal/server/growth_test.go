package server

import (
	"database/sql"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// dbBytes is the SQLite database's size on disk, its file and its WAL,
// after a checkpoint has moved what the WAL held into the file, so a
// checkpoint between two measurements cannot hide growth.
func dbBytes(t *testing.T, path string) int64 {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, p := range []string{path, path + "-wal"} {
		if fi, err := os.Stat(p); err == nil {
			n += fi.Size()
		} else if !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	return n
}

// TestIssue17ClientCredentialsDoNotGrowTheDatabase is issue 17's "100,000
// client-credentials tokens that are never refreshed grow the database by
// less than 1 MB": issued through the real token handler (client
// authentication, the rule, sealing, signing), four at a time, the SQLite
// file and its WAL measured before and after. Before issue 17 every token
// left a family and a token row, some 30 MB.
func TestIssue17ClientCredentialsDoNotGrowTheDatabase(t *testing.T) {
	if testing.Short() {
		t.Skip("issues 100,000 tokens")
	}
	const tokens, workers = 100_000, 4
	f := newFixture(t)
	handler := f.srv.Config.Handler
	body := "grant_type=client_credentials"
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(f.client.ID)+":"+url.QueryEscape(f.secret)))
	before := dbBytes(t, f.dbPath)
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for next.Add(1) <= tokens {
				req := httptest.NewRequest(http.MethodPost, PathToken, strings.NewReader(body))
				req.Header.Set("Content-Type", form)
				req.Header.Set("Authorization", auth)
				rec := httptest.NewRecorder()
				handler.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"refresh_token":"nrt_`) {
					t.Errorf("status %d: %s", rec.Code, rec.Body.String())
					return
				}
			}
		})
	}
	wg.Wait()
	grew := dbBytes(t, f.dbPath) - before
	t.Logf("%d client-credentials tokens in %v grew the database by %d bytes", tokens, time.Since(start).Round(time.Millisecond), grew)
	if grew >= 1<<20 {
		t.Fatalf("%d tokens grew the database by %d bytes, want under 1 MB", tokens, grew)
	}
}
