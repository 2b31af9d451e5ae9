package oauth

import (
	"errors"
	"testing"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/problem"
)

var (
	orgToken = Caller{ClientID: "client_a", OrgID: "org_a", FamilyID: "", Scopes: domain.Scopes{domain.ScopeRead, domain.ScopeWrite}}
	cusToken = Caller{ClientID: "client_a", OrgID: "org_a", CustomerID: "cus_a", FamilyID: "fam_a", Scopes: domain.Scopes{domain.ScopeRead}}
)

// oauthCode is the OAuth error a problem carries, "" for nil.
func oauthCode(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	var p *problem.Error
	if !errors.As(err, &p) {
		t.Fatalf("error %v is not a problem", err)
	}
	return p.OAuthError
}

func TestParseBearer(t *testing.T) {
	for _, tt := range []struct {
		name    string
		headers []string
		inQuery bool
		want    string // the token, or "" when refused
	}{
		{"R1/bearer", []string{"Bearer abc.def.ghi"}, false, "abc.def.ghi"},
		{"R1/scheme_case_insensitive", []string{"bearer abc"}, false, "abc"},
		{"R1/surrounding_space_trimmed", []string{"Bearer  abc "}, false, "abc"},
		{"R1/missing", nil, false, ""},
		{"R1/query_refused", nil, true, ""},
		{"R1/header_beats_query", []string{"Bearer abc"}, true, "abc"},
		{"R1/repeated_header", []string{"Bearer abc", "Bearer abc"}, false, ""},
		{"R1/basic_scheme", []string{"Basic YTpi"}, false, ""},
		{"R1/no_token", []string{"Bearer "}, false, ""},
		{"R1/no_space", []string{"Bearerabc"}, false, ""},
		{"R1/inner_space", []string{"Bearer abc def"}, false, ""},
		{"R1/inner_tab", []string{"Bearer abc\tdef"}, false, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseBearer(tt.headers, tt.inQuery)
			if got != tt.want {
				t.Fatalf("ParseBearer = %q, want %q", got, tt.want)
			}
			if (err != nil) != (tt.want == "") {
				t.Fatalf("ParseBearer error = %v", err)
			}
			if err != nil && oauthCode(t, err) != "invalid_token" {
				t.Fatalf("ParseBearer error = %v, want invalid_token", err)
			}
		})
	}
}

func TestParseBearerExplainsQueryToken(t *testing.T) {
	_, inQuery := ParseBearer(nil, true)
	_, missing := ParseBearer(nil, false)
	if inQuery.Error() == missing.Error() {
		t.Fatalf("R1: a token in the URL gets the generic message %q", inQuery)
	}
}

func FuzzParseBearer(f *testing.F) {
	for _, s := range []string{"Bearer abc", "bearer  x ", "Basic abc", "Bearer a b", "Bearer\t", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		raw, err := ParseBearer([]string{header}, false)
		if err != nil {
			if raw != "" {
				t.Fatalf("refused %q but returned %q", header, raw)
			}
			return
		}
		if raw == "" || len(raw) >= len(header) {
			t.Fatalf("accepted %q as %q", header, raw)
		}
		for _, c := range raw {
			if c == ' ' || c == '\t' {
				t.Fatalf("accepted %q with blank inside: %q", header, raw)
			}
		}
	})
}

func TestAdmitCaller(t *testing.T) {
	enabled := domain.Client{ID: "client_a", OrgID: "org_a"}
	for _, tt := range []struct {
		name    string
		client  domain.Client
		revoked bool
		ok      bool
	}{
		{"R1/live_token", enabled, false, true},
		{"A11/family_revoked", enabled, true, false},
		{"R1/client_disabled", domain.Client{ID: "client_a", OrgID: "org_a", Disabled: true}, false, false},
		{"R3/client_moved_organization", domain.Client{ID: "client_a", OrgID: "org_b"}, false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := AdmitCaller(cusToken, tt.client, tt.revoked)
			if (err == nil) != tt.ok {
				t.Fatalf("AdmitCaller = %v, want ok %v", err, tt.ok)
			}
			if err != nil && oauthCode(t, err) != "invalid_token" {
				t.Fatalf("AdmitCaller = %v, want invalid_token", err)
			}
		})
	}
}

func TestCheckScope(t *testing.T) {
	readOnly := Caller{OrgID: "org_a", Scopes: domain.Scopes{domain.ScopeRead}}
	writeOnly := Caller{OrgID: "org_a", Scopes: domain.Scopes{domain.ScopeWrite}}
	cusWrite := cusToken
	cusWrite.Scopes = domain.Scopes{domain.ScopeRead, domain.ScopeWrite} // never minted (T7), refused anyway
	for _, tt := range []struct {
		name   string
		method string
		caller Caller
		want   string // "" or the OAuth error
	}{
		{"R2/get_with_read", "GET", readOnly, ""},
		{"R2/head_with_read", "HEAD", readOnly, ""},
		{"R2/get_without_read", "GET", writeOnly, "insufficient_scope"},
		{"R2/patch_with_write", "PATCH", orgToken, ""},
		{"R2/patch_without_write", "PATCH", readOnly, "insufficient_scope"},
		{"R2/post_needs_write", "POST", readOnly, "insufficient_scope"},
		{"R2/put_needs_write", "PUT", readOnly, "insufficient_scope"},
		{"R2/delete_needs_write", "DELETE", readOnly, "insufficient_scope"},
		{"R2/unknown_method_needs_write", "OPTIONS", readOnly, "insufficient_scope"},
		{"R2/no_scope", "GET", Caller{OrgID: "org_a"}, "insufficient_scope"},
		{"T7/customer_token_reads", "GET", cusToken, ""},
		{"T7/customer_token_never_writes", "PATCH", cusWrite, "insufficient_scope"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := oauthCode(t, CheckScope(tt.method, tt.caller)); got != tt.want {
				t.Fatalf("CheckScope = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCanSee(t *testing.T) {
	for _, tt := range []struct {
		name              string
		caller            Caller
		orgID, customerID string
		want              bool
	}{
		{"R3/org_token_sees_its_org", orgToken, "org_a", "cus_a", true},
		{"R3/org_token_sees_every_customer_of_its_org", orgToken, "org_a", "cus_b", true},
		{"R3/org_token_not_other_org", orgToken, "org_b", "cus_x", false},
		{"R3/customer_token_sees_only_itself", cusToken, "org_a", "cus_a", true},
		{"R3/customer_token_not_other_customer", cusToken, "org_a", "cus_b", false},
		{"R3/customer_token_not_same_id_other_org", cusToken, "org_b", "cus_a", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := CanSee(tt.caller, tt.orgID, tt.customerID); got != tt.want {
				t.Fatalf("CanSee = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCanSeeCustomerID(t *testing.T) {
	for _, tt := range []struct {
		name       string
		caller     Caller
		customerID string
		want       bool
	}{
		{"R3/org_token_may_name_any", orgToken, "cus_b", true},
		{"R3/customer_token_names_itself", cusToken, "cus_a", true},
		{"R3/customer_token_names_another", cusToken, "cus_b", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := CanSeeCustomerID(tt.caller, tt.customerID); got != tt.want {
				t.Fatalf("CanSeeCustomerID = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestListReachFor(t *testing.T) {
	for _, tt := range []struct {
		name   string
		caller Caller
		filter string
		want   ListReach
	}{
		{"R3/org_token_lists_its_org", orgToken, "", ListReach{OrgID: "org_a"}},
		{"R3/org_token_filters_on_a_customer", orgToken, "cus_b", ListReach{OrgID: "org_a", CustomerID: "cus_b"}},
		{"R3/customer_token_lists_only_itself", cusToken, "", ListReach{OrgID: "org_a", CustomerID: "cus_a"}},
		{"R3/customer_token_filters_on_itself", cusToken, "cus_a", ListReach{OrgID: "org_a", CustomerID: "cus_a"}},
		{"R3/customer_token_filters_on_another_is_empty", cusToken, "cus_b", ListReach{OrgID: "org_a", CustomerID: "cus_b", Empty: true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := ListReachFor(tt.caller, tt.filter); got != tt.want {
				t.Fatalf("ListReachFor = %+v, want %+v", got, tt.want)
			}
		})
	}
}
