package pages

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/text/language"
)

// Messages is one language's text, by key. Templates read it as .T.key.
type Messages map[string]string

// catalogue holds every text the pages and emails show, in each language.
// A test checks both languages have the same keys.
func catalogue() map[string]Messages {
	return map[string]Messages{
		"en": {
			"lang":                "en",
			"brand":               "Customer sign-in",
			"signin_title":        "Sign in",
			"signin_intro":        "Enter your email address. We will send you a six-digit code.",
			"signin_for_app":      "to continue to %s by %s",
			"email_label":         "Email address",
			"send_code":           "Send code",
			"no_account":          "New here?",
			"signup_link":         "Create an account",
			"signup_title":        "Create your account",
			"signup_intro":        "Enter your details. We will send you a six-digit code to confirm your email address.",
			"first_name_label":    "First name",
			"last_name_label":     "Last name",
			"verify_title":        "Check your email",
			"verify_intro":        "If %s belongs to an account, we have sent a six-digit code to it. It is valid for 10 minutes.",
			"code_label":          "Six-digit code",
			"verify_button":       "Continue",
			"resend":              "Send a new code",
			"other_email":         "Use another email address",
			"consent_title":       "Allow access?",
			"consent_intro":       "%s by %s wants to:",
			"consent_signed_in":   "Signed in as %s.",
			"consent_note":        "You can take this access back at any time under Connected apps.",
			"allow":               "Allow",
			"deny":                "Deny",
			"scope_read":          "Read your customer details, your subscriptions and their prices",
			"scope_write":         "Change your data",
			"apps_title":          "Connected apps",
			"apps_intro":          "These apps can access your data. Revoke an app to stop it at once.",
			"apps_none":           "No app has access to your data.",
			"apps_since":          "Since %s",
			"apps_by":             "by %s",
			"revoke":              "Revoke",
			"revoke_label":        "Revoke access for %s",
			"signed_in_as":        "Signed in as %s",
			"signout":             "Sign out",
			"signedout_title":     "You are signed out",
			"signedout_intro":     "You can close this window.",
			"signin_again":        "Sign in again",
			"error_title":         "Something went wrong",
			"error_back":          "Go back to the app you came from and try again.",
			"err_email":           "Enter a valid email address.",
			"err_name":            "Enter your first and last name (up to 100 characters each).",
			"err_code_format":     "Enter the six digits from the email.",
			"err_code_wrong":      "That code is not right. Tries left: %d.",
			"err_code_gone":       "That code has expired or was tried too often. Request a new one.",
			"err_throttled":       "Too many codes were requested. Wait %d seconds, then try again.",
			"err_mail":            "We could not send the email just now. Please try again in a moment.",
			"err_no_account":      "We could not sign you in with that code. Request a new one.",
			"err_session":         "Your session has ended. Please start again.",
			"err_cookie":          "Your browser did not send our cookie. Allow cookies for this site and start again.",
			"err_other_org":       "This account is not a customer of the app's energy provider.",
			"mail_subject":        "%s is your sign-in code",
			"mail_greeting":       "Hello,",
			"mail_body":           "Your sign-in code is:",
			"mail_validity":       "It is valid for 10 minutes and can be used once.",
			"mail_ignore":         "If you did not try to sign in, you can ignore this email.",
			"skip_to_content":     "Skip to content",
			"code_digits_hint":    "The code has six digits.",
			"signup_exists_hint":  "If you already have an account, you will simply be signed in.",
			"continue_to_account": "Manage connected apps",
		},
		"de": {
			"lang":                "de",
			"brand":               "Kundenanmeldung",
			"signin_title":        "Anmelden",
			"signin_intro":        "Geben Sie Ihre E-Mail-Adresse ein. Wir senden Ihnen einen sechsstelligen Code.",
			"signin_for_app":      "um mit %s von %s fortzufahren",
			"email_label":         "E-Mail-Adresse",
			"send_code":           "Code senden",
			"no_account":          "Neu hier?",
			"signup_link":         "Konto erstellen",
			"signup_title":        "Konto erstellen",
			"signup_intro":        "Geben Sie Ihre Daten ein. Wir senden Ihnen einen sechsstelligen Code, um Ihre E-Mail-Adresse zu bestätigen.",
			"first_name_label":    "Vorname",
			"last_name_label":     "Nachname",
			"verify_title":        "Prüfen Sie Ihre E-Mails",
			"verify_intro":        "Wenn zu %s ein Konto gehört, haben wir einen sechsstelligen Code dorthin gesendet. Er ist 10 Minuten gültig.",
			"code_label":          "Sechsstelliger Code",
			"verify_button":       "Weiter",
			"resend":              "Neuen Code senden",
			"other_email":         "Andere E-Mail-Adresse verwenden",
			"consent_title":       "Zugriff erlauben?",
			"consent_intro":       "%s von %s möchte:",
			"consent_signed_in":   "Angemeldet als %s.",
			"consent_note":        "Sie können diesen Zugriff jederzeit unter Verbundene Apps widerrufen.",
			"allow":               "Erlauben",
			"deny":                "Ablehnen",
			"scope_read":          "Ihre Kundendaten, Ihre Verträge und deren Preise lesen",
			"scope_write":         "Ihre Daten ändern",
			"apps_title":          "Verbundene Apps",
			"apps_intro":          "Diese Apps können auf Ihre Daten zugreifen. Widerrufen Sie eine App, um sie sofort zu stoppen.",
			"apps_none":           "Keine App hat Zugriff auf Ihre Daten.",
			"apps_since":          "Seit %s",
			"apps_by":             "von %s",
			"revoke":              "Widerrufen",
			"revoke_label":        "Zugriff für %s widerrufen",
			"signed_in_as":        "Angemeldet als %s",
			"signout":             "Abmelden",
			"signedout_title":     "Sie sind abgemeldet",
			"signedout_intro":     "Sie können dieses Fenster schließen.",
			"signin_again":        "Erneut anmelden",
			"error_title":         "Etwas ist schiefgelaufen",
			"error_back":          "Gehen Sie zurück zu der App, von der Sie kamen, und versuchen Sie es erneut.",
			"err_email":           "Geben Sie eine gültige E-Mail-Adresse ein.",
			"err_name":            "Geben Sie Vor- und Nachnamen ein (je höchstens 100 Zeichen).",
			"err_code_format":     "Geben Sie die sechs Ziffern aus der E-Mail ein.",
			"err_code_wrong":      "Dieser Code stimmt nicht. Verbleibende Versuche: %d.",
			"err_code_gone":       "Dieser Code ist abgelaufen oder wurde zu oft versucht. Fordern Sie einen neuen an.",
			"err_throttled":       "Es wurden zu viele Codes angefordert. Warten Sie %d Sekunden und versuchen Sie es dann erneut.",
			"err_mail":            "Wir konnten die E-Mail gerade nicht senden. Bitte versuchen Sie es gleich noch einmal.",
			"err_no_account":      "Mit diesem Code konnten wir Sie nicht anmelden. Fordern Sie einen neuen an.",
			"err_session":         "Ihre Sitzung ist abgelaufen. Bitte beginnen Sie von vorn.",
			"err_cookie":          "Ihr Browser hat unser Cookie nicht gesendet. Erlauben Sie Cookies für diese Seite und beginnen Sie von vorn.",
			"err_other_org":       "Dieses Konto ist kein Kunde des Energieversorgers dieser App.",
			"mail_subject":        "%s ist Ihr Anmeldecode",
			"mail_greeting":       "Hallo,",
			"mail_body":           "Ihr Anmeldecode lautet:",
			"mail_validity":       "Er ist 10 Minuten gültig und kann einmal verwendet werden.",
			"mail_ignore":         "Wenn Sie sich nicht anmelden wollten, können Sie diese E-Mail ignorieren.",
			"skip_to_content":     "Zum Inhalt springen",
			"code_digits_hint":    "Der Code hat sechs Ziffern.",
			"signup_exists_hint":  "Wenn Sie schon ein Konto haben, werden Sie einfach angemeldet.",
			"continue_to_account": "Verbundene Apps verwalten",
		},
	}
}

// defaultLanguage is used when Accept-Language names nothing we have.
const defaultLanguage = "en"

// Bounds on the part of Accept-Language that pickLanguage reads, so a
// hostile header costs a few microseconds at most: browsers send well under
// 200 bytes and a handful of ranges.
const (
	maxAcceptLanguage       = 512
	maxAcceptLanguageRanges = 16
)

// pickLanguage reads Accept-Language (RFC 9110 §12.5.4) and returns the
// supported language the customer prefers most, or defaultLanguage.
//
// The header is split here and each language range parsed on its own,
// rather than with language.ParseAcceptLanguage, because that function
// refuses the whole header for one bad member (an unknown parameter such as
// "en;q=0.9;x=1", a malformed q): one odd entry must only drop that entry.
// Choosing among the remaining ranges is language.Matcher's job, so "de-CH"
// and "de-AT" find German and a range we do not serve yields the default.
func pickLanguage(header string, supported map[string]Messages) string {
	if len(header) > maxAcceptLanguage {
		// Cut at a member boundary so the last range read is not a
		// truncated one.
		header = header[:maxAcceptLanguage]
		if i := strings.LastIndexByte(header, ','); i >= 0 {
			header = header[:i]
		}
	}
	type ranged struct {
		tag language.Tag
		q   float64
	}
	var wanted []ranged
	members := 0
	for member := range strings.SplitSeq(header, ",") {
		if members++; members > maxAcceptLanguageRanges {
			break
		}
		rng, params, _ := strings.Cut(member, ";")
		q, ok := acceptWeight(params)
		if !ok || q <= 0 { // RFC 9110 §12.4.2: q=0 means "not acceptable"
			continue
		}
		tag, err := language.Parse(strings.TrimSpace(rng))
		if err != nil { // "*", garbage: nothing to match on
			continue
		}
		wanted = append(wanted, ranged{tag, q})
	}
	slices.SortStableFunc(wanted, func(a, b ranged) int { return cmp.Compare(b.q, a.q) })
	prefs := make([]language.Tag, len(wanted))
	for i, w := range wanted {
		prefs[i] = w.tag
	}
	tag, _, confidence := languageMatcher.Match(prefs...)
	base, _ := tag.Base()
	if _, ok := supported[base.String()]; !ok || confidence == language.No {
		return defaultLanguage
	}
	return base.String()
}

// languageMatcher chooses among the catalogue's languages, English first
// because a Matcher falls back to its first tag. It is built once, like a
// compiled regexp: building one is most of the cost of a negotiation, and a
// Matcher only reads its tables after that, so requests can share it.
// TestLanguageMatcherServesCatalogue keeps it in step with catalogue().
var languageMatcher = language.NewMatcher([]language.Tag{language.English, language.German})

// acceptWeight reads the q parameter of one Accept-Language member (RFC
// 9110 §12.4.2); a member without one weighs 1. Other parameters are not in
// the grammar but are ignored rather than failing the member.
func acceptWeight(params string) (float64, bool) {
	for param := range strings.SplitSeq(params, ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(param), "=")
		if !strings.EqualFold(strings.TrimSpace(name), "q") {
			continue
		}
		q, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil || q < 0 || q > 1 {
			return 0, false
		}
		return q, true
	}
	return 1, true
}
