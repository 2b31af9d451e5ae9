package pages

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/httpx"
	"github.com/nomosauth/nomosauth/internal/metrics"
	"github.com/nomosauth/nomosauth/internal/oauth"
	"github.com/nomosauth/nomosauth/internal/store"
)

// verify is POST /signin/verify: check the one-time code (PRODUCT A7),
// sign the customer in under a new session id, and continue the journey.
func (p *Pages) verify(w http.ResponseWriter, r *http.Request) error {
	form, b, j, answered, err := p.readJourneyForm(w, r)
	if answered || err != nil {
		return err
	}
	typed, ok := oauth.ParseOneTimeCode(form.Get("code"))
	if !ok {
		// Not a guess at all, so no try is counted.
		return p.renderVerifyAgain(w, r, b, j, form, p.text(r, "err_code_format"))
	}
	msg, refund := p.guessThrottle(w, r)
	if msg != "" {
		return p.renderVerifyAgain(w, r, b, j, form, msg)
	}
	now := p.Now()
	rule := oauth.OneTimeRule{PresentedHash: p.codeHash(b.hash, typed), Now: now}
	otc, verdict, err := p.Journey.VerifyOneTimeCode(r.Context(), b.hash, p.origin(r, domain.Actor{Kind: domain.ActorSystem}, now), rule.Check)
	if err != nil || (verdict != domain.OneTimeReject && verdict != domain.OneTimeLockout) {
		refund() // only a wrong code spends the address's budget
	}
	if errors.Is(err, store.ErrNotFound) {
		return p.renderSignin(w, r, b, j, "", p.text(r, "err_code_gone"))
	}
	if err != nil {
		return fmt.Errorf("verify one-time code: %w", err)
	}
	switch verdict {
	case domain.OneTimeExhausted:
		return p.renderSignin(w, r, b, j, otc.Email, p.text(r, "err_code_gone"))
	case domain.OneTimeReject, domain.OneTimeLockout:
		if oauth.TriesLeft(otc) == 0 {
			return p.renderSignin(w, r, b, j, otc.Email, p.text(r, "err_code_gone"))
		}
		// The code page says so, from the tries stored: reloading it
		// spends no try.
		return p.toVerify(w, r, form)
	}
	cust, err := p.customerFor(r, otc)
	if errors.Is(err, store.ErrNotFound) {
		return p.renderSignin(w, r, b, j, otc.Email, p.text(r, "err_no_account"))
	}
	if err != nil {
		return err
	}
	device := b.device
	if b, err = p.signIn(w, r, b, cust); err != nil {
		return err
	}
	p.Log.Info("customer signed in", "request_id", requestID(r), "customer_id", cust.ID)
	if j == nil && device != "" {
		return p.deviceResume(w, r, b, device)
	}
	if j == nil {
		http.Redirect(w, r, PathApps, http.StatusSeeOther)
		return nil
	}
	return p.proceed(w, r, b, j)
}

// guessThrottle limits wrong one-time codes per source address (PRODUCT
// A7): a code's five tries bound guesses at one code, this bounds them
// over all the codes an address asks for (sending is limited too, yet a
// new code for each of many emails would otherwise bring five fresh tries
// each). The try is spent before the code is checked, so concurrent
// guesses cannot pass a spent budget together; refund gives it back when
// the code was not wrong. On refusal it sets Retry-After (a 429 page,
// formStatus) and returns the message that says when to try again. Anyone
// behind the same address shares the budget: a sign-in there may wait up
// to a minute while someone keeps guessing, which is the price of bounding
// the guesses.
func (p *Pages) guessThrottle(w http.ResponseWriter, r *http.Request) (msg string, refund func()) {
	dec, refund := p.GuessAddrLimits.Spend("code-guess-addr:" + httpx.AddrKey(p.Addr(r)))
	if dec.Allowed {
		return "", refund
	}
	p.Metrics.RateLimited(metrics.SignInGuessAddr)
	w.Header().Set("Retry-After", strconv.Itoa(dec.RetryAfter))
	return fmt.Sprintf(p.text(r, "err_throttled"), dec.RetryAfter), refund
}

// renderVerifyAgain shows the code page again with what the form carried
// for display; nothing of it is trusted.
func (p *Pages) renderVerifyAgain(w http.ResponseWriter, r *http.Request, b *browser, j *journey, form url.Values, msg string) error {
	email, _ := oauth.CheckEmail(form.Get("email"))
	return p.renderVerify(w, r, b, j, domain.OneTimeCode{Email: email}, msg)
}

// customerFor finds the verified email's customer, or creates it when the
// code came from sign-up (PRODUCT A9: a customer of the client's
// organization, with no subscription).
func (p *Pages) customerFor(r *http.Request, otc domain.OneTimeCode) (domain.Customer, error) {
	cust, err := p.customerByEmail(r.Context(), otc.Email)
	if err == nil || !errors.Is(err, store.ErrNotFound) || otc.SignupOrgID == "" {
		return cust, err
	}
	id, err := p.IDs.ID(domain.PrefixCustomer)
	if err != nil {
		return domain.Customer{}, err
	}
	cust = domain.Customer{ID: id, OrgID: otc.SignupOrgID, Email: otc.Email, FirstName: otc.FirstName, LastName: otc.LastName,
		Type: domain.CustomerPerson, CreatedAt: p.Now().UTC()}
	// PRODUCT A9: the new customer signs itself up.
	err = p.Directory.CreateCustomer(r.Context(), cust, p.origin(r, customerActor(cust.ID), cust.CreatedAt))
	if errors.Is(err, store.ErrConflict) {
		// Registered a moment ago by another tab or replica: sign that one in.
		return p.customerByEmail(r.Context(), otc.Email)
	}
	if err != nil {
		return domain.Customer{}, fmt.Errorf("create customer: %w", err)
	}
	p.Log.Info("customer signed up", "request_id", requestID(r), "customer_id", cust.ID, "org_id", cust.OrgID)
	return cust, nil
}

func requestID(r *http.Request) string { return httpx.RequestID(r.Context()) }
