package oauth

import (
	"errors"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/problem"
)

// PathDevice is the hosted page where the customer enters a device's user
// code (PRODUCT T11): the verification_uri of RFC 8628 §3.2.
const PathDevice = "/device"

// MaxDeviceNameLen bounds the device_name a client declares, in
// characters: it is shown to the customer on the confirm page.
const MaxDeviceNameLen = 64

// DeviceAuthorization is a device authorization request (RFC 8628 §3.1)
// as PRODUCT T11 admits it.
type DeviceAuthorization struct {
	Scopes domain.Scopes
	// DeviceName is the device's name as the client declares it, or "".
	DeviceName string
}

// ParseDeviceAuthorization is PRODUCT T11 at the device authorization
// endpoint, for a client already authenticated (T1): only a client the
// operator enabled for the grant may ask; the scope follows the
// authorization endpoint's rule (customer tokens are read-only, A4, T7,
// T12); device_name is optional, bounded and printable, since the customer
// reads it.
func ParseDeviceAuthorization(params url.Values, client domain.Client) (DeviceAuthorization, error) {
	if err := CheckDeviceGrant(client); err != nil {
		return DeviceAuthorization{}, err
	}
	for name, values := range params {
		for _, v := range values {
			if len(v) > maxParamLen {
				return DeviceAuthorization{}, problem.InvalidRequest("parameter " + problem.Quote(name) + " is too long")
			}
		}
	}
	scopes, err := DecideCustomerScope(params.Get("scope"), client)
	if err != nil {
		return DeviceAuthorization{}, err
	}
	name, err := parseDeviceName(params.Get("device_name"))
	if err != nil {
		return DeviceAuthorization{}, err
	}
	return DeviceAuthorization{Scopes: scopes, DeviceName: name}, nil
}

// CheckDeviceGrant is PRODUCT T11's opt-in: the device grant is enabled
// per client by the operator (client create --device-grant); any other
// client is unauthorized_client (RFC 6749 §5.2), at the device
// authorization endpoint and at the token endpoint alike.
func CheckDeviceGrant(client domain.Client) error {
	if !client.DeviceGrant {
		return problem.UnauthorizedClient("this client may not use the device authorization grant")
	}
	return nil
}

// DecideCustomerScope is the scope rule of a customer's authorization
// (PRODUCT A4, T7, T12), the one the authorization endpoint applies,
// answered as the token endpoint's invalid_scope: read:* by default, never
// write:*, the identity scopes open to every client.
func DecideCustomerScope(raw string, client domain.Client) (domain.Scopes, error) {
	scopes, err := decideAuthorizeScope(raw, client)
	var refused *AuthorizeError
	if errors.As(err, &refused) {
		return nil, problem.InvalidScope(refused.Description)
	}
	return scopes, err
}

// parseDeviceName reads device_name: surrounding spaces go; invalid UTF-8,
// anything domain.PrintableText refuses (control or format characters, a
// bidi override could make the name read as another; stacked combining
// marks) and names over MaxDeviceNameLen characters are invalid_request.
func parseDeviceName(raw string) (string, error) {
	name := strings.TrimSpace(raw)
	if !utf8.ValidString(name) {
		return "", problem.InvalidRequest("device_name is not valid UTF-8")
	}
	if utf8.RuneCountInString(name) > MaxDeviceNameLen {
		return "", problem.InvalidRequest("device_name is too long: at most 64 characters")
	}
	if !domain.PrintableText(name) {
		return "", problem.InvalidRequest("device_name may hold only printable characters, with at most two combining marks on a letter")
	}
	return name, nil
}
