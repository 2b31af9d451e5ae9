package pages

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/httpx"
	"github.com/nomosauth/nomosauth/internal/metrics"
	"github.com/nomosauth/nomosauth/internal/oauth"
	"github.com/nomosauth/nomosauth/internal/store"

	mailer "github.com/nomosauth/nomosauth/internal/mail"
)

// signinPage is GET /signin: the way into connected apps without an app.
func (p *Pages) signinPage(w http.ResponseWriter, r *http.Request) error {
	b, err := p.loadBrowser(w, r, true)
	if err != nil {
		return err
	}
	if b.customer != nil {
		http.Redirect(w, r, PathApps, http.StatusSeeOther)
		return nil
	}
	return p.renderSignin(w, r, b, nil, "", "")
}

func (p *Pages) renderSignin(w http.ResponseWriter, r *http.Request, b *browser, j *journey, email, msg string) error {
	v := signinView{layout: p.base(r, b), Email: email, Error: msg}
	v.with(j)
	if j != nil {
		q, _ := url.ParseQuery(j.query)
		q.Set("flow_type", oauth.FlowSignup)
		v.SignupURL = template.URL(oauth.PathAuthorize + "?" + q.Encode())
	}
	p.render(w, formStatus(w, msg), "signin", v, j.appTargets()...)
	return nil
}

// signupForm is what the sign-up page asks for, and which of its fields
// the page's error is about.
type signupForm struct {
	email, first, last          string
	badEmail, badFirst, badLast bool
}

func (p *Pages) renderSignup(w http.ResponseWriter, r *http.Request, b *browser, j *journey, f signupForm, msg string) error {
	v := signupView{layout: p.base(r, b), Email: f.email, FirstName: f.first, LastName: f.last, Error: msg,
		BadEmail: f.badEmail, BadFirstName: f.badFirst, BadLastName: f.badLast}
	v.with(j)
	p.render(w, formStatus(w, msg), "signup", v, j.appTargets()...)
	return nil
}

// readJourneyForm reads a hosted form (readForm checks its CSRF token) and
// the journey it carries (resumeJourney). answered means the request was
// already sent back to the app with an error.
func (p *Pages) readJourneyForm(w http.ResponseWriter, r *http.Request) (form url.Values, b *browser, j *journey, answered bool, err error) {
	form, b, err = p.readForm(w, r, true)
	if err != nil {
		return form, b, nil, false, err
	}
	j, answered, err = p.resumeJourney(w, r, b, form)
	return form, b, j, answered, err
}

// resumeJourney reads the journey that fields (a form's, or the code
// page's query) carry back from the browser: the device b signs in for,
// when its seal opens (PRODUCT T11), and the authorization request of
// authz, checked again here, with the time its journey started when the
// journey seal opens; nil for a sign-in that leads to connected apps.
// answered means the request was already sent back to the app with an
// error.
func (p *Pages) resumeJourney(w http.ResponseWriter, r *http.Request, b *browser, fields url.Values) (j *journey, answered bool, err error) {
	now := p.Now()
	if _, ok := p.openDeviceSeal(fields.Get("device"), now); ok {
		b.device = fields.Get("device")
	}
	if fields.Get("authz") == "" {
		return nil, false, nil
	}
	if j, err = p.startJourney(w, r, fields.Get("authz")); j == nil {
		return nil, err == nil, err
	}
	if at, ok := p.openJourneySeal(j.query, fields.Get("journey"), now); ok {
		j.started, j.seal = at, fields.Get("journey")
	} else {
		j.seal = p.sealJourney(j.query, now) // started stays unknown
	}
	return j, false, nil
}

// signin is POST /signin: send a one-time code to the email (PRODUCT A7).
// The answer is the same page whether or not the email has an account.
func (p *Pages) signin(w http.ResponseWriter, r *http.Request) error {
	form, b, j, answered, err := p.readJourneyForm(w, r)
	if answered || err != nil {
		return err
	}
	email, err := oauth.CheckEmail(form.Get("email"))
	if err != nil {
		return p.renderSignin(w, r, b, j, form.Get("email"), p.text(r, "err_email"))
	}
	if msg := p.throttle(w, r, email); msg != "" {
		if form.Has("resend") {
			// The code already sent still works: stay where it is typed.
			return p.renderVerify(w, r, b, j, domain.OneTimeCode{Email: email}, msg)
		}
		return p.renderSignin(w, r, b, j, email, msg)
	}
	_, err = p.customerByEmail(r.Context(), email)
	known := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err := p.sendCode(r, b, domain.OneTimeCode{Email: email}, known); err != nil {
		p.Log.Warn("one-time code not delivered", "request_id", requestID(r), "cause", err.Error())
		return p.renderSignin(w, r, b, j, email, p.text(r, "err_mail"))
	}
	return p.toVerify(w, r, form)
}

// signup is POST /signup: like signin, with the details of a new customer
// of the app's organization (PRODUCT A9).
func (p *Pages) signup(w http.ResponseWriter, r *http.Request) error {
	form, b, j, answered, err := p.readJourneyForm(w, r)
	if answered || err != nil {
		return err
	}
	if j == nil {
		return p.fail(r, http.StatusBadRequest, "err_signup_no_app")
	}
	f := signupForm{email: form.Get("email"), first: strings.TrimSpace(form.Get("first_name")), last: strings.TrimSpace(form.Get("last_name"))}
	email, err := oauth.CheckEmail(f.email)
	if err != nil {
		f.badEmail = true
		return p.renderSignup(w, r, b, j, f, p.text(r, "err_email"))
	}
	f.email = email
	f.badFirst, f.badLast = !validName(f.first), !validName(f.last)
	if f.badFirst || f.badLast {
		return p.renderSignup(w, r, b, j, f, p.text(r, "err_name"))
	}
	pending := domain.OneTimeCode{Email: email, SignupOrgID: j.req.Client.OrgID, FirstName: f.first, LastName: f.last}
	if msg := p.throttle(w, r, email); msg != "" {
		if form.Has("resend") {
			return p.renderVerify(w, r, b, j, pending, msg)
		}
		return p.renderSignup(w, r, b, j, f, msg)
	}
	// Known or not, the code goes out: verifying it proves the address,
	// and an existing customer is simply signed in.
	if err := p.sendCode(r, b, pending, true); err != nil {
		p.Log.Warn("one-time code not delivered", "request_id", requestID(r), "cause", err.Error())
		return p.renderSignup(w, r, b, j, f, p.text(r, "err_mail"))
	}
	return p.toVerify(w, r, form)
}

// toVerify sends the browser, once its code is out, to the code page by
// a GET (post, redirect, get): reloading that page, or coming back to it,
// shows it again instead of posting the form again, which would send a
// new code and void the one in the inbox. The journey's fields travel in
// the query, checked again there as from a form.
func (p *Pages) toVerify(w http.ResponseWriter, r *http.Request, form url.Values) error {
	q := url.Values{}
	for _, name := range []string{"authz", "journey", "device"} {
		if v := form.Get(name); v != "" {
			q.Set(name, v)
		}
	}
	target := PathVerify
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
	return nil
}

// verifyPage is GET /signin/verify: the code page of the browser's pending
// code. Without one that can still be used (used, expired, its tries
// spent, or never sent) the browser goes back to where it signs in: its
// authorization request, its device, or sign-in.
func (p *Pages) verifyPage(w http.ResponseWriter, r *http.Request) error {
	b, err := p.loadBrowser(w, r, true)
	if err != nil {
		return err
	}
	b = b.forJourney()
	j, answered, err := p.resumeJourney(w, r, b, r.URL.Query())
	if answered || err != nil {
		return err
	}
	now := p.Now()
	pending, err := p.Journey.PendingOneTimeCode(r.Context(), b.hash)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err != nil || !oauth.OneTimeUsable(pending, now) {
		switch {
		case j != nil:
			http.Redirect(w, r, oauth.PathAuthorize+"?"+j.query, http.StatusSeeOther)
		case b.device != "":
			return p.deviceResume(w, r, b, b.device)
		default:
			http.Redirect(w, r, PathSignin, http.StatusSeeOther)
		}
		return nil
	}
	if pending.Attempts > 0 {
		// A wrong code led here (verify): say so while it is pending.
		return p.renderVerifyAs(w, r, b, j, pending, fmt.Sprintf(p.text(r, "err_code_wrong"), oauth.TriesLeft(pending)), http.StatusOK)
	}
	return p.renderVerify(w, r, b, j, pending, "")
}

// throttle limits codes per email (compared as A7 compares them) and per
// source address (PRODUCT A7). When the limit is reached it sets the
// Retry-After header, which makes the page answer 429 (formStatus), and
// returns the message that says when to try again.
func (p *Pages) throttle(w http.ResponseWriter, r *http.Request, email string) string {
	dec, which := p.AddrLimits.Take("code-addr:"+httpx.AddrKey(p.Addr(r))), metrics.SignInAddr
	if dec.Allowed {
		dec, which = p.EmailLimits.Take("code-email:"+oauth.EmailKey(email)), metrics.SignInEmail
	}
	if dec.Allowed {
		return ""
	}
	p.Metrics.RateLimited(which)
	w.Header().Set("Retry-After", strconv.Itoa(dec.RetryAfter))
	return fmt.Sprintf(p.text(r, "err_throttled"), dec.RetryAfter)
}

// formStatus is the status of a form page shown with msg: 200 without a
// message, 429 when throttle refused the request, else 400.
func formStatus(w http.ResponseWriter, msg string) int {
	switch {
	case msg == "":
		return http.StatusOK
	case w.Header().Get("Retry-After") != "":
		return http.StatusTooManyRequests
	}
	return http.StatusBadRequest
}

// sendCode stores a new one-time code for the browser and emails it when
// deliver is set. For an unknown email the code is stored but never sent,
// so the pages and the stored state look the same either way.
func (p *Pages) sendCode(r *http.Request, b *browser, pending domain.OneTimeCode, deliver bool) error {
	code, err := p.IDs.OneTimeCode()
	if err != nil {
		return err
	}
	id, err := p.IDs.ID("otc_")
	if err != nil {
		return err
	}
	now := p.Now()
	pending.ID, pending.BrowserHash, pending.CodeHash = id, b.hash, p.codeHash(b.hash, code)
	pending.CreatedAt, pending.ExpiresAt = now, now.Add(oauth.OneTimeCodeTTL)
	if err := p.Journey.CreateOneTimeCode(r.Context(), pending); err != nil {
		return fmt.Errorf("store one-time code: %w", err)
	}
	if !deliver {
		return nil
	}
	msg, err := p.codeMail(r, pending.Email, code)
	if err != nil {
		return err
	}
	return p.Mail.Send(r.Context(), msg)
}

// codeMail writes the one-time-code email in the customer's language.
func (p *Pages) codeMail(r *http.Request, to, code string) (mailer.Message, error) {
	v := mailView{layout: p.base(r, nil), Code: code}
	var html bytes.Buffer
	if err := p.pages["mail"].ExecuteTemplate(&html, "mail", v); err != nil {
		return mailer.Message{}, fmt.Errorf("render mail: %w", err)
	}
	t := v.T
	text := t["mail_greeting"] + "\n\n" + t["mail_body"] + "\n\n    " + code + "\n\n" + t["mail_validity"] + "\n\n" + t["mail_ignore"] + "\n"
	return mailer.Message{To: to, Subject: fmt.Sprintf(t["mail_subject"], code), Text: text, HTML: html.String()}, nil
}

func (p *Pages) renderVerify(w http.ResponseWriter, r *http.Request, b *browser, j *journey, pending domain.OneTimeCode, msg string) error {
	return p.renderVerifyAs(w, r, b, j, pending, msg, formStatus(w, msg))
}

// renderVerifyAs is renderVerify with the status given.
func (p *Pages) renderVerifyAs(w http.ResponseWriter, r *http.Request, b *browser, j *journey, pending domain.OneTimeCode, msg string, status int) error {
	v := verifyView{layout: p.base(r, b), Email: pending.Email, FirstName: pending.FirstName, LastName: pending.LastName,
		Error: msg, ResendAction: PathSignin}
	if pending.SignupOrgID != "" {
		v.ResendAction = PathSignup
	}
	v.with(j)
	p.render(w, status, "verify", v, j.appTargets()...)
	return nil
}

// validName accepts 1 to 100 printable characters (domain.PrintableText).
func validName(s string) bool {
	return s != "" && utf8.RuneCountInString(s) <= 100 && domain.PrintableText(s)
}
