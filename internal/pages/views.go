package pages

import "html/template"

// One typed view per page: a template reads only what its page carries.

// layout is what the layout template and every page read: the text in the
// customer's language, the form token and who is signed in.
type layout struct {
	T        Messages
	Lang     string
	CSRF     string
	Customer string // the signed-in customer's email
	Device   string // the sealed user code of a device sign-in (browser.device)
}

// journeyView is what a page inside an authorization journey carries: the
// authorize query string the journey continues with and the app it is for.
type journeyView struct {
	Authz   string
	Journey string // the journey's seal (journey.seal)
	App     *appView
}

type appView struct{ Name, Org string }

// with fills the journey fields from j, when there is a journey.
func (jv *journeyView) with(j *journey) {
	if j != nil {
		jv.Authz, jv.Journey, jv.App = j.query, j.seal, &j.app
	}
}

type signinView struct {
	layout
	journeyView
	Email, Error string
	SignupURL    template.URL // built from parsed values, so safe as a URL
}

type signupView struct {
	layout
	journeyView
	Email, FirstName, LastName, Error string
	// The fields Error is about, marked for assistive technology.
	BadEmail, BadFirstName, BadLastName bool
}

type verifyView struct {
	layout
	journeyView
	Email, FirstName, LastName, Error string
	ResendAction                      string
}

type consentView struct {
	layout
	journeyView
	Scopes []string
}

type appsView struct {
	layout
	Grants []grantView
}

type grantView struct {
	ID, App, Org, Since string
	Devices             []string // the devices paired through a device grant (PRODUCT T11)
	Scopes              []string
}

type signedOutView struct{ layout }

type errorView struct {
	layout
	Error string
}

// mailView is the one-time-code email's HTML part.
type mailView struct {
	layout
	Code string
}

// deviceView is the user-code entry page; QR is the same-origin image of
// the complete link when the link carried the code (PRODUCT T11).
type deviceView struct {
	layout
	UserCode, QR, Error string
}

// deviceConfirmView is the anti-phishing confirm page (PRODUCT T11; RFC
// 8628 §5.4): who asks, for which device, when and from where, beside
// where the customer is now.
type deviceConfirmView struct {
	layout
	App, Org, DeviceName, UserCode string
	RequestedAt, RequestedFrom     string
	YourAddress                    string
	MinutesAgo                     int
	Scopes                         []string
	Seal                           string
}

type deviceDoneView struct {
	layout
	Approved bool
}

// magicView is the "Continue as" page of a magic link (PRODUCT A12).
type magicView struct {
	layout
	Action   string // the link's own path, which the button posts to
	Email    string // the link's customer
	Replaces string // the customer signed in now, when another one
}

type magicGoneView struct {
	layout
	Error string
}
