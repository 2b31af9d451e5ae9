package server

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nomosauth/nomosauth/internal/admin"
	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/ids"
	"github.com/nomosauth/nomosauth/internal/oauth"
	"github.com/nomosauth/nomosauth/internal/testfix"
)

const testUserCodeKey = "test user code key"

// deviceClients adds two device-enabled clients to f: a public one (a
// charger's app) and a confidential one of the same organization.
func (f *fixture) deviceClients(t *testing.T) (public domain.Client, conf domain.Client, confSecret string) {
	t.Helper()
	ctx := context.Background()
	public, _, err := f.admin.CreateClient(ctx, admin.ClientSpec{OrgID: f.client.OrgID, Name: "Charger", Public: true, DeviceGrant: true, Scope: "read:*"})
	testfix.Check(t, err)
	conf, confSecret, err = f.admin.CreateClient(ctx, admin.ClientSpec{OrgID: f.client.OrgID, Name: "Heat pump", DeviceGrant: true})
	testfix.Check(t, err)
	return public, conf, confSecret
}

// deviceAuthorize posts a device authorization request; basic is an
// optional id and secret.
func (f *fixture) deviceAuthorize(body string, basic ...string) result {
	f.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+PathDeviceAuthorization, strings.NewReader(body))
	req.Header.Set("Content-Type", form)
	if len(basic) == 2 {
		req.SetBasicAuth(url.QueryEscape(basic[0]), url.QueryEscape(basic[1]))
	}
	return f.do(req)
}

func (f *fixture) pollDevice(clientID, deviceCode string) result {
	f.t.Helper()
	return f.post(form, "grant_type="+url.QueryEscape(oauth.GrantDeviceCode)+"&client_id="+clientID+"&device_code="+url.QueryEscape(deviceCode))
}

// answerDevice answers the request of userCode as a new customer would on
// the /device page, straight through the store.
func (f *fixture) answerDevice(t *testing.T, userCode string, approve bool) domain.Customer {
	t.Helper()
	ctx := context.Background()
	code, ok := oauth.ParseUserCode(userCode)
	if !ok {
		t.Fatalf("user code %q", userCode)
	}
	req, err := f.store.DeviceRequestByUserCode(ctx, ids.UserCodeHash([]byte(testUserCodeKey), code))
	testfix.Check(t, err)
	cus, err := f.admin.CreateCustomer(ctx, admin.CustomerSpec{OrgID: req.OrgID, FirstName: "Ada", LastName: "Lovelace",
		Email: "ada" + time.Now().Format("150405.000000000") + "@example.com"})
	testfix.Check(t, err)
	now := f.clock.Now()
	g := domain.Grant{ID: "grt_" + cus.ID, CustomerID: cus.ID, ClientID: req.ClientID, OrgID: req.OrgID, Scopes: req.Scopes, CreatedAt: now, UpdatedAt: now}
	_, err = f.store.AnswerDeviceRequest(ctx, req.ID, approve, g, domain.Origin{Actor: domain.Actor{Kind: domain.ActorCustomer, ID: cus.ID}, At: now})
	testfix.Check(t, err)
	return cus
}

// TestDeviceAuthorizationEndpoint is PRODUCT T11 at
// /oauth/device_authorization: who may ask, with which scope and name,
// and RFC 8628 §3.2's answer.
func TestDeviceAuthorizationEndpoint(t *testing.T) {
	f := newFixture(t)
	public, conf, confSecret := f.deviceClients(t)
	for _, tc := range []struct {
		name, body     string
		basic          []string
		status         int
		code, oauthErr string
	}{
		{"T11/unauthorized_client", "client_id=" + f.public.ID, nil, 400, "BAD_REQUEST", "unauthorized_client"},
		{"T11/unauthorized_confidential_client", "", []string{f.client.ID, f.secret}, 400, "BAD_REQUEST", "unauthorized_client"},
		{"T11/unknown_client", "client_id=client_nobody", nil, 401, "UNAUTHORIZED", "invalid_client"},
		{"T11/wrong_secret", "", []string{conf.ID, confSecret + "x"}, 401, "UNAUTHORIZED", "invalid_client"},
		{"T11/write_scope_refused", "client_id=" + public.ID + "&scope=" + url.QueryEscape("read:* write:*"), nil, 400, "BAD_REQUEST", "invalid_scope"},
		{"T11/unknown_scope", "client_id=" + public.ID + "&scope=admin", nil, 400, "BAD_REQUEST", "invalid_scope"},
		{"T11/device_name_too_long", "client_id=" + public.ID + "&device_name=" + strings.Repeat("x", 65), nil, 400, "BAD_REQUEST", "invalid_request"},
		{"T11/device_name_control_character", "client_id=" + public.ID + "&device_name=" + url.QueryEscape("a\x07b"), nil, 400, "BAD_REQUEST", "invalid_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := f.snapshot()
			checkEnvelope(t, f.deviceAuthorize(tc.body, tc.basic...), tc.status, tc.code, tc.oauthErr)
			if f.snapshot() != before {
				t.Fatal("a refused request changed data")
			}
		})
	}

	t.Run("T11/answer", func(t *testing.T) {
		r := f.deviceAuthorize("client_id=" + public.ID + "&scope=read:*&device_name=" + url.QueryEscape("Wallbox Garage"))
		mustOK(t, r)
		if r.header.Get("Cache-Control") != "no-store" {
			t.Fatalf("RFC 8628 §3.2: Cache-Control %q", r.header.Get("Cache-Control"))
		}
		dc, uc := r.body["device_code"].(string), r.body["user_code"].(string)
		if !strings.HasPrefix(dc, ids.PrefixDeviceCode) || len(dc) != len(ids.PrefixDeviceCode)+43 {
			t.Fatalf("device_code %q", dc)
		}
		if !regexp.MustCompile(`^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$`).MatchString(uc) {
			t.Fatalf("user_code %q is not XXXX-XXXX of the consonant alphabet", uc)
		}
		if r.body["verification_uri"] != testIssuer+"/device" || r.body["verification_uri_complete"] != testIssuer+"/device?user_code="+uc ||
			r.body["expires_in"] != float64(600) || r.body["interval"] != float64(5) {
			t.Fatalf("RFC 8628 §3.2: %s", r.raw)
		}
		code, _ := oauth.ParseUserCode(uc)
		if _, err := f.store.DeviceRequestByUserCode(context.Background(), ids.Hash(code)); err == nil {
			t.Fatal("T11/user_code_keyed: the user code is findable under its plain hash")
		}
		req, err := f.store.DeviceRequestByUserCode(context.Background(), ids.UserCodeHash([]byte(testUserCodeKey), code))
		testfix.Check(t, err)
		now := f.clock.Now()
		if req.DeviceCodeHash != ids.Hash(dc) || req.ClientID != public.ID || req.OrgID != public.OrgID || req.Scopes.String() != "read:*" ||
			req.DeviceName != "Wallbox Garage" || req.RequestedFrom != "127.0.0.1" || req.State != domain.DevicePending ||
			!req.ExpiresAt.Equal(now.Add(10*time.Minute)) || req.Interval != 5*time.Second {
			t.Fatalf("stored request %+v", req)
		}
	})

	t.Run("T11/confidential_client_basic", func(t *testing.T) {
		mustOK(t, f.deviceAuthorize("", conf.ID, confSecret))
	})

	m := testfix.Gather(t, f.registry)
	if m.Value("nomosauth_device_authorizations_total", "outcome", "ok") != 2 || m.Value("nomosauth_device_authorizations_total", "outcome", "unauthorized_client") != 2 {
		t.Fatal("O7: device authorizations are counted by outcome")
	}
}

// TestDevicePoll is PRODUCT T11 at the token endpoint (RFC 8628 §3.4,
// §3.5): pending, slow_down and its grown interval, denied, expired, the
// tokens once, and codes that are not this client's.
func TestDevicePoll(t *testing.T) {
	f := newFixture(t)
	public, conf, confSecret := f.deviceClients(t)
	start := func(t *testing.T) (deviceCode, userCode string) {
		t.Helper()
		r := f.deviceAuthorize("client_id=" + public.ID)
		mustOK(t, r)
		return r.body["device_code"].(string), r.body["user_code"].(string)
	}

	t.Run("T11/pending_then_slow_down_and_grown_interval", func(t *testing.T) {
		dc, _ := start(t)
		checkEnvelope(t, f.pollDevice(public.ID, dc), 400, "BAD_REQUEST", "authorization_pending")
		checkEnvelope(t, f.pollDevice(public.ID, dc), 400, "BAD_REQUEST", "slow_down")
		// The interval grew to 10 s: the first interval is too soon now.
		f.clock.Advance(5 * time.Second)
		checkEnvelope(t, f.pollDevice(public.ID, dc), 400, "BAD_REQUEST", "slow_down")
		f.clock.Advance(15 * time.Second)
		checkEnvelope(t, f.pollDevice(public.ID, dc), 400, "BAD_REQUEST", "authorization_pending")
	})

	t.Run("T11/expired", func(t *testing.T) {
		dc, _ := start(t)
		f.clock.Advance(10 * time.Minute)
		checkEnvelope(t, f.pollDevice(public.ID, dc), 400, "BAD_REQUEST", "expired_token")
	})

	t.Run("T11/denied", func(t *testing.T) {
		dc, uc := start(t)
		f.answerDevice(t, uc, false)
		checkEnvelope(t, f.pollDevice(public.ID, dc), 400, "BAD_REQUEST", "access_denied")
	})

	t.Run("T11/unknown_device_code", func(t *testing.T) {
		checkEnvelope(t, f.pollDevice(public.ID, "ndc_nothing"), 401, "UNAUTHORIZED", "invalid_grant")
	})

	t.Run("T11/missing_device_code", func(t *testing.T) {
		checkEnvelope(t, f.pollDevice(public.ID, ""), 400, "BAD_REQUEST", "invalid_request")
	})

	t.Run("T11/grant_refused_without_opt_in", func(t *testing.T) {
		dc, _ := start(t)
		checkEnvelope(t, f.pollDevice(f.public.ID, dc), 400, "BAD_REQUEST", "unauthorized_client")
	})

	t.Run("T11/issue_once", func(t *testing.T) {
		dc, uc := start(t)
		// Another client's poll neither gets the tokens nor spends them.
		other := f.post(form, "grant_type="+url.QueryEscape(oauth.GrantDeviceCode)+"&device_code="+url.QueryEscape(dc), conf.ID, confSecret)
		checkEnvelope(t, other, 401, "UNAUTHORIZED", "invalid_grant")
		cus := f.answerDevice(t, uc, true)
		f.clock.Advance(5 * time.Second)
		r := f.pollDevice(public.ID, dc)
		mustOK(t, r)
		if r.body["scope"] != "read:*" || r.body["token_type"] != "Bearer" || r.header.Get("Cache-Control") != "no-store" || r.body["refresh_token"] == "" {
			t.Fatalf("T4: %s", r.raw)
		}
		claims, err := f.issuer.Verify(r.body["access_token"].(string), f.clock.Now())
		testfix.Check(t, err)
		if claims.CustomerID != cus.ID || claims.ClientID != public.ID || claims.Scope != "read:*" {
			t.Fatalf("T7: claims %+v", claims)
		}
		// The family rotates like any other.
		mustOK(t, f.post(form, "grant_type=refresh_token&client_id="+public.ID+"&refresh_token="+url.QueryEscape(r.body["refresh_token"].(string))))
		f.clock.Advance(5 * time.Second)
		checkEnvelope(t, f.pollDevice(public.ID, dc), 401, "UNAUTHORIZED", "invalid_grant")
	})

	t.Run("T11/A11/grant_revoked_before_the_first_poll", func(t *testing.T) {
		// The customer allowed, then took it back on connected apps before
		// the device polled: the device gets nothing.
		dc, uc := start(t)
		cus := f.answerDevice(t, uc, true)
		_, _, err := f.store.RevokeGrant(context.Background(), "grt_"+cus.ID, domain.System(f.clock.Now()))
		testfix.Check(t, err)
		f.clock.Advance(5 * time.Second)
		checkEnvelope(t, f.pollDevice(public.ID, dc), 400, "BAD_REQUEST", "access_denied")
	})

	t.Run("T7/stored_write_never_minted", func(t *testing.T) {
		// A request stored with write:* (as no endpoint admits) still
		// yields a read-only customer token.
		now := f.clock.Now()
		dc, uc := "ndc_stored_write", "BCDFGHJK"
		testfix.Check(t, f.store.CreateDeviceRequest(context.Background(), domain.DeviceRequest{ID: "dev_stored_write", DeviceCodeHash: ids.Hash(dc),
			UserCodeHash: ids.UserCodeHash([]byte(testUserCodeKey), uc), ClientID: public.ID, OrgID: public.OrgID, Scopes: domain.APIScopes(),
			RequestedFrom: "127.0.0.1", CreatedAt: now, ExpiresAt: now.Add(10 * time.Minute), Interval: 5 * time.Second, State: domain.DevicePending}))
		f.answerDevice(t, uc, true)
		r := f.pollDevice(public.ID, dc)
		mustOK(t, r)
		if r.body["scope"] != "read:*" {
			t.Fatalf("T7: a device token got %v", r.body["scope"])
		}
	})

	m := testfix.Gather(t, f.registry)
	for _, c := range []struct {
		outcome string
		want    float64
	}{{"authorization_pending", 2}, {"slow_down", 2}, {"expired_token", 1}, {"access_denied", 2}, {"ok", 2}, {"unauthorized_client", 1}} {
		if got := m.Value("nomosauth_token_requests_total", "grant", "device_code", "outcome", c.outcome); got != c.want {
			t.Fatalf("O7: device_code %s counted %v, want %v", c.outcome, got, c.want)
		}
	}
	for _, c := range []struct {
		verdict string
		want    float64
	}{{"pending", 2}, {"slow_down", 2}, {"expired", 1}, {"denied", 2}, {"issued", 2}, {"redeemed", 1}} {
		if got := m.Value("nomosauth_device_polls_total", "verdict", c.verdict); got != c.want {
			t.Fatalf("O7: device poll %s counted %v, want %v", c.verdict, got, c.want)
		}
	}
}
