package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/ids"
	"github.com/nomosauth/nomosauth/internal/oauth"
	"github.com/nomosauth/nomosauth/internal/store/sqlite"
	"github.com/nomosauth/nomosauth/internal/testfix"
)

// TestDeviceGrantEndToEnd pairs a device with golang.org/x/oauth2's
// Config.DeviceAuth and Config.DeviceAccessToken, unchanged, against the
// binary (PRODUCT T11), through a slow_down: a second poller (curl in the
// README) polls between the library's polls, so the library's next poll
// comes too soon, gets slow_down and must wait five seconds longer. The
// customer's Allow is given through the store on the same SQLite file
// while the binary runs (the hosted /device page is the browser test's).
func TestDeviceGrantEndToEnd(t *testing.T) {
	bin := binary(t)
	db := filepath.Join(t.TempDir(), "device.db")
	srv := start(t, bin, db)
	org := admin(t, bin, db, "org", "create", "--name", "Sunny Energy")["id"].(string)
	client := admin(t, bin, db, "client", "create", "--org", org, "--name", "Wallbox", "--public", "--device-grant")
	clientID := client["client_id"].(string)
	cus := admin(t, bin, db, "customer", "create", "--org", org, "--email", "ada@example.com", "--first-name", "Ada", "--last-name", "Lovelace")["id"].(string)
	metrics := srv.metricsURL(t)

	ctx := t.Context()
	conf := oauth2.Config{ClientID: clientID, Scopes: []string{"read:*"}, Endpoint: oauth2.Endpoint{
		DeviceAuthURL: srv.base + "/oauth/device_authorization", TokenURL: srv.base + "/oauth/token", AuthStyle: oauth2.AuthStyleInParams}}
	da, err := conf.DeviceAuth(ctx, oauth2.SetAuthURLParam("device_name", "Wallbox Garage"))
	if err != nil {
		t.Fatal(err)
	}
	if da.VerificationURI != "http://127.0.0.1/device" || da.VerificationURIComplete != "http://127.0.0.1/device?user_code="+da.UserCode || da.Interval != 5 ||
		time.Until(da.Expiry) < 9*time.Minute {
		t.Fatalf("T11: device authorization %+v", da)
	}

	type result struct {
		tok *oauth2.Token
		err error
	}
	done := make(chan result, 1)
	go func() {
		tok, err := conf.DeviceAccessToken(ctx, da)
		done <- result{tok, err}
	}()
	// The other poller, inside the library's first five seconds: the
	// first poll of the code, so authorization_pending.
	time.Sleep(2 * time.Second)
	if status, code := pollOnce(t, srv.base, clientID, da.DeviceCode); status != 400 || code != "authorization_pending" {
		t.Fatalf("T11: the other poller got %d %s", status, code)
	}
	within(t, 10*time.Second, "the library's poll answered slow_down", func() bool {
		return testfix.Scrape(t, metrics).Value("nomosauth_token_requests_total", "grant", "device_code", "outcome", "slow_down") == 1
	})

	st, err := sqlite.OpenExisting(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	key, err := st.ServerKey(ctx, "user-code", []byte("a candidate the running server's key already beat"))
	if err != nil {
		t.Fatal(err)
	}
	code, _ := oauth.ParseUserCode(da.UserCode)
	req, err := st.DeviceRequestByUserCode(ctx, ids.UserCodeHash(key, code))
	if err != nil {
		t.Fatal(err)
	}
	if req.DeviceName != "Wallbox Garage" || req.RequestedFrom != "127.0.0.1" || req.Interval != 10*time.Second {
		t.Fatalf("T11: stored request %+v", req)
	}
	now := time.Now()
	if _, err := st.AnswerDeviceRequest(ctx, req.ID, true, domain.Grant{ID: "grt_e2e_device", CustomerID: cus, ClientID: clientID, OrgID: org,
		Scopes: req.Scopes, CreatedAt: now, UpdatedAt: now}, domain.Origin{Actor: domain.Actor{Kind: domain.ActorCustomer, ID: cus}, At: now}); err != nil {
		t.Fatal(err)
	}

	var got result
	select {
	case got = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("T11: DeviceAccessToken returned no token 30 s after the Allow")
	}
	if got.err != nil {
		t.Fatal(got.err)
	}
	claims := verifyWithJWKS(t, srv.base, got.tok.AccessToken)
	if claims["client_id"] != clientID || claims["scope"] != "read:*" || claims["sub"] != cus || got.tok.RefreshToken == "" {
		t.Fatalf("T11: claims %v, token %+v", claims, got.tok)
	}
	// The customer's data, read with the device's token.
	var me struct {
		ID string `json:"id"`
	}
	getJSON(t, oauth2.NewClient(ctx, oauth2.StaticTokenSource(got.tok)), srv.base+"/customers/"+cus, &me)
	if me.ID != cus {
		t.Fatalf("T11: customer %+v", me)
	}
	// Tokens once: the code is spent.
	if status, code := pollOnce(t, srv.base, clientID, da.DeviceCode); status != 401 || code != "invalid_grant" {
		t.Fatalf("T11: a second redemption got %d %s", status, code)
	}
}

// pollOnce is one device poll of the token endpoint, as curl would send it.
func pollOnce(t *testing.T, base, clientID, deviceCode string) (int, string) {
	t.Helper()
	resp, err := http.PostForm(base+"/oauth/token", url.Values{"grant_type": {oauth.GrantDeviceCode}, "client_id": {clientID}, "device_code": {deviceCode}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Error string `json:"error"`
	}
	json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body.Error
}
