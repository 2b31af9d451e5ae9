package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/nomosauth/nomosauth/internal/admin"
	"github.com/nomosauth/nomosauth/internal/directory"
	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/httpx"
	"github.com/nomosauth/nomosauth/internal/store"
	"github.com/nomosauth/nomosauth/internal/testfix"
)

// introspect asks the introspection endpoint, as client with its secret, about tok.
func (f *fixture) introspect(tok, id, secret string) result {
	return f.postTo(PathIntrospect, form, "token="+url.QueryEscape(tok), id, secret)
}

// mustInactive checks PRODUCT T10's one answer for everything not live:
// exactly {"active":false}, never cached.
func mustInactive(t *testing.T, r result) {
	t.Helper()
	if r.status != http.StatusOK || string(r.raw) != `{"active":false}` || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("status %d, Cache-Control %q, body %s; want 200 no-store {\"active\":false}", r.status, r.header.Get("Cache-Control"), r.raw)
	}
}

// authOnlyStore answers the caller's authentication from the real store
// and fails the test on any other read or write: introspecting an access
// token must need no database read (PRODUCT T10).
type authOnlyStore struct {
	t    *testing.T
	real TokenStore
}

func (s authOnlyStore) GetClient(ctx context.Context, id string) (domain.Client, error) {
	return s.real.GetClient(ctx, id)
}

func (s authOnlyStore) ClientSecrets(ctx context.Context, clientID string) ([]domain.ClientSecret, error) {
	return s.real.ClientSecrets(ctx, clientID)
}

func (s authOnlyStore) touched(verb string) error {
	s.t.Errorf("T10/no_database_read: introspection called %s", verb)
	return store.ErrUnavailable
}

func (s authOnlyStore) RotateRefreshToken(context.Context, string, domain.RefreshToken, domain.Origin, store.RefreshDecider) (store.Rotation, error) {
	return store.Rotation{}, s.touched("RotateRefreshToken")
}

func (s authOnlyStore) RotateFamilyToken(context.Context, store.FamilyToken, domain.RefreshToken, domain.Origin, store.RefreshDecider) (store.Rotation, error) {
	return store.Rotation{}, s.touched("RotateFamilyToken")
}

func (s authOnlyStore) GetFamily(context.Context, string) (domain.Family, error) {
	return domain.Family{}, s.touched("GetFamily")
}

func (s authOnlyStore) RedeemCode(context.Context, string, domain.Family, domain.Origin, store.CodeDecider) (store.Redemption, error) {
	return store.Redemption{}, s.touched("RedeemCode")
}

func (s authOnlyStore) RefreshTokenFamily(context.Context, string) (domain.RefreshToken, domain.Family, error) {
	return domain.RefreshToken{}, domain.Family{}, s.touched("RefreshTokenFamily")
}

func (s authOnlyStore) CreateDeviceRequest(context.Context, domain.DeviceRequest) error {
	return s.touched("CreateDeviceRequest")
}

func (s authOnlyStore) PollDevice(context.Context, string, domain.Family, domain.Origin, store.DeviceDecider) (store.DevicePoll, error) {
	return store.DevicePoll{}, s.touched("PollDevice")
}

// TestIntrospection is PRODUCT T10 at the endpoint, row by row.
func TestIntrospection(t *testing.T) {
	t.Run("T10/live_access_token_of_own_org", func(t *testing.T) {
		f := newFixture(t)
		access, _, _ := f.pair(t)
		f.clock.Advance(time.Minute)
		r := f.introspect(access, f.other.ID, f.otherSecret) // a resource server of the same organization
		mustOK(t, r)
		now := f.clock.Now()
		want := map[string]any{"active": true, "scope": "read:* write:*", "client_id": f.client.ID, "sub": f.client.ID,
			"exp": float64(now.Add(59 * time.Minute).Unix()), "iat": float64(now.Add(-time.Minute).Unix()), "iss": testIssuer,
			"token_type": "Bearer", "org_id": f.client.OrgID}
		if got, _ := json.Marshal(r.body); string(got) != string(must(json.Marshal(want))) {
			t.Fatalf("got  %s\nwant %s", got, must(json.Marshal(want)))
		}
		if r.header.Get("Cache-Control") != "no-store" {
			t.Fatalf("Cache-Control %q", r.header.Get("Cache-Control"))
		}
	})

	t.Run("T10/live_refresh_token", func(t *testing.T) {
		f := newFixture(t)
		_, refresh, _ := f.pair(t)
		r := f.postTo(PathIntrospect, form, "token_type_hint=access_token&token="+url.QueryEscape(refresh), f.client.ID, f.secret)
		mustOK(t, r)
		if r.body["active"] != true || r.body["token_type"] != "refresh_token" || r.body["client_id"] != f.client.ID ||
			r.body["exp"] != float64(f.clock.Now().Add(90*24*time.Hour).Unix()) || r.body["org_id"] != f.client.OrgID {
			t.Fatalf("refresh token introspection %s", r.raw)
		}
		mustOK(t, f.refresh(refresh, ""))
		mustInactive(t, f.introspect(refresh, f.client.ID, f.secret)) // T10/rotated_refresh_token_inactive
	})

	t.Run("T10/customer_token_names_customer", func(t *testing.T) {
		f := newFixture(t)
		code, cus := f.seedCode(t, domain.APIScopes())
		r := f.redeem(code, codeVerifier)
		mustOK(t, r)
		for _, tok := range []string{r.body["access_token"].(string), r.body["refresh_token"].(string)} {
			got := f.introspect(tok, f.client.ID, f.secret)
			mustOK(t, got)
			if got.body["active"] != true || got.body["customer_id"] != cus.ID || got.body["sub"] != cus.ID || got.body["org_id"] != nil ||
				got.body["scope"] != "read:*" || got.body["client_id"] != f.public.ID {
				t.Fatalf("customer token introspection %s", got.raw)
			}
		}
	})

	t.Run("T10/everything_else_inactive", func(t *testing.T) {
		f := newFixture(t)
		access, refresh, _ := f.pair(t)
		foreignOrg, err := f.admin.CreateOrg(context.Background(), "Elsewhere")
		testfix.Check(t, err)
		foreign, foreignSecret, err := f.admin.CreateClient(context.Background(), admin.ClientSpec{OrgID: foreignOrg.ID, Name: "RS"})
		testfix.Check(t, err)
		mustInactive(t, f.introspect(access, foreign.ID, foreignSecret))  // T10/foreign_org_access
		mustInactive(t, f.introspect(refresh, foreign.ID, foreignSecret)) // T10/foreign_org_refresh
		for _, tok := range []string{"nrt_unknown", "garbage", "a.b.c", access[:len(access)-4] + "AAAA"} {
			mustInactive(t, f.introspect(tok, f.client.ID, f.secret)) // T10/unknown_and_malformed
		}
		f.clock.Advance(61 * time.Minute)
		mustInactive(t, f.introspect(access, f.client.ID, f.secret)) // T10/expired
	})

	t.Run("T10/revoked_access_token_inactive_without_database_read", func(t *testing.T) {
		f := newFixture(t)
		f.tokensSrv.Gate.Clients = directory.New(f.store, 0) // as in production: the token's client is held in memory
		access, refresh, _ := f.pair(t)
		live, _, _ := f.pair(t)
		mustRevokeOK(t, f.revoke(refresh, f.client.ID, f.secret))
		if r := f.introspect(live, f.other.ID, f.otherSecret); r.body["active"] != true { // caches the client
			t.Fatalf("live token: %s", r.raw)
		}
		f.tokensSrv.Store = authOnlyStore{t: t, real: f.store}
		mustInactive(t, f.introspect(access, f.other.ID, f.otherSecret))
		// A live one is answered without a read too, once its client is cached.
		if r := f.introspect(live, f.other.ID, f.otherSecret); r.body["active"] != true {
			t.Fatalf("live token: %s", r.raw)
		}
	})

	t.Run("T10/disabled_clients_tokens_inactive", func(t *testing.T) {
		// The API refuses a disabled client's tokens (R1): introspection
		// does not call them live either.
		f := newFixture(t)
		access, refresh, _ := f.pair(t)
		if r := f.introspect(access, f.other.ID, f.otherSecret); r.body["active"] != true {
			t.Fatalf("live token: %s", r.raw)
		}
		testfix.Check(t, f.admin.DisableClient(context.Background(), f.client.ID))
		mustInactive(t, f.introspect(access, f.other.ID, f.otherSecret))
		mustInactive(t, f.introspect(refresh, f.other.ID, f.otherSecret))
	})

	t.Run("T10/revoked_refresh_token_inactive", func(t *testing.T) {
		f := newFixture(t)
		_, refresh, _ := f.pair(t)
		mustRevokeOK(t, f.revoke(refresh, f.client.ID, f.secret))
		mustInactive(t, f.introspect(refresh, f.client.ID, f.secret))
	})

	t.Run("T10/only_confidential_clients", func(t *testing.T) {
		f := newFixture(t)
		access, _, _ := f.pair(t)
		for name, r := range map[string]result{
			"public_client":  f.postTo(PathIntrospect, form, "client_id="+f.public.ID+"&token="+url.QueryEscape(access)),
			"public_basic":   f.introspect(access, f.public.ID, ""),
			"no_credentials": f.postTo(PathIntrospect, form, "token="+url.QueryEscape(access)),
			"wrong_secret":   f.introspect(access, f.client.ID, "nsec_wrong"),
		} {
			checkEnvelope(t, r, 401, "UNAUTHORIZED", "invalid_client")
			if r.header.Get("WWW-Authenticate") == "" || r.body["active"] != nil {
				t.Fatalf("T10/%s: %v %s", name, r.header, r.raw)
			}
		}
	})

	t.Run("T10/missing_token", func(t *testing.T) {
		f := newFixture(t)
		checkEnvelope(t, f.postTo(PathIntrospect, form, "token_type_hint=access_token", f.client.ID, f.secret), 400, "BAD_REQUEST", "invalid_request")
	})

	t.Run("T10/T2/json_body", func(t *testing.T) {
		f := newFixture(t)
		access, _, _ := f.pair(t)
		r := f.postTo(PathIntrospect, "application/json", `{"token":"`+access+`"}`, f.client.ID, f.secret)
		if r.body["active"] != true {
			t.Fatalf("JSON body: %s", r.raw)
		}
	})

	t.Run("T10/R5/rate_limited_is_429_never_inactive", func(t *testing.T) {
		f := newFixture(t)
		access, _, _ := f.pair(t)
		f.tokensSrv.ClientLimits = httpx.NewRateLimiter(1, 1, f.clock.Now)
		mustOK(t, f.introspect(access, f.other.ID, f.otherSecret))
		r := f.introspect(access, f.other.ID, f.otherSecret)
		checkEnvelope(t, r, http.StatusTooManyRequests, "TOO_MANY_REQUESTS", "")
		if r.body["active"] != nil || r.header.Get("Retry-After") == "" {
			t.Fatalf("a 429 must not look like an answer: %v %s", r.header, r.raw)
		}
	})
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
