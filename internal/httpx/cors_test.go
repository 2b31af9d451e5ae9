package httpx

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestCORSWrap: every answer carries the wildcard and the exposed
// headers, never credentials, also to a request without an Origin, whose
// answer a cache may later hand to a browser app (PRODUCT A13).
func TestCORSWrap(t *testing.T) {
	mux := http.NewServeMux()
	MountCORS(mux, []string{http.MethodGet, http.MethodPost}, "/userinfo", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
	}))
	for _, tc := range []struct {
		name, method, origin string
		status               int
		allowOrigin          string
	}{
		{"A13/cross_origin_get", http.MethodGet, "https://app.example", http.StatusTeapot, "*"},
		{"A13/cross_origin_post", http.MethodPost, "https://app.example", http.StatusTeapot, "*"},
		{"A13/no_origin_same_headers", http.MethodGet, "", http.StatusTeapot, "*"},
		{"A13/preflight", http.MethodOptions, "https://app.example", http.StatusNoContent, "*"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, "/userinfo", nil)
			if tc.origin != "" {
				r.Header.Set("Origin", tc.origin)
			}
			w := httptest.NewRecorder()
			mux.ServeHTTP(w, r)
			h := w.Header()
			if w.Code != tc.status || h.Get("Access-Control-Allow-Origin") != tc.allowOrigin || h.Get("Access-Control-Allow-Credentials") != "" {
				t.Fatalf("%d %v", w.Code, h)
			}
			if tc.method == http.MethodOptions && (h.Get("Access-Control-Allow-Methods") != "GET, POST, OPTIONS" || h.Get("Allow") != "GET, POST, OPTIONS") {
				t.Fatalf("preflight methods %q, Allow %q", h.Get("Access-Control-Allow-Methods"), h.Get("Allow"))
			}
		})
	}
}
