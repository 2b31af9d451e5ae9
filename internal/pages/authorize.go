package pages

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/ids"
	"github.com/nomosauth/nomosauth/internal/oauth"
	"github.com/nomosauth/nomosauth/internal/problem"
	"github.com/nomosauth/nomosauth/internal/store"
)

// journey is an authorization request in progress, as checked by oauth,
// with the query string that carries it from page to page and the names
// the pages show.
type journey struct {
	req   oauth.AuthorizeRequest
	query string
	app   appView
	// started is when this server first showed the journey, from its
	// seal; zero when a form came back without a valid one. seal is what
	// the pages carry on (PRODUCT T12: a sign-in since then satisfies
	// prompt=login and max_age).
	started time.Time
	seal    string
}

// appTargets is where a form of j's pages may lead the browser besides
// this server (PRODUCT A10): the app's redirect origin, since any of them
// can end the journey with the redirect to the app, a stale one included
// (readForm). None without a journey.
func (j *journey) appTargets() []string {
	if j == nil {
		return nil
	}
	return []string{j.req.RedirectURI.Origin()}
}

// startJourney checks an authorize query: client and redirect URI first,
// whose failures are our own error page (PRODUCT A1), then the rest, whose
// failures go back to the app (A3-A6). It has answered the request itself
// when it returns a nil journey and a nil error.
func (p *Pages) startJourney(w http.ResponseWriter, r *http.Request, query string) (*journey, error) {
	if len(query) > maxAuthzLen {
		return nil, p.fail(r, http.StatusBadRequest, "err_authz_long")
	}
	params, err := url.ParseQuery(query)
	if err != nil {
		return nil, p.fail(r, http.StatusBadRequest, "err_authz_malformed")
	}
	clientID, redirectURI, err := oauth.ParseAuthorizeTarget(params)
	if err != nil {
		return nil, p.targetFailure(r, err)
	}
	client, err := p.Directory.GetClient(r.Context(), clientID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, p.fail(r, http.StatusBadRequest, "err_client_unknown")
	}
	if err != nil {
		return nil, fmt.Errorf("load client: %w", err)
	}
	redirect, err := oauth.CheckAuthorizeClient(client, redirectURI)
	if err != nil {
		return nil, p.targetFailure(r, err)
	}
	req, err := oauth.DecideAuthorize(client, redirect, params)
	var back *oauth.AuthorizeError
	if errors.As(err, &back) {
		p.redirectBack(w, r, req, url.Values{"error": {back.Code}, "error_description": {back.Description}})
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	org, err := p.Directory.GetOrg(r.Context(), client.OrgID)
	if err != nil {
		return nil, fmt.Errorf("load organization: %w", err)
	}
	return &journey{req: req, query: query, app: appView{Name: client.Name, Org: org.Name}}, nil
}

// targetFailure puts why client_id or redirect_uri cannot be trusted on
// our own error page, in the customer's language (PRODUCT A1); what
// exactly is wrong with a redirect URI is for the log.
func (p *Pages) targetFailure(r *http.Request, err error) error {
	var te *oauth.TargetError
	if !errors.As(err, &te) {
		return err
	}
	var pe *problem.Error
	switch te.Reason {
	case oauth.TargetMissing:
		pe = p.fail(r, http.StatusBadRequest, "err_target_missing", te.Param)
	case oauth.TargetRepeated:
		pe = p.fail(r, http.StatusBadRequest, "err_target_repeated", te.Param)
	case oauth.TargetMalformed:
		pe = p.fail(r, http.StatusBadRequest, "err_client_malformed")
	case oauth.TargetDisabled:
		pe = p.fail(r, http.StatusBadRequest, "err_client_disabled")
	default:
		pe = p.fail(r, http.StatusBadRequest, "err_redirect_uri")
	}
	return pe.WithCause(err)
}

// redirectBack sends the browser to the app's redirect URI with params,
// state and iss (PRODUCT A6; RFC 9207 §2). A POST is answered with 303 so
// the browser follows with a GET.
func (p *Pages) redirectBack(w http.ResponseWriter, r *http.Request, req oauth.AuthorizeRequest, params url.Values) {
	if req.State != "" {
		params.Set("state", req.State)
	}
	params.Set("iss", p.Issuer)
	if d := params.Get("error_description"); d != "" {
		params.Set("error_description", problem.OAuthDescription(d))
	}
	sep := "?"
	if strings.Contains(req.RedirectURI.Raw, "?") {
		sep = "&"
	}
	status := http.StatusFound
	if r.Method == http.MethodPost {
		status = http.StatusSeeOther
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, req.RedirectURI.Raw+sep+params.Encode(), status)
}

// authorizePost is POST /oauth/authorize (OpenID Connect Core §3.1.2.1):
// the request's parameters in a form body. The browser is sent on to the
// same request as a GET (303), which is what authorize serves: a
// cross-site POST carries no SameSite=Lax session cookie, the GET that
// follows does. Parameters in both the body and the query are refused, as
// no one can say which were meant; an empty body takes the query's.
func (p *Pages) authorizePost(w http.ResponseWriter, r *http.Request) error {
	params, err := p.readFormBody(w, r)
	if err != nil {
		return err
	}
	query := params.Encode()
	switch {
	case query == "":
		query = r.URL.RawQuery // an empty form posted to the request's address
	case r.URL.RawQuery != "":
		return p.fail(r, http.StatusBadRequest, "err_authorize_both")
	}
	if len(query) > maxAuthzLen {
		// What the GET would answer, here rather than after a redirect.
		return p.fail(r, http.StatusBadRequest, "err_authz_long")
	}
	http.Redirect(w, r, oauth.PathAuthorize+"?"+query, http.StatusSeeOther)
	return nil
}

// authorize is GET /oauth/authorize.
func (p *Pages) authorize(w http.ResponseWriter, r *http.Request) error {
	j, err := p.startJourney(w, r, r.URL.RawQuery)
	if j == nil {
		return err
	}
	j.started = p.Now()
	j.seal = p.sealJourney(j.query, j.started)
	b, err := p.loadBrowser(w, r, true)
	if err != nil {
		return err
	}
	b = b.forJourney()
	switch oauth.DecideSignIn(j.req, b.session, p.Now()) {
	case oauth.SignInRequired:
		// PRODUCT T12; OpenID Connect Core §3.1.2.6: prompt=none shows no page.
		p.redirectBack(w, r, j.req, url.Values{"error": {"login_required"}, "error_description": {"the customer must sign in"}})
		return nil
	case oauth.SignInAsk:
		// No session, or prompt=login or max_age asks for a fresh sign-in
		// (T12): verify continues with proceed, never back through here.
		if j.req.FlowType == oauth.FlowSignup {
			return p.renderSignup(w, r, b, j, signupForm{}, "")
		}
		return p.renderSignin(w, r, b, j, "", "")
	}
	return p.proceed(w, r, b, j)
}

// proceed continues a journey for a signed-in customer: straight back to
// the app when a first-party app's login flow asks for no consent or a
// grant already covers the request (PRODUCT A8, A9), else the consent page.
func (p *Pages) proceed(w http.ResponseWriter, r *http.Request, b *browser, j *journey) error {
	cust := *b.customer
	var existing *domain.Grant
	grant, err := p.Journey.ActiveGrant(r.Context(), cust.ID, j.req.Client.ID)
	switch {
	case err == nil:
		existing = &grant
	case !errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("load grant: %w", err)
	}
	switch oauth.DecideConsent(j.req, cust, existing) {
	case oauth.ConsentOtherOrg:
		p.redirectBack(w, r, j.req, url.Values{"error": {"access_denied"}, "error_description": {"the signed-in customer is not a customer of this client's organization"}})
		return nil
	case oauth.ConsentRequired:
		p.redirectBack(w, r, j.req, url.Values{"error": {"consent_required"}, "error_description": {"the customer must consent"}})
		return nil
	case oauth.ConsentCovered:
		return p.issueCode(w, r, b, j, grant)
	case oauth.ConsentImplied:
		return p.allow(w, r, b, j)
	}
	v := consentView{layout: p.base(r, b)}
	v.with(j)
	for _, s := range j.req.Scopes {
		v.Scopes = append(v.Scopes, scopeText(v.T, s))
	}
	p.render(w, http.StatusOK, "consent", v, j.appTargets()...)
	return nil
}

// scopeText says a scope in plain words.
func scopeText(t Messages, scope string) string {
	switch scope {
	case domain.ScopeRead:
		return t["scope_read"]
	case domain.ScopeWrite:
		return t["scope_write"]
	case domain.ScopeOpenID:
		return t["scope_openid"]
	case domain.ScopeEmail:
		return t["scope_email"]
	case domain.ScopeProfile:
		return t["scope_profile"]
	}
	return scope
}

// consent is POST /oauth/consent: Allow records the grant and sends a code
// back; Deny sends access_denied (PRODUCT A8).
func (p *Pages) consent(w http.ResponseWriter, r *http.Request) error {
	form, b, j, answered, err := p.readJourneyForm(w, r)
	if answered || err != nil {
		return err
	}
	if j == nil {
		return p.fail(r, http.StatusBadRequest, "err_consent_no_request")
	}
	if b.customer == nil {
		// The session ended while the page was open: sign in again.
		return p.renderSignin(w, r, b, j, "", p.text(r, "err_session"))
	}
	if !p.signedInFor(j, b) {
		// PRODUCT T12: prompt=login or max_age wants a sign-in this
		// session does not give, and the form cannot show one since the
		// journey began (Core §3.1.2.1): the consent page cannot skip it.
		return p.renderSignin(w, r, b, j, "", "")
	}
	switch form.Get("decision") {
	case "allow":
		if b.customer.OrgID != j.req.Client.OrgID {
			return p.proceed(w, r, b, j) // says access_denied
		}
		return p.allow(w, r, b, j)
	case "deny":
		now := p.Now()
		denied := p.origin(r, customerActor(b.customer.ID), now).Event(domain.AuditConsentDenied, j.req.Client.ID, j.req.Client.ID, b.customer.ID)
		if err := p.Journey.RecordAudit(r.Context(), denied); err != nil {
			return fmt.Errorf("audit consent denied: %w", err)
		}
		p.redirectBack(w, r, j.req, url.Values{"error": {"access_denied"}, "error_description": {"the customer denied access"}})
		return nil
	}
	return p.fail(r, http.StatusBadRequest, "err_consent_choice")
}

// allow records (or widens) the signed-in customer's grant and sends a code back.
func (p *Pages) allow(w http.ResponseWriter, r *http.Request, b *browser, j *journey) error {
	cust := *b.customer
	id, err := p.IDs.ID(domain.PrefixGrant)
	if err != nil {
		return err
	}
	now := p.Now()
	grant, err := p.Journey.UpsertGrant(r.Context(), domain.Grant{ID: id, CustomerID: cust.ID, ClientID: j.req.Client.ID,
		OrgID: j.req.Client.OrgID, Scopes: j.req.Scopes, CreatedAt: now, UpdatedAt: now}, p.origin(r, customerActor(cust.ID), now))
	if err != nil {
		return fmt.Errorf("record grant: %w", err)
	}
	return p.issueCode(w, r, b, j, grant)
}

// issueCode stores a code bound to client, redirect URI, challenge,
// customer, grant and scopes (PRODUCT T6), with the nonce and the
// session's sign-in time for the ID token (T12), and sends it back.
func (p *Pages) issueCode(w http.ResponseWriter, r *http.Request, b *browser, j *journey, grant domain.Grant) error {
	code, err := p.newCode(r.Context(), j.req, *b.customer, b.session.CreatedAt, grant)
	if err != nil {
		return err
	}
	p.redirectBack(w, r, j.req, url.Values{"code": {code}})
	return nil
}

func (p *Pages) newCode(ctx context.Context, req oauth.AuthorizeRequest, cust domain.Customer, authTime time.Time, grant domain.Grant) (string, error) {
	code, err := p.IDs.AuthCode()
	if err != nil {
		return "", err
	}
	now := p.Now()
	err = p.Journey.CreateCode(ctx, domain.AuthCode{
		Hash: ids.Hash(code), ClientID: req.Client.ID, OrgID: req.Client.OrgID, CustomerID: cust.ID, GrantID: grant.ID,
		RedirectURI: req.RedirectURI.Raw, Challenge: req.Challenge, ChallengeMethod: req.ChallengeMethod,
		Scopes: req.Scopes, CreatedAt: now, ExpiresAt: now.Add(oauth.AuthCodeTTL), Nonce: req.Nonce, AuthTime: authTime,
	})
	if err != nil {
		return "", fmt.Errorf("store code: %w", err)
	}
	return code, nil
}
