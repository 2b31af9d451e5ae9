package pages

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/httpx"
	"github.com/nomosauth/nomosauth/internal/ids"
	"github.com/nomosauth/nomosauth/internal/mail"
	"github.com/nomosauth/nomosauth/internal/metrics"
	"github.com/nomosauth/nomosauth/internal/oauth"
	"github.com/nomosauth/nomosauth/internal/problem"
	"github.com/nomosauth/nomosauth/internal/revoke"
	"github.com/nomosauth/nomosauth/internal/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets/style.css
var styleCSS []byte

// Paths of the hosted pages; the authorization endpoint itself is
// oauth.PathAuthorize.
const (
	PathConsent = "/oauth/consent"
	PathSignin  = "/signin"
	PathVerify  = "/signin/verify"
	PathSignup  = "/signup"
	PathApps    = "/account/apps"
	PathRevoke  = "/account/apps/revoke"
	PathSignout = "/signout"
	PathStyle   = "/assets/style.css"
)

// Defaults of the session lifetimes (PRODUCT A7).
const (
	DefaultSessionIdle = time.Hour
	DefaultSessionMax  = 24 * time.Hour
	// touchEvery limits activity writes to one a minute per session.
	touchEvery = time.Minute
	// maxFormBody bounds a hosted form; the authz field carries an
	// authorize query string, itself bounded below.
	maxFormBody = 16 << 10
	maxAuthzLen = 8 << 10
)

// cookieName holds the browser id. Under HTTPS it carries the __Host-
// prefix, so no subdomain can plant or read it (RFC 6265bis §4.1.3.2).
const (
	cookieName       = "nomosauth"
	secureCookieName = "__Host-nomosauth"
)

// Directory is what the pages read and write of organizations, clients
// and customers.
type Directory interface {
	GetClient(ctx context.Context, id string) (domain.Client, error)
	GetOrg(ctx context.Context, id string) (domain.Org, error)
	GetCustomer(ctx context.Context, id string) (domain.Customer, error)
	ListCustomers(ctx context.Context, f store.CustomerFilter, p store.Page) ([]domain.Customer, error)
	CreateCustomer(ctx context.Context, c domain.Customer, by domain.Origin) error
}

// Journey is what the pages keep of a customer's journey: sessions,
// one-time codes, grants and authorization codes.
type Journey interface {
	GetSession(ctx context.Context, hash string) (domain.Session, error)
	CreateSession(ctx context.Context, s domain.Session, by domain.Origin) error
	TouchSession(ctx context.Context, hash string, now time.Time) error
	DeleteSession(ctx context.Context, hash string) error
	CreateOneTimeCode(ctx context.Context, c domain.OneTimeCode) error
	PendingOneTimeCode(ctx context.Context, browserHash string) (domain.OneTimeCode, error)
	VerifyOneTimeCode(ctx context.Context, browserHash string, by domain.Origin, decide store.OneTimeDecider) (domain.OneTimeCode, domain.OneTimeVerdict, error)
	ActiveGrant(ctx context.Context, customerID, clientID string) (domain.Grant, error)
	UpsertGrant(ctx context.Context, g domain.Grant, by domain.Origin) (domain.Grant, error)
	ListGrants(ctx context.Context, customerID string) ([]domain.Grant, error)
	GetGrant(ctx context.Context, id string) (domain.Grant, error)
	RevokeGrant(ctx context.Context, id string, by domain.Origin) (families []string, revoked bool, err error)
	CreateCode(ctx context.Context, c domain.AuthCode) error
	// RecordAudit writes the audit row of a decision that changes nothing
	// else: a consent denied (PRODUCT O8).
	RecordAudit(ctx context.Context, e domain.AuditEvent) error
	// GetMagicLink and RedeemMagicLink are the hosted side of magic links
	// (PRODUCT A12).
	GetMagicLink(ctx context.Context, hash string) (domain.MagicLink, error)
	RedeemMagicLink(ctx context.Context, hash string, ses domain.Session, by domain.Origin, decide store.MagicLinkDecider) (domain.MagicLink, error)
}

// Config is what the pages are built from, in cli.
type Config struct {
	Directory Directory
	Journey   Journey
	IDs       ids.Generator
	Mail      mail.Sender
	Issuer    string // exactly as configured: the iss of RFC 9207 (PRODUCT A6, O3)
	Secure    func(*http.Request) bool
	Addr      func(*http.Request) string
	Now       func() time.Time
	Log       *slog.Logger
	Revoked   *revoke.Set // learns of grants revoked here, through a revoke.Revoker on Journey (PRODUCT A11)
	// Keys: CSRFKey derives form tokens from the browser id; CodeKey keys
	// the one-time-code hashes, so a stolen table cannot be brute-forced
	// without it. Both are shared by replicas through the store.
	CSRFKey, CodeKey []byte
	SessionIdle      time.Duration
	SessionMax       time.Duration
	// EmailLimits and AddrLimits throttle code sending per email and per
	// source address (PRODUCT A7); GuessAddrLimits throttles wrong codes
	// per source address, over all the codes it asked for, so spreading
	// guesses over many emails gains nothing.
	EmailLimits, AddrLimits, GuessAddrLimits *httpx.RateLimiter
	// Metrics counts revocations and sign-in throttling (PRODUCT O7); nil
	// counts nothing.
	Metrics *metrics.Metrics
	// Devices finds and answers device requests by their user code's
	// hash, keyed with UserCodeKey (ids.UserCodeHash); DeviceBrowserLimits
	// and DeviceAddrLimits throttle wrong user codes per browser and per
	// source address (PRODUCT T11).
	Devices                               Devices
	UserCodeKey                           []byte
	DeviceBrowserLimits, DeviceAddrLimits *httpx.RateLimiter
}

// Pages is the hosted customer journey, built by New.
type Pages struct {
	Config

	msgs  map[string]Messages
	pages map[string]*template.Template
	// revoker revokes a customer's grant in the store and in Revoked at
	// once (PRODUCT A11).
	revoker revoke.Revoker
	// cop is Go's cross-origin protection: it refuses unsafe requests a
	// browser marks as cross-site (Sec-Fetch-Site, Origin); the form
	// tokens cover browsers that send neither (PRODUCT A10).
	cop *http.CrossOriginProtection
}

// pageNames are the templates; each is parsed with the layout. A missing
// one stops the start.
var pageNames = []string{"signin", "signup", "verify", "consent", "apps", "signedout", "error", "device", "device_confirm", "device_done", "magic", "magic_gone"}

// New checks cfg and parses the templates, once.
func New(cfg Config) (*Pages, error) {
	var missing []string
	for _, dep := range []struct {
		name   string
		absent bool
	}{
		{"directory", cfg.Directory == nil}, {"journey store", cfg.Journey == nil}, {"mail sender", cfg.Mail == nil},
		{"issuer", cfg.Issuer == ""}, {"HTTPS policy", cfg.Secure == nil}, {"address resolver", cfg.Addr == nil},
		{"clock", cfg.Now == nil}, {"logger", cfg.Log == nil}, {"revocation set", cfg.Revoked == nil},
		{"CSRF key", len(cfg.CSRFKey) == 0}, {"code key", len(cfg.CodeKey) == 0},
		{"session lifetimes", cfg.SessionIdle <= 0 || cfg.SessionMax <= 0},
		{"device store", cfg.Devices == nil}, {"user-code key", len(cfg.UserCodeKey) == 0},
	} {
		if dep.absent {
			missing = append(missing, dep.name)
		}
	}
	if len(missing) > 0 {
		return nil, errors.New("pages: missing " + strings.Join(missing, ", "))
	}
	p := &Pages{Config: cfg, msgs: catalogue(), pages: map[string]*template.Template{}, cop: http.NewCrossOriginProtection(),
		revoker: revoke.Revoker{Store: cfg.Journey, Set: cfg.Revoked, Now: cfg.Now, Metrics: cfg.Metrics}}
	funcs := template.FuncMap{"tf": func(format string, args ...any) string { return fmt.Sprintf(format, args...) }}
	for _, name := range append(pageNames, "mail") {
		files := []string{"templates/layout.html", "templates/" + name + ".html"}
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, files...)
		if err != nil {
			return nil, fmt.Errorf("parse template %s: %w", name, err)
		}
		p.pages[name] = t
	}
	p.cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.renderError(w, r, p.fail(r, http.StatusForbidden, "err_cross_site"))
	}))
	return p, nil
}

// Mount adds the hosted pages' routes to mux, each behind cross-origin
// protection (PRODUCT A10).
func (p *Pages) Mount(mux *http.ServeMux) {
	mux.Handle("GET "+oauth.PathAuthorize, p.handle(p.authorize))
	// OpenID Connect Core §3.1.2.1: the authorization endpoint takes POST
	// too. An app's own page posts it, cross-site by design, and it changes
	// nothing, so it goes without cross-origin protection (answer).
	mux.Handle("POST "+oauth.PathAuthorize, p.answer(p.authorizePost))
	mux.Handle("POST "+PathConsent, p.handle(p.consent))
	mux.Handle("GET "+PathSignin, p.handle(p.signinPage))
	mux.Handle("POST "+PathSignin, p.handle(p.signin))
	mux.Handle("POST "+PathSignup, p.handle(p.signup))
	mux.Handle("GET "+PathVerify, p.handle(p.verifyPage))
	mux.Handle("POST "+PathVerify, p.handle(p.verify))
	mux.Handle("GET "+PathApps, p.handle(p.apps))
	mux.Handle("POST "+PathRevoke, p.handle(p.revoke))
	mux.Handle("POST "+PathSignout, p.handle(p.signout))
	// The addresses of forms stay in the address bar after a post; opened
	// again (Enter, a new tab, a bookmark) they lead to a page that works,
	// not to a bare 405.
	for path, to := range map[string]string{PathConsent: PathApps, PathSignup: PathSignin,
		PathRevoke: PathApps, PathSignout: PathSignin} {
		mux.Handle("GET "+path, http.RedirectHandler(to, http.StatusSeeOther))
	}
	mux.Handle("GET "+PathDevice, p.handle(p.devicePage))
	mux.Handle("POST "+PathDevice, p.handle(p.device))
	mux.Handle("GET "+PathDeviceQR, p.handle(p.deviceQR))
	mux.Handle("GET "+PathMagic+"{token}", p.handle(p.magicPage))
	mux.Handle("POST "+PathMagic+"{token}", p.handle(p.magic))
	mux.HandleFunc("GET "+PathStyle, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=86400")
		httpx.WriteRaw(w, http.StatusOK, "text/css; charset=utf-8", styleCSS)
	})
}

// pageFunc is a page handler that returns its error.
type pageFunc func(w http.ResponseWriter, r *http.Request) error

// handle is the one adapter that turns an error into the error page,
// behind cross-origin protection.
func (p *Pages) handle(h pageFunc) http.Handler {
	return p.cop.Handler(p.answer(h))
}

// answer turns h's error into the error page.
func (p *Pages) answer(h pageFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil && !errors.Is(err, errAnswered) {
			p.renderError(w, r, err)
		}
	})
}

// errAnswered: the response is written (a redirect); nothing more to do.
var errAnswered = errors.New("pages: answered")

// base starts a page's view in the request's language, with the form
// token and the signed-in customer of b when there is one.
func (p *Pages) base(r *http.Request, b *browser) layout {
	lang := pickLanguage(r.Header.Get("Accept-Language"), p.msgs)
	v := layout{T: p.msgs[lang], Lang: lang}
	if b != nil {
		v.CSRF, v.Device = p.csrfToken(b.id), b.device
		if b.customer != nil {
			v.Customer = b.customer.Email
		}
	}
	return v
}

// render writes a page. formTargets are origins besides our own that a
// form on the page may lead the browser to: the app's redirect URI after
// consent, since a bare form-action 'self' would block that redirect
// (PRODUCT A10).
func (p *Pages) render(w http.ResponseWriter, status int, name string, v any, formTargets ...string) {
	var buf bytes.Buffer
	if err := p.pages[name].ExecuteTemplate(&buf, "layout", v); err != nil {
		p.Log.Error("render page", "page", name, "cause", err.Error())
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	formAction := "'self'"
	for _, t := range formTargets {
		formAction += " " + t
	}
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action "+formAction+
		"; frame-ancestors 'none'; base-uri 'none'")
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// renderError shows err on the error page: a problem's own status and
// message (pages make theirs from the catalogue, in the customer's
// language), an unavailable database a 503 with Retry-After (PRODUCT S5),
// anything else a 500 whose cause only the log sees (httpx.Problem).
func (p *Pages) renderError(w http.ResponseWriter, r *http.Request, err error) {
	pe := httpx.Problem(err)
	for k, vs := range pe.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	level := slog.LevelDebug
	if pe.Status >= 500 {
		level = slog.LevelError
	}
	p.Log.Log(r.Context(), level, httpx.LogMessage(pe, "page failed"), "request_id", httpx.RequestID(r.Context()), "path", httpx.LoggedPath(r.URL.Path),
		"status", pe.Status, "message", pe.Message, "cause", errText(pe.Cause))
	v := errorView{layout: p.base(r, nil), Error: pe.Message}
	if pe.Status >= 500 {
		v.Error = v.T["error_back"]
	}
	p.render(w, pe.Status, "error", v)
}

// fail is a problem for the error page whose message is the catalogue's
// key, in the request's language (args fill its verbs).
func (p *Pages) fail(r *http.Request, status int, key string, args ...any) *problem.Error {
	msg := p.text(r, key)
	if len(args) > 0 {
		msg = fmt.Sprintf(msg, args...)
	}
	switch status {
	case http.StatusForbidden:
		return problem.Forbidden(msg)
	case http.StatusNotFound:
		e := problem.NotFound()
		e.Message = msg
		return e
	}
	return problem.BadRequest(msg)
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// browser is who is on the other end: the random id in its cookie and,
// when signed in, its session and customer.
type browser struct {
	id       string
	hash     string
	session  *domain.Session
	customer *domain.Customer
	// device is the sealed user code a device sign-in carries from form
	// to form, back to the confirm page (PRODUCT T11; sealDevice).
	device string
}

// loadBrowser reads the cookie and the session behind it. Without a
// cookie it mints a fresh id when mint is set (GET pages), so the forms
// it renders carry a token; a POST without one fails.
func (p *Pages) loadBrowser(w http.ResponseWriter, r *http.Request, mint bool) (*browser, error) {
	c, err := r.Cookie(p.cookieName(r))
	if err != nil || !validBrowserID(c.Value) {
		if !mint {
			return nil, p.fail(r, http.StatusBadRequest, "err_cookie")
		}
		return p.newBrowser(w, r)
	}
	b := &browser{id: c.Value, hash: ids.Hash(c.Value)}
	ses, err := p.Journey.GetSession(r.Context(), b.hash)
	if errors.Is(err, store.ErrNotFound) {
		return b, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load session: %w", err)
	}
	now := p.Now()
	if !oauth.SessionLive(ses, now, p.SessionIdle) {
		return b, nil // ended; cleanup removes the row (PRODUCT O6)
	}
	cust, err := p.Directory.GetCustomer(r.Context(), ses.CustomerID)
	if errors.Is(err, store.ErrNotFound) {
		return b, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load customer: %w", err)
	}
	if now.Sub(ses.LastSeenAt) >= touchEvery {
		if err := p.Journey.TouchSession(r.Context(), b.hash, now); err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("touch session: %w", err)
		}
	}
	b.session, b.customer = &ses, &cust
	return b, nil
}

// forJourney is b as the authorization and device journeys see it: a
// session a magic link started reaches only the customer's own area
// (PRODUCT A12), so there it counts as none, and signing in through the
// journey's one-time code replaces it (signIn ends the old session).
func (b *browser) forJourney() *browser {
	if b.session == nil || !b.session.AccountOnly {
		return b
	}
	return &browser{id: b.id, hash: b.hash, device: b.device}
}

// newBrowser gives the browser a fresh random id in a new cookie.
func (p *Pages) newBrowser(w http.ResponseWriter, r *http.Request) (*browser, error) {
	id, err := p.IDs.BrowserID()
	if err != nil {
		return nil, err
	}
	p.setBrowserCookie(w, r, id)
	return &browser{id: id, hash: ids.Hash(id)}, nil
}

// setBrowserCookie gives the browser id in its cookie.
func (p *Pages) setBrowserCookie(w http.ResponseWriter, r *http.Request, id string) {
	secure := p.Secure(r)
	name := cookieName
	if secure {
		name = secureCookieName
	}
	http.SetCookie(w, &http.Cookie{Name: name, Value: id, Path: "/", HttpOnly: true, Secure: secure,
		SameSite: http.SameSiteLaxMode, MaxAge: int(p.SessionMax / time.Second)})
}

func (p *Pages) cookieName(r *http.Request) string {
	if p.Secure(r) {
		return secureCookieName
	}
	return cookieName
}

// validBrowserID accepts the 43 base64url characters newBrowser makes.
func validBrowserID(s string) bool {
	if len(s) != 43 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil
}

// signIn starts a session for cust under a new browser id, so an id
// planted before sign-in is worth nothing after it (session fixation).
func (p *Pages) signIn(w http.ResponseWriter, r *http.Request, old *browser, cust domain.Customer) (*browser, error) {
	b, err := p.newBrowser(w, r)
	if err != nil {
		return nil, err
	}
	now := p.Now()
	ses := domain.Session{Hash: b.hash, CustomerID: cust.ID, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(p.SessionMax)}
	if err := p.Journey.CreateSession(r.Context(), ses, p.origin(r, customerActor(cust.ID), now)); err != nil {
		return nil, fmt.Errorf("create session: %w", err)
	}
	if old != nil {
		if err := p.Journey.DeleteSession(r.Context(), old.hash); err != nil {
			return nil, fmt.Errorf("end old session: %w", err)
		}
	}
	b.session, b.customer = &ses, &cust
	return b, nil
}

// origin is the audit origin of r (PRODUCT O8): actor acting at at.
func (p *Pages) origin(r *http.Request, actor domain.Actor, at time.Time) domain.Origin {
	return httpx.Origin(r, p.Addr(r), actor, at)
}

func customerActor(id string) domain.Actor { return domain.Actor{Kind: domain.ActorCustomer, ID: id} }

// csrfToken is derived from the browser id, so it needs no storage and
// changes when the id does.
func (p *Pages) csrfToken(browserID string) string {
	m := hmac.New(sha256.New, p.CSRFKey)
	m.Write([]byte("csrf\x00" + browserID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// readFormBody reads a form-encoded body, bounded; anything else is the
// error page's 400.
func (p *Pages) readFormBody(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mediaType != "application/x-www-form-urlencoded" {
		return nil, p.fail(r, http.StatusBadRequest, "err_form_type")
	}
	form, err := httpx.ReadParams(w, r, maxFormBody)
	if err != nil {
		return nil, p.fail(r, http.StatusBadRequest, "err_form_read")
	}
	return form, nil
}

// readForm reads a hosted form and checks its CSRF token: the one check
// every POST passes first (PRODUCT A10). A journey's form (sign-in, code,
// sign-up, consent, device) whose token went stale because the browser
// signed in meanwhile goes back to its journey when journey is set; any
// other form with a wrong token (sign-out, revoke, a magic link) is
// refused, so nothing is silently not done. A journey's form sees the
// browser as the journeys do (forJourney).
func (p *Pages) readForm(w http.ResponseWriter, r *http.Request, journey bool) (url.Values, *browser, error) {
	form, err := p.readFormBody(w, r)
	if err != nil {
		return nil, nil, err
	}
	b, err := p.loadBrowser(w, r, false)
	if err != nil {
		return nil, nil, err
	}
	want := p.csrfToken(b.id)
	if subtle.ConstantTimeCompare([]byte(form.Get("csrf")), []byte(want)) != 1 {
		// validBrowserID: a token has the shape of an id (43 base64url
		// characters, an HMAC-SHA-256); anything else is no form of ours.
		stale := b.session != nil && validBrowserID(form.Get("csrf"))
		if stale && journey {
			// Signed in meanwhile, in another tab (a sign-in gives the
			// browser a new id, and the form's token was for the old one):
			// the form changes nothing, and the browser goes back to where
			// it was, now signed in. A GET of our own pages changes nothing
			// either, so a forged post gains nothing from it.
			http.Redirect(w, r, p.staleFormTarget(form), http.StatusSeeOther)
			return nil, nil, errAnswered
		}
		if stale {
			// Still signed in: "session ended" would be false.
			return nil, nil, p.fail(r, http.StatusForbidden, "err_stale_form")
		}
		return nil, nil, p.fail(r, http.StatusForbidden, "err_session")
	}
	if journey {
		b = b.forJourney()
	}
	return form, b, nil
}

// staleFormTarget is where a form posted with an outdated token by a
// signed-in browser sends it: its authorization request again, the device
// page with its code filled in (never sent: PRODUCT T11), or connected
// apps.
func (p *Pages) staleFormTarget(form url.Values) string {
	// Parsed and encoded again: only a query of ours, whatever was posted.
	if q, err := url.ParseQuery(form.Get("authz")); err == nil && len(q) > 0 {
		return oauth.PathAuthorize + "?" + q.Encode()
	}
	if code, ok := p.openDeviceSeal(form.Get("device"), p.Now()); ok {
		return PathDevice + "?" + url.Values{"user_code": {oauth.FormatUserCode(code)}}.Encode()
	}
	return PathApps
}

// text is one message in the request's language.
func (p *Pages) text(r *http.Request, key string) string {
	return p.msgs[pickLanguage(r.Header.Get("Accept-Language"), p.msgs)][key]
}

// codeHash keys a one-time code's hash with the server's key and binds it
// to the browser it was sent for.
func (p *Pages) codeHash(browserHash, code string) string {
	m := hmac.New(sha256.New, p.CodeKey)
	m.Write([]byte(browserHash + "\x00" + code))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// customerByEmail finds the customer with email, compared case-insensitively.
func (p *Pages) customerByEmail(ctx context.Context, email string) (domain.Customer, error) {
	found, err := p.Directory.ListCustomers(ctx, store.CustomerFilter{Email: email}, store.Page{Limit: 1})
	if err != nil {
		return domain.Customer{}, fmt.Errorf("find customer: %w", err)
	}
	if len(found) == 0 {
		return domain.Customer{}, store.ErrNotFound
	}
	return found[0], nil
}
