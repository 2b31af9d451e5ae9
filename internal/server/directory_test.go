package server

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nomosauth/nomosauth/internal/directory"
	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/ids"
	"github.com/nomosauth/nomosauth/internal/store"
	"github.com/nomosauth/nomosauth/internal/testfix"
	"github.com/nomosauth/nomosauth/internal/view"
)

// clientReads counts the client reads that reach the database.
type clientReads struct {
	store.Store
	n atomic.Int64
}

func (c *clientReads) GetClient(ctx context.Context, id string) (domain.Client, error) {
	c.n.Add(1)
	return c.Store.GetClient(ctx, id)
}

func (c *clientReads) ClientSecrets(ctx context.Context, id string) ([]domain.ClientSecret, error) {
	c.n.Add(1)
	return c.Store.ClientSecrets(ctx, id)
}

// TestIssue17ClientAuthenticationFromMemory: with the client directory
// as serve wires it, a warm client authentication reads no database; a
// rotation or a disabling through the process's own store is in force
// at once; and a rotated secret's overlap (PRODUCT S1) still ends at its
// time, judged per request on the held hashes.
func TestIssue17ClientAuthenticationFromMemory(t *testing.T) {
	f := newFixture(t)
	reads := &clientReads{Store: f.store}
	dir := directory.New(reads, 0)
	writes := view.Writes{Store: f.store, Forget: []view.Forgetter{dir}}
	f.tokensSrv.Store = directory.Served{Store: writes, Directory: dir}
	token := func(secret string) int {
		t.Helper()
		return f.post(form, "grant_type=client_credentials", f.client.ID, secret).status
	}

	if s := token(f.secret); s != http.StatusOK {
		t.Fatalf("first token: %d", s)
	}
	warm := reads.n.Load()
	for range 3 {
		if s := token(f.secret); s != http.StatusOK {
			t.Fatalf("token: %d", s)
		}
	}
	if n := reads.n.Load() - warm; n != 0 {
		t.Fatalf("Issue17/warm_authentication_reads_no_database: %d client reads", n)
	}

	now := f.clock.Now()
	fresh := "nsec_rotated_for_the_test"
	testfix.Check(t, writes.RotateClientSecret(t.Context(), domain.ClientSecret{ClientID: f.client.ID, Hash: ids.Hash(fresh), CreatedAt: now},
		now.Add(time.Hour), domain.System(now)))
	if s := token(fresh); s != http.StatusOK {
		t.Fatalf("Issue17/own_rotation_at_once: the new secret got %d", s)
	}
	if s := token(f.secret); s != http.StatusOK {
		t.Fatalf("S1/old_secret_in_overlap: %d", s)
	}
	warm = reads.n.Load()
	f.clock.Advance(time.Hour + time.Second)
	if s := token(f.secret); s != http.StatusUnauthorized {
		t.Fatalf("S1/old_secret_after_overlap: %d, want 401", s)
	}
	if n := reads.n.Load() - warm; n != 0 {
		t.Fatalf("the overlap's end needed %d client reads", n)
	}

	testfix.Check(t, writes.DisableClient(t.Context(), f.client.ID, domain.System(now)))
	if s := token(fresh); s != http.StatusUnauthorized {
		t.Fatalf("Issue17/own_disable_at_once: %d, want 401", s)
	}
}
