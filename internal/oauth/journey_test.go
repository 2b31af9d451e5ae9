package oauth

import (
	"testing"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
)

func TestSessionLive(t *testing.T) {
	start := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	ses := domain.Session{CreatedAt: start, LastSeenAt: start, ExpiresAt: start.Add(24 * time.Hour)}
	idle := time.Hour
	tests := []struct {
		name     string
		lastSeen time.Duration // after start
		at       time.Duration // after start
		want     bool
	}{
		{"A7/fresh", 0, time.Minute, true},
		{"A7/idle_just_before", 0, idle - time.Nanosecond, true},
		{"A7/idle_reached", 0, idle, false},
		{"A7/activity_extends", 23 * time.Hour, 23*time.Hour + 30*time.Minute, true},
		{"A7/absolute_end_despite_activity", 23*time.Hour + 59*time.Minute, 24 * time.Hour, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ses
			s.LastSeenAt = start.Add(tt.lastSeen)
			if got := SessionLive(s, start.Add(tt.at), idle); got != tt.want {
				t.Fatalf("SessionLive = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestTriesLeft(t *testing.T) {
	for _, tt := range []struct {
		name     string
		attempts int
		want     int
	}{
		{"A7/none_used", 0, 5},
		{"A7/one_wrong", 1, 4},
		{"A7/last_try", 4, 1},
		{"A7/spent", 5, 0},
		{"A7/never_negative", 9, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := TriesLeft(domain.OneTimeCode{Attempts: tt.attempts}); got != tt.want {
				t.Fatalf("TriesLeft = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestDecideConsent(t *testing.T) {
	client := domain.Client{ID: "client_a", OrgID: "org_a"}
	first := domain.Client{ID: "client_first", OrgID: "org_a", FirstParty: true}
	cust := domain.Customer{ID: "cus_a", OrgID: "org_a"}
	read := domain.Scopes{domain.ScopeRead}
	req := func(flow string, scopes domain.Scopes) AuthorizeRequest {
		return AuthorizeRequest{Client: client, Scopes: scopes, FlowType: flow}
	}
	firstReq := func(flow string, scopes domain.Scopes) AuthorizeRequest {
		return AuthorizeRequest{Client: first, Scopes: scopes, FlowType: flow}
	}
	readGrant := &domain.Grant{Scopes: read}
	emptyGrant := &domain.Grant{Scopes: domain.Scopes{}}
	tests := []struct {
		name  string
		req   AuthorizeRequest
		cust  domain.Customer
		grant *domain.Grant
		want  Consent
	}{
		{"A8/no_grant_asks", req(FlowConsent, read), cust, nil, ConsentAsk},
		{"A8/grant_covers_skips", req(FlowConsent, read), cust, readGrant, ConsentCovered},
		{"A8/grant_narrower_asks", req(FlowConsent, read), cust, emptyGrant, ConsentAsk},
		{"A9/login_flow_first_party_implies", firstReq(FlowLogin, read), cust, nil, ConsentImplied},
		{"A9/login_flow_third_party_asks", req(FlowLogin, read), cust, nil, ConsentAsk},
		{"A9/login_flow_third_party_narrower_grant_asks", req(FlowLogin, read), cust, emptyGrant, ConsentAsk},
		{"A9/login_flow_with_grant_reuses_it", req(FlowLogin, read), cust, readGrant, ConsentCovered},
		{"A9/consent_flow_first_party_asks", firstReq(FlowConsent, read), cust, nil, ConsentAsk},
		{"A9/other_org_refused_first_party_login", firstReq(FlowLogin, read), domain.Customer{ID: "cus_b", OrgID: "org_b"}, nil, ConsentOtherOrg},
		{"A9/signup_flow_asks", req(FlowSignup, read), cust, nil, ConsentAsk},
		{"A9/other_org_refused", req(FlowConsent, read), domain.Customer{ID: "cus_b", OrgID: "org_b"}, readGrant, ConsentOtherOrg},
		{"A9/other_org_refused_in_login_flow", req(FlowLogin, read), domain.Customer{ID: "cus_b", OrgID: "org_b"}, nil, ConsentOtherOrg},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DecideConsent(tt.req, tt.cust, tt.grant); got != tt.want {
				t.Fatalf("DecideConsent = %v, want %v", got, tt.want)
			}
		})
	}
}
