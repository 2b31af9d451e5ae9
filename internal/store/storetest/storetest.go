package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/store"
)

// Opener returns a fresh, empty, migrated store and registers its cleanup.
type Opener func(t *testing.T) Subject

// Subject is a store under test: the store verbs, and the inspector that
// reads and writes what no production path needs.
type Subject struct {
	store.Store
	Inspector
}

// base is a fixed instant with sub-millisecond digits, to check precision.
var base = time.Date(2026, 5, 27, 10, 30, 0, 123456000, time.UTC)

// Run runs the whole suite against the backend that open makes.
func Run(t *testing.T, open Opener) {
	run(t, "Orgs/round_trip_and_order", open, testOrgs)
	run(t, "Clients/round_trip", open, testClients)
	run(t, "Clients/secret_rotation_overlap", open, testSecretRotation)
	run(t, "Customers/email_unique_case_insensitive", open, testCustomers)
	run(t, "A7/email_keys_fold_ascii_only", open, testEmailKeysFoldASCIIOnly)
	run(t, "Subscriptions/round_trip", open, testSubscriptions)
	run(t, "RefreshTokens/rotate_replace_reuse", open, testRotation)
	run(t, "RefreshTokens/decider_error_changes_nothing", open, testDeciderError)
	run(t, "RefreshTokens/concurrent_rotation_one_live_child", open, testConcurrentRotation)
	run(t, "RefreshTokens/retry_returns_existing_child", open, testRetryReturnsChild)
	run(t, "RefreshTokens/concurrent_retries_share_one_child", open, testConcurrentRetries)
	run(t, "Families/revoke", open, testRevokeFamily)
	run(t, "Issue17/SealedRefresh/first_rotation_materializes_retry_reuse", open, testSealedRotation)
	run(t, "Issue17/SealedRefresh/concurrent_first_refreshes_one_family", open, testSealedConcurrentFirstRefresh)
	run(t, "Issue17/CountedRefresh/rotate_retry_reuse_unknown", open, testCountedRotation)
	run(t, "Issue17/CountedRefresh/concurrent_refreshes_one_generation", open, testCountedConcurrentRefresh)
	run(t, "Issue17/CountedRefresh/sealed_token_of_row_family", open, testSealedOfRowFamily)
	run(t, "Issue17/CountedRefresh/sealed_row_outlives_short_rotation", open, testSealedRowOutlivesShortRotation)
	run(t, "Issue17/CountedRefresh/rotation_reports_stored_times", open, testRotationReportsStoredTimes)
	run(t, "Issue17/CountedRefresh/rotation_names_its_key", open, testRotationNamesItsKey)
	run(t, "Issue17/SealedRefresh/revoke_without_row_leaves_tombstone", open, testSealedTombstone)
	run(t, "Issue17/SealedRefresh/revoke_races_first_refresh", open, testSealedRevokeRacesFirstRefresh)
	run(t, "Issue17/SealKeys/first_and_rotate", open, testSealKeys)
	run(t, "T5/SealKeys/concurrent_rotations_queue", open, testSealKeysConcurrentRotations)
	run(t, "SigningKeys/first_and_rotate", open, testSigningKeys)
	run(t, "T8/SigningKeys/handover_a_delay_ahead", open, testKeyHandover)
	run(t, "DeleteExpired", open, testDeleteExpired)
	run(t, "Customers/list_filter_and_cursor", open, testListCustomers)
	run(t, "Customers/update", open, testUpdateCustomer)
	run(t, "Subscriptions/list_filter_and_cursor", open, testListSubscriptions)
	run(t, "Customers/filters_with_cursor", open, testCustomerFilters)
	run(t, "Subscriptions/filters_with_cursor", open, testSubscriptionFilters)
	run(t, "Prices/import_upsert_and_range", open, testPrices)
	run(t, "Families/revoked_since", open, testRevokedFamilies)
	run(t, "T9/RevokeHeldFamily/either_token_kills_family_once_foreign_changes_nothing", open, testRevokeHeldFamily)
	run(t, "T9/RevokeHeldFamily/no_change_without_its_row", open, testRevokeHeldFamilyNeedsItsRow)
	run(t, "T10/RefreshTokenFamily/one_read", open, testRefreshTokenFamily)
	run(t, "ServerKey/first_wins", open, testServerKey)
	run(t, "Grants/upsert_widens_list_revoke", open, testGrants)
	run(t, "RedeemCode/redeem_then_replay_revokes", open, testRedeemCode)
	run(t, "RedeemCode/decider_error_changes_nothing", open, testRedeemCodeError)
	run(t, "RedeemCode/concurrent_one_wins", open, testConcurrentRedeem)
	run(t, "Sessions/round_trip_touch_delete", open, testSessions)
	run(t, "OneTimeCodes/tries_and_replacement", open, testOneTimeCodes)
	run(t, "OneTimeCodes/concurrent_tries_counted", open, testConcurrentOneTime)
	run(t, "DeleteExpired/journey_rows", open, testDeleteExpiredJourney)
	run(t, "DeleteExpired/used_code_outlives_its_lifetime", open, testUsedCodeOutlivesItsLifetime)
	run(t, "O8/Audit/each_change_writes_its_row", open, testAuditRows)
	run(t, "O8/Audit/failed_change_writes_no_row", open, testAuditFailedChanges)
	run(t, "O8/Audit/no_change_without_its_row", open, testAuditNoChangeWithoutRow)
	run(t, "O8/Audit/list_filters_pages_retention", open, testAuditListAndRetention)
	run(t, "T11/DeviceRequests/answer_poll_issue_once", open, testDeviceRequests)
	run(t, "T11/DeviceRequests/deny_and_cleanup", open, testDeviceDenyAndCleanup)
	run(t, "T11/DeviceRequests/concurrent_polls_one_token_pair", open, testConcurrentDevicePolls)
	run(t, "T11/DeviceRequests/poll_sees_revoked_grant", open, testDevicePollSeesRevokedGrant)
	run(t, "T11/DeviceRequests/device_names_accumulate", open, testDeviceNamesAccumulate)
	run(t, "A12/MagicLinks/redeem_once_expired_unknown_cleanup", open, testMagicLinks)
	run(t, "A12/MagicLinks/concurrent_redeem_one_wins", open, testConcurrentMagicLink)
	run(t, "Issue17/Changes/each_write_bumps_its_org", open, testChangesEachWriteBumpsItsOrg)
	run(t, "Issue17/Changes/failed_write_bumps_nothing", open, testChangesFailedWriteBumpsNothing)
}

// run runs one behaviour on a fresh store, in parallel with the others:
// each has its own database (a file, or a schema), so they cannot meet.
func run(t *testing.T, name string, open Opener, test func(*testing.T, Subject)) {
	t.Run(name, func(t *testing.T) {
		t.Parallel()
		test(t, open(t))
	})
}

func ctx(t *testing.T) context.Context { return t.Context() }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("err = %v, want %v", err, want)
	}
}

func diff(t *testing.T, got, want any) {
	t.Helper()
	if d := cmp.Diff(want, got, cmpopts.EquateEmpty()); d != "" {
		t.Fatalf("mismatch (-want +got):\n%s", d)
	}
}

func seedOrg(t *testing.T, s Subject, id string) domain.Org {
	o := domain.Org{ID: id, Name: "Org " + id, CreatedAt: base}
	must(t, s.CreateOrg(ctx(t), o))
	return o
}

func seedClient(t *testing.T, s Subject, id, org string) domain.Client {
	c := domain.Client{ID: id, OrgID: org, Name: "App", Scopes: domain.APIScopes(), RedirectURIs: []string{"https://app.example/cb"},
		DefaultAPIVersion: "2026-05-27.curie", CreatedAt: base}
	must(t, s.CreateClient(ctx(t), c, &domain.ClientSecret{ClientID: id, Hash: "h-" + id, CreatedAt: base}, sys(base)))
	return c
}

func testOrgs(t *testing.T, s Subject) {
	a := seedOrg(t, s, "org_a")
	b := domain.Org{ID: "org_b", Name: "B", CreatedAt: base.Add(time.Second)}
	must(t, s.CreateOrg(ctx(t), b))
	got, err := s.GetOrg(ctx(t), "org_a")
	must(t, err)
	diff(t, got, a)
	list, err := s.ListOrgs(ctx(t))
	must(t, err)
	diff(t, list, []domain.Org{b, a})
	_, err = s.GetOrg(ctx(t), "org_missing")
	wantErr(t, err, store.ErrNotFound)
	wantErr(t, s.CreateOrg(ctx(t), a), store.ErrConflict)
}

func testClients(t *testing.T, s Subject) {
	seedOrg(t, s, "org_a")
	seedOrg(t, s, "org_b")
	c := seedClient(t, s, "client_1", "org_a")
	pub := domain.Client{ID: "client_2", OrgID: "org_b", Name: "Native", Public: true, Scopes: domain.Scopes{domain.ScopeRead},
		DefaultAPIVersion: "2025-12-01.chucky", FirstParty: true, CreatedAt: base.Add(time.Minute)}
	must(t, s.CreateClient(ctx(t), pub, nil, sys(base)))

	got, err := s.GetClient(ctx(t), "client_1")
	must(t, err)
	diff(t, got, c)
	all, err := s.ListClients(ctx(t), "")
	must(t, err)
	diff(t, all, []domain.Client{pub, c})
	onlyA, err := s.ListClients(ctx(t), "org_a")
	must(t, err)
	diff(t, onlyA, []domain.Client{c})

	secrets, err := s.ClientSecrets(ctx(t), "client_1")
	must(t, err)
	diff(t, secrets, []domain.ClientSecret{{ClientID: "client_1", Hash: "h-client_1", CreatedAt: base}})
	none, err := s.ClientSecrets(ctx(t), "client_2")
	must(t, err)
	diff(t, none, []domain.ClientSecret{})

	must(t, s.DisableClient(ctx(t), "client_1", sys(base)))
	got, err = s.GetClient(ctx(t), "client_1")
	must(t, err)
	if !got.Disabled {
		t.Fatal("client not disabled")
	}
	wantErr(t, s.DisableClient(ctx(t), "client_missing", sys(base)), store.ErrNotFound)
	_, err = s.GetClient(ctx(t), "client_missing")
	wantErr(t, err, store.ErrNotFound)
	wantErr(t, s.CreateClient(ctx(t), c, nil, sys(base)), store.ErrConflict)
}

func testSecretRotation(t *testing.T, s Subject) {
	seedOrg(t, s, "org_a")
	seedClient(t, s, "client_1", "org_a")
	overlapEnd := base.Add(24 * time.Hour)
	must(t, s.RotateClientSecret(ctx(t), domain.ClientSecret{ClientID: "client_1", Hash: "h-new", CreatedAt: base.Add(time.Hour)}, overlapEnd, sys(base)))
	secrets, err := s.ClientSecrets(ctx(t), "client_1")
	must(t, err)
	diff(t, secrets, []domain.ClientSecret{
		{ClientID: "client_1", Hash: "h-new", CreatedAt: base.Add(time.Hour)},
		{ClientID: "client_1", Hash: "h-client_1", CreatedAt: base, ExpiresAt: overlapEnd},
	})
	// A second rotation never extends the first secret's overlap.
	must(t, s.RotateClientSecret(ctx(t), domain.ClientSecret{ClientID: "client_1", Hash: "h-newer", CreatedAt: base.Add(2 * time.Hour)}, base.Add(48*time.Hour), sys(base)))
	secrets, err = s.ClientSecrets(ctx(t), "client_1")
	must(t, err)
	if secrets[2].ExpiresAt != overlapEnd || secrets[1].ExpiresAt != base.Add(48*time.Hour) || !secrets[0].ExpiresAt.IsZero() {
		t.Fatalf("unexpected overlaps: %+v", secrets)
	}
	wantErr(t, s.RotateClientSecret(ctx(t), domain.ClientSecret{ClientID: "client_missing", Hash: "x", CreatedAt: base}, base, sys(base)), store.ErrNotFound)
}

func testCustomers(t *testing.T, s Subject) {
	seedOrg(t, s, "org_a")
	c := domain.Customer{ID: "cus_1", OrgID: "org_a", Email: "Max@Example.com", FirstName: "Max", LastName: "Mustermann", Type: domain.CustomerPerson, CreatedAt: base}
	must(t, s.CreateCustomer(ctx(t), c, sys(base)))
	got, err := s.GetCustomer(ctx(t), "cus_1")
	must(t, err)
	diff(t, got, c)
	dup := c
	dup.ID, dup.Email = "cus_2", "max@EXAMPLE.com"
	wantErr(t, s.CreateCustomer(ctx(t), dup, sys(base)), store.ErrConflict)
	_, err = s.GetCustomer(ctx(t), "cus_2")
	wantErr(t, err, store.ErrNotFound)
}

func testSubscriptions(t *testing.T, s Subject) {
	seedOrg(t, s, "org_a")
	seedOrg(t, s, "org_b")
	must(t, s.CreateCustomer(ctx(t), domain.Customer{ID: "cus_1", OrgID: "org_a", Email: "a@example.com", Type: domain.CustomerPerson, CreatedAt: base}, sys(base)))
	sub := domain.Subscription{ID: "sub_1", OrgID: "org_a", CustomerID: "cus_1", Status: domain.SubscriptionActive,
		Type: domain.SubscriptionFeedIn, Plan: "pln_1", Number: "4X44EMKX", EstimatedUsage: 3500,
		Address: domain.Address{ID: "adr_1", Street: "Torstraße", HouseNumber: "119", Zip: "10115", City: "Berlin", CreatedAt: base.Add(-3 * time.Hour)},
		// The billing address is its own record, and every related record
		// keeps its own creation time (PRODUCT R9).
		BillingAddress: domain.Address{ID: "adr_2", Street: "Rechnungsweg", HouseNumber: "1a", Zip: "80331", City: "München", CreatedAt: base.Add(-2 * time.Hour)},
		Meter:          domain.Meter{ID: "mtr_1", Number: "1APA0195124010", Type: "smart", MeLo: "DE0000001234567890", MaLo: "50491310272", CreatedAt: base.Add(-time.Hour)},
		Payment:        domain.PaymentMethod{ID: "pm_1", IBANMasked: "DE************6485", AccountHolder: "Max Mustermann", CreatedAt: base.Add(-time.Minute)},
		StartDate:      time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), EndDate: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
		CreatedAt: base, UpdatedAt: base.Add(time.Second)}
	must(t, s.CreateSubscription(ctx(t), sub))
	got, err := s.GetSubscription(ctx(t), "sub_1")
	must(t, err)
	diff(t, got, sub)
	wrongOrg := sub
	wrongOrg.ID, wrongOrg.OrgID = "sub_2", "org_b"
	wantErr(t, s.CreateSubscription(ctx(t), wrongOrg), store.ErrConflict)
	missing := sub
	missing.ID, missing.CustomerID = "sub_3", "cus_missing"
	wantErr(t, s.CreateSubscription(ctx(t), missing), store.ErrNotFound)
}

// family starts a family with token hash "t0".
func family(t *testing.T, s Subject, id string) domain.Family {
	fam := domain.Family{ID: id, ClientID: "client_1", OrgID: "org_a", Scopes: domain.APIScopes(), CreatedAt: base}
	must(t, s.IssueRefreshToken(ctx(t), fam, domain.RefreshToken{Hash: id + "-t0", CreatedAt: base, ExpiresAt: base.Add(90 * 24 * time.Hour)}))
	return fam
}

func next(hash string, at time.Time) domain.RefreshToken {
	return domain.RefreshToken{Hash: hash, CreatedAt: at, ExpiresAt: at.Add(90 * 24 * time.Hour)}
}

// always returns a decider that records what it saw and answers v.
func always(v domain.RefreshVerdict, seen *[]domain.RefreshToken) store.RefreshDecider {
	return func(tok domain.RefreshToken, fam domain.Family, child *domain.RefreshToken) (domain.RefreshDecision, error) {
		*seen = append(*seen, tok)
		if child != nil {
			*seen = append(*seen, *child)
		}
		return domain.RefreshDecision{Verdict: v}, nil
	}
}

func liveTokens(t *testing.T, s Subject, famID string) []string {
	toks, err := s.FamilyTokens(ctx(t), famID)
	must(t, err)
	var live []string
	for _, tk := range toks {
		if tk.State == domain.RefreshLive {
			live = append(live, tk.Hash)
		}
	}
	return live
}

func testRotation(t *testing.T, s Subject) {
	fam := family(t, s, "fam_1")
	var seen []domain.RefreshToken
	t1 := base.Add(time.Minute)
	rot, err := s.RotateRefreshToken(ctx(t), "fam_1-t0", next("t1", t1), sys(t1), always(domain.RefreshRotate, &seen))
	must(t, err)
	diff(t, rot, store.Rotation{RefreshDecision: domain.RefreshDecision{Verdict: domain.RefreshRotate}, Family: fam})
	diff(t, liveTokens(t, s, "fam_1"), []string{"t1"})

	// Replace: the child t1 is superseded by t2, the presented token now points at t2.
	seen = nil
	t2 := t1.Add(time.Second)
	_, err = s.RotateRefreshToken(ctx(t), "fam_1-t0", next("t2", t2), sys(t2), always(domain.RefreshReplace, &seen))
	must(t, err)
	if len(seen) != 2 || seen[0].ReplacedBy != "t1" || seen[1].Hash != "t1" || seen[0].State != domain.RefreshRotated || !seen[0].RotatedAt.Equal(t1) {
		t.Fatalf("decider saw %+v", seen)
	}
	diff(t, liveTokens(t, s, "fam_1"), []string{"t2"})
	toks, err := s.FamilyTokens(ctx(t), "fam_1")
	must(t, err)
	diff(t, toks, []domain.RefreshToken{
		{Hash: "fam_1-t0", FamilyID: "fam_1", State: domain.RefreshRotated, CreatedAt: base, ExpiresAt: base.Add(90 * 24 * time.Hour), RotatedAt: t1, ReplacedBy: "t2"},
		{Hash: "t1", FamilyID: "fam_1", State: domain.RefreshSuperseded, CreatedAt: t1, ExpiresAt: t1.Add(90 * 24 * time.Hour), RotatedAt: t2},
		{Hash: "t2", FamilyID: "fam_1", State: domain.RefreshLive, CreatedAt: t2, ExpiresAt: t2.Add(90 * 24 * time.Hour)},
	})

	// Reuse revokes the family and issues nothing.
	t3 := t2.Add(time.Minute)
	rot, err = s.RotateRefreshToken(ctx(t), "fam_1-t0", next("t3", t3), sys(t3), always(domain.RefreshReuse, &seen))
	must(t, err)
	if rot.Verdict != domain.RefreshReuse || !rot.Family.RevokedAt.Equal(t3) {
		t.Fatalf("rotation = %+v", rot)
	}
	got, err := s.GetFamily(ctx(t), "fam_1")
	must(t, err)
	if !got.RevokedAt.Equal(t3) {
		t.Fatalf("family not revoked: %+v", got)
	}
	if toks, _ := s.FamilyTokens(ctx(t), "fam_1"); len(toks) != 3 {
		t.Fatalf("reuse must not issue a token, have %d", len(toks))
	}

	_, err = s.RotateRefreshToken(ctx(t), "unknown", next("t4", t3), sys(t3), always(domain.RefreshRotate, &seen))
	wantErr(t, err, store.ErrNotFound)
}

func testDeciderError(t *testing.T, s Subject) {
	family(t, s, "fam_1")
	rejected := errors.New("rejected")
	_, err := s.RotateRefreshToken(ctx(t), "fam_1-t0", next("t1", base), sys(base),
		func(domain.RefreshToken, domain.Family, *domain.RefreshToken) (domain.RefreshDecision, error) {
			return domain.RefreshDecision{}, rejected
		})
	wantErr(t, err, rejected)
	diff(t, liveTokens(t, s, "fam_1"), []string{"fam_1-t0"})
}

// testConcurrentRotation races many rotations of one token: with a rule
// that only a live token rotates, exactly one wins and one child lives.
func testConcurrentRotation(t *testing.T, s Subject) {
	family(t, s, "fam_1")
	onlyLive := func(tok domain.RefreshToken, fam domain.Family, child *domain.RefreshToken) (domain.RefreshDecision, error) {
		if tok.State != domain.RefreshLive {
			return domain.RefreshDecision{}, store.ErrConflict
		}
		return domain.RefreshDecision{Verdict: domain.RefreshRotate}, nil
	}
	const n = 32
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for i := range n {
		wg.Go(func() {
			_, err := s.RotateRefreshToken(ctx(t), "fam_1-t0", next(fmt.Sprintf("c%d", i), base), sys(base), onlyLive)
			if err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			} else if !errors.Is(err, store.ErrConflict) {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d rotations won, want 1", wins)
	}
	if live := liveTokens(t, s, "fam_1"); len(live) != 1 {
		t.Fatalf("live tokens %v, want exactly one", live)
	}
}

// deterministic is the shape of the refresh rule the suite needs for
// idempotent rotation (PRODUCT T5): every presentation of a token derives
// the same child, so a live token rotates to it, a rotated one whose live
// child is that child is a retry, and anything else is reuse.
func deterministic(child string) store.RefreshDecider {
	return func(tok domain.RefreshToken, fam domain.Family, c *domain.RefreshToken) (domain.RefreshDecision, error) {
		switch {
		case tok.State == domain.RefreshLive:
			return domain.RefreshDecision{Verdict: domain.RefreshRotate}, nil
		case tok.State == domain.RefreshRotated && c != nil && c.State == domain.RefreshLive && c.Hash == child:
			return domain.RefreshDecision{Verdict: domain.RefreshRetry}, nil
		}
		return domain.RefreshDecision{Verdict: domain.RefreshReuse}, nil
	}
}

// testRetryReturnsChild: a retry of a token rotated a moment ago to next
// writes nothing: the child it was rotated to stays the one live token.
func testRetryReturnsChild(t *testing.T, s Subject) {
	fam := family(t, s, "fam_1")
	t1 := base.Add(time.Minute)
	_, err := s.RotateRefreshToken(ctx(t), "fam_1-t0", next("t1", t1), sys(t1), deterministic("t1"))
	must(t, err)
	before, err := s.FamilyTokens(ctx(t), "fam_1")
	must(t, err)
	t2 := t1.Add(time.Second)
	rot, err := s.RotateRefreshToken(ctx(t), "fam_1-t0", next("t1", t2), sys(t2), deterministic("t1"))
	must(t, err)
	diff(t, rot, store.Rotation{RefreshDecision: domain.RefreshDecision{Verdict: domain.RefreshRetry}, Family: fam})
	after, err := s.FamilyTokens(ctx(t), "fam_1")
	must(t, err)
	diff(t, after, before)
	diff(t, liveTokens(t, s, "fam_1"), []string{"t1"})

	// A retry verdict for a child that is not next is refused: handing out
	// next would hand out a token the store does not hold.
	_, err = s.RotateRefreshToken(ctx(t), "fam_1-t0", next("t9", t2), sys(t2), always(domain.RefreshRetry, new([]domain.RefreshToken)))
	if err == nil {
		t.Fatal("a retry whose child is not next must fail")
	}
	after, err = s.FamilyTokens(ctx(t), "fam_1")
	must(t, err)
	diff(t, after, before)

	// Once the child itself rotated, the parent is reuse: the family dies.
	t3 := t2.Add(time.Second)
	_, err = s.RotateRefreshToken(ctx(t), "t1", next("t2", t3), sys(t3), deterministic("t2"))
	must(t, err)
	rot, err = s.RotateRefreshToken(ctx(t), "fam_1-t0", next("t1", t3), sys(t3), deterministic("t1"))
	must(t, err)
	if rot.Verdict != domain.RefreshReuse || !rot.Family.RevokedAt.Equal(t3) {
		t.Fatalf("rotation = %+v, want reuse revoking the family", rot)
	}
}

// testConcurrentRetries races many presentations of one token, each
// deriving the same child, as two workers (or two replicas) retrying do:
// every one succeeds, one rotates, the rest are retries, and the one
// child is the family's only live token.
func testConcurrentRetries(t *testing.T, s Subject) {
	family(t, s, "fam_1")
	const n = 20
	verdicts := concurrentVerdicts(t, n, func() (store.Rotation, error) {
		return s.RotateRefreshToken(ctx(t), "fam_1-t0", next("c", base), sys(base), deterministic("c"))
	})
	diff(t, verdicts, map[domain.RefreshVerdict]int{domain.RefreshRotate: 1, domain.RefreshRetry: n - 1})
	diff(t, liveTokens(t, s, "fam_1"), []string{"c"})
	got, err := s.GetFamily(ctx(t), "fam_1")
	must(t, err)
	if got.Revoked() {
		t.Fatal("concurrent retries revoked the family")
	}
}

func testRevokeFamily(t *testing.T, s Subject) {
	family(t, s, "fam_1")
	must(t, s.RevokeFamily(ctx(t), "fam_1", base.Add(time.Hour)))
	must(t, s.RevokeFamily(ctx(t), "fam_1", base.Add(2*time.Hour)))
	got, err := s.GetFamily(ctx(t), "fam_1")
	must(t, err)
	if !got.RevokedAt.Equal(base.Add(time.Hour)) {
		t.Fatalf("revoked at %v, want the first revocation", got.RevokedAt)
	}
	wantErr(t, s.RevokeFamily(ctx(t), "fam_missing", base), store.ErrNotFound)
	_, err = s.GetFamily(ctx(t), "fam_missing")
	wantErr(t, err, store.ErrNotFound)
}

func testSigningKeys(t *testing.T, s Subject) {
	k1 := domain.SigningKey{ID: "key_1", Algorithm: "ES256", PrivateDER: []byte{1, 2, 3}, CreatedAt: base}
	must(t, keyAdded(s.AddSigningKey(ctx(t), k1, time.Time{}, time.Time{}, sys(base))))
	k2 := domain.SigningKey{ID: "key_2", Algorithm: "ES256", PrivateDER: []byte{4}, CreatedAt: base.Add(time.Hour)}
	wantErr(t, keyAdded(s.AddSigningKey(ctx(t), k2, time.Time{}, time.Time{}, sys(base))), store.ErrConflict)
	until := base.Add(2 * time.Hour)
	must(t, keyAdded(s.AddSigningKey(ctx(t), k2, k2.CreatedAt, until, sys(base))))
	keys, err := s.ListSigningKeys(ctx(t))
	must(t, err)
	k1.RetiredAt, k1.PublishedUntil = k2.CreatedAt, until
	diff(t, keys, []domain.SigningKey{k2, k1})
}

// testKeyHandover is PRODUCT T8's publish then sign in storage: a rotation
// stores the new key at once and retires the old one a delay ahead; a
// second rotation inside the delay retires only the key without retirement,
// so the first handover keeps its time and the keys queue.
func testKeyHandover(t *testing.T, s Subject) {
	const delay, ttl = 5 * time.Minute, time.Hour
	k1 := domain.SigningKey{ID: "key_1", Algorithm: "ES256", PrivateDER: []byte{1}, CreatedAt: base}
	must(t, keyAdded(s.AddSigningKey(ctx(t), k1, time.Time{}, time.Time{}, sys(base))))
	t1 := base.Add(time.Hour)
	k2 := domain.SigningKey{ID: "key_2", Algorithm: "RS256", PrivateDER: []byte{2}, CreatedAt: t1}
	must(t, keyAdded(s.AddSigningKey(ctx(t), k2, t1.Add(delay), t1.Add(delay+ttl), sys(base))))
	t2 := t1.Add(time.Minute)
	k3 := domain.SigningKey{ID: "key_3", Algorithm: "EdDSA", PrivateDER: []byte{3}, CreatedAt: t2}
	must(t, keyAdded(s.AddSigningKey(ctx(t), k3, t2.Add(delay), t2.Add(delay+ttl), sys(base))))
	keys, err := s.ListSigningKeys(ctx(t))
	must(t, err)
	k1.RetiredAt, k1.PublishedUntil = t1.Add(delay), t1.Add(delay+ttl)
	k2.RetiredAt, k2.PublishedUntil = t2.Add(delay), t2.Add(delay+ttl)
	diff(t, keys, []domain.SigningKey{k3, k2, k1})
	// Keys past their publication go; the queued ones stay.
	_, err = s.DeleteExpired(ctx(t), t1.Add(delay+ttl), store.Retention{Revoked: time.Hour})
	must(t, err)
	keys, err = s.ListSigningKeys(ctx(t))
	must(t, err)
	diff(t, keys, []domain.SigningKey{k3, k2})

	// A rotation asking for a handover before the waiting one's is moved
	// to just after it, its publication with it, and says so: keys sign in
	// the order of their retirements, so k3 must not sign before k2.
	t3 := t2.Add(time.Second)
	k4 := domain.SigningKey{ID: "key_4", Algorithm: "ES256", PrivateDER: []byte{4}, CreatedAt: t3}
	signsFrom, err := s.AddSigningKey(ctx(t), k4, t3.Add(time.Second), t3.Add(time.Second+ttl), sys(base))
	must(t, err)
	want := k2.RetiredAt.Add(time.Microsecond)
	diff(t, signsFrom, want)
	keys, err = s.ListSigningKeys(ctx(t))
	must(t, err)
	k3.RetiredAt, k3.PublishedUntil = want, want.Add(ttl)
	diff(t, keys, []domain.SigningKey{k4, k3, k2})
}

func testDeleteExpired(t *testing.T, s Subject) {
	seedOrg(t, s, "org_a")
	seedClient(t, s, "client_1", "org_a")
	now := base.Add(100 * 24 * time.Hour)
	must(t, s.RotateClientSecret(ctx(t), domain.ClientSecret{ClientID: "client_1", Hash: "h-new", CreatedAt: now.Add(-2 * time.Hour)}, now.Add(-time.Hour), sys(base)))
	family(t, s, "fam_old") // its token expired at base+90d
	fresh := domain.Family{ID: "fam_new", ClientID: "client_1", OrgID: "org_a", Scopes: domain.APIScopes(), CreatedAt: now}
	must(t, s.IssueRefreshToken(ctx(t), fresh, next("fresh", now)))
	must(t, keyAdded(s.AddSigningKey(ctx(t), domain.SigningKey{ID: "key_1", Algorithm: "ES256", PrivateDER: []byte{1}, CreatedAt: base}, time.Time{}, time.Time{}, sys(base))))
	must(t, keyAdded(s.AddSigningKey(ctx(t), domain.SigningKey{ID: "key_2", Algorithm: "ES256", PrivateDER: []byte{1}, CreatedAt: base.Add(time.Hour)},
		base.Add(time.Hour), base.Add(2*time.Hour), sys(base))))

	n, err := s.DeleteExpired(ctx(t), now, store.Retention{Revoked: time.Hour})
	must(t, err)
	if n != 4 { // fam_old's token, fam_old, the old secret, key_1
		t.Fatalf("deleted %d rows, want 4", n)
	}
	_, err = s.GetFamily(ctx(t), "fam_old")
	wantErr(t, err, store.ErrNotFound)
	diff(t, liveTokens(t, s, "fam_new"), []string{"fresh"})
	secrets, err := s.ClientSecrets(ctx(t), "client_1")
	must(t, err)
	if len(secrets) != 1 || secrets[0].Hash != "h-new" {
		t.Fatalf("secrets after clean-up: %+v", secrets)
	}
	keys, err := s.ListSigningKeys(ctx(t))
	must(t, err)
	if len(keys) != 1 || keys[0].ID != "key_2" {
		t.Fatalf("keys after clean-up: %+v", keys)
	}
	n, err = s.DeleteExpired(ctx(t), now, store.Retention{Revoked: time.Hour})
	must(t, err)
	if n != 0 {
		t.Fatalf("second clean-up deleted %d rows", n)
	}
}

// sys is the audit origin of a change the suite makes at at.
func sys(at time.Time) domain.Origin { return domain.System(at) }

// concurrentVerdicts runs n rotations at once and counts their verdicts;
// a rotation that fails fails the test.
func concurrentVerdicts(t *testing.T, n int, rotate func() (store.Rotation, error)) map[domain.RefreshVerdict]int {
	var wg sync.WaitGroup
	var mu sync.Mutex
	verdicts := map[domain.RefreshVerdict]int{}
	for range n {
		wg.Go(func() {
			rot, err := rotate()
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			verdicts[rot.Verdict]++
			mu.Unlock()
		})
	}
	wg.Wait()
	return verdicts
}

// born is fam as a grant starts it (txn.StartFamily): its tokens counted,
// generation 1 live as tok would have been, issued then and dying then.
func born(fam domain.Family, tok domain.RefreshToken) domain.Family {
	fam.Generation, fam.GenerationAt, fam.LiveUntil = 1, tok.CreatedAt, tok.ExpiresAt
	return fam
}

// keyAdded is the error of an AddSigningKey call.
func keyAdded(_ time.Time, err error) error { return err }
