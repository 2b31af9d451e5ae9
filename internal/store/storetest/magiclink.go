package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/store"
)

var (
	errLinkUsed    = errors.New("used")
	errLinkExpired = errors.New("expired")
)

// decideLinkAt is the magic-link rule at now (oauth.CheckMagicLink's shape).
func decideLinkAt(now time.Time) store.MagicLinkDecider {
	return func(l domain.MagicLink) error {
		switch {
		case !l.UsedAt.IsZero():
			return errLinkUsed
		case !now.Before(l.ExpiresAt):
			return errLinkExpired
		}
		return nil
	}
}

func seedMagicLink(t *testing.T, s Subject, hash string, by domain.Origin) domain.MagicLink {
	t.Helper()
	l := domain.MagicLink{Hash: hash, CustomerID: "cus_1", OrgID: "org_a", ClientID: "client_1", Next: "/account/apps",
		CreatedAt: base, ExpiresAt: base.Add(domain.MagicLinkTTL)}
	must(t, s.CreateMagicLink(ctx(t), l, by))
	return l
}

func linkSession(hash string, at time.Time) domain.Session {
	return domain.Session{Hash: hash, CustomerID: "cus_1", CreatedAt: at, LastSeenAt: at, ExpiresAt: at.Add(time.Hour), AccountOnly: true}
}

// testMagicLinks is PRODUCT A12's storage: a link is stored by its hash
// with its issued row, redeemed once (the session and the used and
// sign-in rows commit with it), and a second use, an expired link or an
// unknown one changes nothing.
func testMagicLinks(t *testing.T, s Subject) {
	seedOrg(t, s, "org_a")
	seedCustomer(t, s, "cus_1", "org_a")
	trail := auditTrail{rows: []domain.AuditEvent{sys(base).Event(domain.AuditCustomerCreated, "cus_1", "", "cus_1")}}
	client := domain.Actor{Kind: domain.ActorClient, ID: "client_1"}
	issued := trail.by(client, "192.0.2.1")
	l := seedMagicLink(t, s, "ml_1", issued)
	trail.expect(issued, domain.AuditMagicLinkIssued, "cus_1", "client_1", "cus_1")
	got, err := s.GetMagicLink(ctx(t), "ml_1")
	must(t, err)
	diff(t, got, l)

	bad := l
	bad.Hash, bad.CustomerID = "ml_x", "cus_none"
	wantErr(t, s.CreateMagicLink(ctx(t), bad, issued), store.ErrNotFound)
	_, err = s.RedeemMagicLink(ctx(t), "ml_none", linkSession("ses_0", base), sys(base), decideLinkAt(base))
	wantErr(t, err, store.ErrNotFound)

	used := trail.by(domain.Actor{Kind: domain.ActorSystem}, "192.0.2.2")
	red, err := s.RedeemMagicLink(ctx(t), "ml_1", linkSession("ses_1", used.At), used, decideLinkAt(used.At))
	must(t, err)
	if red.UsedAt != used.At || red.CustomerID != "cus_1" || red.Next != "/account/apps" {
		t.Fatalf("redeemed link = %+v", red)
	}
	customer := used
	customer.Actor = domain.Actor{Kind: domain.ActorCustomer, ID: "cus_1"}
	trail.expect(customer, domain.AuditMagicLinkUsed, "cus_1", "client_1", "cus_1")
	trail.expect(customer, domain.AuditSignInSucceeded, "cus_1", "", "cus_1")
	ses, err := s.GetSession(ctx(t), "ses_1")
	must(t, err)
	if ses.CustomerID != "cus_1" || !ses.AccountOnly {
		t.Fatalf("session = %+v, want cus_1's, reaching only the account (PRODUCT A12)", ses)
	}

	// A second use and an expired link: the decider's error, nothing written.
	again := used.At.Add(time.Second)
	_, err = s.RedeemMagicLink(ctx(t), "ml_1", linkSession("ses_2", again), sys(again), decideLinkAt(again))
	wantErr(t, err, errLinkUsed)
	seedMagicLink(t, s, "ml_2", issued)
	trail.expect(issued, domain.AuditMagicLinkIssued, "cus_1", "client_1", "cus_1")
	late := base.Add(domain.MagicLinkTTL)
	_, err = s.RedeemMagicLink(ctx(t), "ml_2", linkSession("ses_3", late), sys(late), decideLinkAt(late))
	wantErr(t, err, errLinkExpired)
	for _, h := range []string{"ses_0", "ses_2", "ses_3"} {
		_, err := s.GetSession(ctx(t), h)
		wantErr(t, err, store.ErrNotFound)
	}
	if got, _ := s.GetMagicLink(ctx(t), "ml_2"); !got.UsedAt.IsZero() {
		t.Fatalf("expired link marked used: %+v", got)
	}
	diffAudit(t, allAudit(t, s), trail.rows)

	// Clean-up: expired links go, used or not; live ones stay.
	seedMagicLink(t, s, "ml_3", sys(base))
	fresh := domain.MagicLink{Hash: "ml_4", CustomerID: "cus_1", OrgID: "org_a", ClientID: "client_1", CreatedAt: late, ExpiresAt: late.Add(domain.MagicLinkTTL)}
	must(t, s.CreateMagicLink(ctx(t), fresh, sys(late)))
	_, err = s.DeleteExpired(ctx(t), late, store.Retention{Revoked: time.Hour})
	must(t, err)
	for _, h := range []string{"ml_1", "ml_2", "ml_3"} {
		_, err := s.GetMagicLink(ctx(t), h)
		wantErr(t, err, store.ErrNotFound)
	}
	_, err = s.GetMagicLink(ctx(t), "ml_4")
	must(t, err)
}

// testConcurrentMagicLink: many redemptions of one link at once sign in
// exactly once (PRODUCT A12, S3).
func testConcurrentMagicLink(t *testing.T, s Subject) {
	seedOrg(t, s, "org_a")
	seedCustomer(t, s, "cus_1", "org_a")
	seedMagicLink(t, s, "ml_1", sys(base))
	at := base.Add(time.Minute)
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for i := range 8 {
		wg.Go(func() {
			_, err := s.RedeemMagicLink(ctx(t), "ml_1", linkSession("ses_"+string(rune('a'+i)), at), sys(at), decideLinkAt(at))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, errLinkUsed):
				t.Errorf("redeem: %v", err)
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("A12: %d redemptions of one link succeeded, want 1", wins)
	}
}
