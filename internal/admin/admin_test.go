package admin_test

import (
	"strings"
	"testing"
	"time"

	"github.com/nomosauth/nomosauth/internal/admin"
	"github.com/nomosauth/nomosauth/internal/testfix"
)

// TestCreateClientValidates refuses each bad field of a client on a real
// organization, so that every check is reached, not only the org lookup.
func TestCreateClientValidates(t *testing.T) {
	env := testfix.New(t, time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC))
	org := env.Org("Stadtwerke").ID
	for _, tc := range []struct {
		name string
		spec admin.ClientSpec
		want string
	}{
		{"unknown_org", admin.ClientSpec{OrgID: "org_nope", Name: "x"}, "organization not found"},
		{"no_name", admin.ClientSpec{OrgID: org}, "name is required"},
		{"unknown_scope", admin.ClientSpec{OrgID: org, Name: "x", Scope: "admin"}, "scope must be"},
		{"scope_with_unknown_token", admin.ClientSpec{OrgID: org, Name: "x", Scope: "read:* admin"}, "scope must be"},
		{"scope_double_space", admin.ClientSpec{OrgID: org, Name: "x", Scope: "read:*  write:*"}, "scope must be"},
		{"A2/bad_redirect_uri", admin.ClientSpec{OrgID: org, Name: "x", RedirectURIs: []string{"http://app.example/cb"}}, "redirect URI"},
		{"R6/unknown_api_version", admin.ClientSpec{OrgID: org, Name: "x", APIVersion: "1999-01-01.x"}, "api version must be"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _, err := env.Admin.CreateClient(t.Context(), tc.spec)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("created %+v, err %v; want an error containing %q", c, err, tc.want)
			}
		})
	}
	if clients, err := env.Store.ListClients(t.Context(), org); err != nil || len(clients) != 0 {
		t.Fatalf("a refused client was stored: %v %v", clients, err)
	}
	c, _ := env.Client(admin.ClientSpec{OrgID: org, Name: "Reader", Scope: "read:*"})
	if c.Scopes.String() != "read:*" {
		t.Fatalf("scope %q, want read:*", c.Scopes)
	}
}
