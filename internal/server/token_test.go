package server

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/ids"
	"github.com/nomosauth/nomosauth/internal/problem"
	"github.com/nomosauth/nomosauth/internal/seal"
	"github.com/nomosauth/nomosauth/internal/store"
	"github.com/nomosauth/nomosauth/internal/store/storetest"
	"github.com/nomosauth/nomosauth/internal/testfix"
)

// checkEnvelope asserts the PRODUCT R4 envelope of an error response.
func checkEnvelope(t *testing.T, r result, status int, code, oauthErr string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.raw)
	}
	if r.body["code"] != code || r.body["docs"] != problem.DocsBase+code || r.body["message"] == "" {
		t.Fatalf("envelope %s", r.raw)
	}
	if id := r.header.Get("X-Request-Id"); id == "" || r.body["requestId"] != id {
		t.Fatalf("requestId %v vs header %q", r.body["requestId"], id)
	}
	if oauthErr != "" && (r.body["error"] != oauthErr || r.body["error_description"] == "") {
		t.Fatalf("oauth error %v, want %s: %s", r.body["error"], oauthErr, r.raw)
	}
	// RFC 6749 §5.2: error_description is %x20-21 / %x23-5B / %x5D-7E only.
	if d, _ := r.body["error_description"].(string); strings.ContainsFunc(d, func(c rune) bool { return c < 0x20 || c == '"' || c == '\\' || c > 0x7e }) {
		t.Fatalf("error_description %q has characters RFC 6749 forbids", d)
	}
	if r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("Cache-Control %q", r.header.Get("Cache-Control"))
	}
}

func TestTokenEndpointErrorsChangeNoData(t *testing.T) {
	f := newFixture(t)
	disabled, disabledSecret, _ := f.admin.CreateClient(t.Context(), clientSpec(f, "Disabled"))
	if err := f.admin.DisableClient(t.Context(), disabled.ID); err != nil {
		t.Fatal(err)
	}
	cc := "grant_type=client_credentials"
	basicHeader := func(r *http.Request) { r.SetBasicAuth(f.client.ID, f.secret) }
	tests := []struct {
		name        string
		contentType string
		body        string
		auth        func(*http.Request)
		status      int
		code        string
		oauth       string
		challenge   string
	}{
		{"T1/wrong_secret", form, cc, func(r *http.Request) { r.SetBasicAuth(f.client.ID, "nsec_wrong") }, 401, "UNAUTHORIZED", "invalid_client", "Basic"},
		{"T1/unknown_client", form, cc, func(r *http.Request) { r.SetBasicAuth("client_unknown", f.secret) }, 401, "UNAUTHORIZED", "invalid_client", "Basic"},
		{"T1/two_methods", form, cc + "&client_secret=" + url.QueryEscape(f.secret), basicHeader, 401, "UNAUTHORIZED", "invalid_client", "Basic"},
		{"T1/basic_and_other_client_id", form, cc + "&client_id=" + f.other.ID, basicHeader, 401, "UNAUTHORIZED", "invalid_client", "Basic"},
		{"T1/no_credentials", form, cc, nil, 401, "UNAUTHORIZED", "invalid_client", "Basic"},
		{"T1/malformed_basic", form, cc, func(r *http.Request) { r.Header.Set("Authorization", "Basic %%%") }, 401, "UNAUTHORIZED", "invalid_client", "Basic"},
		{"T1/bearer_instead_of_basic", form, cc, func(r *http.Request) { r.Header.Set("Authorization", "Bearer abc") }, 401, "UNAUTHORIZED", "invalid_client", "Basic"},
		{"T1/disabled_client", form, cc, func(r *http.Request) { r.SetBasicAuth(disabled.ID, disabledSecret) }, 401, "UNAUTHORIZED", "invalid_client", "Basic"},
		{"T1/confidential_without_secret", form, cc + "&client_id=" + f.client.ID, nil, 401, "UNAUTHORIZED", "invalid_client", "Basic"},
		{"T1/post_wrong_secret", form, cc + "&client_id=" + f.client.ID + "&client_secret=nsec_x", nil, 401, "UNAUTHORIZED", "invalid_client", "Basic"},
		{"T3/public_client_cannot_use_client_credentials", form, cc + "&client_id=" + f.public.ID, nil, 400, "BAD_REQUEST", "unauthorized_client", ""},
		{"T2/bad_content_type", "text/plain", cc, basicHeader, 400, "BAD_REQUEST", "invalid_request", ""},
		{"T2/no_content_type", "", cc, basicHeader, 400, "BAD_REQUEST", "invalid_request", ""},
		{"T2/repeated_parameter", form, cc + "&scope=read:*&scope=write:*", basicHeader, 400, "BAD_REQUEST", "invalid_request", ""},
		{"T2/repeated_json_member", "application/json", `{"grant_type":"client_credentials","grant_type":"client_credentials"}`, basicHeader, 400, "BAD_REQUEST", "invalid_request", ""},
		{"T2/json_not_string", "application/json", `{"grant_type":["client_credentials"]}`, basicHeader, 400, "BAD_REQUEST", "invalid_request", ""},
		{"T2/json_malformed", "application/json", `{"grant_type":`, basicHeader, 400, "BAD_REQUEST", "invalid_request", ""},
		{"T2/json_trailing_data", "application/json", `{"grant_type":"client_credentials"} {}`, basicHeader, 400, "BAD_REQUEST", "invalid_request", ""},
		{"T2/oversized_body", form, cc + "&pad=" + strings.Repeat("a", 20<<10), basicHeader, 400, "BAD_REQUEST", "invalid_request", ""},
		{"T2/missing_grant_type", form, "scope=read:*", basicHeader, 400, "BAD_REQUEST", "invalid_request", ""},
		{"T2/overlong_parameter", form, cc + "&scope=" + strings.Repeat("r", 3000), basicHeader, 400, "BAD_REQUEST", "invalid_request", ""},
		{"unsupported_grant_type", form, "grant_type=password&username=a&password=b", basicHeader, 400, "BAD_REQUEST", "unsupported_grant_type", ""},
		{"T3/scope_outside_client", form, cc + "&scope=" + url.QueryEscape("read:* write:*"), func(r *http.Request) { r.SetBasicAuth(f.other.ID, f.otherSecret) }, 400, "BAD_REQUEST", "invalid_scope", ""},
		{"T3/unknown_scope", form, cc + "&scope=admin", basicHeader, 400, "BAD_REQUEST", "invalid_scope", ""},
		{"T3/unknown_scope_quoted_non_ascii", form, cc + "&scope=" + url.QueryEscape(`zähler\x"`), basicHeader, 400, "BAD_REQUEST", "invalid_scope", ""},
		{"T3/double_space_scope", form, cc + "&scope=" + url.QueryEscape("read:*  write:*"), basicHeader, 400, "BAD_REQUEST", "invalid_scope", ""},
		{"T5/missing_refresh_token", form, "grant_type=refresh_token", basicHeader, 400, "BAD_REQUEST", "invalid_request", ""},
		{"T5/unknown_refresh_token", form, "grant_type=refresh_token&refresh_token=nrt_unknown", basicHeader, 401, "UNAUTHORIZED", "invalid_grant", ""},
		{"T6/missing_code", form, "grant_type=authorization_code&redirect_uri=x", basicHeader, 400, "BAD_REQUEST", "invalid_request", ""},
		{"T6/unknown_code", form, "grant_type=authorization_code&code=nac_unknown", basicHeader, 401, "UNAUTHORIZED", "invalid_grant", ""},
		{"T6/public_unknown_code", form, "grant_type=authorization_code&code=nac_unknown&client_id=" + f.public.ID, nil, 401, "UNAUTHORIZED", "invalid_grant", ""},
		{"T1/public_with_secret", form, "grant_type=authorization_code&code=nac_x&client_id=" + f.public.ID + "&client_secret=nsec_x", nil, 401, "UNAUTHORIZED", "invalid_client", "Basic"},
	}
	// A live family, so that "no change" covers refresh state too.
	mustOK(t, f.clientCredentials(""))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := f.snapshot()
			req, _ := http.NewRequest(http.MethodPost, f.srv.URL+PathToken, strings.NewReader(tt.body))
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			if tt.auth != nil {
				tt.auth(req)
			}
			r := f.do(req)
			checkEnvelope(t, r, tt.status, tt.code, tt.oauth)
			if tt.challenge != "" && !strings.HasPrefix(r.header.Get("WWW-Authenticate"), tt.challenge+" realm=") {
				t.Fatalf("WWW-Authenticate %q", r.header.Get("WWW-Authenticate"))
			}
			if after := f.snapshot(); after != before {
				t.Fatalf("data changed:\nbefore %s\nafter %s", before, after)
			}
		})
	}
}

func TestClientCredentialsSuccess(t *testing.T) {
	f := newFixture(t)
	jsonBody := `{"grant_type":"client_credentials","client_id":"` + f.client.ID + `","client_secret":"` + f.secret + `","scope":"read:*"}`
	tests := []struct {
		name      string
		send      func() result
		wantScope string
	}{
		{"T1/basic", func() result { return f.clientCredentials("") }, "read:* write:*"},
		{"T1/client_secret_post", func() result {
			return f.post(form, "grant_type=client_credentials&client_id="+f.client.ID+"&client_secret="+f.secret)
		}, "read:* write:*"},
		{"T1/basic_with_matching_client_id", func() result {
			return f.post(form, "grant_type=client_credentials&client_id="+f.client.ID, f.client.ID, f.secret)
		}, "read:* write:*"},
		{"T2/json_body", func() result { return f.post("application/json; charset=utf-8", jsonBody) }, "read:*"},
		{"T3/narrowed_scope", func() result { return f.clientCredentials("write:*") }, "write:*"},
		{"T3/restricted_client_default", func() result {
			return f.post(form, "grant_type=client_credentials", f.other.ID, f.otherSecret)
		}, "read:*"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.send()
			mustOK(t, r)
			if r.header.Get("Cache-Control") != "no-store" || r.header.Get("Pragma") != "no-cache" {
				t.Fatalf("T4: cache headers %v", r.header)
			}
			if r.body["token_type"] != "Bearer" || r.body["expires_in"] != float64(3600) || r.body["scope"] != tt.wantScope {
				t.Fatalf("T4: body %s", r.raw)
			}
			rt, _ := r.body["refresh_token"].(string)
			if !strings.HasPrefix(rt, "nrt_") || len(rt) < 40 {
				t.Fatalf("refresh token %q", rt)
			}
			claims, err := f.issuer.Verify(r.body["access_token"].(string), f.clock.Now())
			if err != nil {
				t.Fatal(err)
			}
			if claims.Scope != tt.wantScope || claims.OrgID == "" || claims.Subject != claims.ClientID || claims.FamilyID == "" ||
				claims.ExpiresAt-claims.IssuedAt != 3600 || claims.Issuer != testIssuer || claims.JWTID == "" {
				t.Fatalf("T8: claims %+v", claims)
			}
		})
	}
}

// tokens issues a client-credentials pair and returns its refresh token and family.
func (f *fixture) tokens(scope string) (string, string) {
	f.t.Helper()
	r := f.clientCredentials(scope)
	mustOK(f.t, r)
	return f.pairOf(r)
}

func (f *fixture) pairOf(r result) (string, string) {
	f.t.Helper()
	claims, err := f.issuer.Verify(r.body["access_token"].(string), f.clock.Now())
	if err != nil {
		f.t.Fatal(err)
	}
	return r.body["refresh_token"].(string), claims.FamilyID
}

// live lists the family's live refresh tokens: its live counted
// generation, as a token whose hash is the one minted for it, unless the
// family is revoked or that token expired, and its live token rows (a
// family of a release before counted tokens).
func (f *fixture) live(family string) []domain.RefreshToken {
	f.t.Helper()
	toks, err := storetest.Inspect(f.store.Backend).FamilyTokens(f.t.Context(), family)
	if err != nil {
		f.t.Fatal(err)
	}
	var live []domain.RefreshToken
	for _, tk := range toks {
		if tk.State == domain.RefreshLive {
			live = append(live, tk)
		}
	}
	fam, err := f.store.GetFamily(f.t.Context(), family)
	if err == nil && fam.Generation > 0 && !fam.Revoked() && f.clock.Now().Before(fam.LiveUntil) {
		raw, err := f.tokensSrv.Seals.Count(seal.Counted{FamilyID: family, Generation: fam.Generation}, fam.GenerationAt)
		if err != nil {
			f.t.Fatal(err)
		}
		live = append(live, domain.RefreshToken{Hash: hashOf(raw), FamilyID: family, State: domain.RefreshLive, CreatedAt: fam.GenerationAt, ExpiresAt: fam.LiveUntil})
	}
	return live
}

// legacyFamily seeds a client-credentials family of f.client as a release
// before counted tokens stored it: its first refresh token a row.
func (f *fixture) legacyFamily() (string, string) {
	f.t.Helper()
	raw, err := ids.Generator{Rand: rand.Reader}.RefreshToken()
	if err != nil {
		f.t.Fatal(err)
	}
	now := f.clock.Now()
	fam := domain.Family{ID: "fam_legacy", ClientID: f.client.ID, OrgID: f.client.OrgID, Scopes: f.client.Scopes, CreatedAt: now}
	if err := f.store.IssueRefreshToken(f.t.Context(), fam, domain.RefreshToken{Hash: hashOf(raw), CreatedAt: now, ExpiresAt: now.Add(90 * 24 * time.Hour)}); err != nil {
		f.t.Fatal(err)
	}
	return raw, fam.ID
}

// revoked reports whether family is revoked; a client-credentials
// family that has no row yet (issue 17) is not.
func (f *fixture) revoked(family string) bool {
	fam, err := f.store.GetFamily(f.t.Context(), family)
	if errors.Is(err, store.ErrNotFound) {
		return false
	}
	if err != nil {
		f.t.Fatal(err)
	}
	return fam.Revoked()
}

func TestRefreshRotation(t *testing.T) {
	t.Run("T5/rotates_on_every_use", func(t *testing.T) {
		f := newFixture(t)
		rt0, fam := f.tokens("")
		r1 := f.refresh(rt0, "")
		mustOK(t, r1)
		rt1, fam1 := f.pairOf(r1)
		if rt1 == rt0 || fam1 != fam || r1.body["scope"] != "read:* write:*" {
			t.Fatalf("rotation: %s", r1.raw)
		}
		r2 := f.refresh(rt1, "")
		mustOK(t, r2)
		if live := f.live(fam); len(live) != 1 {
			t.Fatalf("%d live tokens", len(live))
		}
	})
	t.Run("T5/retry_within_window_returns_same_token", func(t *testing.T) {
		f := newFixture(t)
		rt0, fam := f.tokens("")
		r1 := f.refresh(rt0, "")
		mustOK(t, r1)
		rt1, _ := f.pairOf(r1)
		f.clock.Advance(9 * time.Second)
		r2 := f.refresh(rt0, "")
		mustOK(t, r2)
		rt2, _ := f.pairOf(r2)
		if rt2 != rt1 || r2.body["access_token"] == r1.body["access_token"] {
			t.Fatal("a retry inside the window must return the same refresh token with a fresh access token")
		}
		if live := f.live(fam); len(live) != 1 || live[0].Hash != hashOf(rt1) || f.revoked(fam) {
			t.Fatalf("after retry: %d live, revoked %v", len(live), f.revoked(fam))
		}
		mustOK(t, f.refresh(rt1, ""))
	})
	t.Run("T5/retry_after_lost_response_returns_same_token", func(t *testing.T) {
		f := newFixture(t)
		rt0, fam := f.tokens("")
		// The first answer never reaches the client: only the store saw it.
		lost := f.refresh(rt0, "")
		mustOK(t, lost)
		f.clock.Advance(time.Second)
		r := f.refresh(rt0, "")
		mustOK(t, r)
		rt1, _ := f.pairOf(r)
		if rt1 != lost.body["refresh_token"] || f.revoked(fam) {
			t.Fatal("the retry must return the token the lost response carried")
		}
		mustOK(t, f.refresh(rt1, ""))
	})
	t.Run("T5/retry_of_child_derived_otherwise_replaces_it", func(t *testing.T) {
		// A family whose tokens are rows (a release before counted
		// tokens) keeps rotating by them after an upgrade. A child an
		// older release drew at random (here: derived under another key)
		// cannot be handed out again: it dies, the retry's own child
		// lives, and nothing is revoked.
		f := newFixture(t)
		rt0, fam := f.legacyFamily()
		r1 := f.refresh(rt0, "")
		mustOK(t, r1)
		rt1, _ := f.pairOf(r1)
		if seal.IsCounted(rt1) || seal.IsSealed(rt1) {
			t.Fatalf("a row token's child %q is not a row token", rt1)
		}
		f.tokensSrv.RefreshKey = []byte("another key")
		r2 := f.refresh(rt0, "")
		mustOK(t, r2)
		rt2, _ := f.pairOf(r2)
		if live := f.live(fam); rt2 == rt1 || len(live) != 1 || live[0].Hash != hashOf(rt2) || f.revoked(fam) {
			t.Fatalf("after replace: %d live, revoked %v", len(live), f.revoked(fam))
		}
		mustOK(t, f.refresh(rt2, ""))
		f.clock.Advance(time.Minute)
		checkEnvelope(t, f.refresh(rt0, ""), 401, "UNAUTHORIZED", "invalid_grant")
		if !f.revoked(fam) {
			t.Fatal("reuse of a row token did not revoke its family")
		}
	})
	t.Run("T5/retry_narrows_access_token_only", func(t *testing.T) {
		f := newFixture(t)
		rt0, _ := f.tokens("")
		r1 := f.refresh(rt0, "")
		mustOK(t, r1)
		r2 := f.refresh(rt0, "&scope=read:*")
		mustOK(t, r2)
		if r2.body["scope"] != "read:*" || r2.body["refresh_token"] != r1.body["refresh_token"] {
			t.Fatalf("retry with a narrower scope: %s", r2.raw)
		}
	})
	t.Run("T5/reuse_after_window_revokes_family", func(t *testing.T) {
		f := newFixture(t)
		rt0, fam := f.tokens("")
		r1 := f.refresh(rt0, "")
		mustOK(t, r1)
		rt1, _ := f.pairOf(r1)
		f.clock.Advance(11 * time.Second)
		checkEnvelope(t, f.refresh(rt0, ""), 401, "UNAUTHORIZED", "invalid_grant")
		if !f.revoked(fam) {
			t.Fatal("family not revoked")
		}
		if !f.tokensSrv.Revoker.Set.Revoked(fam) {
			t.Fatal("A11: this process's revocation set does not know the family at once")
		}
		checkEnvelope(t, f.refresh(rt1, ""), 401, "UNAUTHORIZED", "invalid_grant")
	})
	t.Run("T5/retry_after_child_was_used_is_reuse", func(t *testing.T) {
		f := newFixture(t)
		rt0, fam := f.tokens("")
		r1 := f.refresh(rt0, "")
		rt1, _ := f.pairOf(r1)
		r2 := f.refresh(rt1, "")
		rt2, _ := f.pairOf(r2)
		checkEnvelope(t, f.refresh(rt0, ""), 401, "UNAUTHORIZED", "invalid_grant")
		if !f.revoked(fam) {
			t.Fatal("family not revoked")
		}
		checkEnvelope(t, f.refresh(rt2, ""), 401, "UNAUTHORIZED", "invalid_grant")
	})
	t.Run("T5/scope_narrows_for_the_access_token_only", func(t *testing.T) {
		f := newFixture(t)
		rt0, _ := f.tokens("")
		r1 := f.refresh(rt0, "&scope=read:*")
		mustOK(t, r1)
		rt1, _ := f.pairOf(r1)
		if r1.body["scope"] != "read:*" {
			t.Fatalf("scope %v", r1.body["scope"])
		}
		// RFC 6749 §6: the new refresh token keeps the original grant.
		r2 := f.refresh(rt1, "")
		mustOK(t, r2)
		if r2.body["scope"] != "read:* write:*" {
			t.Fatalf("scope %v", r2.body["scope"])
		}
	})
	t.Run("T5/scope_cannot_widen_and_nothing_rotates", func(t *testing.T) {
		f := newFixture(t)
		rt0, _ := f.tokens("read:*")
		before := f.snapshot()
		checkEnvelope(t, f.refresh(rt0, "&scope="+url.QueryEscape("read:* write:*")), 400, "BAD_REQUEST", "invalid_scope")
		if f.snapshot() != before {
			t.Fatal("a rejected scope rotated the token")
		}
		mustOK(t, f.refresh(rt0, ""))
	})
	t.Run("T5/idle_expiry", func(t *testing.T) {
		f := newFixture(t)
		rt0, _ := f.tokens("")
		f.clock.Advance(90*24*time.Hour + time.Second)
		checkEnvelope(t, f.refresh(rt0, ""), 401, "UNAUTHORIZED", "invalid_grant")
	})
	t.Run("T5/used_within_idle_time_lives_on", func(t *testing.T) {
		f := newFixture(t)
		rt, _ := f.tokens("")
		for range 3 {
			f.clock.Advance(80 * 24 * time.Hour)
			r := f.refresh(rt, "")
			mustOK(t, r)
			rt, _ = f.pairOf(r)
		}
	})
	t.Run("T5/bound_to_its_client", func(t *testing.T) {
		f := newFixture(t)
		rt0, fam := f.tokens("")
		r := f.post(form, "grant_type=refresh_token&refresh_token="+rt0, f.other.ID, f.otherSecret)
		checkEnvelope(t, r, 401, "UNAUTHORIZED", "invalid_grant")
		if f.revoked(fam) {
			t.Fatal("another client's attempt must not revoke the family")
		}
		mustOK(t, f.refresh(rt0, ""))
	})
	t.Run("T1/rotated_secret_overlap", func(t *testing.T) {
		f := newFixture(t)
		newSecret, err := f.admin.RotateSecret(t.Context(), f.client.ID, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		mustOK(t, f.clientCredentials(""))
		mustOK(t, f.post(form, "grant_type=client_credentials", f.client.ID, newSecret))
		f.clock.Advance(time.Hour)
		checkEnvelope(t, f.clientCredentials(""), 401, "UNAUTHORIZED", "invalid_client")
		mustOK(t, f.post(form, "grant_type=client_credentials", f.client.ID, newSecret))
	})
}

// TestConcurrentRefresh is PRODUCT T5 and S3: many concurrent refreshes
// of one token all succeed with the one new refresh token, which stays
// the family's only live token and works.
func TestConcurrentRefresh(t *testing.T) {
	t.Run("T5/concurrent_refreshes_get_one_token", func(t *testing.T) {
		f := newFixture(t)
		rt0, fam := f.tokens("")
		const n = 20
		var wg sync.WaitGroup
		results := make([]result, n)
		for i := range n {
			wg.Go(func() { results[i] = f.refresh(rt0, "") })
		}
		wg.Wait()
		issued := map[string]bool{}
		for _, r := range results {
			mustOK(t, r)
			rt, _ := f.pairOf(r)
			issued[rt] = true
		}
		if len(issued) != 1 {
			t.Fatalf("%d concurrent refreshes returned %d different refresh tokens, want 1", n, len(issued))
		}
		live := f.live(fam)
		if len(live) != 1 || f.revoked(fam) {
			t.Fatalf("%d live refresh tokens, revoked %v; want 1 and not revoked", len(live), f.revoked(fam))
		}
		for rt := range issued {
			if hashOf(rt) != live[0].Hash {
				t.Fatal("the token handed out is not the live one")
			}
			mustOK(t, f.refresh(rt, ""))
		}
		if f.revoked(fam) {
			t.Fatal("using the shared token revoked the family")
		}
	})
}

func TestMetadataGolden(t *testing.T) {
	f := newFixture(t)
	r := f.do(mustRequest(http.MethodGet, f.srv.URL+PathMetadata))
	if r.status != 200 {
		t.Fatal(r.status)
	}
	testfix.Golden(t, "testdata/metadata.json", r.raw, *update)
	var md Metadata
	if err := json.Unmarshal(r.raw, &md); err != nil || md.Issuer != testIssuer || md.TokenEndpoint != testIssuer+PathToken || md.JWKSURI != testIssuer+PathJWKS {
		t.Fatalf("metadata %s", r.raw)
	}
}

func TestJWKSPublishesSigningKey(t *testing.T) {
	f := newFixture(t)
	r := f.do(mustRequest(http.MethodGet, f.srv.URL+PathJWKS))
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(r.raw, &set); err != nil || len(set.Keys) != 1 {
		t.Fatalf("jwks %s", r.raw)
	}
	k := set.Keys[0]
	if k["kty"] != "EC" || k["alg"] != "ES256" || k["use"] != "sig" || k["d"] != nil || k["kid"] != testfix.SigningKeyID {
		t.Fatalf("jwk %v", k)
	}
	testfix.Golden(t, "testdata/jwks.json", r.raw, *update)
}

// TestErrorEnvelopeGolden pins the token endpoint's error on the wire
// (PRODUCT R4 envelope with the RFC 6749 §5.2 members, its challenge and
// headers): a client presenting a wrong secret.
func TestErrorEnvelopeGolden(t *testing.T) {
	f := newFixture(t)
	r := f.post(form, "grant_type=client_credentials", f.client.ID, "nsec_wrong")
	checkEnvelope(t, r, http.StatusUnauthorized, "UNAUTHORIZED", "invalid_client")
	testfix.Golden(t, "testdata/invalid_client.txt", testfix.Wire(r.status, r.header, r.raw), *update)
}

func TestRoutingErrorsUseEnvelope(t *testing.T) {
	f := newFixture(t)
	r := f.do(mustRequest(http.MethodGet, f.srv.URL+"/nope"))
	checkEnvelope(t, r, 404, "NOT_FOUND", "")
	r = f.do(mustRequest(http.MethodGet, f.srv.URL+PathToken))
	checkEnvelope(t, r, 405, "METHOD_NOT_ALLOWED", "")
	if r.header.Get("Allow") != "OPTIONS, POST" { // OPTIONS: the CORS preflight (PRODUCT A13)
		t.Fatalf("Allow %q", r.header.Get("Allow"))
	}
	r = f.do(mustRequest(http.MethodDelete, f.srv.URL+PathJWKS))
	checkEnvelope(t, r, 405, "METHOD_NOT_ALLOWED", "")
	if !strings.Contains(r.header.Get("Allow"), "GET") {
		t.Fatalf("Allow %q", r.header.Get("Allow"))
	}
}

func TestHealthAndReady(t *testing.T) {
	f := newFixture(t)
	for _, p := range []string{PathHealth, PathReady} {
		if r := f.do(mustRequest(http.MethodGet, f.srv.URL+p)); r.status != 200 || r.header.Get("X-Request-Id") == "" {
			t.Fatalf("%s: %d", p, r.status)
		}
	}
	f.store.Close()
	r := f.do(mustRequest(http.MethodGet, f.srv.URL+PathReady))
	checkEnvelope(t, r, 503, "SERVICE_UNAVAILABLE", "temporarily_unavailable")
	if r.header.Get("Retry-After") == "" { // PRODUCT S5
		t.Fatal("503 without Retry-After")
	}
}

// TestOversizedHeadersGetTheEnvelope is PRODUCT S4 for header fields: past
// 16 KiB a request gets a 431 in the envelope with its request id, on
// every route, and changes nothing; a large request under the bound is
// served.
func TestOversizedHeadersGetTheEnvelope(t *testing.T) {
	f := newFixture(t)
	before := f.snapshot()
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+PathToken, strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", form)
	req.SetBasicAuth(f.client.ID, f.secret)
	req.Header.Set("X-Pad", strings.Repeat("a", 20<<10))
	checkEnvelope(t, f.do(req), http.StatusRequestHeaderFieldsTooLarge, "BAD_REQUEST", "invalid_request")
	if f.snapshot() != before {
		t.Fatal("S4: a request with oversized headers changed data")
	}
	big, _ := http.NewRequest(http.MethodGet, f.srv.URL+PathJWKS, nil)
	big.Header.Set("Cookie", "c="+strings.Repeat("b", 20<<10))
	if r := f.do(big); r.status != http.StatusRequestHeaderFieldsTooLarge || r.body["code"] != "BAD_REQUEST" || r.header.Get("X-Request-Id") == "" {
		t.Fatalf("S4: a GET with a 20 KiB cookie: %d %s", r.status, r.raw)
	}
	ok, _ := http.NewRequest(http.MethodGet, f.srv.URL+PathJWKS, nil)
	ok.Header.Set("Cookie", "c="+strings.Repeat("b", 12<<10))
	if r := f.do(ok); r.status != http.StatusOK {
		t.Fatalf("a 12 KiB cookie: %d %s", r.status, r.raw)
	}
}
