package server

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/seal"
	"github.com/nomosauth/nomosauth/internal/store"
)

// tamper flips one bit in the middle of a sealed token's body.
func tamper(t *testing.T, raw string) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(raw, seal.Prefix))
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 1
	return seal.Prefix + base64.RawURLEncoding.EncodeToString(b)
}

// TestIssue17SealedClientCredentials is issue 17 point 1 and 3 at the
// token endpoint: a client-credentials request writes nothing (no
// family, no token, no audit row), and its refresh token is sealed, with
// the nrt_ prefix, naming the family its access token names.
func TestIssue17SealedClientCredentials(t *testing.T) {
	f := newFixture(t)
	before := f.snapshot()
	for range 3 {
		rt, fam := f.tokens("read:*")
		if !strings.HasPrefix(rt, "nrt_") || !seal.IsSealed(rt) {
			t.Fatalf("refresh token %q is not a sealed nrt_ token", rt)
		}
		c, err := f.tokensSrv.Seals.Open(rt, f.clock.Now())
		if err != nil || c.FamilyID != fam || c.ClientID != f.client.ID || c.OrgID != f.client.OrgID || c.Scopes.String() != "read:*" {
			t.Fatalf("sealed claims %+v, %v; want family %s of %s", c, err, fam, f.client.ID)
		}
	}
	if after := f.snapshot(); after != before {
		t.Fatalf("client credentials wrote to the database:\nbefore %s\nafter %s", before, after)
	}
}

// TestIssue17SealedFirstRefresh is issue 17 point 4: the first refresh of
// a sealed token creates its family (created at the issue time) in the
// rotating transaction, and T5 holds as for any token (the retry window,
// reuse revokes: the other T5 tests run on sealed tokens too).
func TestIssue17SealedFirstRefresh(t *testing.T) {
	f := newFixture(t)
	issued := f.clock.Now()
	rt0, fam := f.tokens("")
	f.clock.Advance(time.Hour)
	r1 := f.refresh(rt0, "")
	mustOK(t, r1)
	rt1, fam1 := f.pairOf(r1)
	if c, err := f.tokensSrv.Seals.ReadCounted(rt1, f.clock.Now()); fam1 != fam || err != nil || c != (seal.Counted{FamilyID: fam, Generation: 1}) {
		t.Fatalf("child %q (%+v, %v) of family %s, want generation 1 of %s", rt1, c, err, fam1, fam)
	}
	got, err := f.store.GetFamily(t.Context(), fam)
	if err != nil || !got.CreatedAt.Equal(issued) || got.ClientID != f.client.ID || got.Revoked() {
		t.Fatalf("materialized family %+v, %v; want created at %v", got, err, issued)
	}
	if live := f.live(fam); len(live) != 1 || live[0].Hash != hashOf(rt1) {
		t.Fatalf("live tokens %+v", live)
	}
	// Retry in the window: the same child, nothing new.
	r2 := f.refresh(rt0, "")
	mustOK(t, r2)
	if rt2, _ := f.pairOf(r2); rt2 != rt1 {
		t.Fatal("T5: a retry of the sealed token must return the same child")
	}
	// After the window: reuse, the family dies.
	f.clock.Advance(time.Minute)
	checkEnvelope(t, f.refresh(rt0, ""), 401, "UNAUTHORIZED", "invalid_grant")
	if !f.revoked(fam) {
		t.Fatal("T5: reuse of a sealed token after the window must revoke its family")
	}
}

// TestIssue17SealedRefusals is issue 17 point 4 and 8: a tampered sealed
// token, one under a key the store does not hold, one under a key that
// has retired, another client's, and an expired one are invalid_grant,
// and none of them writes anything.
func TestIssue17SealedRefusals(t *testing.T) {
	f := newFixture(t)
	rt, fam := f.tokens("")
	now := f.clock.Now()
	foreignKey, err := seal.NewKey(rand.Reader, now, now)
	if err != nil {
		t.Fatal(err)
	}
	claims := seal.Claims{FamilyID: fam, ClientID: f.client.ID, OrgID: f.client.OrgID, Scopes: domain.APIScopes(), IssuedAt: now}
	foreign, err := seal.Seal(foreignKey, claims, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	// Sealed under the server's own key, naming another organization: only
	// a holder of the key could make it.
	heldKey, err := f.tokensSrv.Seals.Sealer(now)
	if err != nil {
		t.Fatal(err)
	}
	otherOrg := claims
	otherOrg.FamilyID, otherOrg.OrgID = "fam_forged", "org_other"
	forged, err := seal.Seal(heldKey, otherOrg, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	before := f.snapshot()
	for _, tc := range []struct {
		name, token, id, secret string
	}{
		{"tampered", tamper(t, rt), f.client.ID, f.secret},
		{"foreign_key", foreign, f.client.ID, f.secret},
		{"other_client", rt, f.other.ID, f.otherSecret},
		{"other_organization", forged, f.client.ID, f.secret},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := f.post(form, "grant_type=refresh_token&refresh_token="+tc.token, tc.id, tc.secret)
			checkEnvelope(t, r, 401, "UNAUTHORIZED", "invalid_grant")
		})
	}
	t.Run("expired", func(t *testing.T) {
		f.clock.Advance(90 * 24 * time.Hour)
		checkEnvelope(t, f.refresh(rt, ""), 401, "UNAUTHORIZED", "invalid_grant")
	})
	if after := f.snapshot(); after != before {
		t.Fatalf("a refused sealed token wrote:\nbefore %s\nafter %s", before, after)
	}

	t.Run("retired_key", func(t *testing.T) {
		// Issue 17 point 2: after a rotation the replaced key opens its
		// tokens until it retires, then none; the new key seals.
		g := newFixture(t)
		oldA, _ := g.tokens("")
		oldB, _ := g.tokens("")
		if _, err := g.admin.RotateSealKey(t.Context(), 0, time.Hour); err != nil {
			t.Fatal(err)
		}
		keys, err := g.store.ListSealKeys(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		g.tokensSrv.Seals.Update(keys)
		g.clock.Advance(30 * time.Minute)
		fresh, _ := g.tokens("")
		mustOK(t, g.refresh(oldA, "")) // in the overlap
		g.clock.Advance(time.Hour)
		before := g.snapshot()
		checkEnvelope(t, g.refresh(oldB, ""), 401, "UNAUTHORIZED", "invalid_grant")
		if g.snapshot() != before {
			t.Fatal("a token under a retired key wrote")
		}
		mustOK(t, g.refresh(fresh, ""))
	})
}

// TestIssue17RevokeUnmaterialized is issue 17 point 5 (PRODUCT T9): a
// sealed refresh token, or a client-credentials access token, whose
// family has no row is revoked by a tombstone: the row inserted revoked,
// one token.revoked row, in this process's revoked set at once, and the
// sealed token refused from then on. Another client's token changes
// nothing.
func TestIssue17RevokeUnmaterialized(t *testing.T) {
	for _, by := range []string{"refresh_token", "access_token"} {
		t.Run(by, func(t *testing.T) {
			f := newFixture(t)
			access, refresh, fam := f.pair(t)
			tok := refresh
			if by == "access_token" {
				tok = access
			}
			before := f.snapshot()
			mustRevokeOK(t, f.revoke(tok, f.other.ID, f.otherSecret))
			if f.snapshot() != before || f.tokensSrv.Revoker.Set.Revoked(fam) {
				t.Fatal("T9: another client's revocation changed something")
			}
			mustRevokeOK(t, f.revoke(tok, f.client.ID, f.secret))
			if !f.revoked(fam) || !f.tokensSrv.Revoker.Set.Revoked(fam) {
				t.Fatal("T9: the unmaterialized family is not revoked here at once")
			}
			if rows := f.revokedRows(t); len(rows) != 1 || rows[0].TargetID != fam || rows[0].ClientID != f.client.ID {
				t.Fatalf("O8: token.revoked rows %+v", rows)
			}
			checkEnvelope(t, f.refresh(refresh, ""), 401, "UNAUTHORIZED", "invalid_grant")
			mustInactive(t, f.introspect(refresh, f.client.ID, f.secret))
			mustRevokeOK(t, f.revoke(tok, f.client.ID, f.secret))
			if rows := f.revokedRows(t); len(rows) != 1 {
				t.Fatalf("O8: a second revocation wrote %d rows", len(rows))
			}
		})
	}
}

// TestIssue17IntrospectSealed is issue 17 point 6 (PRODUCT T10): a sealed
// refresh token is active while it opens, is unexpired, is of the
// caller's organization and its family neither revoked nor rotated.
func TestIssue17IntrospectSealed(t *testing.T) {
	f := newFixture(t)
	_, rt, _ := f.pair(t)
	r := f.introspect(rt, f.other.ID, f.otherSecret) // same organization
	if r.status != 200 || r.body["active"] != true || r.body["token_type"] != "refresh_token" || r.body["client_id"] != f.client.ID ||
		r.body["org_id"] != f.client.OrgID || r.body["scope"] != "read:* write:*" {
		t.Fatalf("T10: sealed token introspects %s", r.raw)
	}
	if exp := int64(r.body["exp"].(float64)); exp != f.clock.Now().Add(90*24*time.Hour).Unix() {
		t.Fatalf("T5: exp %d, want the idle time after issue", exp)
	}
	mustInactive(t, f.introspect(tamper(t, rt), f.client.ID, f.secret))

	// Rotated: the sealed token is no longer live, its child is.
	r1 := f.refresh(rt, "")
	mustOK(t, r1)
	mustInactive(t, f.introspect(rt, f.client.ID, f.secret))
	if r := f.introspect(r1.body["refresh_token"].(string), f.client.ID, f.secret); r.body["active"] != true {
		t.Fatalf("T10: the child introspects %s", r.raw)
	}

	// Expired.
	_, rt2, _ := f.pair(t)
	f.clock.Advance(90 * 24 * time.Hour)
	mustInactive(t, f.introspect(rt2, f.client.ID, f.secret))
}

// TestIssue17ClientChangesApplyToSealedTokens is issue 17 point 7: a
// sealed token's client must still authenticate, so disabling the client
// refuses its sealed tokens at once, and a rotated secret works for them
// as for any request.
func TestIssue17ClientChangesApplyToSealedTokens(t *testing.T) {
	f := newFixture(t)
	rt, _ := f.tokens("")
	other, _ := f.tokens("")
	newSecret, err := f.admin.RotateSecret(t.Context(), f.client.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !seal.IsSealed(rt) {
		t.Fatal("issue 17: want a sealed refresh token")
	}
	r := f.post(form, "grant_type=refresh_token&refresh_token="+rt, f.client.ID, newSecret)
	mustOK(t, r)
	child, _ := f.pairOf(r)
	if err := f.admin.DisableClient(t.Context(), f.client.ID); err != nil {
		t.Fatal(err)
	}
	checkEnvelope(t, f.post(form, "grant_type=refresh_token&refresh_token="+child, f.client.ID, newSecret), 401, "UNAUTHORIZED", "invalid_client")
	checkEnvelope(t, f.post(form, "grant_type=refresh_token&refresh_token="+other, f.client.ID, newSecret), 401, "UNAUTHORIZED", "invalid_client")
}

// TestIssue17SealedLifetimeIsFixedAtIssue: a sealed token lives the
// refresh idle time in force when it was issued, as a stored token's row
// says (PRODUCT T5), whatever --refresh-idle-ttl the server runs with
// later. Were its expiry worked out at each opening, a server restarted
// with a longer idle time would accept a revoked sealed token whose
// tombstone clean-up removed once it had expired (sealed_until), and
// materialize its family again, live (T9).
func TestIssue17SealedLifetimeIsFixedAtIssue(t *testing.T) {
	for _, by := range []string{"revoked", "rotated"} {
		t.Run(by, func(t *testing.T) {
			f := newFixture(t)
			rt, fam := f.tokens("")
			if by == "revoked" {
				mustRevokeOK(t, f.revoke(rt, f.client.ID, f.secret))
			} else {
				mustOK(t, f.refresh(rt, ""))
			}
			// Past the sealed token's 90 days and every row's: clean-up
			// removes the family (the tombstone, or the materialized family
			// whose tokens all expired).
			f.clock.Advance(91 * 24 * time.Hour)
			if _, err := f.store.DeleteExpired(t.Context(), f.clock.Now(), store.Retention{Revoked: time.Hour}); err != nil {
				t.Fatal(err)
			}
			if _, err := f.store.GetFamily(t.Context(), fam); err == nil {
				t.Fatal("clean-up kept the family: the test shows nothing")
			}
			// The server restarts with a longer idle time.
			f.tokensSrv.RefreshIdleTTL = 180 * 24 * time.Hour
			checkEnvelope(t, f.refresh(rt, ""), 401, "UNAUTHORIZED", "invalid_grant")
			if _, err := f.store.GetFamily(t.Context(), fam); err == nil {
				t.Fatal("T9/T5: an expired, " + by + " sealed token materialized its family again")
			}
			mustInactive(t, f.introspect(rt, f.client.ID, f.secret))
		})
	}
}

// TestIssue17SealedTokenOutlivesNoTombstone: revoking a sealed family by
// its access token keeps the tombstone the current refresh idle time after
// the access token's issue, the only lifetime an access token tells. A
// sealed token issued under a longer idle time is therefore held to the
// current one too (the shorter of the two), or it would outlive its
// tombstone and, once clean-up dropped it, materialize its revoked family
// again (T9).
func TestIssue17SealedTokenOutlivesNoTombstone(t *testing.T) {
	f := newFixture(t)
	f.tokensSrv.RefreshIdleTTL = 180 * 24 * time.Hour
	access, refresh, fam := f.pair(t)
	// The server restarts with a shorter idle time; the access token is revoked.
	f.tokensSrv.RefreshIdleTTL = 90 * 24 * time.Hour
	mustRevokeOK(t, f.revoke(access, f.client.ID, f.secret))
	f.clock.Advance(91 * 24 * time.Hour)
	if _, err := f.store.DeleteExpired(t.Context(), f.clock.Now(), store.Retention{Revoked: time.Hour}); err != nil {
		t.Fatal(err)
	}
	checkEnvelope(t, f.refresh(refresh, ""), 401, "UNAUTHORIZED", "invalid_grant")
	if _, err := f.store.GetFamily(t.Context(), fam); err == nil {
		t.Fatal("T9: a revoked sealed family materialized again")
	}
	mustInactive(t, f.introspect(refresh, f.client.ID, f.secret))
}

// TestCountedTokensAcrossSealKeyRotation: a counted refresh token is
// minted under the seal key that sealed when its generation was issued.
// After `keys rotate-seal`, a token under the replaced key still
// refreshes in the overlap; its retry inside the window gets the very
// same child; the next generation moves to the new key; once the replaced
// key retires its tokens are refused and nothing is written.
func TestCountedTokensAcrossSealKeyRotation(t *testing.T) {
	f := newFixture(t)
	rt0, fam := f.tokens("")
	r1 := f.refresh(rt0, "")
	mustOK(t, r1)
	rt1, _ := f.pairOf(r1) // generation 1, under the first key
	idle, _ := f.tokens("")
	idle1 := f.refresh(idle, "")
	mustOK(t, idle1)
	idleRT, _ := f.pairOf(idle1) // left unused until the old key retires
	if _, err := f.admin.RotateSealKey(t.Context(), 0, time.Hour); err != nil {
		t.Fatal(err)
	}
	keys, err := f.store.ListSealKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	f.tokensSrv.Seals.Update(keys)
	f.clock.Advance(30 * time.Minute) // the new key seals; the old one opens
	r2 := f.refresh(rt1, "")
	mustOK(t, r2)
	rt2, _ := f.pairOf(r2)
	f.clock.Advance(5 * time.Second)
	retry := f.refresh(rt1, "")
	mustOK(t, retry)
	if got, _ := f.pairOf(retry); got != rt2 {
		t.Fatal("T5: a retry in the window got another token than the rotation it retried")
	}
	k1, _ := f.tokensSrv.Seals.Sealer(f.clock.Now().Add(-time.Hour))
	k2, _ := f.tokensSrv.Seals.Sealer(f.clock.Now())
	if k1.ID == k2.ID {
		t.Fatal("the rotation did not make a new key seal")
	}
	if want, _ := seal.Count(k2, seal.Counted{FamilyID: fam, Generation: 2}); rt2 != want {
		t.Fatal("generation 2, issued after the new key began sealing, is not under it")
	}
	f.clock.Advance(time.Hour) // the old key has retired
	before := f.snapshot()
	checkEnvelope(t, f.refresh(idleRT, ""), 401, "UNAUTHORIZED", "invalid_grant")
	if f.snapshot() != before {
		t.Fatal("a token under a retired key wrote")
	}
	mustOK(t, f.refresh(rt2, ""))
}

// TestRetryOnAReplicaLaggingASealKey: a generation is minted under the
// key that sealed on the replica that rotated it, named in the family's
// row, so a retry in the window on a replica that has not loaded that key
// yet (its key poll late) reloads the keys and hands out the very same
// token (PRODUCT T5), not the generation under its own older key.
func TestRetryOnAReplicaLaggingASealKey(t *testing.T) {
	f := newFixture(t)
	f.tokensSrv.Seals.SetLoader(f.store.ListSealKeys, time.Second)
	rt0, fam := f.tokens("")
	r1 := f.refresh(rt0, "")
	mustOK(t, r1)
	rt1, _ := f.pairOf(r1)
	lagging, err := f.store.ListSealKeys(t.Context()) // the keys before the rotation
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.admin.RotateSealKey(t.Context(), 0, time.Hour); err != nil {
		t.Fatal(err)
	}
	keys, err := f.store.ListSealKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	f.tokensSrv.Seals.Update(keys) // the replica that rotates has the new key
	f.clock.Advance(2 * time.Second)
	r2 := f.refresh(rt1, "")
	mustOK(t, r2)
	rt2, _ := f.pairOf(r2)
	stored, err := f.store.GetFamily(t.Context(), fam)
	if err != nil {
		t.Fatal(err)
	}
	if sealing, _ := f.tokensSrv.Seals.Sealer(f.clock.Now()); stored.GenerationKey != sealing.ID {
		t.Fatalf("the family names key %q, not %q, the one that sealed generation 2", stored.GenerationKey, sealing.ID)
	}
	f.tokensSrv.Seals.Update(lagging) // a replica whose poll has not brought it
	f.clock.Advance(2 * time.Second)
	retry := f.refresh(rt1, "")
	mustOK(t, retry)
	if got, _ := f.pairOf(retry); got != rt2 {
		t.Fatal("T5: a retry on a replica lagging the new seal key got another token than the rotation it retried")
	}
	mustOK(t, f.refresh(rt2, ""))
}

// TestSealKeysReloadedForAnUnknownKey: a refresh token under a seal key
// this process has not loaded yet (another replica's rotation, this
// process's key poll late) reloads the stored keys once and is accepted;
// a token under a key id the store does not hold either reloads at most
// once a second and is invalid_grant, writing nothing.
func TestSealKeysReloadedForAnUnknownKey(t *testing.T) {
	f := newFixture(t)
	reads := 0
	f.tokensSrv.Seals.SetLoader(func(ctx context.Context) ([]domain.SealKey, error) {
		reads++
		return f.store.ListSealKeys(ctx)
	}, time.Second)
	rt0, _ := f.tokens("")
	r1 := f.refresh(rt0, "")
	mustOK(t, r1)
	rt1, fam := f.pairOf(r1)
	if reads != 0 {
		t.Fatalf("%d reloads for tokens under a loaded key", reads)
	}
	// Another process rotates the seal keys: the new one seals at once.
	fresh, err := f.admin.RotateSealKey(t.Context(), 0, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := f.store.GetFamily(t.Context(), fam)
	if err != nil {
		t.Fatal(err)
	}
	// Generation 1 as another replica would have minted it under the new key.
	underNew, err := seal.Count(fresh, seal.Counted{FamilyID: fam, Generation: stored.Generation})
	if err != nil {
		t.Fatal(err)
	}
	if underNew == rt1 {
		t.Fatal("the new key minted the same token")
	}
	mustOK(t, f.refresh(underNew, ""))
	if reads != 1 {
		t.Fatalf("%d reloads, want 1", reads)
	}
	// A key the store does not hold: one reload at most a second.
	forged, err := seal.Count(domain.SealKey{ID: "0badc0de0badc0de", Secret: make([]byte, 32)}, seal.Counted{FamilyID: fam, Generation: 2})
	if err != nil {
		t.Fatal(err)
	}
	before := f.snapshot()
	f.clock.Advance(2 * time.Second)
	for range 3 {
		checkEnvelope(t, f.refresh(forged, ""), 401, "UNAUTHORIZED", "invalid_grant")
	}
	if reads != 2 {
		t.Fatalf("%d reloads after three forged tokens in a second, want 2", reads)
	}
	if f.snapshot() != before {
		t.Fatal("a forged token wrote")
	}
}
