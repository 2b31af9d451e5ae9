package oauth

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/problem"
)

func TestParseDeviceAuthorization(t *testing.T) {
	device := domain.Client{ID: "client_1", Public: true, DeviceGrant: true, Scopes: domain.Scopes{domain.ScopeRead, domain.ScopeWrite}}
	readOnly := device
	readOnly.Scopes = domain.Scopes{}
	plain := device
	plain.DeviceGrant = false
	for _, tc := range []struct {
		name      string
		client    domain.Client
		params    url.Values
		want      DeviceAuthorization
		oauthErr  string
		wantError bool
	}{
		{"T11/default_scope_read", device, url.Values{}, DeviceAuthorization{Scopes: domain.Scopes{domain.ScopeRead}}, "", false},
		{"T11/identity_scopes_allowed", device, url.Values{"scope": {"openid email"}}, DeviceAuthorization{Scopes: domain.Scopes{domain.ScopeEmail, domain.ScopeOpenID}}, "", false},
		{"T11/device_name_kept", device, url.Values{"device_name": {"  Wallbox Garage  "}}, DeviceAuthorization{Scopes: domain.Scopes{domain.ScopeRead}, DeviceName: "Wallbox Garage"}, "", false},
		{"T11/device_name_unicode", device, url.Values{"device_name": {"Wärmepumpe Küche"}}, DeviceAuthorization{Scopes: domain.Scopes{domain.ScopeRead}, DeviceName: "Wärmepumpe Küche"}, "", false},
		{"T11/device_name_64_chars", device, url.Values{"device_name": {strings.Repeat("ä", 64)}}, DeviceAuthorization{Scopes: domain.Scopes{domain.ScopeRead}, DeviceName: strings.Repeat("ä", 64)}, "", false},
		{"T11/client_without_device_grant", plain, url.Values{}, DeviceAuthorization{}, "unauthorized_client", true},
		{"T7/write_refused", device, url.Values{"scope": {"read:* write:*"}}, DeviceAuthorization{}, "invalid_scope", true},
		{"T11/unknown_scope", device, url.Values{"scope": {"admin"}}, DeviceAuthorization{}, "invalid_scope", true},
		{"T11/scope_beyond_client", readOnly, url.Values{"scope": {"read:*"}}, DeviceAuthorization{}, "invalid_scope", true},
		{"T12/email_needs_openid", device, url.Values{"scope": {"email"}}, DeviceAuthorization{}, "invalid_scope", true},
		{"T11/device_name_too_long", device, url.Values{"device_name": {strings.Repeat("a", 65)}}, DeviceAuthorization{}, "invalid_request", true},
		{"T11/device_name_control", device, url.Values{"device_name": {"Wall\nbox"}}, DeviceAuthorization{}, "invalid_request", true},
		{"T11/device_name_bidi_override", device, url.Values{"device_name": {"box\u202eevil"}}, DeviceAuthorization{}, "invalid_request", true},
		{"T11/device_name_two_marks_kept", device, url.Values{"device_name": {"Ga\u0301\u0308rage"}}, DeviceAuthorization{Scopes: domain.Scopes{domain.ScopeRead}, DeviceName: "Ga\u0301\u0308rage"}, "", false},
		{"T11/device_name_stacked_marks", device, url.Values{"device_name": {"e" + strings.Repeat("\u0301", 8)}}, DeviceAuthorization{}, "invalid_request", true},
		{"T11/device_name_bad_utf8", device, url.Values{"device_name": {"box\xff"}}, DeviceAuthorization{}, "invalid_request", true},
		{"T2/oversized_parameter", device, url.Values{"x": {strings.Repeat("a", 3000)}}, DeviceAuthorization{}, "invalid_request", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseDeviceAuthorization(tc.params, tc.client)
			if tc.wantError {
				var p *problem.Error
				if !errors.As(err, &p) || p.OAuthError != tc.oauthErr || p.Status != 400 {
					t.Fatalf("err = %v, want 400 %s", err, tc.oauthErr)
				}
				return
			}
			if err != nil || got.DeviceName != tc.want.DeviceName || got.Scopes.Canonical().String() != tc.want.Scopes.Canonical().String() {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}
