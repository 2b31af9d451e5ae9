package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"
	_ "time/tzdata" // Europe/Berlin must resolve on machines without zoneinfo

	"github.com/nomosauth/nomosauth/internal/bearer"
	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/httpx"
	"github.com/nomosauth/nomosauth/internal/ids"
	"github.com/nomosauth/nomosauth/internal/metrics"
	"github.com/nomosauth/nomosauth/internal/oauth"
	"github.com/nomosauth/nomosauth/internal/problem"
	"github.com/nomosauth/nomosauth/internal/revoke"
	"github.com/nomosauth/nomosauth/internal/store"
	"github.com/nomosauth/nomosauth/internal/token"
)

// Store is what the protected API reads and writes.
type Store interface {
	GetClient(ctx context.Context, id string) (domain.Client, error)
	GetCustomer(ctx context.Context, id string) (domain.Customer, error)
	ListCustomers(ctx context.Context, f store.CustomerFilter, p store.Page) ([]domain.Customer, error)
	UpdateCustomer(ctx context.Context, id string, p domain.CustomerPatch) (domain.Customer, error)
	GetSubscription(ctx context.Context, id string) (domain.Subscription, error)
	ListSubscriptions(ctx context.Context, f store.SubscriptionFilter, p store.Page) ([]domain.Subscription, error)
	ListPrices(ctx context.Context, subscriptionID string, from, to time.Time) ([]domain.PricePoint, error)
	// CreateMagicLink stores a magic link with its audit row (PRODUCT A12).
	CreateMagicLink(ctx context.Context, l domain.MagicLink, by domain.Origin) error
}

// Verifier checks an access token (token.Issuer).
type Verifier interface {
	Verify(raw string, now time.Time) (token.Claims, error)
}

// Config is what the protected API is built from, in cli.
type Config struct {
	Store    Store
	Verifier Verifier
	// Revoked holds the families whose access tokens are refused (PRODUCT A11).
	Revoked *revoke.Set
	// Limits is the per-caller rate limit (PRODUCT R5); AddrLimits, per
	// source address, paces requests without a valid token. Nil is no limit.
	Limits     *httpx.RateLimiter
	AddrLimits *httpx.RateLimiter
	// Addr resolves a request's source address.
	Addr func(*http.Request) string
	// CursorKey authenticates pagination cursors (PRODUCT R7).
	CursorKey []byte
	// Location is the customers' local time zone, in which price periods
	// are given (Europe/Berlin).
	Location *time.Location
	Now      func() time.Time
	Log      *slog.Logger
	// Metrics counts rate-limit refusals and magic links (PRODUCT O7); nil counts nothing.
	Metrics *metrics.Metrics
	// IDs draws magic-link tokens, and Issuer is the public base URL their
	// links point at (PRODUCT A12).
	IDs    ids.Generator
	Issuer string
	// Stamps, when set, says which organizations' records come from
	// memory, so their rendered list pages can be kept (issue 17).
	Stamps Stamps
}

// API serves the protected endpoints.
type API struct {
	Config

	gate  *bearer.Gate
	pages pageCache
}

// New checks cfg and builds the protected API.
func New(cfg Config) (*API, error) {
	var missing []string
	for _, dep := range []struct {
		name   string
		absent bool
	}{
		{"store", cfg.Store == nil}, {"verifier", cfg.Verifier == nil}, {"revocation set", cfg.Revoked == nil},
		{"address resolver", cfg.Addr == nil}, {"cursor key", len(cfg.CursorKey) == 0}, {"location", cfg.Location == nil},
		{"clock", cfg.Now == nil}, {"logger", cfg.Log == nil}, {"ID generator", cfg.IDs.Rand == nil}, {"issuer", cfg.Issuer == ""},
	} {
		if dep.absent {
			missing = append(missing, dep.name)
		}
	}
	if len(missing) > 0 {
		return nil, errors.New("api: missing " + strings.Join(missing, ", "))
	}
	return &API{Config: cfg, gate: &bearer.Gate{Verifier: cfg.Verifier, Revoked: cfg.Revoked, Clients: cfg.Store}}, nil
}

// prefixes are the subtrees the protected API owns: a request under them
// that matches no route is still the API's, so admission runs before its
// 404 or 405.
var prefixes = []string{"/customers", "/customers/", "/subscriptions", "/subscriptions/", "/admin/"}

// Caller is who a request acts for (oauth.Caller, whose rules decide what
// it may do and see: PRODUCT R1-R3) and the API version it speaks (R6).
type Caller struct {
	oauth.Caller
	Version string

	clientDefault string // the client's default API version
}

type callerKey struct{}

func callerOf(ctx context.Context) Caller {
	c, _ := ctx.Value(callerKey{}).(Caller)
	return c
}

// Mount adds the protected API's routes to mux. Every request passes, in
// this order: the version check (R6), the bearer check (R1) and revocation
// (A11), the rate limit (R5), the scope rule (R2), then its route; tenant
// rules (R3) are decided in oauth and applied in the handlers' queries.
func (a *API) Mount(mux *http.ServeMux) {
	mux.Handle("GET /customers", a.admitted(a.listCustomers))
	mux.Handle("GET /customers/{id}", a.admitted(a.getCustomer))
	mux.Handle("PATCH /customers/{id}", a.admitted(a.patchCustomer))
	mux.Handle("GET /subscriptions", a.admitted(a.listSubscriptions))
	mux.Handle("GET /subscriptions/{id}", a.admitted(a.getSubscription))
	mux.Handle("GET /subscriptions/{id}/prices", a.admitted(a.getPrices))
	mux.Handle("POST "+PathMagicLink, a.admitted(a.createMagicLink))
	// A caller learns that a route or method does not exist only after
	// admission, as on a known route: no probing without a token (R1, R2).
	unrouted := func(w http.ResponseWriter, r *http.Request) error { return httpx.Unrouted(mux, r) }
	for _, p := range prefixes {
		mux.Handle(p, a.admitted(unrouted))
	}
}

// admitted runs admission, then h with the caller in its context.
func (a *API) admitted(h httpx.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		caller, err := a.admit(w, r)
		if err == nil {
			r = r.WithContext(context.WithValue(r.Context(), callerKey{}, caller))
			err = h(w, r)
		}
		if err != nil {
			a.writeError(w, r, caller.Version, err)
		}
	})
}

// writeError drops the per-field breakdown for versions before it existed.
func (a *API) writeError(w http.ResponseWriter, r *http.Request, version string, err error) {
	var p *problem.Error
	if errors.As(err, &p) && len(p.Fields) > 0 && !StructuredErrors(version) {
		p.Fields = nil
	}
	httpx.WriteError(w, r, a.Log, err)
}

// APIVersionHeader picks the API version (PRODUCT R6).
const APIVersionHeader = "X-API-Version"

// admit runs the checks every request passes before its route. The
// returned caller carries the version to echo even when admission fails.
func (a *API) admit(w http.ResponseWriter, r *http.Request) (Caller, error) {
	now := a.Now()
	// An unknown version is refused only after the bearer check and the
	// limiter judged the request, so its 400 carries the RateLimit fields
	// (R5) and echoes a version (R6): the caller's default, else the latest.
	requested, versionErr := requestedVersion(r.Header)
	caller, authErr := a.authenticate(r, now)
	caller.Version = requested
	if caller.Version == "" {
		caller.Version = caller.clientDefault
	}
	if !domain.KnownAPIVersion(caller.Version) {
		caller.Version = domain.LatestAPIVersion // no client, or a stored default no longer served
	}
	w.Header().Set(APIVersionHeader, caller.Version)
	// Answers hold one caller's data: no shared cache may keep them.
	w.Header().Set("Cache-Control", "no-store")

	var limit httpx.RateDecision
	var which metrics.Limit
	switch {
	case authErr != nil:
		limit, which = a.AddrLimits.Take("addr:"+httpx.AddrKey(a.Addr(r))), metrics.APIAddr
	case caller.IsCustomer():
		limit, which = a.Limits.Take("grant:"+caller.FamilyID), metrics.APIGrant // one bucket per customer grant
	default:
		limit, which = a.Limits.Take("client:"+caller.ClientID), metrics.APIClient
	}
	limit.SetHeaders(w.Header())
	if err := limit.Err(); err != nil {
		a.Metrics.RateLimited(which)
		return caller, err
	}
	if versionErr != nil {
		return caller, versionErr
	}
	if authErr != nil {
		return caller, authErr
	}
	return caller, oauth.CheckScope(r.Method, caller.Caller)
}

// requestedVersion reads X-API-Version: absent is "", unknown is a 400.
func requestedVersion(h http.Header) (string, error) {
	vs := h.Values(APIVersionHeader)
	switch {
	case len(vs) == 0:
		return "", nil
	case len(vs) > 1:
		return "", problem.BadRequest(APIVersionHeader + " is repeated")
	}
	v := strings.TrimSpace(vs[0])
	if !domain.KnownAPIVersion(v) {
		return "", problem.BadRequest("Unknown API version " + problem.Quote(v) + "; supported: " + strings.Join(domain.APIVersions(), ", "))
	}
	return v, nil
}

// authenticate is PRODUCT R1 and A11 through the one bearer gate; the
// caller keeps its client's default API version (R6).
func (a *API) authenticate(r *http.Request, now time.Time) (Caller, error) {
	caller, client, err := a.gate.Admit(r, now)
	if err != nil {
		return Caller{}, err
	}
	return Caller{Caller: caller, clientDefault: client.DefaultAPIVersion}, nil
}
