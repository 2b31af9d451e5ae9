package pages

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/nomosauth/nomosauth/internal/oauth"
)

// journeySealTTL bounds how long a journey's seal counts: a sign-in takes
// minutes (the one-time code lives ten), and an old seal must not let a
// session older than a later request's max_age pass.
const journeySealTTL = 30 * time.Minute

// sealJourney binds an authorize query to the time this server first
// showed it, under the CSRF key: "unix.mac". The seal goes from page to
// page with the query, so a form posted later can prove when its journey
// began (PRODUCT T12), and a query changed in the browser loses it.
func (p *Pages) sealJourney(query string, at time.Time) string {
	ts := strconv.FormatInt(at.Unix(), 10)
	return ts + "." + p.journeyMAC(ts, query)
}

func (p *Pages) journeyMAC(ts, query string) string {
	m := hmac.New(sha256.New, p.CSRFKey)
	m.Write([]byte("journey\x00" + ts + "\x00" + query))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// openJourneySeal checks seal against query and returns when the journey
// began; ok is false for a missing, forged, foreign, future or expired
// seal. The MAC compares in constant time.
func (p *Pages) openJourneySeal(query, seal string, now time.Time) (time.Time, bool) {
	ts, mac, found := strings.Cut(seal, ".")
	n, err := strconv.ParseInt(ts, 10, 64)
	if !found || err != nil || !hmac.Equal([]byte(mac), []byte(p.journeyMAC(ts, query))) {
		return time.Time{}, false
	}
	at := time.Unix(n, 0)
	if at.After(now.Add(time.Minute)) || now.Sub(at) > journeySealTTL {
		return time.Time{}, false
	}
	return at, true
}

// signedInFor is PRODUCT T12's sign-in rule for a form posted inside
// journey j: the session satisfies the request (oauth.DecideSignIn), or it
// began since the journey did, which is the fresh sign-in prompt=login
// and max_age asked for (OpenID Connect Core §3.1.2.1).
func (p *Pages) signedInFor(j *journey, b *browser) bool {
	if b.session == nil {
		return false
	}
	if oauth.DecideSignIn(j.req, b.session, p.Now()) == oauth.SignInUse {
		return true
	}
	// The seal has whole seconds: a sign-in in the journey's first second counts.
	return !j.started.IsZero() && !b.session.CreatedAt.Before(j.started.Truncate(time.Second))
}
