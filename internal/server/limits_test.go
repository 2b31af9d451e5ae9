package server

import (
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/nomosauth/nomosauth/internal/httpx"
	"github.com/nomosauth/nomosauth/internal/token"
)

func TestTokenEndpointRateLimits(t *testing.T) {
	t.Run("R5/per_client_even_with_wrong_secrets", func(t *testing.T) {
		f := newFixture(t)
		f.tokensSrv.ClientLimits = httpx.NewRateLimiter(1, 2, f.clock.Now)
		checkEnvelope(t, f.post(form, "grant_type=client_credentials", f.client.ID, "nsec_wrong"), 401, "UNAUTHORIZED", "invalid_client")
		checkEnvelope(t, f.post(form, "grant_type=client_credentials", f.client.ID, "nsec_wrong"), 401, "UNAUTHORIZED", "invalid_client")
		r := f.clientCredentials("")
		checkEnvelope(t, r, http.StatusTooManyRequests, "TOO_MANY_REQUESTS", "")
		if r.header.Get("Retry-After") != "1" || r.header.Get("RateLimit-Remaining") != "0" {
			t.Fatalf("headers %v", r.header)
		}
		mustOK(t, f.post(form, "grant_type=client_credentials", f.other.ID, f.otherSecret)) // another client
		f.clock.Advance(time.Second)
		mustOK(t, f.clientCredentials(""))
	})
	t.Run("R5/per_source_address", func(t *testing.T) {
		f := newFixture(t)
		f.tokensSrv.AddrLimits = httpx.NewRateLimiter(1, 1, f.clock.Now)
		mustOK(t, f.clientCredentials(""))
		r := f.post(form, "grant_type=client_credentials", f.other.ID, f.otherSecret)
		checkEnvelope(t, r, http.StatusTooManyRequests, "TOO_MANY_REQUESTS", "")
	})
}

func TestSyncRevocations(t *testing.T) {
	f := newFixture(t)
	_, famA := f.tokens("")
	_, famB := f.tokens("")
	revoked := token.NewRevocations()
	m := &Maintenance{Store: f.store, Ring: f.issuer.Ring, Now: f.clock.Now, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Revoked: revoked, RevocationPoll: time.Second}
	if err := m.SyncRevocations(t.Context()); err != nil {
		t.Fatal(err)
	}
	if revoked.Len() != 0 {
		t.Fatalf("revoked %d families before any revocation", revoked.Len())
	}
	// Another process revokes famA: the next sync brings it in.
	if err := f.store.RevokeFamily(t.Context(), famA, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Second)
	if err := m.SyncRevocations(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !revoked.Revoked(famA) || revoked.Revoked(famB) {
		t.Fatalf("after sync: A %v, B %v", revoked.Revoked(famA), revoked.Revoked(famB))
	}
	// A revocation stamped a little before the last sync (another
	// replica's clock) is still seen.
	if err := f.store.RevokeFamily(t.Context(), famB, f.clock.Now().Add(-30*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := m.SyncRevocations(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !revoked.Revoked(famB) {
		t.Fatal("a revocation stamped before the last sync was missed")
	}
	// Once every access token of a revoked family has expired, it is forgotten.
	f.clock.Advance(token.AccessTTL + token.Leeway + time.Minute)
	if err := m.SyncRevocations(t.Context()); err != nil {
		t.Fatal(err)
	}
	if revoked.Len() != 0 {
		t.Fatalf("%d families kept past every token's expiry", revoked.Len())
	}
}
