package api

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/ids"
	"github.com/nomosauth/nomosauth/internal/store"
)

// TestA12MagicLinkAdmission: only an organization's token with write:*
// creates magic links; read-only and customer tokens are 403, no token 401.
func TestA12MagicLinkAdmission(t *testing.T) {
	f := newFixture(t, nil)
	body := `{"customerId":"` + f.cus1.ID + `"}`
	for _, tc := range []struct {
		name, bearer     string
		status           int
		code, oauthError string
	}{
		{"no_token", "", http.StatusUnauthorized, "UNAUTHORIZED", "invalid_token"},
		{"read_only", f.readToken(), http.StatusForbidden, "FORBIDDEN", "insufficient_scope"},
		{"customer_token", f.token(f.full, f.cus1.ID, "read:* write:*"), http.StatusForbidden, "FORBIDDEN", "insufficient_scope"}, // read-only whatever it holds (T7)
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, f.call(http.MethodPost, PathMagicLink, tc.bearer, body), tc.status, tc.code, tc.oauthError)
		})
	}
	t.Run("GET_not_allowed", func(t *testing.T) {
		r := f.call(http.MethodGet, PathMagicLink, f.orgToken(), "")
		wantError(t, r, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "")
	})
	if rows := magicAudit(t, f); len(rows) != 0 {
		t.Fatalf("refused requests wrote audit rows: %+v", rows)
	}
}

// TestA12MagicLinkBody: the body is the OpenAPI's {customerId} with an
// optional next path; everything else is a 400 in the API's error shape
// and stores nothing.
func TestA12MagicLinkBody(t *testing.T) {
	f := newFixture(t, nil)
	org := f.orgToken()
	cus := `"customerId":"` + f.cus1.ID + `"`
	for _, tc := range []struct {
		name, body, field, code string // field, code: of the first per-field error; empty when none
	}{
		{"missing_customerId", `{}`, "customerId", "invalid_type"},
		{"customerId_number", `{"customerId":42}`, "customerId", "invalid_type"},
		{"customerId_null", `{"customerId":null}`, "customerId", "invalid_type"},
		{"customerId_empty", `{"customerId":" "}`, "customerId", "too_small"},
		{"unknown_key", `{` + cus + `,"email":"x@example.com"}`, "email", "unrecognized_keys"},
		{"snake_case_key", `{"customer_id":"` + f.cus1.ID + `"}`, "customerId", "invalid_type"},
		{"next_number", `{` + cus + `,"next":1}`, "next", "invalid_type"},
		{"next_absolute_url", `{` + cus + `,"next":"https://evil.example/"}`, "next", "invalid_string"},
		{"next_protocol_relative", `{` + cus + `,"next":"//evil.example/"}`, "next", "invalid_string"},
		{"next_backslash", `{` + cus + `,"next":"/\\evil.example"}`, "next", "invalid_string"},
		{"next_relative", `{` + cus + `,"next":"account/apps"}`, "next", "invalid_string"},
		{"next_javascript", `{` + cus + `,"next":"javascript:alert(1)"}`, "next", "invalid_string"},
		{"repeated_key", `{` + cus + `,` + cus + `}`, "customerId", "invalid_type"},
		{"not_an_object", `["customerId"]`, "", ""},
		{"malformed", `{"customerId":`, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := f.call(http.MethodPost, PathMagicLink, org, tc.body)
			wantError(t, r, http.StatusBadRequest, "BAD_REQUEST", "")
			if tc.field != "" {
				errs, _ := r.body["errors"].([]any)
				if len(errs) == 0 {
					t.Fatalf("no errors array: %s", r.raw)
				}
				first := errs[0].(map[string]any)
				eq(t, first["field"], tc.field)
				eq(t, first["code"], tc.code)
			}
		})
	}
	t.Run("form_body", func(t *testing.T) {
		r := f.call(http.MethodPost, PathMagicLink, org, "customerId="+f.cus1.ID, "Content-Type", "application/x-www-form-urlencoded")
		wantError(t, r, http.StatusBadRequest, "BAD_REQUEST", "")
	})
	if rows := magicAudit(t, f); len(rows) != 0 {
		t.Fatalf("refused requests wrote audit rows: %+v", rows)
	}
}

// TestA12MagicLinkOtherOrg: another organization's customer, or none, is
// the same 404 as an unknown id (PRODUCT A12, R3).
func TestA12MagicLinkOtherOrg(t *testing.T) {
	f := newFixture(t, nil)
	for _, tc := range []struct{ name, bearer, customer string }{
		{"other_org", f.orgToken(), f.bcus.ID},
		{"other_org_reverse", f.orgBToken(), f.cus1.ID},
		{"unknown", f.orgToken(), "cus_doesnotexist0000000000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := f.call(http.MethodPost, PathMagicLink, tc.bearer, `{"customerId":"`+tc.customer+`"}`)
			wantError(t, r, http.StatusNotFound, "NOT_FOUND", "")
		})
	}
	if rows := magicAudit(t, f); len(rows) != 0 {
		t.Fatalf("refused requests wrote audit rows: %+v", rows)
	}
}

// TestA12MagicLinkCreated: 200 with {object: "magic_link", link}; the link
// points at this server, its token is stored only hashed, for the
// customer, for 15 minutes, with next, and the issue is audited with the
// client as actor (PRODUCT O8).
func TestA12MagicLinkCreated(t *testing.T) {
	f := newFixture(t, nil)
	r := f.call(http.MethodPost, PathMagicLink, f.orgToken(), `{"customerId":"`+f.cus1.ID+`","next":"/account/apps?x=1"}`)
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.raw)
	}
	if len(r.body) != 2 || r.body["object"] != "magic_link" {
		t.Fatalf("body %s, want exactly object and link", r.raw)
	}
	link, _ := r.body["link"].(string)
	raw, ok := strings.CutPrefix(link, testIssuer+"/magic/")
	if !ok || !strings.HasPrefix(raw, ids.PrefixMagicLink) || len(raw) < 40 {
		t.Fatalf("link %q, want %s/magic/<token>", link, testIssuer)
	}
	if _, err := f.store.GetMagicLink(t.Context(), raw); err == nil {
		t.Fatal("the raw token is stored")
	}
	l, err := f.store.GetMagicLink(t.Context(), ids.Hash(raw))
	if err != nil {
		t.Fatal(err)
	}
	now := f.clock.Now()
	if l.CustomerID != f.cus1.ID || l.OrgID != f.orgA || l.ClientID != f.full.ID || l.Next != "/account/apps?x=1" ||
		!l.ExpiresAt.Equal(now.Add(15*time.Minute)) || !l.UsedAt.IsZero() {
		t.Fatalf("stored link %+v", l)
	}
	rows := magicAudit(t, f)
	if len(rows) != 1 || rows[0].Actor != (domain.Actor{Kind: domain.ActorClient, ID: f.full.ID}) || rows[0].CustomerID != f.cus1.ID ||
		rows[0].ClientID != f.full.ID || rows[0].RequestID != r.header.Get("X-Request-Id") {
		t.Fatalf("audit rows %+v", rows)
	}
	// Two links for one customer are two tokens.
	again := f.call(http.MethodPost, PathMagicLink, f.orgToken(), `{"customerId":"`+f.cus1.ID+`"}`)
	if again.body["link"] == link {
		t.Fatal("the same link twice")
	}
	l2, err := f.store.GetMagicLink(t.Context(), ids.Hash(strings.TrimPrefix(again.body["link"].(string), testIssuer+"/magic/")))
	if err != nil || l2.Next != "" {
		t.Fatalf("second link %+v, %v", l2, err)
	}
}

func magicAudit(t *testing.T, f *fixture) []domain.AuditEvent {
	t.Helper()
	rows, err := f.store.ListAudit(t.Context(), store.AuditFilter{Action: domain.AuditMagicLinkIssued}, store.AuditPage{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}
