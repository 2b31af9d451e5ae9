package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/nomosauth/nomosauth/internal/bearer"
	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/httpx"
	"github.com/nomosauth/nomosauth/internal/metrics"
	"github.com/nomosauth/nomosauth/internal/oauth"
	"github.com/nomosauth/nomosauth/internal/problem"
	"github.com/nomosauth/nomosauth/internal/store"
	"github.com/nomosauth/nomosauth/internal/token"
)

// userInfo is OpenID Connect's UserInfo endpoint (Core §5.3; PRODUCT
// T12). It lives here, not in api: it is the identity provider's own
// endpoint, named in this package's discovery document, and answers the
// claims the token endpoint's ID token carries (token.UserInfo), without
// the protected API's versions, tenant rules and Nomos resources.
type userInfo struct {
	store interface {
		GetCustomer(ctx context.Context, id string) (domain.Customer, error)
	}
	// gate admits the bearer token as the protected API does (PRODUCT R1).
	gate *bearer.Gate
	now  func() time.Time
	log  *slog.Logger
	// addrLimits paces requests without a valid token per source address,
	// limits each customer grant (PRODUCT R5); nil is no limit.
	addrLimits, limits *httpx.RateLimiter
	addr               func(*http.Request) string
	metrics            *metrics.Metrics
}

func (u *userInfo) mount(mux *http.ServeMux) {
	// Browser apps call it directly (PRODUCT A13).
	httpx.MountCORS(mux, []string{http.MethodGet, http.MethodPost}, oauth.PathUserInfo, httpx.Handle(u.log, u.serve))
}

// serve is GET and POST /userinfo: the access token only in
// Authorization: Bearer (PRODUCT R1), verified and not revoked (T9, A11),
// its client enabled; then the customer's claims as its scopes allow.
func (u *userInfo) serve(w http.ResponseWriter, r *http.Request) error {
	now := u.now()
	caller, _, authErr := u.gate.Admit(r, now)
	// PRODUCT R5 as at the API: an invalid token spends its address's
	// budget, a valid one its grant's.
	limit, which := u.addrLimits.Take("userinfo-addr:"+httpx.AddrKey(u.addr(r))), metrics.UserInfoAddr
	if authErr == nil {
		limit, which = u.limits.Take("userinfo:"+caller.FamilyID), metrics.UserInfoGrant
	}
	limit.SetHeaders(w.Header())
	if err := limit.Err(); err != nil {
		u.metrics.RateLimited(which)
		return err
	}
	if authErr != nil {
		return authErr
	}
	if err := oauth.CheckUserInfo(caller); err != nil {
		return err
	}
	cust, err := u.store.GetCustomer(r.Context(), caller.CustomerID)
	if errors.Is(err, store.ErrNotFound) {
		return problem.InvalidToken("The access token's customer no longer exists")
	}
	if err != nil {
		return fmt.Errorf("load customer: %w", err)
	}
	// Core §5.3.2: the claims of one customer, never cached by others.
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusOK, token.UserInfo(cust, caller.Scopes))
	return nil
}
