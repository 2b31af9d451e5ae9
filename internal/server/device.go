package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/httpx"
	"github.com/nomosauth/nomosauth/internal/ids"
	"github.com/nomosauth/nomosauth/internal/oauth"
	"github.com/nomosauth/nomosauth/internal/problem"
	"github.com/nomosauth/nomosauth/internal/store"
)

// PathDeviceAuthorization is RFC 8628 §3.1's device authorization
// endpoint (PRODUCT T11).
const PathDeviceAuthorization = "/oauth/device_authorization"

// DeviceStore is what the device grant needs from storage (PRODUCT T11).
type DeviceStore interface {
	CreateDeviceRequest(ctx context.Context, d domain.DeviceRequest) error
	PollDevice(ctx context.Context, presented string, fam domain.Family, by domain.Origin, decide store.DeviceDecider) (store.DevicePoll, error)
}

// DeviceAuthorizationResponse is RFC 8628 §3.2's answer.
type DeviceAuthorizationResponse struct {
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int    `json:"expires_in"`
	Interval                int    `json:"interval"`
}

// userCodeDraws bounds how often a user code is drawn again when the one
// drawn is held by another live request: 20^8 codes make even one repeat
// rare.
const userCodeDraws = 3

// ServeDeviceAuthorization is POST /oauth/device_authorization (PRODUCT
// T11; RFC 8628 §3.1, §3.2): the client authenticates as at the token
// endpoint (T1), the request is admitted by oauth.ParseDeviceAuthorization
// and stored pending, with only the codes' hashes and the address it came
// from, which the customer is shown.
func (t *Tokens) ServeDeviceAuthorization(w http.ResponseWriter, r *http.Request) (err error) {
	defer func() { t.Metrics.DeviceAuthorization(tokenOutcome(err)) }()
	params, client, err := t.admitClient(w, r)
	if err != nil {
		return err
	}
	req, err := oauth.ParseDeviceAuthorization(params, client)
	if err != nil {
		return err
	}
	now := t.Now()
	id, err := t.IDs.ID(domain.PrefixDevice)
	if err != nil {
		return err
	}
	deviceCode, err := t.IDs.DeviceCode()
	if err != nil {
		return err
	}
	d := domain.DeviceRequest{ID: id, DeviceCodeHash: ids.Hash(deviceCode), ClientID: client.ID, OrgID: client.OrgID,
		Scopes: req.Scopes, DeviceName: req.DeviceName, RequestedFrom: t.Addr(r), CreatedAt: now,
		ExpiresAt: now.Add(oauth.DeviceCodeTTL), Interval: oauth.DeviceInterval, State: domain.DevicePending}
	var userCode string
	for range userCodeDraws {
		if userCode, err = t.IDs.Letters(domain.UserCodeAlphabet, domain.UserCodeLength); err != nil {
			return err
		}
		// Keyed: 20^8 codes would fall to an offline search of a plain hash.
		d.UserCodeHash = ids.UserCodeHash(t.UserCodeKey, userCode)
		if err = t.Store.CreateDeviceRequest(r.Context(), d); !errors.Is(err, store.ErrConflict) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("create device request: %w", err)
	}
	verification := strings.TrimSuffix(t.IssuerURL, "/") + oauth.PathDevice
	shown := oauth.FormatUserCode(userCode)
	// RFC 8628 §3.2 with RFC 6749 §5.1: the codes are never cached.
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	httpx.WriteJSON(w, http.StatusOK, DeviceAuthorizationResponse{
		DeviceCode: deviceCode, UserCode: shown, VerificationURI: verification,
		VerificationURIComplete: verification + "?" + url.Values{"user_code": {shown}}.Encode(),
		ExpiresIn:               int(oauth.DeviceCodeTTL / time.Second), Interval: int(oauth.DeviceInterval / time.Second),
	})
	return nil
}

// pollDevice is PRODUCT T11 at the token endpoint (RFC 8628 §3.4, §3.5):
// the store runs oauth.DevicePollRule inside its transaction, records the
// poll (a slow_down grows the interval) and, once the customer allowed,
// starts the family with the request's customer and scopes and marks the
// request redeemed, in one commit, so twenty racing polls get one pair.
func (t *Tokens) pollDevice(ctx context.Context, client domain.Client, req oauth.TokenRequest, by domain.Origin) (Response, error) {
	if err := oauth.CheckDeviceGrant(client); err != nil {
		return Response{}, err
	}
	now := t.Now()
	by.At = now
	fam, refresh, err := t.newFamily(now)
	if err != nil {
		return Response{}, err
	}
	rule := oauth.DevicePollRule{Client: client, Now: now}
	cctx, span := t.Tracer.Start(ctx, SpanCommit)
	poll, err := t.Store.PollDevice(cctx, ids.Hash(req.DeviceCode), fam, by,
		func(d domain.DeviceRequest, g domain.Grant) (domain.DeviceVerdict, error) {
			return decided(t, cctx, func() (domain.DeviceVerdict, error) { return rule.Decide(d, g) })
		})
	endSpan(span, err)
	if errors.Is(err, store.ErrNotFound) {
		return Response{}, problem.InvalidGrant("device code is invalid")
	}
	if err != nil {
		return Response{}, fmt.Errorf("poll device: %w", err)
	}
	t.Metrics.DevicePoll(poll.Verdict)
	if err := oauth.DevicePollRefusal(poll.Verdict); err != nil {
		return Response{}, err
	}
	// PRODUCT T7: a customer token is read-only, whatever was stored.
	return t.pair(ctx, poll.Family, oauth.CustomerScopes(poll.Family.Scopes), refresh, now)
}
