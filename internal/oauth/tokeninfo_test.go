package oauth

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/ids"
)

func TestParseTokenQuery(t *testing.T) {
	for _, tt := range []struct {
		name    string
		params  url.Values
		want    TokenQuery
		wantErr string
	}{
		{"T9/token_required", url.Values{"token_type_hint": {"access_token"}}, TokenQuery{}, "invalid_request"},
		{"T9/empty_token_is_missing", url.Values{"token": {""}}, TokenQuery{}, "invalid_request"},
		{"T9/hint_optional", url.Values{"token": {"x"}}, TokenQuery{Token: "x"}, ""},
		{"T9/unknown_hint_ignored", url.Values{"token": {"x"}, "token_type_hint": {"id_token"}}, TokenQuery{Token: "x", Hint: "id_token"}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTokenQuery(tt.params)
			if code := oauthCode(t, err); code != tt.wantErr || got != tt.want {
				t.Fatalf("got %+v, %q; want %+v, %q", got, code, tt.want, tt.wantErr)
			}
		})
	}
}

func TestKindOf(t *testing.T) {
	if refreshTokenPrefix != ids.PrefixRefreshToken {
		t.Fatalf("refreshTokenPrefix %q is not the issued prefix %q", refreshTokenPrefix, ids.PrefixRefreshToken)
	}
	for _, tt := range []struct {
		name string
		raw  string
		want TokenKind
	}{
		{"T9/jwt_is_access", "eyJh.eyJz.c2ln", TokenAccess},
		{"T9/refresh_prefix", "nrt_abcDEF-_123", TokenRefresh},
		{"T9/refresh_prefix_with_dots_is_neither", "nrt_a.b", TokenUnknown},
		{"T9/two_segments_is_neither", "a.b", TokenUnknown},
		{"T9/four_segments_is_neither", "a.b.c.d", TokenUnknown},
		{"T9/other_secret_is_neither", "nsec_abc", TokenUnknown},
		{"T9/empty", "", TokenUnknown},
		{"T9/oversized_is_neither", "nrt_" + strings.Repeat("a", maxPresentedToken), TokenUnknown},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := KindOf(tt.raw); got != tt.want {
				t.Fatalf("KindOf(%q) = %v, want %v", tt.raw, got, tt.want)
			}
		})
	}
}

func TestMayRevoke(t *testing.T) {
	caller := domain.Client{ID: "client_a", OrgID: "org_a"}
	for _, tt := range []struct {
		name string
		fam  domain.Family
		want bool
	}{
		{"T9/own_family", domain.Family{ClientID: "client_a", OrgID: "org_a"}, true},
		{"T9/own_customer_family", domain.Family{ClientID: "client_a", OrgID: "org_a", CustomerID: "cus_1"}, true},
		{"T9/own_family_already_revoked_is_a_no_op_in_the_store", domain.Family{ClientID: "client_a", OrgID: "org_a", RevokedAt: time.Unix(1, 0)}, true},
		{"T9/same_org_other_client_is_foreign", domain.Family{ClientID: "client_b", OrgID: "org_a"}, false},
		{"T9/other_org_is_foreign", domain.Family{ClientID: "client_c", OrgID: "org_b"}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := MayRevoke(caller, tt.fam); got != tt.want {
				t.Fatalf("MayRevoke = %v, want %v", got, tt.want)
			}
		})
	}
	if MayRevoke(domain.Client{}, domain.Family{}) {
		t.Fatal("T9/no_caller_revokes_nothing")
	}
}

func TestCheckIntrospector(t *testing.T) {
	for _, tt := range []struct {
		name   string
		client domain.Client
		want   string
	}{
		{"T10/confidential_client", domain.Client{ID: "client_a"}, ""},
		{"T10/public_client_is_invalid_client", domain.Client{ID: "client_p", Public: true}, "invalid_client"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := oauthCode(t, CheckIntrospector(tt.client)); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestIntrospect(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	caller := domain.Client{ID: "client_rs", OrgID: "org_a"}
	access := TokenFacts{Kind: TokenAccess, ClientID: "client_a", OrgID: "org_a", Subject: "client_a", Scope: "read:* write:*",
		Issuer: "https://iss.example", IssuedAt: now.Add(-time.Minute), ExpiresAt: now.Add(59 * time.Minute)}
	with := func(f TokenFacts, change func(*TokenFacts)) *TokenFacts { change(&f); return &f }
	active := Introspection{Active: true, Scope: "read:* write:*", ClientID: "client_a", Subject: "client_a",
		ExpiresAt: now.Add(59 * time.Minute).Unix(), IssuedAt: now.Add(-time.Minute).Unix(), Issuer: "https://iss.example", TokenType: "Bearer", OrgID: "org_a"}
	for _, tt := range []struct {
		name  string
		facts *TokenFacts
		want  Introspection
	}{
		{"T10/live_access_token_of_own_org", &access, active},
		{"T10/customer_token_names_customer_not_org", with(access, func(f *TokenFacts) { f.CustomerID, f.Subject, f.Scope = "cus_1", "cus_1", "read:*" }),
			Introspection{Active: true, Scope: "read:*", ClientID: "client_a", Subject: "cus_1", ExpiresAt: active.ExpiresAt, IssuedAt: active.IssuedAt,
				Issuer: active.Issuer, TokenType: "Bearer", CustomerID: "cus_1"}},
		{"T10/refresh_token_type", with(access, func(f *TokenFacts) { f.Kind = TokenRefresh }),
			func() Introspection { a := active; a.TokenType = "refresh_token"; return a }()},
		{"T10/revoked_is_inactive", with(access, func(f *TokenFacts) { f.Revoked = true }), Introspection{}},
		{"T10/expired_is_inactive", with(access, func(f *TokenFacts) { f.ExpiresAt = now }), Introspection{}},
		{"T10/foreign_org_is_inactive", with(access, func(f *TokenFacts) { f.OrgID = "org_b" }), Introspection{}},
		{"T10/no_org_is_inactive", with(access, func(f *TokenFacts) { f.OrgID = "" }), Introspection{}},
		{"T10/unknown_kind_is_inactive", with(access, func(f *TokenFacts) { f.Kind = TokenUnknown }), Introspection{}},
		{"T10/not_found_is_inactive", nil, Introspection{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := Introspect(caller, tt.facts, now)
			if got != tt.want {
				t.Fatalf("got %+v\nwant %+v", got, tt.want)
			}
			if !got.Active {
				if b, _ := json.Marshal(got); string(b) != `{"active":false}` {
					t.Fatalf("T10/inactive_says_nothing_else: %s", b)
				}
			}
		})
	}
}

func TestRefreshFacts(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	tok := domain.RefreshToken{Hash: "h", FamilyID: "fam_1", State: domain.RefreshLive, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	fam := domain.Family{ID: "fam_1", ClientID: "client_a", OrgID: "org_a", CustomerID: "cus_1", Scopes: domain.APIScopes()}
	f := RefreshFacts(tok, fam, "https://iss.example")
	if f.Kind != TokenRefresh || f.Subject != "cus_1" || f.Scope != "read:*" || f.Revoked || !f.ExpiresAt.Equal(tok.ExpiresAt) {
		t.Fatalf("T10/refresh_customer_family: %+v", f)
	}
	fam.CustomerID = ""
	if f := RefreshFacts(tok, fam, ""); f.Subject != "client_a" || f.Scope != domain.APIScopes().String() {
		t.Fatalf("T10/refresh_org_family: %+v", f)
	}
	tok.State = domain.RefreshRotated
	if !RefreshFacts(tok, fam, "").Revoked {
		t.Fatal("T10/rotated_refresh_token_is_not_live")
	}
	tok.State, fam.RevokedAt = domain.RefreshLive, now
	if !RefreshFacts(tok, fam, "").Revoked {
		t.Fatal("T10/revoked_family")
	}
}
