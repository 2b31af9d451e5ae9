package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/httpx"
	"github.com/nomosauth/nomosauth/internal/oauth"
	"github.com/nomosauth/nomosauth/internal/problem"
	"github.com/nomosauth/nomosauth/internal/revoke"
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
		GetClient(ctx context.Context, id string) (domain.Client, error)
		GetCustomer(ctx context.Context, id string) (domain.Customer, error)
	}
	verifier interface {
		Verify(raw string, now time.Time) (token.Claims, error)
	}
	revoked *revoke.Set
	now     func() time.Time
	log     *slog.Logger
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
	hs := r.Header.Values("Authorization")
	raw, err := oauth.ParseBearer(hs, len(hs) == 0 && r.URL.Query().Has("access_token"))
	if err != nil {
		return err
	}
	claims, err := u.verifier.Verify(raw, now)
	if err != nil {
		return problem.InvalidToken("The access token is invalid or expired").WithCause(err)
	}
	caller := oauth.Caller{ClientID: claims.ClientID, OrgID: claims.OrgID, CustomerID: claims.CustomerID,
		FamilyID: claims.FamilyID, Scopes: domain.Scopes(strings.Fields(claims.Scope)).Canonical()}
	revoked := u.revoked.Revoked(claims.FamilyID)
	var client domain.Client
	if !revoked {
		if client, err = u.store.GetClient(r.Context(), claims.ClientID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("load client: %w", err)
		}
	}
	if err := oauth.AdmitCaller(caller, client, revoked); err != nil {
		return err
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
