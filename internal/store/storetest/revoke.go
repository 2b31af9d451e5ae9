package storetest

import (
	"testing"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/store"
)

// heldBy is the ownership rule the revocation endpoint passes
// (oauth.MayRevoke): the family's client is clientID.
func heldBy(clientID string) func(domain.Family) bool {
	return func(f domain.Family) bool { return f.ClientID == clientID }
}

// revokedFeed lists the ids the revocation feed carries since base.
func revokedFeed(t *testing.T, s Subject) []string {
	t.Helper()
	got, err := s.RevokedFamilies(ctx(t), base)
	must(t, err)
	return ids(got, func(f domain.Family) string { return f.ID })
}

// testRevokeHeldFamily is PRODUCT T9 in the store: revoking by either
// token kills the family, writes one token.revoked row in the same
// transaction and bumps the revocation feed (A11, O8); a second
// revocation keeps the first time and writes no row; another client's
// revocation changes nothing and writes no row.
func testRevokeHeldFamily(t *testing.T, s Subject) {
	var a auditTrail
	family(t, s, "fam_1") // client_1, token fam_1-t0
	family(t, s, "fam_2")
	must(t, s.IssueRefreshToken(ctx(t), domain.Family{ID: "fam_3", ClientID: "client_2", OrgID: "org_a", CustomerID: "cus_1", Scopes: domain.Scopes{domain.ScopeRead}, CreatedAt: base},
		next("fam_3-t0", base)))

	// By the refresh token's hash.
	o := a.by(client1(), "203.0.113.7")
	id, revoked, err := s.RevokeHeldFamily(ctx(t), "", "fam_1-t0", nil, o, heldBy("client_1"))
	must(t, err)
	if id != "fam_1" || !revoked {
		t.Fatalf("T9/by_refresh_token: id %q revoked %v", id, revoked)
	}
	a.expect(o, domain.AuditTokenRevoked, "fam_1", "client_1", "")
	if f, _ := s.GetFamily(ctx(t), "fam_1"); !f.RevokedAt.Equal(o.At) {
		t.Fatalf("T9/by_refresh_token: revoked at %v, want %v", f.RevokedAt, o.At)
	}
	diff(t, revokedFeed(t, s), []string{"fam_1"})

	// By the family an access token names.
	o2 := a.by(client1(), "203.0.113.7")
	id, revoked, err = s.RevokeHeldFamily(ctx(t), "fam_2", "", nil, o2, heldBy("client_1"))
	must(t, err)
	if id != "fam_2" || !revoked {
		t.Fatalf("T9/by_access_token_family: id %q revoked %v", id, revoked)
	}
	a.expect(o2, domain.AuditTokenRevoked, "fam_2", "client_1", "")
	diff(t, revokedFeed(t, s), []string{"fam_1", "fam_2"})

	// Twice: the first time stays, no second row.
	id, revoked, err = s.RevokeHeldFamily(ctx(t), "", "fam_1-t0", nil, a.by(client1(), "203.0.113.7"), heldBy("client_1"))
	must(t, err)
	if id != "fam_1" || revoked {
		t.Fatalf("T9/revoke_twice: id %q revoked %v, want fam_1 not revoked again", id, revoked)
	}
	if f, _ := s.GetFamily(ctx(t), "fam_1"); !f.RevokedAt.Equal(o.At) {
		t.Fatalf("T9/revoke_twice: revoked at %v, want the first %v", f.RevokedAt, o.At)
	}

	// Another client's family: nothing changes, no row, no feed entry.
	for _, tc := range []struct{ family, hash string }{{"", "fam_3-t0"}, {"fam_3", ""}} {
		id, revoked, err = s.RevokeHeldFamily(ctx(t), tc.family, tc.hash, nil, a.by(client1(), "203.0.113.7"), heldBy("client_1"))
		must(t, err)
		if id != "" || revoked {
			t.Fatalf("T9/foreign_changes_nothing: id %q revoked %v", id, revoked)
		}
	}
	if f, _ := s.GetFamily(ctx(t), "fam_3"); f.Revoked() {
		t.Fatal("T9/foreign_changes_nothing: another client's family was revoked")
	}
	diff(t, revokedFeed(t, s), []string{"fam_1", "fam_2"})

	// Unknown tokens and families are ErrNotFound.
	_, _, err = s.RevokeHeldFamily(ctx(t), "", "no-such-hash", nil, a.by(client1(), ""), heldBy("client_1"))
	wantErr(t, err, store.ErrNotFound)
	_, _, err = s.RevokeHeldFamily(ctx(t), "fam_missing", "", nil, a.by(client1(), ""), heldBy("client_1"))
	wantErr(t, err, store.ErrNotFound)

	diffAudit(t, allAudit(t, s), a.rows)
}

// testRevokeHeldFamilyNeedsItsRow is PRODUCT O8 for T9: when the audit row
// cannot be written, the family stays live.
func testRevokeHeldFamilyNeedsItsRow(t *testing.T, s Subject) {
	family(t, s, "fam_1")
	must(t, s.BreakAudit(ctx(t)))
	if _, _, err := s.RevokeHeldFamily(ctx(t), "", "fam_1-t0", nil, domain.Origin{Actor: client1(), At: base.Add(time.Hour)}, heldBy("client_1")); err == nil {
		t.Fatal("O8: a revocation succeeded without its audit row")
	}
	if f, err := s.GetFamily(ctx(t), "fam_1"); err != nil || f.Revoked() {
		t.Fatalf("O8/no_change_without_row: family revoked at %v err %v", f.RevokedAt, err)
	}
}

// testRefreshTokenFamily is PRODUCT T10's one read of a refresh token.
func testRefreshTokenFamily(t *testing.T, s Subject) {
	fam := domain.Family{ID: "fam_1", ClientID: "client_1", OrgID: "org_a", CustomerID: "cus_1", GrantID: "grt_1", Scopes: domain.Scopes{domain.ScopeRead}, CreatedAt: base}
	tok := next("fam_1-t0", base)
	must(t, s.IssueRefreshToken(ctx(t), fam, tok))
	gotTok, gotFam, err := s.RefreshTokenFamily(ctx(t), "fam_1-t0")
	must(t, err)
	tok.FamilyID, tok.State = "fam_1", domain.RefreshLive
	diff(t, gotTok, tok)
	diff(t, gotFam, fam)
	must(t, s.RevokeFamily(ctx(t), "fam_1", base.Add(time.Minute)))
	if _, f, err := s.RefreshTokenFamily(ctx(t), "fam_1-t0"); err != nil || !f.RevokedAt.Equal(base.Add(time.Minute)) {
		t.Fatalf("T10/revoked_family_seen: %v %v", f.RevokedAt, err)
	}
	_, _, err = s.RefreshTokenFamily(ctx(t), "missing")
	wantErr(t, err, store.ErrNotFound)
}
