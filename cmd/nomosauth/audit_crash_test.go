package main

import (
	"context"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/oauth2/clientcredentials"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/store"
	"github.com/nomosauth/nomosauth/internal/store/sqlite"
)

// TestCrashKeepsAuditWithItsChange is PRODUCT O8 across a crash: while
// clients present reused refresh tokens (each reuse revokes a family and
// writes its audit row), the server is killed with SIGKILL. On the
// database it leaves, every revoked family has its row and every row its
// revoked family, and every reuse a client was told of is there (S2).
func TestCrashKeepsAuditWithItsChange(t *testing.T) {
	bin := binary(t)
	db := filepath.Join(t.TempDir(), "crash-audit.db")
	srv := start(t, bin, db, "--refresh-retry-window", "0s", "--rate-limit", "0", "--address-rate-limit", "0")
	id, secret := credentials(t, srv.stdout)
	cc := clientcredentials.Config{ClientID: id, ClientSecret: secret, TokenURL: srv.base + "/oauth/token"}

	post := func(refresh string) (int, error) {
		req, _ := http.NewRequest(http.MethodPost, cc.TokenURL, strings.NewReader(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(id, secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	// Families whose first token is rotated: presenting it again is a reuse.
	const families = 200
	reused := make([]string, families)
	for i := range reused {
		tok, err := cc.Token(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if status, err := post(tok.RefreshToken); err != nil || status != http.StatusOK {
			t.Fatalf("rotate: %d %v", status, err)
		}
		reused[i] = tok.RefreshToken
	}

	var answered atomic.Int64
	var told sync.Map // reused tokens a client was told were revoked
	work := make(chan string)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for refresh := range work {
				status, err := post(refresh)
				if err == nil && status != http.StatusOK {
					told.Store(refresh, true)
					answered.Add(1)
				}
			}
		})
	}
	go func() {
		defer close(work)
		for _, r := range reused {
			work <- r
		}
	}()
	for answered.Load() < families/4 {
		time.Sleep(time.Millisecond)
	}
	if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	srv.cmd.Wait()
	wg.Wait()

	st, err := sqlite.OpenExisting(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	revoked, err := st.RevokedFamilies(t.Context(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := st.ListAudit(t.Context(), store.AuditFilter{Action: domain.AuditRefreshReuse}, store.AuditPage{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	changed, logged := map[string]bool{}, map[string]bool{}
	for _, f := range revoked {
		changed[f.ID] = true
	}
	for _, r := range rows {
		logged[r.TargetID] = true
	}
	for f := range changed {
		if !logged[f] {
			t.Errorf("O8: family %s revoked without its audit row", f)
		}
	}
	for f := range logged {
		if !changed[f] {
			t.Errorf("O8: audit row for family %s, which is not revoked", f)
		}
	}
	var toldCount int
	told.Range(func(any, any) bool { toldCount++; return true })
	if len(changed) < toldCount || len(changed) == families {
		t.Fatalf("the crash fell outside the reuses: %d revoked, %d told, of %d", len(changed), toldCount, families)
	}
	t.Logf("%d of %d families revoked before the crash, %d clients told; rows and changes agree", len(changed), families, toldCount)
}
