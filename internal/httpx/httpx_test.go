package httpx

import (
	"bytes"
	"crypto/tls"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

func TestParseFlatJSON(t *testing.T) {
	tests := []struct {
		body string
		ok   bool
	}{
		{`{"grant_type":"client_credentials","scope":"read:*"}`, true},
		{`{}`, true},
		{`{"a":"1","a":"2"}`, false},
		{`{"a":1}`, false},
		{`{"a":null}`, false},
		{`{"a":{"b":"c"}}`, false},
		{`["a"]`, false},
		{`{"a":"1"}{"b":"2"}`, false},
		{`{"a":"1"`, false},
		{``, false},
	}
	for _, tt := range tests {
		_, err := parseFlatJSON([]byte(tt.body))
		if (err == nil) != tt.ok {
			t.Errorf("T2: parseFlatJSON(%s) err = %v", tt.body, err)
		}
	}
}

func TestHTTPSPolicy(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
	policy := HTTPSPolicy{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, Exempt: map[string]bool{"/healthz": true}}
	h := WithRequestID(policy.Require(log)(ok))
	tests := []struct {
		name   string
		remote string
		proto  []string
		tls    bool
		path   string
		want   int
	}{
		{"R8/plain_refused", "192.0.2.1:1234", nil, false, "/x", 400},
		{"R8/tls_ok", "192.0.2.1:1234", nil, true, "/x", 204},
		{"R8/trusted_proxy_https", "10.1.2.3:1234", []string{"https"}, false, "/x", 204},
		{"R8/trusted_proxy_http", "10.1.2.3:1234", []string{"http"}, false, "/x", 400},
		{"R8/trusted_proxy_two_values", "10.1.2.3:1234", []string{"https", "http"}, false, "/x", 400},
		{"R8/untrusted_peer_forging_header", "192.0.2.1:1234", []string{"https"}, false, "/x", 400},
		{"R8/health_exempt", "192.0.2.1:1234", nil, false, "/healthz", 204},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, tt.path, nil)
			req.RemoteAddr = tt.remote
			for _, p := range tt.proto {
				req.Header.Add("X-Forwarded-Proto", p)
			}
			if tt.tls {
				req.TLS = &tls.ConnectionState{}
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d", rec.Code, tt.want)
			}
			if tt.want == 400 && !strings.Contains(rec.Body.String(), `"code":"BAD_REQUEST"`) {
				t.Fatalf("body %s", rec.Body)
			}
		})
	}
}

func TestRecoverWritesEnvelope(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h := WithRequestID(Recover(log)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") })))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), `"code":"INTERNAL_SERVER_ERROR"`) || strings.Contains(rec.Body.String(), "boom") {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}

// TestSecurityHeaders: every response carries the fixed security headers,
// and one that came over HTTPS, directly or through a trusted proxy,
// carries HSTS (PRODUCT S7); a plain-HTTP one does not, so a development
// server on plain HTTP never pins its host to HTTPS in a browser.
func TestSecurityHeaders(t *testing.T) {
	policy := HTTPSPolicy{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	h := policy.SecurityHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	for _, tc := range []struct {
		name   string
		tls    bool
		remote string
		proto  string
		hsts   string
	}{
		{"S7/https_gets_hsts", true, "192.0.2.1:1234", "", "max-age=31536000"},
		{"S7/plain_gets_no_hsts", false, "192.0.2.1:1234", "", ""},
		{"S7/https_at_trusted_proxy_gets_hsts", false, "10.0.0.10:1234", "https", "max-age=31536000"},
		{"S7/forwarded_proto_from_untrusted_peer_ignored", false, "192.0.2.1:1234", "https", ""},
		{"S7/plain_at_trusted_proxy_gets_no_hsts", false, "10.0.0.10:1234", "http", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/x", nil)
			req.RemoteAddr = tc.remote
			if tc.proto != "" {
				req.Header.Set("X-Forwarded-Proto", tc.proto)
			}
			if tc.tls {
				req.TLS = &tls.ConnectionState{}
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			got := rec.Header()
			if v := got.Values("Strict-Transport-Security"); strings.Join(v, ",") != tc.hsts {
				t.Errorf("Strict-Transport-Security %q, want %q", v, tc.hsts)
			}
			for k, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"} {
				if got.Get(k) != want {
					t.Errorf("%s %q, want %q", k, got.Get(k), want)
				}
			}
		})
	}
}

// TestAccessLogHidesTokens: a magic link's secret never reaches the log,
// whichever middleware runs first (PRODUCT O4, A12); other paths are logged
// as they are.
func TestAccessLogHidesTokens(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /magic/{token}", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("GET /customers/{id}", func(w http.ResponseWriter, r *http.Request) {})
	h := Chain(Routes(mux, log), AccessLog(log))
	for _, req := range []struct{ method, path string }{
		{http.MethodGet, "/magic/nml_secretsecret"},
		{http.MethodGet, "/customers/cus_1"},
		// No route, or another method: still no secret in the log.
		{http.MethodOptions, "/magic/nml_secretsecret"},
		{http.MethodPut, "/magic/nml_secretsecret"},
		{http.MethodGet, "/magic/nml_secretsecret/"},
		{http.MethodGet, "/oauth/token/nrt_secretsecret"},
	} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(req.method, req.path, nil))
	}
	out := buf.String()
	if strings.Contains(out, "secretsecret") || !strings.Contains(out, `"path":"/magic/{token}"`) || !strings.Contains(out, `"path":"/customers/cus_1"`) {
		t.Fatalf("O4/A12/no_token_in_log:\n%s", out)
	}
}
