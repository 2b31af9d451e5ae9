package pages

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/ids"
	"github.com/nomosauth/nomosauth/internal/oauth"
	"github.com/nomosauth/nomosauth/internal/store"
)

// PathMagic is the hosted side of a magic link (PRODUCT A12): GET
// /magic/{token} shows "Continue as <email>" and spends nothing, since
// mail clients' link scanners prefetch links; the page's button POSTs to
// the same path with the form token, and that redeems the link.
const PathMagic = oauth.PathMagicLink

// magicPage is GET /magic/{token}: the link's customer, and who is signed
// in now when that is someone else, whose session continuing replaces.
func (p *Pages) magicPage(w http.ResponseWriter, r *http.Request) error {
	raw := r.PathValue("token")
	l, err := p.magicLink(r, raw)
	if err != nil {
		return p.magicFailed(w, r, err)
	}
	b, err := p.loadBrowser(w, r, true)
	if err != nil {
		return err
	}
	cust, err := p.Directory.GetCustomer(r.Context(), l.CustomerID)
	if err != nil {
		return p.magicFailed(w, r, err)
	}
	v := magicView{layout: p.base(r, b), Action: PathMagic + raw, Email: cust.Email}
	if b.customer != nil && b.customer.ID != cust.ID {
		v.Replaces = b.customer.Email
	}
	p.render(w, http.StatusOK, "magic", v)
	return nil
}

// magic is POST /magic/{token}: in one transaction the link is spent and
// a session starts under a new browser id (session fixation), so a link
// signs in once (PRODUCT A12, S3); the browser's previous session ends.
// A link that cannot be used signs nobody in and leaves the browser as it
// was.
func (p *Pages) magic(w http.ResponseWriter, r *http.Request) error {
	_, b, err := p.readForm(w, r, false)
	if err != nil {
		return err
	}
	id, err := p.IDs.BrowserID()
	if err != nil {
		return err
	}
	now := p.Now()
	ses := domain.Session{Hash: ids.Hash(id), CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(p.SessionMax), AccountOnly: true}
	l, err := p.Journey.RedeemMagicLink(r.Context(), magicHash(r.PathValue("token")), ses,
		p.origin(r, domain.Actor{Kind: domain.ActorSystem}, now), func(l domain.MagicLink) error { return oauth.CheckMagicLink(l, now) })
	if err != nil {
		return p.magicFailed(w, r, err)
	}
	p.setBrowserCookie(w, r, id)
	if b.session != nil {
		if err := p.Journey.DeleteSession(r.Context(), b.hash); err != nil {
			return fmt.Errorf("end old session: %w", err)
		}
	}
	p.Metrics.MagicLinkUsed()
	p.Log.Info("customer signed in with a magic link", "request_id", requestID(r), "customer_id", l.CustomerID, "client_id", l.ClientID)
	// next was checked when the link was issued; checked again, so a row
	// written some other way cannot send the browser off this server.
	next, ok := oauth.CheckMagicNext(l.Next, PathApps)
	if !ok {
		next = PathApps
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

// magicLink loads the link raw names and checks it can still be used.
func (p *Pages) magicLink(r *http.Request, raw string) (domain.MagicLink, error) {
	l, err := p.Journey.GetMagicLink(r.Context(), magicHash(raw))
	if err == nil {
		err = oauth.CheckMagicLink(l, p.Now())
	}
	return l, err
}

// magicFailed shows why a link cannot sign anyone in (PRODUCT A12), in
// the customer's language; other errors go to the error page.
func (p *Pages) magicFailed(w http.ResponseWriter, r *http.Request, err error) error {
	status, key := http.StatusGone, ""
	switch {
	case errors.Is(err, store.ErrNotFound):
		status, key = http.StatusNotFound, "err_magic_unknown"
	case errors.Is(err, oauth.ErrMagicLinkUsed):
		key = "err_magic_used"
	case errors.Is(err, oauth.ErrMagicLinkExpired):
		key = "err_magic_expired"
	default:
		return fmt.Errorf("magic link: %w", err)
	}
	p.render(w, status, "magic_gone", magicGoneView{layout: p.base(r, nil), Error: p.text(r, key)})
	return nil
}

// magicHash is how a link's token is looked up: only its hash is stored.
// Anything not shaped like a token cannot match one.
func magicHash(raw string) string {
	if !strings.HasPrefix(raw, ids.PrefixMagicLink) || len(raw) > 128 {
		return ""
	}
	return ids.Hash(raw)
}
