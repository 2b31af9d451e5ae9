package main

import (
	"context"
	"net/http"
	"net/url"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/oauth2/clientcredentials"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/store"
	"github.com/nomosauth/nomosauth/internal/store/sqlite"
	"github.com/nomosauth/nomosauth/internal/testfix"
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

	// post presents a refresh token; told is true when the server answered
	// that it was reused (invalid_grant), so its family must be revoked.
	post := func(refresh string) (status int, told bool, err error) {
		status, body, err := postForm(srv.base, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}, id, secret)
		return status, body["error"] == "invalid_grant", err
	}
	// Families whose first token is rotated: presenting it again is a reuse.
	const families = 200
	type reuse struct{ refresh, family string }
	reuses := make([]reuse, families)
	for i := range reuses {
		tok, err := cc.Token(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if status, _, err := post(tok.RefreshToken); err != nil || status != http.StatusOK {
			t.Fatalf("rotate: %d %v", status, err)
		}
		reuses[i] = reuse{tok.RefreshToken, testfix.FamilyOf(t, tok.AccessToken)}
	}

	// Eight clients present the reused tokens; a quarter of the way
	// through, the server is killed.
	var told sync.Map // family ids whose client was told of the reuse
	var answered atomic.Int64
	quarter := make(chan struct{})
	work := make(chan reuse)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for r := range work {
				if _, ok, err := post(r.refresh); err == nil && ok {
					told.Store(r.family, true)
					if answered.Add(1) == families/4 {
						close(quarter)
					}
				}
			}
		})
	}
	go func() {
		defer close(work)
		for _, r := range reuses {
			work <- r
		}
	}()
	select {
	case <-quarter:
	case <-time.After(30 * time.Second):
		t.Fatalf("only %d reuses answered in 30 s", answered.Load())
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
	told.Range(func(f, _ any) bool {
		toldCount++
		if !changed[f.(string)] {
			t.Errorf("S2/O8: a client was told family %s was revoked, but it is not", f)
		}
		return true
	})
	if len(changed) == families {
		t.Fatalf("the crash came after every reuse: %d revoked of %d", len(changed), families)
	}
	t.Logf("%d of %d families revoked before the crash, %d clients told; rows and changes agree", len(changed), families, toldCount)
}
