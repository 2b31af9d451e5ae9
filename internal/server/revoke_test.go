package server

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/httpx"
	"github.com/nomosauth/nomosauth/internal/store"
	"github.com/nomosauth/nomosauth/internal/testfix"
)

// postTo sends a form or JSON body to path with an optional Basic user:pass.
func (f *fixture) postTo(path, contentType, body string, basic ...string) result {
	f.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	if len(basic) == 2 {
		req.SetBasicAuth(url.QueryEscape(basic[0]), url.QueryEscape(basic[1]))
	}
	return f.do(req)
}

// revoke asks the revocation endpoint, as client with its secret, to revoke tok.
func (f *fixture) revoke(tok, id, secret string) result {
	return f.postTo(PathRevoke, form, "token="+url.QueryEscape(tok), id, secret)
}

// pair is a client-credentials token pair of the fixture's client.
func (f *fixture) pair(t *testing.T) (access, refresh, family string) {
	t.Helper()
	r := f.clientCredentials("")
	mustOK(t, r)
	access, refresh = r.body["access_token"].(string), r.body["refresh_token"].(string)
	return access, refresh, testfix.FamilyOf(t, access)
}

// revokedRows are the token.revoked audit rows, newest first.
func (f *fixture) revokedRows(t *testing.T) []domain.AuditEvent {
	t.Helper()
	rows, err := f.store.ListAudit(context.Background(), store.AuditFilter{Action: domain.AuditTokenRevoked}, store.AuditPage{Limit: 10})
	testfix.Check(t, err)
	return rows
}

func (f *fixture) revokeEndpointCount(t *testing.T) float64 {
	return testfix.Gather(t, f.registry).Value("nomosauth_revocations_total", "source", "revoke_endpoint")
}

// mustRevokeOK checks RFC 7009 §2.2's answer: 200, never cached, and a
// body the client may ignore: an empty JSON object, which clients that
// insist on JSON (simple-oauth2) accept too.
func mustRevokeOK(t *testing.T, r result) {
	t.Helper()
	if r.status != http.StatusOK || string(r.raw) != "{}" || r.header.Get("Content-Type") != "application/json" || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("status %d, Content-Type %q, Cache-Control %q, body %q; want 200, application/json, no-store, {}",
			r.status, r.header.Get("Content-Type"), r.header.Get("Cache-Control"), r.raw)
	}
}

// TestRevocation is PRODUCT T9 at the endpoint, row by row.
func TestRevocation(t *testing.T) {
	for _, tc := range []struct {
		name string
		tok  func(access, refresh string) string
		body func(tok string) (contentType, body string)
	}{
		{"T9/refresh_token_kills_family", func(_, rt string) string { return rt }, nil},
		{"T9/access_token_kills_family", func(at, _ string) string { return at }, nil},
		{"T9/wrong_hint_still_found", func(_, rt string) string { return rt },
			func(tok string) (string, string) {
				return form, "token_type_hint=access_token&token=" + url.QueryEscape(tok)
			}},
		{"T9/unknown_hint_ignored", func(at, _ string) string { return at },
			func(tok string) (string, string) {
				return form, "token_type_hint=id_token&token=" + url.QueryEscape(tok)
			}},
		{"T9/T2/json_body", func(_, rt string) string { return rt },
			func(tok string) (string, string) {
				return "application/json", `{"token":"` + tok + `","token_type_hint":"refresh_token"}`
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			access, refresh, fam := f.pair(t)
			ct, body := form, "token="+url.QueryEscape(tc.tok(access, refresh))
			if tc.body != nil {
				ct, body = tc.body(tc.tok(access, refresh))
			}
			mustRevokeOK(t, f.postTo(PathRevoke, ct, body, f.client.ID, f.secret))
			checkEnvelope(t, f.refresh(refresh, ""), 401, "UNAUTHORIZED", "invalid_grant")
			if !f.tokensSrv.Revoker.Set.Revoked(fam) {
				t.Fatal("T9/refused_here_at_once: the family is not in this process's revoked set")
			}
			fams, err := f.store.RevokedFamilies(context.Background(), time.Time{})
			testfix.Check(t, err)
			if len(fams) != 1 || fams[0].ID != fam {
				t.Fatalf("T9/feeds_other_replicas: revocation feed %+v", fams)
			}
			rows := f.revokedRows(t)
			if len(rows) != 1 || rows[0].TargetID != fam || rows[0].Actor != (domain.Actor{Kind: domain.ActorClient, ID: f.client.ID}) ||
				rows[0].ClientID != f.client.ID || rows[0].RequestID == "" || rows[0].SourceAddr == "" {
				t.Fatalf("O8/token_revoked_row: %+v", rows)
			}
			if n := f.revokeEndpointCount(t); n != 1 {
				t.Fatalf("O7/revoke_endpoint_counted: %v", n)
			}
			// PRODUCT T9; RFC 7009 §2.2: a second revocation answers 200 and is no new event.
			mustRevokeOK(t, f.revoke(refresh, f.client.ID, f.secret))
			mustRevokeOK(t, f.revoke(access, f.client.ID, f.secret))
			if len(f.revokedRows(t)) != 1 || f.revokeEndpointCount(t) != 1 {
				t.Fatalf("T9/revoke_twice_one_row_one_count: rows %d count %v", len(f.revokedRows(t)), f.revokeEndpointCount(t))
			}
		})
	}

	t.Run("T9/public_client_revokes_its_customer_token", func(t *testing.T) {
		f := newFixture(t)
		code, _ := f.seedCode(t, domain.Scopes{domain.ScopeRead})
		r := f.redeem(code, codeVerifier)
		mustOK(t, r)
		rt := r.body["refresh_token"].(string)
		mustRevokeOK(t, f.postTo(PathRevoke, form, "client_id="+f.public.ID+"&token="+url.QueryEscape(rt)))
		checkEnvelope(t, f.post(form, "grant_type=refresh_token&client_id="+f.public.ID+"&refresh_token="+url.QueryEscape(rt)), 401, "UNAUTHORIZED", "invalid_grant")
		if rows := f.revokedRows(t); len(rows) != 1 || rows[0].CustomerID == "" || rows[0].Actor.ID != f.public.ID {
			t.Fatalf("O8/customer_family_row: %+v", rows)
		}
	})

	t.Run("T9/foreign_unknown_malformed_expired_change_nothing", func(t *testing.T) {
		f := newFixture(t)
		access, refresh, fam := f.pair(t)
		before := f.snapshot()
		for name, tok := range map[string]string{
			"other_clients_refresh": refresh, "other_clients_access": access,
		} {
			if r := f.revoke(tok, f.other.ID, f.otherSecret); r.status != 200 {
				t.Fatalf("T9/foreign_answers_200: %s: %d %s", name, r.status, r.raw)
			}
		}
		// Unknown, malformed, a bad signature, no token of ours.
		for _, tok := range []string{"nrt_unknown", "not a token", access[:len(access)-4] + "AAAA", "a.b.c", "nrt_" + strings.Repeat("x", 5000)} {
			mustRevokeOK(t, f.revoke(tok, f.client.ID, f.secret))
		}
		if f.snapshot() != before || len(f.revokedRows(t)) != 0 || f.tokensSrv.Revoker.Set.Revoked(fam) || f.revokeEndpointCount(t) != 0 {
			t.Fatal("T9/nothing_changes: a foreign, unknown or malformed token changed data, wrote a row, or was counted")
		}
		mustOK(t, f.refresh(refresh, "")) // still live
		// An expired access token is dead already: 200, nothing revoked.
		f.clock.Advance(2 * time.Hour)
		mustRevokeOK(t, f.revoke(access, f.client.ID, f.secret))
		if len(f.revokedRows(t)) != 0 {
			t.Fatal("T9/expired_access_token_changes_nothing")
		}
	})

	t.Run("T9/errors", func(t *testing.T) {
		f := newFixture(t)
		_, refresh, _ := f.pair(t)
		before := f.snapshot()
		checkEnvelope(t, f.postTo(PathRevoke, form, "token_type_hint=refresh_token", f.client.ID, f.secret), 400, "BAD_REQUEST", "invalid_request")
		for name, r := range map[string]result{
			"wrong_secret":                f.revoke(refresh, f.client.ID, "nsec_wrong"),
			"no_credentials":              f.postTo(PathRevoke, form, "token="+url.QueryEscape(refresh)),
			"confidential_without_secret": f.postTo(PathRevoke, form, "client_id="+f.client.ID+"&token="+url.QueryEscape(refresh)),
			"unknown_client":              f.revoke(refresh, "client_nope", "nsec_x"),
		} {
			checkEnvelope(t, r, 401, "UNAUTHORIZED", "invalid_client")
			if r.header.Get("WWW-Authenticate") == "" {
				t.Fatalf("T1/%s: no WWW-Authenticate", name)
			}
		}
		r := f.postTo(PathRevoke, "text/plain", "token=x", f.client.ID, f.secret)
		checkEnvelope(t, r, 400, "BAD_REQUEST", "invalid_request")
		if f.snapshot() != before {
			t.Fatal("a refused revocation changed data")
		}
		mustOK(t, f.refresh(refresh, ""))
	})

	t.Run("S6/failed_auth_budget_shared_with_token_endpoint", func(t *testing.T) {
		f := newFixture(t)
		f.tokensSrv.FailedAuthLimits = httpx.NewRateLimiter(FailedAuthRate, 2, f.clock.Now)
		for range 2 {
			checkEnvelope(t, f.revoke("nrt_x", f.client.ID, "nsec_wrong"), 401, "UNAUTHORIZED", "invalid_client")
		}
		checkEnvelope(t, f.post(form, "grant_type=client_credentials", f.client.ID, "nsec_wrong"), 429, "TOO_MANY_REQUESTS", "")
		mustOK(t, f.post(form, "grant_type=client_credentials", f.other.ID, f.otherSecret)) // never the real client's budget alone
	})

	t.Run("R5/per_client_limit_shared_with_token_endpoint", func(t *testing.T) {
		f := newFixture(t)
		f.tokensSrv.ClientLimits = httpx.NewRateLimiter(1, 1, f.clock.Now)
		_, refresh, _ := f.pair(t)
		checkEnvelope(t, f.revoke(refresh, f.client.ID, f.secret), 429, "TOO_MANY_REQUESTS", "")
		if len(f.revokedRows(t)) != 0 {
			t.Fatal("a rate-limited revocation revoked")
		}
	})
}

// TestRevokeExpiredRefreshTokenChangesNothing is RFC 7009 §2.2 for tokens
// that need no row: a counted refresh token whose family's live
// generation has expired, of that generation or an older one, and a
// sealed one past its expiry, answer 200 and write nothing: no
// revocation, no audit row, no tombstone.
func TestRevokeExpiredRefreshTokenChangesNothing(t *testing.T) {
	f := newFixture(t)
	rt0, fam := f.tokens("")
	r1 := f.refresh(rt0, "")
	mustOK(t, r1)
	rt1, _ := f.pairOf(r1)
	_, sealedRT, sealedFam := f.pair(t)
	f.clock.Advance(91 * 24 * time.Hour)
	before := f.snapshot()
	for _, tok := range []string{rt1, rt0, sealedRT} {
		mustRevokeOK(t, f.revoke(tok, f.client.ID, f.secret))
	}
	if f.revoked(fam) || len(f.revokedRows(t)) != 0 {
		t.Fatalf("an expired family was revoked (%v) or audited (%d rows)", f.revoked(fam), len(f.revokedRows(t)))
	}
	if _, err := f.store.GetFamily(t.Context(), sealedFam); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("an expired sealed token left a tombstone: %v", err)
	}
	if after := f.snapshot(); after != before {
		t.Fatalf("revoking expired tokens wrote:\nbefore %s\nafter %s", before, after)
	}
}
