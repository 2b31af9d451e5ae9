package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/store"
)

// auditTrail records the rows a test expects, oldest first, each change
// at its own second and under its own request id.
type auditTrail struct {
	rows []domain.AuditEvent
	n    int
}

// by returns the origin of the next change by actor from addr.
func (a *auditTrail) by(actor domain.Actor, addr string) domain.Origin {
	a.n++
	return domain.Origin{Actor: actor, At: base.Add(time.Duration(a.n) * time.Second), SourceAddr: addr, RequestID: fmt.Sprintf("req-%02d", a.n)}
}

// expect notes the row o writes for action on target.
func (a *auditTrail) expect(o domain.Origin, action domain.AuditAction, target, client, customer string) {
	a.rows = append(a.rows, o.Event(action, target, client, customer))
}

func allAudit(t *testing.T, s Subject) []domain.AuditEvent {
	t.Helper()
	rows, err := s.ListAudit(ctx(t), store.AuditFilter{}, store.AuditPage{Limit: 1000})
	must(t, err)
	return rows
}

// diffAudit compares the log, newest first, with want, oldest first.
func diffAudit(t *testing.T, got, want []domain.AuditEvent) {
	t.Helper()
	rev := make([]domain.AuditEvent, len(want))
	for i, e := range want {
		rev[len(want)-1-i] = e
	}
	if d := cmp.Diff(rev, got, cmpopts.EquateEmpty(), cmpopts.IgnoreFields(domain.AuditEvent{}, "ID")); d != "" {
		t.Fatalf("audit log mismatch (-want +got):\n%s", d)
	}
	for i := 1; i < len(got); i++ {
		if got[i].ID >= got[i-1].ID {
			t.Fatalf("O8: ids not newest first: %d after %d", got[i].ID, got[i-1].ID)
		}
	}
}

// The actors of the audit tests.
func operator() domain.Actor { return domain.Actor{Kind: domain.ActorOperator, ID: "ops"} }
func client1() domain.Actor  { return domain.Actor{Kind: domain.ActorClient, ID: "client_1"} }
func cus1() domain.Actor     { return domain.Actor{Kind: domain.ActorCustomer, ID: "cus_1"} }
func system() domain.Actor   { return domain.Actor{Kind: domain.ActorSystem} }

// testAuditRows is PRODUCT O8: every audited change writes exactly its
// row, with who, when, from where and under which request, and the
// changes that are no event (a rotation, a redemption, a wrong code with
// tries left, a second revocation) write none.
func testAuditRows(t *testing.T, s Subject) {
	var a auditTrail
	seedOrg(t, s, "org_a")
	web := "192.0.2.7"

	o := a.by(operator(), "")
	c := domain.Client{ID: "client_1", OrgID: "org_a", Name: "App", Scopes: domain.APIScopes(), RedirectURIs: []string{"https://app.example/cb"}, CreatedAt: base}
	must(t, s.CreateClient(ctx(t), c, &domain.ClientSecret{ClientID: "client_1", Hash: "h-1", CreatedAt: base}, o))
	a.expect(o, domain.AuditClientCreated, "client_1", "client_1", "")

	o = a.by(operator(), "")
	must(t, s.RotateClientSecret(ctx(t), domain.ClientSecret{ClientID: "client_1", Hash: "h-2", CreatedAt: o.At}, o.At.Add(time.Hour), o))
	a.expect(o, domain.AuditClientSecretRotated, "client_1", "client_1", "")

	o = a.by(cus1(), web)
	must(t, s.CreateCustomer(ctx(t), domain.Customer{ID: "cus_1", OrgID: "org_a", Email: "ada@example.com", Type: domain.CustomerPerson, CreatedAt: base}, o))
	a.expect(o, domain.AuditCustomerCreated, "cus_1", "", "cus_1")

	o = a.by(system(), "")
	must(t, keyAdded(s.AddSigningKey(ctx(t), domain.SigningKey{ID: "key_1", Algorithm: "ES256", PrivateDER: []byte{1}, CreatedAt: base}, time.Time{}, time.Time{}, o)))
	a.expect(o, domain.AuditSigningKeyCreated, "key_1", "", "")
	o = a.by(operator(), "")
	must(t, keyAdded(s.AddSigningKey(ctx(t), domain.SigningKey{ID: "key_2", Algorithm: "ES256", PrivateDER: []byte{2}, CreatedAt: o.At}, o.At.Add(time.Minute), o.At.Add(time.Hour), o)))
	a.expect(o, domain.AuditSigningKeyRotated, "key_2", "", "")

	o = a.by(cus1(), web)
	g, err := s.UpsertGrant(ctx(t), domain.Grant{ID: "grt_1", CustomerID: "cus_1", ClientID: "client_1", OrgID: "org_a",
		Scopes: domain.Scopes{domain.ScopeRead}, CreatedAt: o.At, UpdatedAt: o.At}, o)
	must(t, err)
	a.expect(o, domain.AuditConsentGiven, "grt_1", "client_1", "cus_1")
	o = a.by(cus1(), web) // widening is consent too, to the grant that exists
	_, err = s.UpsertGrant(ctx(t), domain.Grant{ID: "grt_other", CustomerID: "cus_1", ClientID: "client_1", OrgID: "org_a",
		Scopes: domain.Scopes{domain.ScopeWrite}, CreatedAt: o.At, UpdatedAt: o.At}, o)
	must(t, err)
	a.expect(o, domain.AuditConsentGiven, "grt_1", "client_1", "cus_1")

	o = a.by(cus1(), web)
	must(t, s.RecordAudit(ctx(t), o.Event(domain.AuditConsentDenied, "client_1", "client_1", "cus_1")))
	a.expect(o, domain.AuditConsentDenied, "client_1", "client_1", "cus_1")

	o = a.by(cus1(), web)
	must(t, s.CreateSession(ctx(t), domain.Session{Hash: "ses_1", CustomerID: "cus_1", CreatedAt: o.At, LastSeenAt: o.At, ExpiresAt: o.At.Add(time.Hour)}, o))
	a.expect(o, domain.AuditSignInSucceeded, "cus_1", "", "cus_1")

	// A family: a rotation is no event, a reuse is, and a reuse of the
	// revoked family changes nothing and writes nothing.
	fam := domain.Family{ID: "fam_1", ClientID: "client_1", OrgID: "org_a", CustomerID: "cus_1", GrantID: "grt_1", Scopes: domain.Scopes{domain.ScopeRead}, CreatedAt: base}
	must(t, s.IssueRefreshToken(ctx(t), fam, next("fam_1-t0", base)))
	var seen []domain.RefreshToken
	_, err = s.RotateRefreshToken(ctx(t), "fam_1-t0", next("t1", base), a.by(client1(), web), always(domain.RefreshRotate, &seen))
	must(t, err)
	o = a.by(client1(), web)
	_, err = s.RotateRefreshToken(ctx(t), "fam_1-t0", next("t2", base), o, always(domain.RefreshReuse, &seen))
	must(t, err)
	a.expect(o, domain.AuditRefreshReuse, "fam_1", "client_1", "cus_1")
	_, err = s.RotateRefreshToken(ctx(t), "fam_1-t0", next("t3", base), a.by(client1(), web), always(domain.RefreshReuse, &seen))
	must(t, err)

	// A code: its redemption is no event, its replay is.
	seedCode(t, s, "code_1", g)
	_, err = s.RedeemCode(ctx(t), "code_1", born(domain.Family{ID: "fam_c", CreatedAt: base}, next("rt_c", base)), a.by(client1(), web), redeemAll)
	must(t, err)
	o = a.by(client1(), web)
	replay := func(domain.AuthCode, domain.Grant) (domain.CodeVerdict, error) { return domain.CodeReplay, nil }
	red, err := s.RedeemCode(ctx(t), "code_1", born(domain.Family{ID: "fam_d", CreatedAt: base}, next("rt_d", base)), o, replay)
	must(t, err)
	a.expect(o, domain.AuditCodeReplay, "fam_c", "client_1", "cus_1")
	if !red.Revoked {
		t.Fatal("T6: a replay did not say it revoked the family")
	}
	// A replay of the revoked family changes nothing: no row, not revoked now.
	if red, err = s.RedeemCode(ctx(t), "code_1", born(domain.Family{ID: "fam_e", CreatedAt: base}, next("rt_e", base)), a.by(client1(), web), replay); err != nil || red.Revoked {
		t.Fatalf("T6: a second replay: revoked %v, err %v", red.Revoked, err)
	}

	// One-time codes: a wrong try with tries left is no event, the try
	// that spends the last one is, aimed at the customer whose email it
	// was (the code's own id for an email of nobody: a sign-up).
	lockout := func(domain.OneTimeCode) domain.OneTimeVerdict { return domain.OneTimeLockout }
	signup := oneTime("otc_0", "br_0", "h0")
	signup.Email = "new@example.com"
	must(t, s.CreateOneTimeCode(ctx(t), signup))
	o = a.by(system(), web)
	_, _, err = s.VerifyOneTimeCode(ctx(t), "br_0", o, lockout)
	must(t, err)
	a.expect(o, domain.AuditSignInLockedOut, "otc_0", "", "")
	must(t, s.CreateOneTimeCode(ctx(t), oneTime("otc_1", "br_1", "h1")))
	_, v, err := s.VerifyOneTimeCode(ctx(t), "br_1", a.by(system(), web), checkHash("wrong"))
	must(t, err)
	if v != domain.OneTimeReject {
		t.Fatalf("verdict %v, want Reject", v)
	}
	o = a.by(system(), web)
	got, v, err := s.VerifyOneTimeCode(ctx(t), "br_1", o, lockout)
	must(t, err)
	if v != domain.OneTimeLockout || got.Attempts != 2 {
		t.Fatalf("O8: lockout verdict %v attempts %d, want Lockout counted as a try (2)", v, got.Attempts)
	}
	a.expect(o, domain.AuditSignInLockedOut, "cus_1", "", "cus_1")

	o = a.by(cus1(), web)
	_, revoked, err := s.RevokeGrant(ctx(t), "grt_1", o)
	must(t, err)
	if !revoked {
		t.Fatal("A11: RevokeGrant did not say it revoked")
	}
	a.expect(o, domain.AuditConsentRevoked, "grt_1", "client_1", "cus_1")
	_, revoked, err = s.RevokeGrant(ctx(t), "grt_1", a.by(operator(), ""))
	must(t, err)
	if revoked {
		t.Fatal("A11: revoking twice said it revoked again")
	}

	o = a.by(operator(), "")
	must(t, s.DisableClient(ctx(t), "client_1", o))
	a.expect(o, domain.AuditClientDisabled, "client_1", "client_1", "")
	must(t, s.DisableClient(ctx(t), "client_1", a.by(operator(), ""))) // disabled already: no event

	diffAudit(t, allAudit(t, s), a.rows)
}

// testAuditFailedChanges is PRODUCT O8's "only if": a change that fails,
// for whatever reason, writes no row.
func testAuditFailedChanges(t *testing.T, s Subject) {
	g := seedJourney(t, s) // client, customer and grant: three rows
	seedCode(t, s, "code_1", g)
	must(t, s.IssueRefreshToken(ctx(t), domain.Family{ID: "fam_1", ClientID: "client_1", OrgID: "org_a", Scopes: domain.APIScopes(), CreatedAt: base}, next("fam_1-t0", base)))
	must(t, keyAdded(s.AddSigningKey(ctx(t), domain.SigningKey{ID: "key_1", Algorithm: "ES256", PrivateDER: []byte{1}, CreatedAt: base}, time.Time{}, time.Time{}, sys(base))))
	before := allAudit(t, s)
	if len(before) != 4 {
		t.Fatalf("O8: %d rows after the seed, want 4", len(before))
	}
	o := domain.Origin{Actor: operator(), At: base.Add(time.Hour), RequestID: "req-failed"}
	refuse := errors.New("refused by the rule")

	wantErr(t, s.CreateClient(ctx(t), domain.Client{ID: "client_1", OrgID: "org_a", Name: "Dup", Scopes: domain.APIScopes(), CreatedAt: base}, nil, o), store.ErrConflict)
	wantErr(t, s.CreateClient(ctx(t), domain.Client{ID: "client_x", OrgID: "org_none", Name: "X", Scopes: domain.APIScopes(), CreatedAt: base}, nil, o), store.ErrNotFound)
	wantErr(t, s.DisableClient(ctx(t), "client_missing", o), store.ErrNotFound)
	wantErr(t, s.RotateClientSecret(ctx(t), domain.ClientSecret{ClientID: "client_missing", Hash: "x", CreatedAt: base}, base, o), store.ErrNotFound)
	wantErr(t, s.CreateCustomer(ctx(t), domain.Customer{ID: "cus_dup", OrgID: "org_a", Email: "CUS_1@example.com", Type: domain.CustomerPerson, CreatedAt: base}, o), store.ErrConflict)
	wantErr(t, keyAdded(s.AddSigningKey(ctx(t), domain.SigningKey{ID: "key_2", Algorithm: "ES256", PrivateDER: []byte{2}, CreatedAt: base}, time.Time{}, time.Time{}, o)), store.ErrConflict)
	_, err := s.UpsertGrant(ctx(t), domain.Grant{ID: "grt_x", CustomerID: "cus_none", ClientID: "client_1", OrgID: "org_a", CreatedAt: base, UpdatedAt: base}, o)
	wantErr(t, err, store.ErrNotFound)
	_, _, err = s.RevokeGrant(ctx(t), "grt_none", o)
	wantErr(t, err, store.ErrNotFound)
	wantErr(t, s.CreateSession(ctx(t), domain.Session{Hash: "ses_x", CustomerID: "cus_none", CreatedAt: base}, o), store.ErrNotFound)
	_, err = s.RotateRefreshToken(ctx(t), "fam_1-t0", next("t1", base), o,
		func(domain.RefreshToken, domain.Family, *domain.RefreshToken) (domain.RefreshDecision, error) {
			return domain.RefreshDecision{}, refuse
		})
	wantErr(t, err, refuse)
	_, err = s.RotateRefreshToken(ctx(t), "unknown", next("t1", base), o, always(domain.RefreshReuse, new([]domain.RefreshToken)))
	wantErr(t, err, store.ErrNotFound)
	_, err = s.RedeemCode(ctx(t), "code_1", born(domain.Family{ID: "fam_c", CreatedAt: base}, next("rt_c", base)), o,
		func(domain.AuthCode, domain.Grant) (domain.CodeVerdict, error) { return 0, refuse })
	wantErr(t, err, refuse)
	_, _, err = s.VerifyOneTimeCode(ctx(t), "br_none", o, checkHash("h1"))
	wantErr(t, err, store.ErrNotFound)

	if after := allAudit(t, s); len(after) != len(before) {
		t.Fatalf("O8/failed_change_writes_no_row: %d rows, want %d: %+v", len(after), len(before), after[:len(after)-len(before)])
	}
}

// testAuditNoChangeWithoutRow is PRODUCT O8's "if": when the row cannot
// be written, the change does not happen either, because both are one
// transaction. Changes that are no event still go through.
func testAuditNoChangeWithoutRow(t *testing.T, s Subject) {
	g := seedJourney(t, s)
	must(t, s.IssueRefreshToken(ctx(t), domain.Family{ID: "fam_1", ClientID: "client_1", OrgID: "org_a", CustomerID: "cus_1", GrantID: g.ID,
		Scopes: g.Scopes, CreatedAt: base}, next("fam_1-t0", base)))
	must(t, s.CreateOneTimeCode(ctx(t), oneTime("otc_1", "br_1", "h1")))
	must(t, s.BreakAudit(ctx(t)))
	o := domain.Origin{Actor: operator(), At: base.Add(time.Hour)}

	if err := s.DisableClient(ctx(t), "client_1", o); err == nil {
		t.Fatal("O8: DisableClient succeeded without its audit row")
	}
	if c, err := s.GetClient(ctx(t), "client_1"); err != nil || c.Disabled {
		t.Fatalf("O8/no_change_without_row: client disabled=%v err=%v", c.Disabled, err)
	}
	if err := s.CreateClient(ctx(t), domain.Client{ID: "client_2", OrgID: "org_a", Name: "B", Scopes: domain.APIScopes(), CreatedAt: base}, nil, o); err == nil {
		t.Fatal("O8: CreateClient succeeded without its audit row")
	}
	_, err := s.GetClient(ctx(t), "client_2")
	wantErr(t, err, store.ErrNotFound)
	if _, err := s.RotateRefreshToken(ctx(t), "fam_1-t0", next("t1", base), o, always(domain.RefreshReuse, new([]domain.RefreshToken))); err == nil {
		t.Fatal("O8: a reuse revoked its family without its audit row")
	}
	if f, err := s.GetFamily(ctx(t), "fam_1"); err != nil || !f.RevokedAt.IsZero() {
		t.Fatalf("O8/no_change_without_row: family revoked at %v err %v", f.RevokedAt, err)
	}
	if _, _, err := s.RevokeGrant(ctx(t), g.ID, o); err == nil {
		t.Fatal("O8: RevokeGrant succeeded without its audit row")
	}
	if _, err := s.ActiveGrant(ctx(t), "cus_1", "client_1"); err != nil {
		t.Fatalf("O8/no_change_without_row: grant gone: %v", err)
	}
	if err := s.CreateSession(ctx(t), domain.Session{Hash: "ses_1", CustomerID: "cus_1", CreatedAt: base, LastSeenAt: base, ExpiresAt: base.Add(time.Hour)}, o); err == nil {
		t.Fatal("O8: CreateSession succeeded without its audit row")
	}
	_, err = s.GetSession(ctx(t), "ses_1")
	wantErr(t, err, store.ErrNotFound)
	if _, _, err := s.VerifyOneTimeCode(ctx(t), "br_1", o, func(domain.OneTimeCode) domain.OneTimeVerdict { return domain.OneTimeLockout }); err == nil {
		t.Fatal("O8: a lockout counted its try without its audit row")
	}
	// The try was not counted: the right code is still accepted at the first try.
	got, v, err := s.VerifyOneTimeCode(ctx(t), "br_1", o, checkHash("h1"))
	must(t, err)
	if v != domain.OneTimeAccept || got.Attempts != 0 {
		t.Fatalf("O8/no_change_without_row: verdict %v attempts %d", v, got.Attempts)
	}
	// What is no event needs no row.
	if _, err := s.RotateRefreshToken(ctx(t), "fam_1-t0", next("t1", base), o, always(domain.RefreshRotate, new([]domain.RefreshToken))); err != nil {
		t.Fatalf("a rotation needs no audit row: %v", err)
	}
}

// testAuditListAndRetention is PRODUCT O8's listing (newest first,
// filters, pages that meet without gaps), its append-only table, and O6's
// clean-up after the retention.
func testAuditListAndRetention(t *testing.T, s Subject) {
	actions := []domain.AuditAction{domain.AuditConsentGiven, domain.AuditConsentRevoked, domain.AuditRefreshReuse}
	var want []domain.AuditEvent
	for i := range 30 {
		e := domain.AuditEvent{At: base.Add(time.Duration(i) * time.Minute), Action: actions[i%3], Actor: cus1(),
			TargetID: fmt.Sprintf("t%02d", i), ClientID: fmt.Sprintf("client_%d", i%2), CustomerID: fmt.Sprintf("cus_%d", i%5)}
		must(t, s.RecordAudit(ctx(t), e))
		want = append(want, e)
	}
	diffAudit(t, allAudit(t, s), want)

	list := func(f store.AuditFilter, p store.AuditPage) []string {
		rows, err := s.ListAudit(ctx(t), f, p)
		must(t, err)
		out := make([]string, len(rows))
		for i, r := range rows {
			out[i] = r.TargetID
		}
		return out
	}
	diff(t, list(store.AuditFilter{Since: base.Add(27 * time.Minute)}, store.AuditPage{Limit: 10}), []string{"t29", "t28", "t27"})
	diff(t, list(store.AuditFilter{ClientID: "client_1", CustomerID: "cus_3"}, store.AuditPage{Limit: 10}), []string{"t23", "t13", "t03"})
	diff(t, list(store.AuditFilter{Action: domain.AuditRefreshReuse, Since: base.Add(20 * time.Minute)}, store.AuditPage{Limit: 10}), []string{"t29", "t26", "t23", "t20"})
	diff(t, list(store.AuditFilter{CustomerID: "cus_none"}, store.AuditPage{Limit: 10}), []string{})

	// Pages of 7 cover all 30 once, newest first.
	var paged []string
	var before int64
	for {
		rows, err := s.ListAudit(ctx(t), store.AuditFilter{}, store.AuditPage{Before: before, Limit: 7})
		must(t, err)
		for _, r := range rows {
			paged = append(paged, r.TargetID)
		}
		if len(rows) < 7 {
			break
		}
		before = rows[len(rows)-1].ID
	}
	if len(paged) != 30 || paged[0] != "t29" || paged[29] != "t00" {
		t.Fatalf("O8/pages: %v", paged)
	}

	if err := s.RewriteAudit(ctx(t)); err == nil {
		t.Fatal("O8/append_only: an UPDATE of audit rows succeeded")
	}
	diffAudit(t, allAudit(t, s), want)

	// Retention: zero keeps everything; an hour after t29 with 45 minutes
	// kept, t15..t29 stay.
	now := base.Add(time.Hour)
	_, err := s.DeleteExpired(ctx(t), now, store.Retention{Revoked: time.Hour})
	must(t, err)
	diffAudit(t, allAudit(t, s), want)
	_, err = s.DeleteExpired(ctx(t), now, store.Retention{Revoked: time.Hour, Audit: 45 * time.Minute})
	must(t, err)
	diffAudit(t, allAudit(t, s), want[15:])
}
