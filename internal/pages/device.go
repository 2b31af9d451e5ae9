package pages

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/httpx"
	"github.com/nomosauth/nomosauth/internal/ids"
	"github.com/nomosauth/nomosauth/internal/metrics"
	"github.com/nomosauth/nomosauth/internal/oauth"
	"github.com/nomosauth/nomosauth/internal/store"
)

// Paths of the device pages (PRODUCT T11; RFC 8628 §3.3): the entry page
// is the verification_uri the device authorization endpoint names.
const (
	PathDevice   = oauth.PathDevice
	PathDeviceQR = PathDevice + "/qr"
)

// Devices is what the device pages read and answer of device
// authorization requests (PRODUCT T11).
type Devices interface {
	DeviceRequestByUserCode(ctx context.Context, h string) (domain.DeviceRequest, error)
	AnswerDeviceRequest(ctx context.Context, id string, approve bool, g domain.Grant, by domain.Origin) (domain.DeviceRequest, error)
}

// devicePage is GET /device: the code entry form. A verification_uri_complete
// link fills the code in but never sends it (PRODUCT T11; RFC 8628 §5.4:
// a link a phisher sent must still end at the confirm page), and shows the
// link as a QR code, so a customer on a laptop can go on on a phone.
func (p *Pages) devicePage(w http.ResponseWriter, r *http.Request) error {
	b, err := p.loadBrowser(w, r, true)
	if err != nil {
		return err
	}
	b = b.forJourney()
	v := deviceView{layout: p.base(r, b)}
	if code, ok := oauth.ParseUserCode(r.URL.Query().Get("user_code")); ok {
		v.UserCode = oauth.FormatUserCode(code)
		v.QR = PathDeviceQR + "?" + url.Values{"user_code": {v.UserCode}}.Encode()
	}
	p.render(w, http.StatusOK, "device", v)
	return nil
}

// deviceQR is GET /device/qr: the complete verification link of a user
// code as an SVG QR code, drawn here so the pages load nothing from
// elsewhere (PRODUCT T11, A10). It reads nothing: the code's format is
// all it checks, and the link carries nothing secret.
func (p *Pages) deviceQR(w http.ResponseWriter, r *http.Request) error {
	code, ok := oauth.ParseUserCode(r.URL.Query().Get("user_code"))
	if !ok {
		return p.fail(r, http.StatusBadRequest, "err_user_code_format")
	}
	svg, err := qrSVG(p.VerificationURIComplete(code))
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'self'")
	h.Set("Cache-Control", "private, max-age=600")
	httpx.WriteRaw(w, http.StatusOK, "image/svg+xml", []byte(svg))
	return nil
}

// VerificationURIComplete is the link that carries code to the /device
// page (RFC 8628 §3.3.1).
func (p *Pages) VerificationURIComplete(code string) string {
	return strings.TrimSuffix(p.Issuer, "/") + PathDevice + "?" + url.Values{"user_code": {oauth.FormatUserCode(code)}}.Encode()
}

// device is POST /device: the typed code (entry), or the customer's answer
// on the confirm page (a form with a device seal and a decision).
func (p *Pages) device(w http.ResponseWriter, r *http.Request) error {
	form, b, err := p.readForm(w, r, true)
	if err != nil {
		return err
	}
	if form.Has("decision") {
		return p.deviceAnswer(w, r, b, form)
	}
	code, ok := oauth.ParseUserCode(form.Get("user_code"))
	if !ok {
		// Not a guess at all, so no try is counted (PRODUCT T11).
		return p.renderDevice(w, r, b, form.Get("user_code"), p.text(r, "err_user_code_format"))
	}
	if msg := p.deviceThrottle(w, r, b, false); msg != "" {
		return p.renderDevice(w, r, b, oauth.FormatUserCode(code), msg)
	}
	req, err := p.Devices.DeviceRequestByUserCode(r.Context(), ids.UserCodeHash(p.UserCodeKey, code))
	if errors.Is(err, store.ErrNotFound) {
		// A wrong code costs a try, per browser and per address, like a
		// wrong one-time code (PRODUCT T11, A7).
		msg := p.deviceThrottle(w, r, b, true)
		if msg == "" {
			msg = p.text(r, "err_user_code_unknown")
		}
		p.Log.Info("unknown device user code", "request_id", requestID(r))
		return p.renderDevice(w, r, b, oauth.FormatUserCode(code), msg)
	}
	if err != nil {
		return fmt.Errorf("load device request: %w", err)
	}
	return p.deviceContinue(w, r, b, req, code, p.sealDevice(code, p.Now()))
}

// deviceContinue leads a customer who entered a live code on: to sign-in
// without a session (the sealed code goes along and brings them back,
// PRODUCT A7), else to the confirm page.
func (p *Pages) deviceContinue(w http.ResponseWriter, r *http.Request, b *browser, req domain.DeviceRequest, code, seal string) error {
	if key := p.deviceClosed(req); key != "" {
		return p.renderDevice(w, r, b, "", p.text(r, key))
	}
	if b.customer == nil {
		b.device = seal
		return p.renderSignin(w, r, b, nil, "", "")
	}
	client, err := p.Directory.GetClient(r.Context(), req.ClientID)
	if err != nil {
		return fmt.Errorf("load client: %w", err)
	}
	// Nothing to confirm for an app that may no longer get tokens, or for
	// a customer who is not one of its organization's (PRODUCT T11, A9):
	// say so before asking, not after the Allow.
	if key := deviceRefusal(client, *b.customer); key != "" {
		return p.fail(r, http.StatusForbidden, key)
	}
	org, err := p.Directory.GetOrg(r.Context(), req.OrgID)
	if err != nil {
		return fmt.Errorf("load organization: %w", err)
	}
	v := deviceConfirmView{layout: p.base(r, b), App: client.Name, Org: org.Name, DeviceName: req.DeviceName,
		UserCode: oauth.FormatUserCode(code), RequestedFrom: req.RequestedFrom, YourAddress: p.Addr(r), Seal: seal}
	v.RequestedAt = req.CreatedAt.UTC().Format(v.T["time_layout"])
	v.MinutesAgo = int(p.Now().Sub(req.CreatedAt) / time.Minute)
	for _, s := range req.Scopes {
		v.Scopes = append(v.Scopes, scopeText(v.T, s))
	}
	p.render(w, http.StatusOK, "device_confirm", v)
	return nil
}

// deviceResume brings a customer who signed in from the device page back
// to the confirm page of the code they entered (PRODUCT T11); the seal
// shows it was found, so it costs no try.
func (p *Pages) deviceResume(w http.ResponseWriter, r *http.Request, b *browser, seal string) error {
	code, ok := p.openDeviceSeal(seal, p.Now())
	if !ok {
		return p.renderDevice(w, r, b, "", p.text(r, "err_device_again"))
	}
	req, err := p.Devices.DeviceRequestByUserCode(r.Context(), ids.UserCodeHash(p.UserCodeKey, code))
	if errors.Is(err, store.ErrNotFound) {
		return p.renderDevice(w, r, b, "", p.text(r, "err_user_code_expired"))
	}
	if err != nil {
		return fmt.Errorf("load device request: %w", err)
	}
	return p.deviceContinue(w, r, b, req, code, seal)
}

// deviceRefusal is the message key when cust cannot let client's device
// in, or "": the client was disabled since it asked, or the customer is
// not one of its organization's (PRODUCT A9's rule for the device grant).
func deviceRefusal(client domain.Client, cust domain.Customer) string {
	switch {
	case client.Disabled:
		return "err_client_disabled"
	case cust.OrgID != client.OrgID:
		return "err_other_org"
	}
	return ""
}

// deviceClosed is the message key for a request the customer can no
// longer answer, or "" while it waits for them.
func (p *Pages) deviceClosed(req domain.DeviceRequest) string {
	switch {
	case !p.Now().Before(req.ExpiresAt):
		return "err_user_code_expired"
	case req.State != domain.DevicePending:
		return "err_user_code_answered"
	}
	return ""
}

// deviceAnswer records the customer's explicit Allow or Deny on the
// confirm page (PRODUCT T11): the seal names the code the customer entered
// and this server found, so the answer costs no try and cannot name
// another code; the store answers only a pending request in time.
func (p *Pages) deviceAnswer(w http.ResponseWriter, r *http.Request, b *browser, form url.Values) error {
	code, ok := p.openDeviceSeal(form.Get("device"), p.Now())
	if !ok {
		return p.renderDevice(w, r, b, "", p.text(r, "err_device_again"))
	}
	if b.customer == nil {
		// The session ended while the page was open: sign in again.
		b.device = form.Get("device")
		return p.renderSignin(w, r, b, nil, "", p.text(r, "err_session"))
	}
	var approve bool
	switch form.Get("decision") {
	case "allow":
		approve = true
	case "deny":
	default:
		return p.fail(r, http.StatusBadRequest, "err_consent_choice")
	}
	req, err := p.Devices.DeviceRequestByUserCode(r.Context(), ids.UserCodeHash(p.UserCodeKey, code))
	if errors.Is(err, store.ErrNotFound) {
		return p.renderDevice(w, r, b, "", p.text(r, "err_user_code_expired"))
	}
	if err != nil {
		return fmt.Errorf("load device request: %w", err)
	}
	if key := p.deviceClosed(req); key != "" {
		return p.renderDevice(w, r, b, "", p.text(r, key))
	}
	cust := *b.customer
	if approve {
		client, err := p.Directory.GetClient(r.Context(), req.ClientID)
		if err != nil {
			return fmt.Errorf("load client: %w", err)
		}
		if key := deviceRefusal(client, cust); key != "" {
			return p.fail(r, http.StatusForbidden, key)
		}
	}
	now := p.Now()
	var g domain.Grant
	if approve {
		id, err := p.IDs.ID(domain.PrefixGrant)
		if err != nil {
			return err
		}
		g = domain.Grant{ID: id, CustomerID: cust.ID, ClientID: req.ClientID, OrgID: req.OrgID, Scopes: req.Scopes, CreatedAt: now, UpdatedAt: now}
	}
	_, err = p.Devices.AnswerDeviceRequest(r.Context(), req.ID, approve, g, p.origin(r, customerActor(cust.ID), now))
	if errors.Is(err, store.ErrConflict) {
		// Answered in another tab, or expired, since the lookup.
		return p.renderDevice(w, r, b, "", p.text(r, "err_user_code_answered"))
	}
	if err != nil {
		return fmt.Errorf("answer device request: %w", err)
	}
	p.Log.Info("customer answered a device request", "request_id", requestID(r), "customer_id", cust.ID,
		"device_request_id", req.ID, "client_id", req.ClientID, "approved", approve)
	p.render(w, http.StatusOK, "device_done", deviceDoneView{layout: p.base(r, b), Approved: approve})
	return nil
}

func (p *Pages) renderDevice(w http.ResponseWriter, r *http.Request, b *browser, typed, msg string) error {
	v := deviceView{layout: p.base(r, b), UserCode: typed, Error: msg}
	p.render(w, formStatus(w, msg), "device", v)
	return nil
}

// deviceThrottle limits wrong user codes per browser and per source
// address (PRODUCT T11: like one-time codes). spend is set after a wrong
// code; before a lookup it only looks, so a right code costs nothing. On
// refusal it sets Retry-After (a 429 page, formStatus) and returns the
// message that says when to try again.
func (p *Pages) deviceThrottle(w http.ResponseWriter, r *http.Request, b *browser, spend bool) string {
	take := (*httpx.RateLimiter).Peek
	if spend {
		take = (*httpx.RateLimiter).Take
	}
	dec, which := take(p.DeviceBrowserLimits, "device-browser:"+b.hash), metrics.DeviceBrowser
	if dec.Allowed {
		dec, which = take(p.DeviceAddrLimits, "device-addr:"+httpx.AddrKey(p.Addr(r))), metrics.DeviceAddr
	}
	if dec.Allowed {
		return ""
	}
	p.Metrics.RateLimited(which)
	w.Header().Set("Retry-After", strconv.Itoa(dec.RetryAfter))
	return fmt.Sprintf(p.text(r, "err_user_code_throttled"), dec.RetryAfter)
}

// sealDevice binds a user code this server found to when it did, under
// the CSRF key: "unix.CODE.mac". It goes with the sign-in forms and the
// confirm page (PRODUCT T11), so the customer comes back to this code
// after the one-time code, and the answer needs no second try.
func (p *Pages) sealDevice(code string, at time.Time) string {
	ts := strconv.FormatInt(at.Unix(), 10)
	return ts + "." + code + "." + p.deviceMAC(ts, code)
}

func (p *Pages) deviceMAC(ts, code string) string {
	m := hmac.New(sha256.New, p.CSRFKey)
	m.Write([]byte("device\x00" + ts + "\x00" + code))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// openDeviceSeal returns the code of a seal made within a device code's
// lifetime; ok is false for a missing, forged, future or old one.
func (p *Pages) openDeviceSeal(seal string, now time.Time) (code string, ok bool) {
	parts := strings.Split(seal, ".")
	if len(parts) != 3 {
		return "", false
	}
	n, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil || !hmac.Equal([]byte(parts[2]), []byte(p.deviceMAC(parts[0], parts[1]))) {
		return "", false
	}
	at := time.Unix(n, 0)
	if at.After(now.Add(time.Minute)) || now.Sub(at) > oauth.DeviceCodeTTL {
		return "", false
	}
	return parts[1], true
}
