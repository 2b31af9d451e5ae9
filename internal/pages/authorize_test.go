package pages

import (
	"net/http"
	"strings"
	"testing"
)

// TestAuthorizeByPost is OpenID Connect Core §3.1.2.1 (PRODUCT T12): an
// app's page may post the authorization request, cross-site; the browser
// is sent on to the same request as a GET, which shows the journey. A
// body that is not a form, or parameters in both body and query, get the
// error page and go nowhere.
func TestAuthorizeByPost(t *testing.T) {
	f := newFixture(t)
	c := f.browser()
	q := f.authorizeQuery(testVerifier, nil)
	post := func(path, contentType, body string) *page {
		req, _ := http.NewRequest(http.MethodPost, f.srv.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		req.Header.Set("Origin", "https://app.example")
		return c.do(req)
	}
	sent := post("/oauth/authorize", "application/x-www-form-urlencoded", q.Encode())
	if sent.status != http.StatusSeeOther || sent.location().Path != "/oauth/authorize" || sent.location().Query().Encode() != q.Encode() {
		t.Fatalf("T12/authorize_post: %d, Location %v; want 303 to the same request as a GET", sent.status, sent.location())
	}
	if p := c.get(sent.location().RequestURI()); p.status != http.StatusOK || p.title() != "Sign in" {
		t.Fatalf("T12/authorize_post_journey: %d %q", p.status, p.title())
	}
	// An empty form posted to the request's own address: the query is it.
	if p := post("/oauth/authorize?"+q.Encode(), "application/x-www-form-urlencoded", ""); p.status != http.StatusSeeOther || p.location().Query().Encode() != q.Encode() {
		t.Fatalf("T12/authorize_post_query: %d, Location %v", p.status, p.location())
	}
	for name, p := range map[string]*page{
		"json_body":      post("/oauth/authorize", "application/json", `{"client_id":"x"}`),
		"body_and_query": post("/oauth/authorize?"+q.Encode(), "application/x-www-form-urlencoded", q.Encode()),
		"repeated":       post("/oauth/authorize", "application/x-www-form-urlencoded", q.Encode()+"&state=again"),
		"too_long":       post("/oauth/authorize", "application/x-www-form-urlencoded", q.Encode()+"&nonce="+strings.Repeat("n", maxAuthzLen)),
	} {
		if p.status != http.StatusBadRequest || p.header.Get("Location") != "" || !strings.Contains(p.header.Get("Content-Type"), "text/html") {
			t.Errorf("T12/authorize_post_%s: %d, Location %q, %s", name, p.status, p.header.Get("Location"), p.header.Get("Content-Type"))
		}
	}
}
