package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/store"
)

func seedCustomer(t *testing.T, s Subject, id, org string) domain.Customer {
	c := domain.Customer{ID: id, OrgID: org, Email: id + "@example.com", FirstName: "F", LastName: "L", Type: domain.CustomerPerson, CreatedAt: base}
	must(t, s.CreateCustomer(ctx(t), c, sys(base)))
	return c
}

// seedJourney makes an org, a client and a customer with an active grant.
func seedJourney(t *testing.T, s Subject) domain.Grant {
	seedOrg(t, s, "org_a")
	seedClient(t, s, "client_1", "org_a")
	seedCustomer(t, s, "cus_1", "org_a")
	g, err := s.UpsertGrant(ctx(t), domain.Grant{ID: "grt_1", CustomerID: "cus_1", ClientID: "client_1", OrgID: "org_a",
		Scopes: domain.Scopes{domain.ScopeRead}, CreatedAt: base, UpdatedAt: base}, sys(base))
	must(t, err)
	return g
}

func seedCode(t *testing.T, s Subject, hash string, g domain.Grant) domain.AuthCode {
	c := domain.AuthCode{Hash: hash, ClientID: g.ClientID, OrgID: g.OrgID, CustomerID: g.CustomerID, GrantID: g.ID,
		RedirectURI: "https://app.example/cb", Challenge: "chal", ChallengeMethod: "S256", Scopes: g.Scopes,
		CreatedAt: base, ExpiresAt: base.Add(10 * time.Minute),
		// PRODUCT T12: the ID token's nonce and auth_time round-trip.
		Nonce: "n-0S6_WzA2Mj", AuthTime: base.Add(-3*time.Minute - 7*time.Microsecond)}
	must(t, s.CreateCode(ctx(t), c))
	return c
}

func testGrants(t *testing.T, s Subject) {
	g := seedJourney(t, s)
	got, err := s.GetGrant(ctx(t), "grt_1")
	must(t, err)
	diff(t, got, g)
	_, err = s.GetGrant(ctx(t), "grt_none")
	wantErr(t, err, store.ErrNotFound)

	// Consenting again widens the one active grant, keeping its id.
	later := base.Add(time.Hour)
	wider, err := s.UpsertGrant(ctx(t), domain.Grant{ID: "grt_2", CustomerID: "cus_1", ClientID: "client_1", OrgID: "org_a",
		Scopes: domain.Scopes{domain.ScopeWrite, domain.ScopeOpenID}, CreatedAt: later, UpdatedAt: later}, sys(base))
	must(t, err)
	// PRODUCT T12: the identity scopes are stored like the others.
	if wider.ID != "grt_1" || wider.Scopes.String() != "read:* write:* openid" || !wider.CreatedAt.Equal(base) || !wider.UpdatedAt.Equal(later) {
		t.Fatalf("widened grant: %+v", wider)
	}
	active, err := s.ActiveGrant(ctx(t), "cus_1", "client_1")
	must(t, err)
	diff(t, active, wider)
	_, err = s.UpsertGrant(ctx(t), domain.Grant{ID: "grt_x", CustomerID: "cus_none", ClientID: "client_1", OrgID: "org_a", CreatedAt: base, UpdatedAt: base}, sys(base))
	wantErr(t, err, store.ErrNotFound)

	// Two families from the grant, one from client credentials.
	for i, grant := range []string{"grt_1", "grt_1", ""} {
		fam := domain.Family{ID: fmt.Sprintf("fam_%d", i), ClientID: "client_1", OrgID: "org_a", GrantID: grant, Scopes: domain.Scopes{domain.ScopeRead}, CreatedAt: base}
		if grant != "" {
			fam.CustomerID = "cus_1"
		}
		must(t, s.IssueRefreshToken(ctx(t), fam, domain.RefreshToken{Hash: fmt.Sprintf("rt_%d", i), CreatedAt: base, ExpiresAt: base.Add(time.Hour)}))
	}
	list, err := s.ListGrants(ctx(t), "cus_1")
	must(t, err)
	diff(t, list, []domain.Grant{wider})

	revokedAt := base.Add(2 * time.Hour)
	fams, revoked, err := s.RevokeGrant(ctx(t), "grt_1", sys(revokedAt))
	must(t, err)
	if len(fams) != 2 || !revoked {
		t.Fatalf("RevokeGrant revoked families %v, want fam_0 and fam_1", fams)
	}
	for _, id := range []string{"fam_0", "fam_1"} {
		f, err := s.GetFamily(ctx(t), id)
		must(t, err)
		if !f.RevokedAt.Equal(revokedAt) {
			t.Errorf("%s not revoked: %+v", id, f)
		}
	}
	if f, _ := s.GetFamily(ctx(t), "fam_2"); f.Revoked() {
		t.Error("a client-credentials family was revoked with the grant")
	}
	again, revoked, err := s.RevokeGrant(ctx(t), "grt_1", sys(revokedAt.Add(time.Hour)))
	must(t, err)
	if len(again) != 0 || revoked {
		t.Errorf("revoking twice revoked %v again", again)
	}
	if g, _ := s.GetGrant(ctx(t), "grt_1"); !g.RevokedAt.Equal(revokedAt) {
		t.Errorf("revoking twice must keep the first time: %v", g.RevokedAt)
	}
	list, err = s.ListGrants(ctx(t), "cus_1")
	must(t, err)
	diff(t, list, []domain.Grant{})
	_, err = s.ActiveGrant(ctx(t), "cus_1", "client_1")
	wantErr(t, err, store.ErrNotFound)
	_, _, err = s.RevokeGrant(ctx(t), "grt_none", sys(revokedAt))
	wantErr(t, err, store.ErrNotFound)

	// A new consent after revocation is a new grant.
	fresh, err := s.UpsertGrant(ctx(t), domain.Grant{ID: "grt_3", CustomerID: "cus_1", ClientID: "client_1", OrgID: "org_a",
		Scopes: domain.Scopes{domain.ScopeRead}, CreatedAt: later, UpdatedAt: later}, sys(base))
	must(t, err)
	if fresh.ID != "grt_3" {
		t.Fatalf("after revocation: %+v", fresh)
	}
}

func redeemAll(code domain.AuthCode, grant domain.Grant) (domain.CodeVerdict, error) {
	if !code.UsedAt.IsZero() {
		return domain.CodeReplay, nil
	}
	return domain.CodeRedeem, nil
}

func testRedeemCode(t *testing.T, s Subject) {
	g := seedJourney(t, s)
	code := seedCode(t, s, "code_h", g)
	wantErr(t, s.CreateCode(ctx(t), code), store.ErrConflict)
	now := base.Add(time.Minute)
	var seen domain.AuthCode
	decide := func(c domain.AuthCode, gr domain.Grant) (domain.CodeVerdict, error) {
		seen = c
		diff(t, gr, g)
		return redeemAll(c, gr)
	}
	red, err := s.RedeemCode(ctx(t), "code_h", born(domain.Family{ID: "fam_c", CreatedAt: now}, domain.RefreshToken{Hash: "rt_c", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}), sys(now), decide)
	must(t, err)
	diff(t, seen, code)
	wantFam := born(domain.Family{ID: "fam_c", ClientID: "client_1", OrgID: "org_a", CustomerID: "cus_1", GrantID: "grt_1", Scopes: g.Scopes, CreatedAt: now}, domain.RefreshToken{CreatedAt: now, ExpiresAt: now.Add(time.Hour)})
	if red.Verdict != domain.CodeRedeem {
		t.Fatalf("verdict %v", red.Verdict)
	}
	diff(t, red.Family, wantFam)
	cus, err := s.GetCustomer(ctx(t), "cus_1")
	must(t, err)
	diff(t, red.Customer, cus) // PRODUCT T12: the ID token's claims, read in the redemption
	fam, err := s.GetFamily(ctx(t), "fam_c")
	must(t, err)
	diff(t, fam, wantFam) // its generation 1 live, and no token row
	toks, err := s.FamilyTokens(ctx(t), "fam_c")
	must(t, err)
	if len(toks) != 0 {
		t.Fatalf("family tokens %+v", toks)
	}

	later := now.Add(time.Minute)
	replay, err := s.RedeemCode(ctx(t), "code_h", born(domain.Family{ID: "fam_d", CreatedAt: later}, domain.RefreshToken{Hash: "rt_d", CreatedAt: later, ExpiresAt: later.Add(time.Hour)}), sys(later), decide)
	must(t, err)
	if replay.Verdict != domain.CodeReplay || replay.Family.ID != "fam_c" || !seen.UsedAt.Equal(now) || seen.FamilyID != "fam_c" {
		t.Fatalf("replay: %+v, code seen %+v", replay, seen)
	}
	if fam, _ := s.GetFamily(ctx(t), "fam_c"); !fam.RevokedAt.Equal(later) {
		t.Fatalf("replay must revoke the first family: %+v", fam)
	}
	_, err = s.GetFamily(ctx(t), "fam_d")
	wantErr(t, err, store.ErrNotFound)
	_, err = s.RedeemCode(ctx(t), "code_none", born(domain.Family{ID: "fam_e"}, domain.RefreshToken{Hash: "rt_e"}), sys(later), decide)
	wantErr(t, err, store.ErrNotFound)
}

func testRedeemCodeError(t *testing.T, s Subject) {
	g := seedJourney(t, s)
	seedCode(t, s, "code_h", g)
	boom := fmt.Errorf("decided no")
	_, err := s.RedeemCode(ctx(t), "code_h", born(domain.Family{ID: "fam_c", CreatedAt: base}, domain.RefreshToken{Hash: "rt_c", CreatedAt: base, ExpiresAt: base.Add(time.Hour)}), sys(base),
		func(domain.AuthCode, domain.Grant) (domain.CodeVerdict, error) { return 0, boom })
	wantErr(t, err, boom)
	_, err = s.GetFamily(ctx(t), "fam_c")
	wantErr(t, err, store.ErrNotFound)
	red, err := s.RedeemCode(ctx(t), "code_h", born(domain.Family{ID: "fam_c", CreatedAt: base}, domain.RefreshToken{Hash: "rt_c", CreatedAt: base, ExpiresAt: base.Add(time.Hour)}), sys(base), redeemAll)
	must(t, err)
	if red.Verdict != domain.CodeRedeem {
		t.Fatalf("after a refused try the code must still redeem: %v", red.Verdict)
	}
}

// testConcurrentRedeem: many presentations of one code race; exactly one
// redeems, and the rest see a replay.
func testConcurrentRedeem(t *testing.T, s Subject) {
	g := seedJourney(t, s)
	seedCode(t, s, "code_h", g)
	const n = 20
	var wg sync.WaitGroup
	verdicts := make([]domain.CodeVerdict, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			red, err := s.RedeemCode(ctx(t), "code_h", born(domain.Family{ID: fmt.Sprintf("fam_%02d", i), CreatedAt: base}, domain.RefreshToken{Hash: fmt.Sprintf("rt_%02d", i), CreatedAt: base, ExpiresAt: base.Add(time.Hour)}), sys(base), redeemAll)
			verdicts[i], errs[i] = red.Verdict, err
		}()
	}
	wg.Wait()
	redeemed := 0
	for i := range n {
		must(t, errs[i])
		if verdicts[i] == domain.CodeRedeem {
			redeemed++
		}
	}
	if redeemed != 1 {
		t.Fatalf("%d presentations redeemed the code, want exactly 1", redeemed)
	}
}

func testSessions(t *testing.T, s Subject) {
	seedOrg(t, s, "org_a")
	seedCustomer(t, s, "cus_1", "org_a")
	ses := domain.Session{Hash: "ses_h", CustomerID: "cus_1", CreatedAt: base, LastSeenAt: base, ExpiresAt: base.Add(24 * time.Hour)}
	must(t, s.CreateSession(ctx(t), ses, sys(base)))
	wantErr(t, s.CreateSession(ctx(t), ses, sys(base)), store.ErrConflict)
	wantErr(t, s.CreateSession(ctx(t), domain.Session{Hash: "x", CustomerID: "cus_none", CreatedAt: base}, sys(base)), store.ErrNotFound)
	got, err := s.GetSession(ctx(t), "ses_h")
	must(t, err)
	diff(t, got, ses)
	seen := base.Add(5 * time.Minute)
	must(t, s.TouchSession(ctx(t), "ses_h", seen))
	got, _ = s.GetSession(ctx(t), "ses_h")
	ses.LastSeenAt = seen
	diff(t, got, ses)
	wantErr(t, s.TouchSession(ctx(t), "ses_none", seen), store.ErrNotFound)
	must(t, s.DeleteSession(ctx(t), "ses_h"))
	must(t, s.DeleteSession(ctx(t), "ses_h"))
	_, err = s.GetSession(ctx(t), "ses_h")
	wantErr(t, err, store.ErrNotFound)
}

func oneTime(id, browser, hash string) domain.OneTimeCode {
	return domain.OneTimeCode{ID: id, BrowserHash: browser, Email: "ada@example.com", CodeHash: hash,
		CreatedAt: base, ExpiresAt: base.Add(10 * time.Minute), SignupOrgID: "org_a", FirstName: "Ada", LastName: "L"}
}

// checkHash is a minimal one-time rule for the suite: the real one lives
// in oauth and has its own table.
func checkHash(presented string) store.OneTimeDecider {
	return func(c domain.OneTimeCode) domain.OneTimeVerdict {
		switch {
		case c.Attempts >= 5:
			return domain.OneTimeExhausted
		case c.CodeHash == presented:
			return domain.OneTimeAccept
		}
		return domain.OneTimeReject
	}
}

func testOneTimeCodes(t *testing.T, s Subject) {
	first := oneTime("otc_1", "br_1", "h1")
	must(t, s.CreateOneTimeCode(ctx(t), first))
	wantErr(t, s.CreateOneTimeCode(ctx(t), first), store.ErrConflict)
	_, _, err := s.VerifyOneTimeCode(ctx(t), "br_none", sys(base), checkHash("h1"))
	wantErr(t, err, store.ErrNotFound)

	got, v, err := s.VerifyOneTimeCode(ctx(t), "br_1", sys(base), checkHash("wrong"))
	must(t, err)
	if v != domain.OneTimeReject || got.Attempts != 1 {
		t.Fatalf("wrong code: %v, attempts %d", v, got.Attempts)
	}
	for i := 2; i <= 5; i++ {
		s.VerifyOneTimeCode(ctx(t), "br_1", sys(base), checkHash("wrong"))
	}
	got, v, err = s.VerifyOneTimeCode(ctx(t), "br_1", sys(base), checkHash("h1"))
	must(t, err)
	if v != domain.OneTimeExhausted || got.Attempts != 5 {
		t.Fatalf("after five tries: %v, attempts %d", v, got.Attempts)
	}

	// A new code for the browser replaces the old one.
	second := oneTime("otc_2", "br_1", "h2")
	second.CreatedAt = base.Add(time.Second)
	must(t, s.CreateOneTimeCode(ctx(t), second))
	other := oneTime("otc_3", "br_2", "h1")
	must(t, s.CreateOneTimeCode(ctx(t), other))
	pending, err := s.PendingOneTimeCode(ctx(t), "br_1")
	must(t, err)
	diff(t, pending, second)
	got, v, err = s.VerifyOneTimeCode(ctx(t), "br_1", sys(base), checkHash("h2"))
	must(t, err)
	if v != domain.OneTimeAccept {
		t.Fatalf("new code: %v", v)
	}
	second.UsedAt = base
	diff(t, got, second)
	_, _, err = s.VerifyOneTimeCode(ctx(t), "br_1", sys(base), checkHash("h2"))
	wantErr(t, err, store.ErrNotFound)
	_, err = s.PendingOneTimeCode(ctx(t), "br_1")
	wantErr(t, err, store.ErrNotFound)
	// Another browser's code is untouched.
	if _, v, err := s.VerifyOneTimeCode(ctx(t), "br_2", sys(base), checkHash("h1")); err != nil || v != domain.OneTimeAccept {
		t.Fatalf("other browser: %v %v", v, err)
	}
}

// testConcurrentOneTime: parallel wrong tries are each counted, so no
// burst can buy more than five guesses.
func testConcurrentOneTime(t *testing.T, s Subject) {
	must(t, s.CreateOneTimeCode(ctx(t), oneTime("otc_1", "br_1", "h1")))
	const n = 12
	var wg sync.WaitGroup
	var mu sync.Mutex
	rejects := 0
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, v, err := s.VerifyOneTimeCode(ctx(t), "br_1", sys(base), checkHash("wrong"))
			if err != nil {
				t.Error(err)
			}
			if v == domain.OneTimeReject {
				mu.Lock()
				rejects++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if rejects != 5 {
		t.Fatalf("%d tries were judged, want exactly 5", rejects)
	}
}

// testUsedCodeOutlivesItsLifetime is PRODUCT T6 after clean-up: a used
// code stays while the family it produced lives (its refresh token may be
// refreshed for the idle time), so its replay still revokes that family;
// once the family's row is gone the code goes too.
func testUsedCodeOutlivesItsLifetime(t *testing.T, s Subject) {
	g := seedJourney(t, s)
	seedCode(t, s, "code_used", g)
	redeemedAt := base.Add(time.Minute)
	fam := born(domain.Family{ID: "fam_c", ClientID: g.ClientID, OrgID: g.OrgID, CustomerID: g.CustomerID, GrantID: g.ID, Scopes: g.Scopes, CreatedAt: redeemedAt},
		domain.RefreshToken{CreatedAt: redeemedAt, ExpiresAt: redeemedAt.Add(90 * 24 * time.Hour)})
	_, err := s.RedeemCode(ctx(t), "code_used", fam, sys(redeemedAt), redeemAll)
	must(t, err)
	later := base.Add(24 * time.Hour) // long past the code's lifetime and the retention
	_, err = s.DeleteExpired(ctx(t), later, store.Retention{Revoked: time.Hour})
	must(t, err)
	rd, err := s.RedeemCode(ctx(t), "code_used", born(domain.Family{ID: "fam_d"}, domain.RefreshToken{}), sys(later), redeemAll)
	must(t, err)
	if rd.Verdict != domain.CodeReplay {
		t.Fatalf("a replay after clean-up was judged %v", rd.Verdict)
	}
	got, err := s.GetFamily(ctx(t), "fam_c")
	must(t, err)
	if !got.Revoked() {
		t.Fatal("T6: a replay after clean-up left the code's family live")
	}
	// The family expires and goes after the retention; so does the code.
	gone := redeemedAt.Add(91 * 24 * time.Hour)
	_, err = s.DeleteExpired(ctx(t), gone, store.Retention{Revoked: time.Hour})
	must(t, err)
	_, err = s.GetFamily(ctx(t), "fam_c")
	wantErr(t, err, store.ErrNotFound)
	_, err = s.RedeemCode(ctx(t), "code_used", born(domain.Family{ID: "fam_e"}, domain.RefreshToken{}), sys(gone), redeemAll)
	wantErr(t, err, store.ErrNotFound)
}

func testDeleteExpiredJourney(t *testing.T, s Subject) {
	g := seedJourney(t, s)
	seedCode(t, s, "code_old", g)
	must(t, s.CreateSession(ctx(t), domain.Session{Hash: "ses_old", CustomerID: "cus_1", CreatedAt: base, LastSeenAt: base, ExpiresAt: base.Add(time.Hour)}, sys(base)))
	must(t, s.CreateSession(ctx(t), domain.Session{Hash: "ses_new", CustomerID: "cus_1", CreatedAt: base, LastSeenAt: base, ExpiresAt: base.Add(48 * time.Hour)}, sys(base)))
	must(t, s.CreateOneTimeCode(ctx(t), oneTime("otc_1", "br_1", "h1")))
	now := base.Add(3 * time.Hour)
	_, err := s.DeleteExpired(ctx(t), now, store.Retention{Revoked: time.Hour})
	must(t, err)
	_, err = s.GetSession(ctx(t), "ses_old")
	wantErr(t, err, store.ErrNotFound)
	_, err = s.GetSession(ctx(t), "ses_new")
	must(t, err)
	_, _, err = s.VerifyOneTimeCode(ctx(t), "br_1", sys(now), checkHash("h1"))
	wantErr(t, err, store.ErrNotFound)
	_, err = s.RedeemCode(ctx(t), "code_old", born(domain.Family{ID: "fam_x"}, domain.RefreshToken{Hash: "rt_x"}), sys(now), redeemAll)
	wantErr(t, err, store.ErrNotFound)
	if _, err := s.GetGrant(ctx(t), g.ID); err != nil {
		t.Errorf("grants are kept: %v", err)
	}
}
