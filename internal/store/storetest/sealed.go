package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/store"
)

// unsealed is a client-credentials family of client_1 known only from its
// sealed first token "sealed-"+id, issued at base (issue 17).
func unsealed(id string) store.Unsealed {
	return store.Unsealed{
		Family: domain.Family{ID: id, ClientID: "client_1", OrgID: "org_a", Scopes: domain.APIScopes(), CreatedAt: base},
		Token:  domain.RefreshToken{Hash: "sealed-" + id, CreatedAt: base, ExpiresAt: base.Add(90 * 24 * time.Hour)},
	}
}

// sealedFirst presents u's sealed first token: generation 0 of its family.
func sealedFirst(u store.Unsealed) store.FamilyToken {
	return store.FamilyToken{FamilyID: u.Family.ID, First: &u}
}

// counted presents family id's counted token of generation g.
func counted(id string, g uint64) store.FamilyToken {
	return store.FamilyToken{FamilyID: id, Generation: g}
}

// familyAt is the family u starts as its row holds it with generation g
// live, issued at at, until the idle time after.
func familyAt(u store.Unsealed, g uint64, at time.Time) domain.Family {
	f := u.Family
	f.Generation, f.GenerationAt, f.LiveUntil = g, at, at.Add(90*24*time.Hour)
	return f
}

// testSealedRotation is issue 17 point 4: the first rotation of a sealed
// token inserts its family (created at the issue time) with generation 1
// live, and no token row; a retry hands out the same child and writes
// nothing; a rule that refuses leaves no row.
func testSealedRotation(t *testing.T, s Subject) {
	u := unsealed("fam_s")
	t1 := base.Add(time.Minute)
	var seen []domain.RefreshToken
	rot, err := s.RotateFamilyToken(ctx(t), sealedFirst(u), next("c1", t1), sys(t1), always(domain.RefreshRotate, &seen))
	must(t, err)
	diff(t, rot, store.Rotation{RefreshDecision: domain.RefreshDecision{Verdict: domain.RefreshRotate}, Family: familyAt(u, 1, t1)})
	diff(t, seen, []domain.RefreshToken{{FamilyID: "fam_s", State: domain.RefreshLive, CreatedAt: base, ExpiresAt: u.Token.ExpiresAt}})
	got, err := s.GetFamily(ctx(t), "fam_s")
	must(t, err)
	diff(t, got, familyAt(u, 1, t1))
	if toks, _ := s.FamilyTokens(ctx(t), "fam_s"); len(toks) != 0 {
		t.Fatalf("a counted family has token rows %+v", toks)
	}

	// A retry: nothing is written, the rule sees the rotated token and
	// its live child, next.
	t2 := t1.Add(time.Second)
	seen = nil
	rot, err = s.RotateFamilyToken(ctx(t), sealedFirst(u), next("c1", t2), sys(t2), recording(deterministic("c1"), &seen))
	must(t, err)
	diff(t, rot.Verdict, domain.RefreshRetry)
	diff(t, seen, []domain.RefreshToken{{FamilyID: "fam_s", State: domain.RefreshRotated, RotatedAt: t1, ReplacedBy: "c1", ExpiresAt: t1.Add(90 * 24 * time.Hour)}})
	got, err = s.GetFamily(ctx(t), "fam_s")
	must(t, err)
	diff(t, got, familyAt(u, 1, t1))

	// After its child was used, the sealed token is reuse: the family dies.
	rot, err = s.RotateFamilyToken(ctx(t), counted("fam_s", 1), next("c2", t2), sys(t2), deterministic("c2"))
	must(t, err)
	diff(t, rot.Verdict, domain.RefreshRotate)
	t3 := t2.Add(time.Hour)
	rot, err = s.RotateFamilyToken(ctx(t), sealedFirst(u), next("c1", t3), sys(t3), deterministic("c1"))
	must(t, err)
	if rot.Verdict != domain.RefreshReuse || !rot.Family.RevokedAt.Equal(t3) {
		t.Fatalf("reuse of a materialized sealed token: %+v", rot)
	}

	// A refusing rule (a foreign client, say) changes nothing: no family.
	_, err = s.RotateFamilyToken(ctx(t), sealedFirst(unsealed("fam_r")), next("r1", t1), sys(t1),
		func(domain.RefreshToken, domain.Family, *domain.RefreshToken) (domain.RefreshDecision, error) {
			return domain.RefreshDecision{}, store.ErrConflict
		})
	wantErr(t, err, store.ErrConflict)
	_, err = s.GetFamily(ctx(t), "fam_r")
	wantErr(t, err, store.ErrNotFound)
}

// recording is decide, which also records the tokens it saw.
func recording(decide store.RefreshDecider, seen *[]domain.RefreshToken) store.RefreshDecider {
	return func(tok domain.RefreshToken, fam domain.Family, c *domain.RefreshToken) (domain.RefreshDecision, error) {
		*seen = append(*seen, tok)
		return decide(tok, fam, c)
	}
}

// testCountedRotation is PRODUCT T5 on counted tokens: the live
// generation rotates to the next, which the row now holds live until
// next's expiry; the one before, presented within the window, is a retry
// that writes nothing; presented after its child was used, or any older
// one, is reuse and revokes the family with its audit row; a generation
// the family never reached, or a family that has none, is ErrNotFound
// and writes nothing.
func testCountedRotation(t *testing.T, s Subject) {
	u := unsealed("fam_k")
	_, err := s.RotateFamilyToken(ctx(t), sealedFirst(u), next("g1", base), sys(base), deterministic("g1"))
	must(t, err)
	t1 := base.Add(time.Minute)
	var seen []domain.RefreshToken
	rot, err := s.RotateFamilyToken(ctx(t), counted("fam_k", 1), next("g2", t1), sys(t1), recording(deterministic("g2"), &seen))
	must(t, err)
	diff(t, rot.Verdict, domain.RefreshRotate)
	diff(t, seen, []domain.RefreshToken{{FamilyID: "fam_k", State: domain.RefreshLive, CreatedAt: base, ExpiresAt: base.Add(90 * 24 * time.Hour)}})
	got, err := s.GetFamily(ctx(t), "fam_k")
	must(t, err)
	diff(t, got, familyAt(u, 2, t1))

	// Generation 3 was never issued: nothing, and nothing changes.
	_, err = s.RotateFamilyToken(ctx(t), counted("fam_k", 3), next("g4", t1), sys(t1), deterministic("g4"))
	wantErr(t, err, store.ErrNotFound)
	_, err = s.RotateFamilyToken(ctx(t), counted("fam_none", 1), next("x", t1), sys(t1), deterministic("x"))
	wantErr(t, err, store.ErrNotFound)
	got, err = s.GetFamily(ctx(t), "fam_k")
	must(t, err)
	diff(t, got, familyAt(u, 2, t1))

	// Generation 1 again, its child g2 live: a retry.
	rot, err = s.RotateFamilyToken(ctx(t), counted("fam_k", 1), next("g2", t1), sys(t1), deterministic("g2"))
	must(t, err)
	diff(t, rot.Verdict, domain.RefreshRetry)
	// A decider that calls the live generation a retry fails: it has no child.
	_, err = s.RotateFamilyToken(ctx(t), counted("fam_k", 2), next("g3", t1), sys(t1), always(domain.RefreshRetry, new([]domain.RefreshToken)))
	if err == nil {
		t.Fatal("a retry of the live generation succeeded")
	}
	got, err = s.GetFamily(ctx(t), "fam_k")
	must(t, err)
	diff(t, got, familyAt(u, 2, t1))

	// Generation 2 rotates; generation 1, whose child was used, is reuse.
	t2 := t1.Add(time.Minute)
	_, err = s.RotateFamilyToken(ctx(t), counted("fam_k", 2), next("g3", t2), sys(t2), deterministic("g3"))
	must(t, err)
	var a auditTrail
	o := a.by(client1(), "198.51.100.4")
	o.At = t2
	seen = nil
	rot, err = s.RotateFamilyToken(ctx(t), counted("fam_k", 1), next("g2", t2), o, recording(deterministic("g2"), &seen))
	must(t, err)
	if rot.Verdict != domain.RefreshReuse || !rot.Family.RevokedAt.Equal(t2) {
		t.Fatalf("reuse: %+v", rot)
	}
	diff(t, seen, []domain.RefreshToken{{FamilyID: "fam_k", State: domain.RefreshRotated, ExpiresAt: t2.Add(90 * 24 * time.Hour)}})
	a.expect(o, domain.AuditRefreshReuse, "fam_k", "client_1", "")
	diffAudit(t, allAudit(t, s), a.rows)
	diff(t, revokedFeed(t, s), []string{"fam_k"})
}

// testRotationNamesItsKey: a rotation keeps the seal key its new
// generation is minted under in the family's row, and a retry reports
// that key, not the one it offered, so every retry on any replica mints
// the same token (PRODUCT T5).
func testRotationNamesItsKey(t *testing.T, s Subject) {
	u := unsealed("fam_n")
	under := func(ft store.FamilyToken, key string) store.FamilyToken {
		ft.NextKey = key
		return ft
	}
	rot, err := s.RotateFamilyToken(ctx(t), under(sealedFirst(u), "key_a"), next("g1", base), sys(base), deterministic("g1"))
	must(t, err)
	diff(t, rot.Family.GenerationKey, "key_a")
	t1 := base.Add(time.Minute)
	rot, err = s.RotateFamilyToken(ctx(t), under(counted("fam_n", 1), "key_b"), next("g2", t1), sys(t1), deterministic("g2"))
	must(t, err)
	diff(t, rot.Family.GenerationKey, "key_b")
	rot, err = s.RotateFamilyToken(ctx(t), under(counted("fam_n", 1), "key_c"), next("g2", t1), sys(t1.Add(time.Second)), deterministic("g2"))
	must(t, err)
	diff(t, rot.Verdict, domain.RefreshRetry)
	diff(t, rot.Family.GenerationKey, "key_b")
	got, err := s.GetFamily(ctx(t), "fam_n")
	must(t, err)
	diff(t, got.GenerationKey, "key_b")
}

// testCountedConcurrentRefresh is PRODUCT T5 and S3 on counted tokens:
// twenty presentations of one generation at once all succeed; one
// rotates, the rest are retries; the family moves one generation.
func testCountedConcurrentRefresh(t *testing.T, s Subject) {
	const n = 20
	u := unsealed("fam_c")
	_, err := s.RotateFamilyToken(ctx(t), sealedFirst(u), next("g1", base), sys(base), deterministic("g1"))
	must(t, err)
	verdicts := concurrentVerdicts(t, n, func() (store.Rotation, error) {
		return s.RotateFamilyToken(ctx(t), counted("fam_c", 1), next("g2", base), sys(base), deterministic("g2"))
	})
	diff(t, verdicts, map[domain.RefreshVerdict]int{domain.RefreshRotate: 1, domain.RefreshRetry: n - 1})
	got, err := s.GetFamily(ctx(t), "fam_c")
	must(t, err)
	diff(t, got.Generation, uint64(2))
}

// testSealedConcurrentFirstRefresh is issue 17 point 4 and S3: twenty
// first refreshes of one sealed token at once all succeed; one rotates,
// the rest are retries; one family, generation 1 live.
func testSealedConcurrentFirstRefresh(t *testing.T, s Subject) {
	const n = 20
	verdicts := concurrentVerdicts(t, n, func() (store.Rotation, error) {
		return s.RotateFamilyToken(ctx(t), sealedFirst(unsealed("fam_s")), next("c", base), sys(base), deterministic("c"))
	})
	diff(t, verdicts, map[domain.RefreshVerdict]int{domain.RefreshRotate: 1, domain.RefreshRetry: n - 1})
	got, err := s.GetFamily(ctx(t), "fam_s")
	must(t, err)
	diff(t, got.Generation, uint64(1))
}

// testSealedTombstone is issue 17 point 5 (PRODUCT T9): revoking a family
// that has no row inserts it revoked, audited, on the revocation feed; its
// sealed token is refused from then on; a foreign client changes nothing;
// clean-up keeps the tombstone while the sealed token could come back.
func testSealedTombstone(t *testing.T, s Subject) {
	var a auditTrail
	u := unsealed("fam_s")
	// Another client's revocation: nothing.
	id, revoked, err := s.RevokeHeldFamily(ctx(t), "fam_s", "", &u, a.by(domain.Actor{Kind: domain.ActorClient, ID: "client_2"}, ""), heldBy("client_2"))
	must(t, err)
	if id != "" || revoked {
		t.Fatalf("foreign tombstone: %q %v", id, revoked)
	}
	if _, err := s.GetFamily(ctx(t), "fam_s"); err == nil {
		t.Fatal("a foreign revocation wrote a row")
	}
	o := a.by(client1(), "203.0.113.7")
	id, revoked, err = s.RevokeHeldFamily(ctx(t), "fam_s", "", &u, o, heldBy("client_1"))
	must(t, err)
	if id != "fam_s" || !revoked {
		t.Fatalf("tombstone: %q %v", id, revoked)
	}
	a.expect(o, domain.AuditTokenRevoked, "fam_s", "client_1", "")
	diffAudit(t, allAudit(t, s), a.rows)
	diff(t, revokedFeed(t, s), []string{"fam_s"})
	got, err := s.GetFamily(ctx(t), "fam_s")
	must(t, err)
	if !got.RevokedAt.Equal(o.At) || !got.CreatedAt.Equal(base) {
		t.Fatalf("tombstone %+v", got)
	}
	// Twice: no second row.
	id, revoked, err = s.RevokeHeldFamily(ctx(t), "fam_s", "", &u, a.by(client1(), ""), heldBy("client_1"))
	must(t, err)
	if id != "fam_s" || revoked {
		t.Fatalf("second tombstone: %q %v", id, revoked)
	}
	diffAudit(t, allAudit(t, s), a.rows)

	// The sealed token is refused and materializes nothing.
	_, err = s.RotateFamilyToken(ctx(t), sealedFirst(u), next("c", base), sys(base), always(domain.RefreshRotate, new([]domain.RefreshToken)))
	wantErr(t, err, store.ErrNotFound)
	if got, _ := s.GetFamily(ctx(t), "fam_s"); got.Generation != 0 {
		t.Fatalf("tombstone rotated: %+v", got)
	}
	if toks, _ := s.FamilyTokens(ctx(t), "fam_s"); len(toks) != 0 {
		t.Fatalf("tombstone gained tokens %+v", toks)
	}

	// Clean-up keeps it until the sealed token has expired.
	keep := store.Retention{Revoked: time.Hour}
	_, err = s.DeleteExpired(ctx(t), u.Token.ExpiresAt.Add(-time.Minute), keep)
	must(t, err)
	if _, err := s.GetFamily(ctx(t), "fam_s"); err != nil {
		t.Fatalf("tombstone cleaned up while its sealed token lives: %v", err)
	}
	_, err = s.DeleteExpired(ctx(t), u.Token.ExpiresAt.Add(2*time.Hour), keep)
	must(t, err)
	_, err = s.GetFamily(ctx(t), "fam_s")
	wantErr(t, err, store.ErrNotFound)
}

// testSealKeys is issue 17 point 2: the first key is created once (a
// second "first" is ErrConflict, as for replicas starting together); a
// rotation retires the current key at the given time; both audited;
// clean-up removes a key once it retired.
func testSealKeys(t *testing.T, s Subject) {
	var a auditTrail
	k1 := domain.SealKey{ID: "0000000000000001", Secret: make([]byte, 32), CreatedAt: base, SealsFrom: base}
	o := a.by(system(), "")
	_, err := s.AddSealKey(ctx(t), k1, time.Time{}, o)
	must(t, err)
	a.expect(o, domain.AuditSealKeyCreated, k1.ID, "", "")
	k1b := k1
	k1b.ID = "0000000000000009"
	_, err = s.AddSealKey(ctx(t), k1b, time.Time{}, a.by(system(), ""))
	wantErr(t, err, store.ErrConflict)

	k2 := domain.SealKey{ID: "0000000000000002", Secret: []byte("0123456789abcdef0123456789abcdef"), CreatedAt: base.Add(time.Hour), SealsFrom: base.Add(2 * time.Hour)}
	retire := base.Add(100 * time.Hour)
	o2 := a.by(operator(), "")
	from, err := s.AddSealKey(ctx(t), k2, retire, o2)
	must(t, err)
	if !from.Equal(k2.SealsFrom) {
		t.Fatalf("a rotation with nothing waiting seals from %v, not as asked (%v)", from, k2.SealsFrom)
	}
	a.expect(o2, domain.AuditSealKeyRotated, k2.ID, "", "")
	keys, err := s.ListSealKeys(ctx(t))
	must(t, err)
	k1.RetiresAt = retire
	diff(t, keys, []domain.SealKey{k2, k1})
	diffAudit(t, allAudit(t, s), a.rows)

	// PRODUCT T5: a second rotation asking to seal before the waiting k2
	// (a shorter delay, or a clock behind) queues behind it, and the key
	// it leaves, k2, retires its overlap after k3 takes over; k2 never
	// seals again after k3 (seal.Ring.Sealer seals with the latest).
	k3 := domain.SealKey{ID: "0000000000000003", Secret: []byte("3123456789abcdef0123456789abcdef"), CreatedAt: base.Add(time.Hour), SealsFrom: base.Add(90 * time.Minute)}
	overlap := 98 * time.Hour
	from, err = s.AddSealKey(ctx(t), k3, k3.SealsFrom.Add(overlap), o2)
	must(t, err)
	wantFrom := k2.SealsFrom.Add(time.Microsecond)
	if !from.Equal(wantFrom) {
		t.Fatalf("T5/seal_key_queues: k3 seals from %v, want just after the waiting key's %v", from, k2.SealsFrom)
	}
	a.expect(o2, domain.AuditSealKeyRotated, k3.ID, "", "")
	keys, err = s.ListSealKeys(ctx(t))
	must(t, err)
	k2.RetiresAt, k3.SealsFrom = wantFrom.Add(overlap), wantFrom
	diff(t, keys, []domain.SealKey{k3, k2, k1})
	diffAudit(t, allAudit(t, s), a.rows)

	_, err = s.DeleteExpired(ctx(t), retire, store.Retention{})
	must(t, err)
	keys, err = s.ListSealKeys(ctx(t))
	must(t, err)
	diff(t, keys, []domain.SealKey{k3, k2})
}

// testSealKeysConcurrentRotations is the queue of testSealKeys under
// contention (PRODUCT T5), as operators on two machines might rotate at
// once: each rotation either queues behind every key stored before it or
// is a conflict, so the one key left without successor is the one that
// seals last, and no replaced key ever seals after it.
func testSealKeysConcurrentRotations(t *testing.T, s Subject) {
	first := domain.SealKey{ID: "00000000000000f0", Secret: make([]byte, 32), CreatedAt: base, SealsFrom: base}
	_, err := s.AddSealKey(ctx(t), first, time.Time{}, domain.System(base))
	must(t, err)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Go(func() {
			// Asked in reverse order: the later a rotation starts, the
			// earlier it asks to seal (shorter delays, clocks behind).
			from := base.Add(time.Duration(32-i) * time.Minute)
			k := domain.SealKey{ID: fmt.Sprintf("00000000000001%02x", i), Secret: make([]byte, 32), CreatedAt: base, SealsFrom: from}
			_, err := s.AddSealKey(ctx(t), k, from.Add(90*time.Hour), domain.System(base))
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil && !errors.Is(err, store.ErrConflict) {
			t.Fatalf("a concurrent rotation: %v", err)
		}
	}
	keys, err := s.ListSealKeys(ctx(t))
	must(t, err)
	var live *domain.SealKey
	for i, k := range keys {
		if k.RetiresAt.IsZero() {
			if live != nil {
				t.Fatalf("two keys without successor: %+v and %+v", *live, k)
			}
			live = &keys[i]
		}
	}
	if live == nil {
		t.Fatalf("no key without successor: %+v", keys)
	}
	for _, k := range keys {
		if k.ID != live.ID && !k.SealsFrom.Before(live.SealsFrom) {
			t.Fatalf("T5/seal_keys_queue_concurrently: replaced key %s seals from %v, not before the live key %s's %v",
				k.ID, k.SealsFrom, live.ID, live.SealsFrom)
		}
	}
}

// errTestRevoked is what testSealedRevokeRacesFirstRefresh's rule answers
// for a revoked family, as the refresh rule does.
var errTestRevoked = errors.New("storetest: family revoked")

// testSealedRevokeRacesFirstRefresh is issue 17 points 4 and 5 under
// contention (PRODUCT T9, S3): first refreshes and revocations of one
// family that has no row, all at once, on any backend. Whichever comes
// first, the family ends revoked, revoked once (one token.revoked row, one
// call that says it revoked), and either one rotation materialized it
// (generation 1) or a tombstone did (generation 0); a refresh after the
// revocation is refused.
func testSealedRevokeRacesFirstRefresh(t *testing.T, s Subject) {
	const n = 10
	u := unsealed("fam_race")
	rule := func(tok domain.RefreshToken, fam domain.Family, c *domain.RefreshToken) (domain.RefreshDecision, error) {
		if fam.Revoked() {
			return domain.RefreshDecision{}, errTestRevoked
		}
		return deterministic("c")(tok, fam, c)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	rotated, revokedCalls := 0, 0
	for i := range 2 * n {
		wg.Go(func() {
			if i%2 == 0 {
				rot, err := s.RotateFamilyToken(ctx(t), sealedFirst(u), next("c", base), sys(base), rule)
				switch {
				case errors.Is(err, store.ErrNotFound), errors.Is(err, errTestRevoked):
				case err != nil:
					t.Error(err)
				case rot.Verdict != domain.RefreshRotate && rot.Verdict != domain.RefreshRetry:
					t.Errorf("verdict %v", rot.Verdict)
				default:
					mu.Lock()
					rotated++
					mu.Unlock()
				}
				return
			}
			id, revoked, err := s.RevokeHeldFamily(ctx(t), u.Family.ID, "", &u, sys(base.Add(time.Second)), heldBy("client_1"))
			if err != nil || id != u.Family.ID {
				t.Errorf("revoke: %q %v", id, err)
			}
			if revoked {
				mu.Lock()
				revokedCalls++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	got, err := s.GetFamily(ctx(t), u.Family.ID)
	must(t, err)
	if !got.Revoked() || revokedCalls != 1 {
		t.Fatalf("family %+v, %d calls revoked it; want revoked by exactly one", got, revokedCalls)
	}
	rows := 0
	for _, e := range allAudit(t, s) {
		if e.Action == domain.AuditTokenRevoked && e.TargetID == u.Family.ID {
			rows++
		}
	}
	if rows != 1 {
		t.Fatalf("%d token.revoked rows, want 1", rows)
	}
	if want := map[bool]uint64{true: 1, false: 0}[rotated > 0]; got.Generation != want {
		t.Fatalf("%d rotations succeeded, the family is at generation %d", rotated, got.Generation)
	}
	if _, err := s.RotateFamilyToken(ctx(t), sealedFirst(u), next("c", base), sys(base), rule); err == nil {
		t.Fatal("a refresh after the revocation succeeded")
	}
}

// testSealedOfRowFamily: a family an earlier build materialized from its
// sealed first token holds token rows (generation 0; the sealed token's
// row rotated, its derived child live). After the upgrade the sealed token
// is still judged by its row: while its child is unused a retry hands it
// out again (Rotation.RowChild); once the child was used, it is reuse and
// revokes the family (PRODUCT T5, RFC 9700 §4.14.2).
func testSealedOfRowFamily(t *testing.T, s Subject) {
	u := unsealed("fam_up")
	must(t, s.IssueRefreshToken(ctx(t), u.Family, u.Token))
	t1 := base.Add(time.Minute)
	_, err := s.RotateRefreshToken(ctx(t), u.Token.Hash, next("row-child", t1), sys(t1), deterministic("row-child"))
	must(t, err)
	p := sealedFirst(u)
	p.RowChild = next("row-child", t1)
	rot, err := s.RotateFamilyToken(ctx(t), p, next("counted-1", t1), sys(t1), deterministic("row-child"))
	must(t, err)
	if rot.Verdict != domain.RefreshRetry || !rot.RowChild {
		t.Fatalf("retry of an upgraded family's sealed token: %+v", rot)
	}
	diff(t, liveTokens(t, s, "fam_up"), []string{"row-child"})
	// The row child is used; then the sealed token comes back.
	t2 := t1.Add(time.Hour)
	_, err = s.RotateRefreshToken(ctx(t), "row-child", next("row-child-2", t2), sys(t2), deterministic("row-child-2"))
	must(t, err)
	rot, err = s.RotateFamilyToken(ctx(t), p, next("counted-1", t2), sys(t2), deterministic("row-child"))
	must(t, err)
	if rot.Verdict != domain.RefreshReuse || !rot.RowChild {
		t.Fatalf("reuse of an upgraded family's sealed token: %+v", rot)
	}
	if got, _ := s.GetFamily(ctx(t), "fam_up"); !got.Revoked() {
		t.Fatal("reuse did not revoke the family")
	}
}

// testSealedRowOutlivesShortRotation (PRODUCT T9): a sealed family that
// rotated while the refresh idle time was short has a live generation
// that dies long before its sealed first token could; revoked and cleaned
// up after the generation died, its row stays while the sealed token
// could come back, so that token never materializes it again.
func testSealedRowOutlivesShortRotation(t *testing.T, s Subject) {
	u := unsealed("fam_ttl") // the sealed token expires at base+90d
	t1 := base.Add(time.Hour)
	short := domain.RefreshToken{Hash: "g1", CreatedAt: t1, ExpiresAt: t1.Add(24 * time.Hour)}
	_, err := s.RotateFamilyToken(ctx(t), sealedFirst(u), short, sys(t1), deterministic("g1"))
	must(t, err)
	_, _, err = s.RevokeHeldFamily(ctx(t), "fam_ttl", "", nil, sys(t1.Add(time.Hour)), heldBy("client_1"))
	must(t, err)
	now := t1.Add(26 * time.Hour)
	_, err = s.DeleteExpired(ctx(t), now, store.Retention{Revoked: time.Hour})
	must(t, err)
	if _, err := s.GetFamily(ctx(t), "fam_ttl"); err != nil {
		t.Fatalf("the revoked family's row went while its sealed token lives: %v", err)
	}
	refuseRevoked := func(tok domain.RefreshToken, fam domain.Family, c *domain.RefreshToken) (domain.RefreshDecision, error) {
		if fam.Revoked() {
			return domain.RefreshDecision{}, errTestRevoked
		}
		return deterministic("g1")(tok, fam, c)
	}
	_, err = s.RotateFamilyToken(ctx(t), sealedFirst(u), next("g1", now), sys(now), refuseRevoked)
	wantErr(t, err, errTestRevoked)
	// Once the sealed token has expired too, the row goes.
	_, err = s.DeleteExpired(ctx(t), u.Token.ExpiresAt.Add(2*time.Hour), store.Retention{Revoked: time.Hour})
	must(t, err)
	_, err = s.GetFamily(ctx(t), "fam_ttl")
	wantErr(t, err, store.ErrNotFound)
}

// testRotationReportsStoredTimes: a rotation reports the family as its row
// now holds it, times to the microsecond, so the server mints the new
// generation under the key a retry will pick from the row (PRODUCT T5).
func testRotationReportsStoredTimes(t *testing.T, s Subject) {
	u := unsealed("fam_t")
	at := base.Add(time.Minute + 789*time.Nanosecond)
	next := domain.RefreshToken{Hash: "g1", CreatedAt: at, ExpiresAt: at.Add(time.Hour)}
	rot, err := s.RotateFamilyToken(ctx(t), sealedFirst(u), next, sys(at), deterministic("g1"))
	must(t, err)
	got, err := s.GetFamily(ctx(t), "fam_t")
	must(t, err)
	diff(t, rot.Family, got)
}
