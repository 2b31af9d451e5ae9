package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/nomosauth/nomosauth/internal/bearer"
	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/httpx"
	"github.com/nomosauth/nomosauth/internal/ids"
	"github.com/nomosauth/nomosauth/internal/metrics"
	"github.com/nomosauth/nomosauth/internal/oauth"
	"github.com/nomosauth/nomosauth/internal/problem"
	"github.com/nomosauth/nomosauth/internal/revoke"
	"github.com/nomosauth/nomosauth/internal/seal"
	"github.com/nomosauth/nomosauth/internal/store"
	"github.com/nomosauth/nomosauth/internal/token"
)

// TokenStore is what the token endpoint needs from storage.
type TokenStore interface {
	GetClient(ctx context.Context, id string) (domain.Client, error)
	ClientSecrets(ctx context.Context, clientID string) ([]domain.ClientSecret, error)
	RotateRefreshToken(ctx context.Context, presented string, next domain.RefreshToken, by domain.Origin, decide store.RefreshDecider) (store.Rotation, error)
	RotateFamilyToken(ctx context.Context, presented store.FamilyToken, next domain.RefreshToken, by domain.Origin, decide store.RefreshDecider) (store.Rotation, error)
	RedeemCode(ctx context.Context, presented string, fam domain.Family, by domain.Origin, decide store.CodeDecider) (store.Redemption, error)
	// RefreshTokenFamily is introspection's one read (PRODUCT T10).
	RefreshTokenFamily(ctx context.Context, hash string) (domain.RefreshToken, domain.Family, error)
	// GetFamily is introspection's read for a counted refresh token, and
	// for a sealed one, whose family may have no row (issue 17).
	GetFamily(ctx context.Context, id string) (domain.Family, error)
	DeviceStore
}

// Tokens issues token pairs: the token endpoint, and the one place a family
// is born, so later grants (authorization code) start theirs the same way.
type Tokens struct {
	Store          TokenStore
	Issuer         *token.Issuer
	IDs            ids.Generator
	Now            func() time.Time
	Log            *slog.Logger
	RefreshIdleTTL time.Duration // PRODUCT T5: default 90 days
	RetryWindow    time.Duration // PRODUCT T5: default 10 s
	// Seals seals the first refresh token of a client-credentials family,
	// so issuing one writes nothing, and opens it when it comes back
	// (issue 17; internal/seal). It also mints and reads counted refresh
	// tokens, every family's tokens after a sealed first one: the
	// family's row holds which generation is live, so a rotation writes
	// that one row, and the token of a generation is the same string on
	// every replica and for every retry (PRODUCT T5). The key poll keeps
	// it fresh.
	Seals *seal.Ring
	// RefreshKey derives the child of a refresh token that has a row (a
	// family of a release before counted tokens) from the presented
	// token, so retries get the same one (PRODUCT T5;
	// ids.DeriveRefreshToken).
	RefreshKey []byte
	// UserCodeKey keys the hash device user codes are stored under
	// (PRODUCT T11; ids.UserCodeHash).
	UserCodeKey []byte
	// Revoker learns of families the store revokes for a replay, so their
	// access tokens fail here at once (PRODUCT A11), and revokes the
	// families clients revoke at the revocation endpoint (PRODUCT T9).
	Revoker revoke.Revoker
	// Verifier checks access tokens presented for revocation or
	// introspection: signature, issuer, expiry (PRODUCT T9, T10).
	Verifier revoke.Verifier
	// Gate checks, through its short-lived client cache, that a token's
	// client is still enabled: introspection calls no token of a disabled
	// client live (PRODUCT T10), as the API refuses it (R1).
	Gate *bearer.Gate
	// IssuerURL is the iss introspection names for refresh tokens.
	IssuerURL string
	// ClientLimits and AddrLimits bound attempts per client id and per
	// source address, so the endpoint cannot be used to grind secrets
	// (PRODUCT R5). Addr resolves a request's source address.
	ClientLimits *httpx.RateLimiter
	AddrLimits   *httpx.RateLimiter
	Addr         func(*http.Request) string
	// FailedAuthLimits and FailedAuthAddrLimits bound failed client
	// authentications per source address and client id, and per source
	// address (PRODUCT S6); nil is no limit.
	FailedAuthLimits     *httpx.RateLimiter
	FailedAuthAddrLimits *httpx.RateLimiter
	// Tracer records each step of a grant as a span under the request's
	// (PRODUCT O7); server.New makes nil the no-op tracer.
	Tracer trace.Tracer
	// Metrics counts each request by grant, client and outcome, the
	// refresh verdicts, code redemptions and rate-limit refusals (PRODUCT
	// O7); nil counts nothing.
	Metrics *metrics.Metrics
}

// The spans of a grant's steps (PRODUCT O7): client authentication, the
// oauth rule's decision, the wait for the store's commit (the refresh and
// code rules decide inside it, so their decision span is its child), and
// the access token's signature.
const (
	SpanAuthenticate = "oauth.authenticate"
	SpanDecide       = "oauth.decide"
	SpanCommit       = "store.commit"
	SpanSign         = "token.sign"
)

// endSpan ends a step's span: a refusal (a problem below 500) is an
// outcome, recorded as its OAuth error or envelope code, and so is a
// store's not-found, which the caller turns into one; anything else
// fails the span. No message: it could name what it refused.
func endSpan(span trace.Span, err error) {
	var refused *problem.Error
	switch {
	case errors.As(err, &refused) && refused.Status < http.StatusInternalServerError:
		span.SetAttributes(attribute.String("nomosauth.refused", cmp.Or(refused.OAuthError, refused.Code)))
	case errors.Is(err, store.ErrNotFound): // an unknown client, code or token: refused above
		span.SetAttributes(attribute.String("nomosauth.refused", "not_found"))
	case err != nil:
		span.SetStatus(codes.Error, "")
	}
	span.End()
}

// The failed client authentications a source address may make (PRODUCT
// S6): for one client id, a burst of FailedAuthBurst, then one every 6 s;
// over all client ids, FailedAuthAddrBurst, then FailedAuthAddrRate a
// second. A client's own failures (a stale secret after a rotation) stay
// well inside them; a secret cannot be ground.
const (
	FailedAuthRate      = 1.0 / 6
	FailedAuthBurst     = 10
	FailedAuthAddrRate  = 2
	FailedAuthAddrBurst = 100
)

// Response is the token response of PRODUCT T4.
type Response struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	Scope        string `json:"scope"`
	// IDToken is OpenID Connect's, for a code granted openid (PRODUCT T12).
	IDToken string `json:"id_token,omitempty"`
}

// ServeToken is POST /oauth/token: parse, authenticate, decide, commit,
// mint, respond. The response leaves only after the refresh token it
// carries is committed (PRODUCT S2).
func (t *Tokens) ServeToken(w http.ResponseWriter, r *http.Request) (err error) {
	// What the request counter may name (PRODUCT O7): the grant type once
	// read, the client once it is known to exist.
	grant, clientID := metrics.GrantOther, ""
	defer func() { t.Metrics.TokenRequest(grant, clientID, tokenOutcome(err)) }()
	params, client, err := t.admitClient(w, r)
	grant, clientID = grantLabel(params.Get("grant_type")), client.ID
	if err != nil {
		return err
	}
	req, err := oauth.ParseTokenRequest(params)
	if err != nil {
		return err
	}
	var resp Response
	switch req.GrantType {
	case oauth.GrantClientCredentials:
		resp, err = t.clientCredentials(r.Context(), client, req)
	case oauth.GrantRefreshToken:
		resp, err = t.refresh(r.Context(), client, req, t.origin(r, client))
	case oauth.GrantAuthorizationCode:
		resp, err = t.redeemCode(r.Context(), client, req, t.origin(r, client))
	case oauth.GrantDeviceCode:
		resp, err = t.pollDevice(r.Context(), client, req, t.origin(r, client))
	default:
		err = problem.UnsupportedGrantType(req.GrantType)
	}
	if err != nil {
		return err
	}
	// RFC 6749 §5.1: token responses are never cached.
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	httpx.WriteJSON(w, http.StatusOK, resp)
	return nil
}

// admitClient is what the token, revocation and introspection endpoints
// (PRODUCT T1, T9, T10) run before their own rules, one path for all
// three: the per-address limit (R5), the body (T2), the client's
// authentication behind the failed-authentication budgets (S6), then the
// per-client limit (R5), charged only once the client proved who it is.
// params comes back once read and client once known to exist, even with an
// error, for the metrics (PRODUCT O7).
func (t *Tokens) admitClient(w http.ResponseWriter, r *http.Request) (url.Values, domain.Client, error) {
	if t.AddrLimits != nil {
		// The address budget's fields answer every early error (a bad body,
		// bad credentials); the client's budget replaces them once it is
		// judged (R5).
		d := t.AddrLimits.Take("addr:" + httpx.AddrKey(t.Addr(r)))
		d.SetHeaders(w.Header())
		if !d.Allowed {
			t.Metrics.RateLimited(metrics.TokenAddr)
			return nil, domain.Client{}, d.Err()
		}
	}
	params, err := httpx.ReadParams(w, r, httpx.MaxParamsBody)
	if err != nil {
		return nil, domain.Client{}, err
	}
	creds, err := oauth.ParseClientAuth(r.Header.Get("Authorization"), params)
	if err != nil {
		return params, domain.Client{}, err
	}
	client, err := t.authenticateLimited(w, r, creds)
	if err != nil {
		return params, client, err
	}
	key := "client:" + client.ID
	if client.Public {
		// Anyone can name a public client: its budget is kept per source
		// address, so no one can spend every installation's (R5, S6).
		key += "@" + httpx.AddrKey(t.Addr(r))
	}
	limit := t.ClientLimits.Take(key)
	limit.SetHeaders(w.Header())
	if err := limit.Err(); err != nil {
		t.Metrics.RateLimited(metrics.TokenClient)
		return params, client, err
	}
	return params, client, nil
}

// grantLabel is a grant type as the metrics name it: a served one, or
// other, so a made-up grant type never becomes a label (PRODUCT O7).
func grantLabel(grant string) string {
	switch grant {
	case oauth.GrantClientCredentials, oauth.GrantRefreshToken, oauth.GrantAuthorizationCode:
		return grant
	case oauth.GrantDeviceCode:
		return metrics.GrantDeviceCode
	}
	return metrics.GrantOther
}

// tokenOutcome is a token request's outcome as the metrics name it: ok,
// the OAuth error code, or the envelope code in lower case for errors
// that are not OAuth's (a 429): a fixed set either way (PRODUCT O7).
func tokenOutcome(err error) string {
	if err == nil {
		return metrics.OutcomeOK
	}
	p := httpx.Problem(err)
	if p.OAuthError != "" {
		return p.OAuthError
	}
	return strings.ToLower(p.Code)
}

// authenticateLimited is authenticate behind PRODUCT S6: client ids are
// public, so failed attempts are budgeted per source address and client
// id, and per source address, never per client id alone, and a flood of
// wrong secrets exhausts the flooder's budget, not the client's. The
// budgets are checked before the secret and spent only when it fails; a
// failure answers with the per-address-and-client budget's RateLimit fields.
func (t *Tokens) authenticateLimited(w http.ResponseWriter, r *http.Request, creds oauth.ClientCredentials) (domain.Client, error) {
	if t.FailedAuthLimits == nil && t.FailedAuthAddrLimits == nil {
		return t.authenticate(r.Context(), creds)
	}
	addr := httpx.AddrKey(t.Addr(r))
	pairKey, addrKey := "failed:"+addr+" "+creds.ID, "failed-addr:"+addr
	for _, d := range []httpx.RateDecision{t.FailedAuthLimits.Peek(pairKey), t.FailedAuthAddrLimits.Peek(addrKey)} {
		if err := d.Err(); err != nil {
			t.Metrics.RateLimited(metrics.TokenFailedAuth)
			d.SetHeaders(w.Header())
			return domain.Client{}, err
		}
	}
	client, err := t.authenticate(r.Context(), creds)
	var refused *problem.Error
	if errors.As(err, &refused) { // invalid_client; a store failure is no attempt
		t.FailedAuthLimits.Take(pairKey).SetHeaders(w.Header())
		t.FailedAuthAddrLimits.Take(addrKey)
	}
	return client, err
}

// authenticate loads the client and checks its credentials (PRODUCT T1).
// The secret is hashed before the lookup, so an unknown client costs the
// same as a wrong secret. When the credentials are refused, the client it
// loaded comes back with the error, so the metrics may name a client that
// exists (PRODUCT O7); an unknown one comes back empty. In serve the
// client and its secret hashes come from the in-memory client directory
// (directory.Served, issue 17), so a warm authentication reads no
// database; the secrets' expiry is still judged here, at now (S1).
func (t *Tokens) authenticate(ctx context.Context, creds oauth.ClientCredentials) (client domain.Client, err error) {
	ctx, span := t.Tracer.Start(ctx, SpanAuthenticate)
	defer func() { endSpan(span, err) }()
	presented := ""
	if creds.Secret != "" {
		presented = ids.Hash(creds.Secret)
	}
	client, err = t.Store.GetClient(ctx, creds.ID)
	if errors.Is(err, store.ErrNotFound) {
		return domain.Client{}, problem.InvalidClient().WithCause(errors.New("unknown client"))
	}
	if err != nil {
		return domain.Client{}, fmt.Errorf("load client: %w", err)
	}
	var secrets []domain.ClientSecret
	if !client.Public {
		if secrets, err = t.Store.ClientSecrets(ctx, client.ID); err != nil {
			return domain.Client{}, fmt.Errorf("load client secrets: %w", err)
		}
	}
	if err := oauth.AuthenticateClient(client, secrets, creds, presented, t.Now()); err != nil {
		return client, err
	}
	return client, nil
}

// decided runs a grant's rule in its own span under ctx (PRODUCT O7).
func decided[V any](t *Tokens, ctx context.Context, rule func() (V, error)) (V, error) {
	_, span := t.Tracer.Start(ctx, SpanDecide)
	v, err := rule()
	endSpan(span, err)
	return v, err
}

// clientCredentials is PRODUCT T3 without a database write (issue 17):
// the family's first refresh token is sealed (internal/seal), carrying
// the family it starts, so nothing needs committing before the response
// (S2 holds: what it depends on, the seal key, is stored). The family's
// row is written at its first refresh (refresh), if ever.
func (t *Tokens) clientCredentials(ctx context.Context, client domain.Client, req oauth.TokenRequest) (Response, error) {
	scopes, err := decided(t, ctx, func() (domain.Scopes, error) { return oauth.DecideClientCredentials(client, req.Scope) })
	if err != nil {
		return Response{}, err
	}
	now := t.Now().UTC().Truncate(time.Microsecond)
	id, err := t.IDs.ID(domain.PrefixFamily)
	if err != nil {
		return Response{}, err
	}
	fam := domain.Family{ID: id, ClientID: client.ID, OrgID: client.OrgID, Scopes: scopes, CreatedAt: now}
	refresh, err := t.Seals.Seal(seal.Claims{FamilyID: fam.ID, ClientID: fam.ClientID, OrgID: fam.OrgID, Scopes: scopes, IssuedAt: now,
		ExpiresAt: now.Add(t.RefreshIdleTTL)}, now, t.IDs.Rand)
	if err != nil {
		return Response{}, fmt.Errorf("seal refresh token: %w", err)
	}
	return t.pair(ctx, fam, scopes, refresh, now)
}

// unseal opens a sealed refresh token (issue 17) as the store's
// Unsealed: the family it starts and the token as its row would be,
// expiring at the earlier of the expiry it was sealed with (PRODUCT T5:
// the refresh idle time in force at its issue; a format-1 token has none)
// and the current idle time after its issue. A later, longer idle time
// must not extend it past the sealed_until its tombstone was kept to, nor
// a shorter one leave it outliving a tombstone its access token made,
// which knows only the current idle time (revoke.go), or clean-up would
// let it materialize a revoked family again (T9). Tampered, under a key
// this server does not hold or no longer opens with: error.
func (t *Tokens) unseal(ctx context.Context, raw string, now time.Time) (store.Unsealed, error) {
	c, err := withSealKeys(ctx, t.Seals, now, func() (seal.Claims, error) { return t.Seals.Open(raw, now) })
	if err != nil {
		return store.Unsealed{}, err
	}
	expires := c.IssuedAt.Add(t.RefreshIdleTTL)
	if !c.ExpiresAt.IsZero() && c.ExpiresAt.Before(expires) {
		expires = c.ExpiresAt
	}
	return store.Unsealed{Family: c.Family(),
		Token: domain.RefreshToken{Hash: ids.Hash(raw), State: domain.RefreshLive, CreatedAt: c.IssuedAt, ExpiresAt: expires}}, nil
}

// readCounted reads a counted refresh token (internal/seal).
func (t *Tokens) readCounted(ctx context.Context, raw string, now time.Time) (seal.Counted, error) {
	return withSealKeys(ctx, t.Seals, now, func() (seal.Counted, error) { return t.Seals.ReadCounted(raw, now) })
}

// withSealKeys runs read, and once more after reloading the stored seal
// keys when read met a key this process has not loaded (seal.Ring.Reload
// says when it may), so a token under a key another replica seals with
// is not refused while this one's key poll is late.
func withSealKeys[T any](ctx context.Context, ring *seal.Ring, now time.Time, read func() (T, error)) (T, error) {
	v, err := read()
	if errors.Is(err, seal.ErrUnknownKey) && ring.Reload(ctx, now) {
		return read()
	}
	return v, err
}

// redeemCode is PRODUCT T6 and T7: the code becomes a customer family,
// read-only, committed together with the code's use. A replay revokes
// what the first redemption produced, here at once and on every replica
// through the revocation poll (PRODUCT A11).
func (t *Tokens) redeemCode(ctx context.Context, client domain.Client, req oauth.TokenRequest, by domain.Origin) (Response, error) {
	now := t.Now()
	by.At = now
	fam, refresh, err := t.newFamily(now)
	if err != nil {
		return Response{}, err
	}
	rule := oauth.CodeRule{Client: client, RedirectURI: req.RedirectURI, Verifier: req.CodeVerifier, Now: now}
	cctx, span := t.Tracer.Start(ctx, SpanCommit)
	red, err := t.Store.RedeemCode(cctx, ids.Hash(req.Code), fam, by,
		func(code domain.AuthCode, grant domain.Grant) (domain.CodeVerdict, error) {
			return decided(t, cctx, func() (domain.CodeVerdict, error) { return rule.Check(code, grant) })
		})
	endSpan(span, err)
	if errors.Is(err, store.ErrNotFound) {
		return Response{}, problem.InvalidGrant("authorization code is invalid")
	}
	if err != nil {
		return Response{}, fmt.Errorf("redeem code: %w", err)
	}
	t.Metrics.CodeRedemption(red.Verdict == domain.CodeReplay)
	if red.Verdict == domain.CodeReplay {
		if !red.Revoked {
			// Its family was revoked before: nothing to revoke again.
			return Response{}, problem.InvalidGrant(msgCodeReplayed)
		}
		// RFC 6749 §4.1.2: a used code came back; someone else may hold it.
		return Response{}, t.revoked(ctx, red.Family.ID, client, now, metrics.ByCodeReplay, "authorization code used twice; its tokens are revoked", msgCodeReplayed)
	}
	resp, err := t.pair(ctx, red.Family, oauth.CustomerScopes(red.Family.Scopes), refresh, now)
	if err != nil || !oauth.IDTokenWanted(red.Family.Scopes) {
		return resp, err
	}
	return t.withIDToken(ctx, resp, red, now)
}

// withIDToken adds the ID token of OpenID Connect Core §3.1.3.3 to a code's
// token response (PRODUCT T12): the code's nonce and sign-in time, the
// customer's claims as its scopes allow, at_hash of the access token.
// The refresh grant returns none (Core §12.2 makes it optional): the
// family keeps no sign-in time to repeat.
func (t *Tokens) withIDToken(ctx context.Context, resp Response, red store.Redemption, now time.Time) (Response, error) {
	// The customer as the redemption read it: no read after the code is
	// spent, whose failure would turn the client's retry into a replay.
	_, span := t.Tracer.Start(ctx, SpanSign)
	var err error
	resp.IDToken, err = t.Issuer.MintID(token.IDToken{ClientID: red.Family.ClientID, Customer: red.Customer, Scopes: red.Family.Scopes,
		AuthTime: red.Code.AuthTime, Nonce: red.Code.Nonce, AccessToken: resp.AccessToken}, now)
	endSpan(span, err)
	if err != nil {
		return Response{}, fmt.Errorf("mint ID token: %w", err)
	}
	t.Metrics.IDTokenIssued()
	return resp, nil
}

// msgCodeReplayed is what a client hears for a code used a second time.
const msgCodeReplayed = "authorization code was already used; every token issued from it is revoked"

// refresh is PRODUCT T5 and S3. The presented token names its family
// (counted, or sealed as a client-credentials family's first) or, issued
// by a release before counted tokens, has a row. Either way its child is
// worked out, not drawn, so every presentation inside the retry window,
// on any replica and even after a lost response, gets the one child the
// first rotation made live; only the access token is minted afresh.
func (t *Tokens) refresh(ctx context.Context, client domain.Client, req oauth.TokenRequest, by domain.Origin) (Response, error) {
	now := t.Now()
	by.At = now
	rule := oauth.RefreshRule{Client: client, RequestedScope: req.Scope, Now: now, Window: t.RetryWindow}
	var presented *store.FamilyToken
	switch {
	case seal.IsCounted(req.RefreshToken):
		c, err := t.readCounted(ctx, req.RefreshToken, now)
		if err != nil {
			return Response{}, problem.InvalidGrant("refresh token is invalid").WithCause(err)
		}
		presented = &store.FamilyToken{FamilyID: c.FamilyID, Generation: c.Generation}
	case seal.IsSealed(req.RefreshToken):
		// A client-credentials family's first token (issue 17): it must
		// open, and the rule's checks that need no row (its client, its
		// expiry) run before the store, so a refusal writes nothing.
		u, err := t.unseal(ctx, req.RefreshToken, now)
		if err != nil {
			return Response{}, problem.InvalidGrant("refresh token is invalid").WithCause(err)
		}
		if _, err := rule.Decide(u.Token, u.Family, nil); err != nil {
			return Response{}, err
		}
		if u.Family.OrgID != client.OrgID {
			// Only a seal key's holder could make this; refuse it anyway.
			return Response{}, problem.InvalidGrant("refresh token is invalid").WithCause(errors.New("sealed organization is not the client's"))
		}
		presented = &store.FamilyToken{FamilyID: u.Family.ID, First: &u}
	}
	// A token with a row (a family of an earlier build, or the sealed
	// token of one) rotates to the child derived from it; a counted one
	// never meets a row.
	var derived string
	var rowChild domain.RefreshToken
	if presented == nil || presented.First != nil {
		derived = ids.DeriveRefreshToken(t.RefreshKey, req.RefreshToken)
		rowChild = t.storedRefreshToken(derived, now)
	}
	next := rowChild
	if presented != nil {
		// A generation this rotation makes live is minted under the key
		// that seals now here, named in the family's row for its retries.
		k, err := t.Seals.Sealer(now)
		if err != nil {
			return Response{}, fmt.Errorf("choose seal key: %w", err)
		}
		presented.NextKey = k.ID
		// A counted child has no hash before it is minted, under the key
		// that seals when its generation is issued (after the store): its
		// generation's name stands in, which is all the rule compares.
		next = domain.RefreshToken{Hash: presented.FamilyID + "#" + strconv.FormatUint(presented.Generation+1, 10), CreatedAt: now, ExpiresAt: now.Add(t.RefreshIdleTTL)}
		presented.RowChild = rowChild
	}
	cctx, span := t.Tracer.Start(ctx, SpanCommit)
	decide := func(tok domain.RefreshToken, fam domain.Family, child *domain.RefreshToken) (domain.RefreshDecision, error) {
		r := rule
		r.Child = next.Hash
		if tok.Hash != "" {
			// A row (a counted token has none): its child is derived.
			r.Child = rowChild.Hash
		}
		return decided(t, cctx, func() (domain.RefreshDecision, error) { return r.Decide(tok, fam, child) })
	}
	var rot store.Rotation
	var err error
	if presented != nil {
		rot, err = t.Store.RotateFamilyToken(cctx, *presented, next, by, decide)
	} else {
		rot, err = t.Store.RotateRefreshToken(cctx, ids.Hash(req.RefreshToken), rowChild, by, decide)
	}
	endSpan(span, err)
	if errors.Is(err, store.ErrNotFound) {
		return Response{}, problem.InvalidGrant("refresh token is invalid")
	}
	if err != nil {
		return Response{}, fmt.Errorf("rotate refresh token: %w", err)
	}
	t.Metrics.Refresh(rot.Verdict)
	if rot.Verdict == domain.RefreshReuse {
		// RFC 9700 §4.14.2: a used token came back; someone else may hold it.
		return Response{}, t.revoked(ctx, rot.Family.ID, client, now, metrics.ByRefreshReuse, "refresh token reused after rotation; family revoked",
			"refresh token was already used; every token of its grant is revoked")
	}
	refresh := derived
	if presented != nil && !rot.RowChild {
		// The family's live generation, rotated to now or retried.
		live := seal.Counted{FamilyID: rot.Family.ID, Generation: rot.Family.Generation}
		refresh, err = withSealKeys(ctx, t.Seals, now, func() (string, error) {
			return t.Seals.CountUnder(rot.Family.GenerationKey, live, rot.Family.GenerationAt)
		})
		if err != nil {
			return Response{}, fmt.Errorf("count refresh token: %w", err)
		}
	}
	return t.pair(ctx, rot.Family, rot.Scopes, refresh, now)
}

// origin is the audit origin of the client's request r (PRODUCT O8); the
// grant sets its time.
func (t *Tokens) origin(r *http.Request, client domain.Client) domain.Origin {
	return httpx.Origin(r, t.Addr(r), domain.Actor{Kind: domain.ActorClient, ID: client.ID}, time.Time{})
}

// revoked acts on a family the store has just revoked for a replay: its
// access tokens fail here at once (other processes learn it from the
// revocation poll), the log says why, and the client gets invalid_grant.
func (t *Tokens) revoked(ctx context.Context, familyID string, client domain.Client, now time.Time, by metrics.Revocation, logMsg, clientMsg string) error {
	t.Revoker.Family(familyID, now, by)
	t.Log.WarnContext(ctx, logMsg, "request_id", httpx.RequestID(ctx), "family_id", familyID, "client_id", client.ID)
	return problem.InvalidGrant(clientMsg)
}

// newFamily is a new customer family, created at now, and its first
// refresh token: the family's counted generation 1, live for the refresh
// idle time. The grant fills in the rest from its code or request.
func (t *Tokens) newFamily(now time.Time) (domain.Family, string, error) {
	id, err := t.IDs.ID(domain.PrefixFamily)
	if err != nil {
		return domain.Family{}, "", err
	}
	k, err := t.Seals.Sealer(now)
	if err != nil {
		return domain.Family{}, "", err
	}
	fam := domain.Family{ID: id, CreatedAt: now, Generation: 1, GenerationAt: now, LiveUntil: now.Add(t.RefreshIdleTTL), GenerationKey: k.ID}
	refresh, err := seal.Count(k, seal.Counted{FamilyID: id, Generation: 1})
	return fam, refresh, err
}

// storedRefreshToken is refresh as the store keeps it: its hash, issued
// at now, dying unused after the idle time (PRODUCT T5).
func (t *Tokens) storedRefreshToken(refresh string, now time.Time) domain.RefreshToken {
	return domain.RefreshToken{Hash: ids.Hash(refresh), CreatedAt: now, ExpiresAt: now.Add(t.RefreshIdleTTL)}
}

func (t *Tokens) pair(ctx context.Context, fam domain.Family, scopes domain.Scopes, refresh string, now time.Time) (Response, error) {
	_, span := t.Tracer.Start(ctx, SpanSign)
	access, err := t.Issuer.Mint(token.Grant{
		ClientID: fam.ClientID, OrgID: fam.OrgID, CustomerID: fam.CustomerID, FamilyID: fam.ID, Scope: scopes.String(),
	}, now)
	endSpan(span, err)
	if err != nil {
		return Response{}, fmt.Errorf("mint access token: %w", err)
	}
	return Response{
		AccessToken: access, TokenType: "Bearer", ExpiresIn: int(token.AccessTTL / time.Second),
		RefreshToken: refresh, Scope: scopes.String(),
	}, nil
}
