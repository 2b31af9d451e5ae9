package oauth

import (
	"net/url"

	"github.com/nomosauth/nomosauth/internal/problem"
)

// Grant types of the token endpoint (PRODUCT Endpoints).
const (
	GrantClientCredentials = "client_credentials"
	GrantRefreshToken      = "refresh_token"
	GrantAuthorizationCode = "authorization_code"
)

// maxParamLen bounds every single token-request parameter (PRODUCT S4).
const maxParamLen = 2048

// TokenRequest is a parsed token request, before any grant rule ran.
type TokenRequest struct {
	GrantType    string
	Scope        string
	RefreshToken string
	Code         string
	RedirectURI  string
	CodeVerifier string
	// DeviceCode is RFC 8628 §3.4's device_code (PRODUCT T11).
	DeviceCode string
}

// ParseTokenRequest reads the grant parameters of RFC 6749 §4 and §6. The
// body decoder has already refused repeated parameters (PRODUCT T2).
func ParseTokenRequest(params url.Values) (TokenRequest, error) {
	for name, values := range params {
		for _, v := range values {
			if len(v) > maxParamLen {
				return TokenRequest{}, problem.InvalidRequest("parameter " + problem.Quote(name) + " is too long")
			}
		}
	}
	req := TokenRequest{
		GrantType:    params.Get("grant_type"),
		Scope:        params.Get("scope"),
		RefreshToken: params.Get("refresh_token"),
		Code:         params.Get("code"),
		RedirectURI:  params.Get("redirect_uri"),
		CodeVerifier: params.Get("code_verifier"),
		DeviceCode:   params.Get("device_code"),
	}
	if req.GrantType == "" {
		return TokenRequest{}, problem.InvalidRequest("grant_type is required")
	}
	if req.GrantType == GrantRefreshToken && req.RefreshToken == "" {
		return TokenRequest{}, problem.InvalidRequest("refresh_token is required")
	}
	if req.GrantType == GrantAuthorizationCode && req.Code == "" {
		return TokenRequest{}, problem.InvalidRequest("code is required")
	}
	if req.GrantType == GrantDeviceCode && req.DeviceCode == "" {
		return TokenRequest{}, problem.InvalidRequest("device_code is required")
	}
	return req, nil
}
