package oauth

import (
	"errors"
	"testing"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
)

func TestA12CheckMagicNext(t *testing.T) {
	for _, tc := range []struct {
		next, want string
		ok         bool
	}{
		{"", "/account/apps", true},
		{"/account/apps", "/account/apps", true},
		{"/overview?tab=1#x", "/overview?tab=1#x", true},
		{"//evil.example/x", "", false},
		{"/\\evil.example", "", false},
		{"https://evil.example/", "", false},
		{"javascript:alert(1)", "", false},
		{"account/apps", "", false},
		{"/a b", "", false},
		{"/a\nb", "", false},
		{"/a\tb", "", false},
		{"/" + string(make([]byte, 2000)), "", false},
	} {
		got, ok := CheckMagicNext(tc.next, "/account/apps")
		if got != tc.want || ok != tc.ok {
			t.Errorf("CheckMagicNext(%q) = %q, %v; want %q, %v", tc.next, got, ok, tc.want, tc.ok)
		}
	}
}

func TestA12CheckMagicLink(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	live := domain.MagicLink{CreatedAt: now.Add(-time.Minute), ExpiresAt: now.Add(time.Minute)}
	used := live
	used.UsedAt = now.Add(-time.Second)
	for _, tc := range []struct {
		name string
		l    domain.MagicLink
		at   time.Time
		want error
	}{
		{"live", live, now, nil},
		{"used", used, now, ErrMagicLinkUsed},
		{"at expiry", live, live.ExpiresAt, ErrMagicLinkExpired},
		{"after expiry", live, live.ExpiresAt.Add(time.Second), ErrMagicLinkExpired},
	} {
		if err := CheckMagicLink(tc.l, tc.at); !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
			t.Errorf("%s: CheckMagicLink = %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestA12CheckMagicLinkCaller(t *testing.T) {
	if err := CheckMagicLinkCaller(Caller{ClientID: "c", OrgID: "o", Scopes: domain.Scopes{domain.ScopeWrite}}); err != nil {
		t.Fatalf("organization token refused: %v", err)
	}
	if err := CheckMagicLinkCaller(Caller{ClientID: "c", OrgID: "o", CustomerID: "cus", Scopes: domain.Scopes{domain.ScopeWrite}}); err == nil {
		t.Fatal("customer token allowed")
	}
}
