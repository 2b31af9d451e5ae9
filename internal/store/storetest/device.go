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

// seedDevice makes an org, a device-grant client, a customer and a pending
// device request "dev_1" (device code "dc_1", user code "uc_1").
func seedDevice(t *testing.T, s Subject) domain.DeviceRequest {
	seedOrg(t, s, "org_a")
	c := domain.Client{ID: "client_1", OrgID: "org_a", Name: "Charger", Public: true, Scopes: domain.APIScopes(), DeviceGrant: true, CreatedAt: base}
	must(t, s.CreateClient(ctx(t), c, nil, sys(base)))
	seedCustomer(t, s, "cus_1", "org_a")
	d := domain.DeviceRequest{ID: "dev_1", DeviceCodeHash: "dc_1", UserCodeHash: "uc_1", ClientID: "client_1", OrgID: "org_a",
		Scopes: domain.Scopes{domain.ScopeRead}, DeviceName: "Wallbox Garage", RequestedFrom: "192.0.2.7",
		CreatedAt: base, ExpiresAt: base.Add(10 * time.Minute), Interval: 5 * time.Second, State: domain.DevicePending}
	must(t, s.CreateDeviceRequest(ctx(t), d))
	return d
}

// decideAs is a device decider that answers v and records what it saw.
func decideAs(v domain.DeviceVerdict, seen *domain.DeviceRequest) store.DeviceDecider {
	return func(d domain.DeviceRequest, _ domain.Grant) (domain.DeviceVerdict, error) {
		*seen = d
		return v, nil
	}
}

// testDeviceRequests is PRODUCT T11's storage: a round trip, codes unique,
// the customer's answer (once, before expiry, with its audit rows and the
// grant), and the polls' effects: pending and slow_down recorded, the
// interval widened, tokens once, nothing for expired, denied or redeemed.
func testDeviceRequests(t *testing.T, s Subject) {
	d := seedDevice(t, s)
	got, err := s.DeviceRequestByUserCode(ctx(t), "uc_1")
	must(t, err)
	diff(t, got, d)
	_, err = s.DeviceRequestByUserCode(ctx(t), "uc_none")
	wantErr(t, err, store.ErrNotFound)
	dup := d
	dup.ID, dup.DeviceCodeHash = "dev_2", "dc_2"
	wantErr(t, s.CreateDeviceRequest(ctx(t), dup), store.ErrConflict) // the user code is taken

	// Polls before the answer.
	var seen domain.DeviceRequest
	at := base.Add(time.Second)
	p, err := s.PollDevice(ctx(t), "dc_1", born(domain.Family{ID: "fam_x"}, next("rt_x", at)), sys(at), decideAs(domain.DevicePollPending, &seen))
	must(t, err)
	diff(t, seen, d)
	if p.Request.LastPolledAt != at || p.Request.Interval != 5*time.Second {
		t.Fatalf("T11/pending_records_poll: %+v", p.Request)
	}
	at = at.Add(time.Second)
	p, err = s.PollDevice(ctx(t), "dc_1", born(domain.Family{ID: "fam_x"}, next("rt_x", at)), sys(at), decideAs(domain.DevicePollSlowDown, &seen))
	must(t, err)
	if p.Request.Interval != 10*time.Second {
		t.Fatalf("T11/slow_down_widens_interval: %v", p.Request.Interval)
	}
	got, err = s.DeviceRequestByUserCode(ctx(t), "uc_1")
	must(t, err)
	if got.Interval != 10*time.Second || !got.LastPolledAt.Equal(at) || got.State != domain.DevicePending {
		t.Fatalf("T11/poll_durable: %+v", got)
	}
	_, err = s.PollDevice(ctx(t), "dc_none", born(domain.Family{ID: "fam_x"}, next("rt_x", at)), sys(at), decideAs(domain.DevicePollPending, &seen))
	wantErr(t, err, store.ErrNotFound)

	// The answer: only a pending request before its expiry.
	who := domain.Origin{Actor: domain.Actor{Kind: domain.ActorCustomer, ID: "cus_1"}, At: base.Add(time.Minute), SourceAddr: "198.51.100.1", RequestID: "req-allow"}
	g := domain.Grant{ID: "grt_1", CustomerID: "cus_1", CreatedAt: who.At, UpdatedAt: who.At}
	_, err = s.AnswerDeviceRequest(ctx(t), "dev_1", true, g, domain.Origin{Actor: who.Actor, At: d.ExpiresAt})
	wantErr(t, err, store.ErrConflict) // too late
	ans, err := s.AnswerDeviceRequest(ctx(t), "dev_1", true, g, who)
	must(t, err)
	if ans.State != domain.DeviceApproved || ans.CustomerID != "cus_1" || ans.GrantID != "grt_1" {
		t.Fatalf("T11/approve: %+v", ans)
	}
	grant, err := s.ActiveGrant(ctx(t), "cus_1", "client_1")
	must(t, err)
	if grant.ID != "grt_1" || grant.Scopes.String() != "read:*" || grant.DeviceName != "Wallbox Garage" {
		t.Fatalf("T11/approve_grants: %+v", grant)
	}
	_, err = s.AnswerDeviceRequest(ctx(t), "dev_1", false, domain.Grant{}, who)
	wantErr(t, err, store.ErrConflict) // answered once
	_, err = s.AnswerDeviceRequest(ctx(t), "dev_none", true, g, who)
	wantErr(t, err, store.ErrNotFound)
	rows, err := s.ListAudit(ctx(t), store.AuditFilter{Action: domain.AuditDeviceApproved}, store.AuditPage{Limit: 10})
	must(t, err)
	if len(rows) != 1 || rows[0].TargetID != "dev_1" || rows[0].CustomerID != "cus_1" || rows[0].RequestID != "req-allow" || rows[0].SourceAddr != "198.51.100.1" {
		t.Fatalf("O8/device_approved_row: %+v", rows)
	}

	// Issue: the family comes from the request, the tokens once.
	at = base.Add(2 * time.Minute)
	p, err = s.PollDevice(ctx(t), "dc_1", born(domain.Family{ID: "fam_1", CreatedAt: at}, next("rt_1", at)), sys(at), decideAs(domain.DevicePollIssue, &seen))
	must(t, err)
	want := born(domain.Family{ID: "fam_1", ClientID: "client_1", OrgID: "org_a", CustomerID: "cus_1", GrantID: "grt_1", Scopes: domain.Scopes{domain.ScopeRead}, CreatedAt: at}, next("rt_1", at))
	diff(t, p.Family, want)
	fam, err := s.GetFamily(ctx(t), "fam_1")
	must(t, err)
	diff(t, fam, want) // its generation 1 live: the token the grant hands out
	diff(t, liveTokens(t, s, "fam_1"), []string(nil))
	if p.Request.State != domain.DeviceRedeemed || p.Request.FamilyID != "fam_1" {
		t.Fatalf("T11/redeemed: %+v", p.Request)
	}
	for _, v := range []domain.DeviceVerdict{domain.DevicePollRedeemed, domain.DevicePollExpired, domain.DevicePollDenied} {
		p, err = s.PollDevice(ctx(t), "dc_1", born(domain.Family{ID: "fam_2"}, next("rt_2", at)), sys(at), decideAs(v, &seen))
		must(t, err)
		if p.Family.ID != "" {
			t.Fatalf("T11/no_tokens_for_%v: %+v", v, p)
		}
	}
	if seen.State != domain.DeviceRedeemed || seen.FamilyID != "fam_1" {
		t.Fatalf("T11/redeemed_durable: %+v", seen)
	}
	_, err = s.GetFamily(ctx(t), "fam_2")
	wantErr(t, err, store.ErrNotFound)
	refuse := errors.New("refused")
	_, err = s.PollDevice(ctx(t), "dc_1", born(domain.Family{ID: "fam_3"}, next("rt_3", at)), sys(at), func(domain.DeviceRequest, domain.Grant) (domain.DeviceVerdict, error) { return 0, refuse })
	wantErr(t, err, refuse)
}

// testDeviceDenyAndCleanup: a denial is final and audited; expired
// requests go with the clean-up (PRODUCT T11, O6).
func testDeviceDenyAndCleanup(t *testing.T, s Subject) {
	seedDevice(t, s)
	who := domain.Origin{Actor: domain.Actor{Kind: domain.ActorCustomer, ID: "cus_1"}, At: base.Add(time.Minute)}
	ans, err := s.AnswerDeviceRequest(ctx(t), "dev_1", false, domain.Grant{}, who)
	must(t, err)
	if ans.State != domain.DeviceDenied {
		t.Fatalf("T11/deny: %+v", ans)
	}
	if _, err := s.ActiveGrant(ctx(t), "cus_1", "client_1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("T11/deny_grants_nothing: %v", err)
	}
	rows, err := s.ListAudit(ctx(t), store.AuditFilter{Action: domain.AuditDeviceDenied}, store.AuditPage{Limit: 10})
	must(t, err)
	if len(rows) != 1 || rows[0].TargetID != "dev_1" || rows[0].CustomerID != "cus_1" {
		t.Fatalf("O8/device_denied_row: %+v", rows)
	}
	_, err = s.DeleteExpired(ctx(t), base.Add(10*time.Minute), store.Retention{Revoked: time.Hour})
	must(t, err)
	_, err = s.DeviceRequestByUserCode(ctx(t), "uc_1")
	wantErr(t, err, store.ErrNotFound)
}

// testDevicePollSeesRevokedGrant: a poll after the customer revoked the
// grant an approval made sees it revoked, so the rule can refuse to issue
// (PRODUCT T11, A11).
func testDevicePollSeesRevokedGrant(t *testing.T, s Subject) {
	seedDevice(t, s)
	who := domain.Origin{Actor: domain.Actor{Kind: domain.ActorCustomer, ID: "cus_1"}, At: base.Add(time.Minute)}
	_, err := s.AnswerDeviceRequest(ctx(t), "dev_1", true, domain.Grant{ID: "grt_1", CustomerID: "cus_1", CreatedAt: base, UpdatedAt: base}, who)
	must(t, err)
	_, _, err = s.RevokeGrant(ctx(t), "grt_1", who)
	must(t, err)
	var seen domain.Grant
	_, err = s.PollDevice(ctx(t), "dc_1", born(domain.Family{ID: "fam_1"}, next("rt_1", base)), sys(base.Add(2*time.Minute)),
		func(_ domain.DeviceRequest, g domain.Grant) (domain.DeviceVerdict, error) {
			seen = g
			return domain.DevicePollDenied, nil
		})
	must(t, err)
	if seen.ID != "grt_1" || !seen.Revoked() {
		t.Fatalf("T11/A11/poll_sees_revoked_grant: %+v", seen)
	}
}

// testDeviceNamesAccumulate: a second device of the same app widens the
// one grant, which then lists both devices (PRODUCT T11, A11).
func testDeviceNamesAccumulate(t *testing.T, s Subject) {
	d := seedDevice(t, s)
	who := domain.Origin{Actor: domain.Actor{Kind: domain.ActorCustomer, ID: "cus_1"}, At: base.Add(time.Minute)}
	_, err := s.AnswerDeviceRequest(ctx(t), "dev_1", true, domain.Grant{ID: "grt_1", CustomerID: "cus_1", CreatedAt: base, UpdatedAt: base}, who)
	must(t, err)
	second := d
	second.ID, second.DeviceCodeHash, second.UserCodeHash, second.DeviceName = "dev_2", "dc_2", "uc_2", "Heat pump"
	must(t, s.CreateDeviceRequest(ctx(t), second))
	_, err = s.AnswerDeviceRequest(ctx(t), "dev_2", true, domain.Grant{ID: "grt_2", CustomerID: "cus_1", CreatedAt: base, UpdatedAt: base}, who)
	must(t, err)
	g, err := s.ActiveGrant(ctx(t), "cus_1", "client_1")
	must(t, err)
	diff(t, g.DeviceNames(), []string{"Wallbox Garage", "Heat pump"})
}

// testConcurrentDevicePolls: twenty polls of an approved request at once,
// on as many connections, yield exactly one token pair (PRODUCT T11, S3).
func testConcurrentDevicePolls(t *testing.T, s Subject) {
	seedDevice(t, s)
	who := domain.Origin{Actor: domain.Actor{Kind: domain.ActorCustomer, ID: "cus_1"}, At: base.Add(time.Minute)}
	_, err := s.AnswerDeviceRequest(ctx(t), "dev_1", true, domain.Grant{ID: "grt_1", CustomerID: "cus_1", CreatedAt: base, UpdatedAt: base}, who)
	must(t, err)
	// The real rule's shape: issue while approved, else redeemed.
	decide := func(d domain.DeviceRequest, _ domain.Grant) (domain.DeviceVerdict, error) {
		if d.State == domain.DeviceApproved {
			return domain.DevicePollIssue, nil
		}
		return domain.DevicePollRedeemed, nil
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	issued := 0
	for i := range 20 {
		wg.Go(func() {
			at := base.Add(2 * time.Minute)
			p, err := s.PollDevice(ctx(t), "dc_1", born(domain.Family{ID: fmt.Sprintf("fam_%02d", i), CreatedAt: at}, next(fmt.Sprintf("rt_%02d", i), at)), sys(at), decide)
			if err != nil {
				t.Error(err)
				return
			}
			if p.Verdict == domain.DevicePollIssue {
				mu.Lock()
				issued++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if issued != 1 {
		t.Fatalf("T11/S3/one_token_pair: %d polls issued tokens", issued)
	}
}
