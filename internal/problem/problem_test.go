package problem

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
)

func TestConstructors(t *testing.T) {
	tests := []struct {
		name       string
		err        *Error
		status     int
		code       string
		oauth      string
		headerName string
		header     string
	}{
		{"T1/invalid_client", InvalidClient(), 401, CodeUnauthorized, "invalid_client", "WWW-Authenticate", `Basic realm="nomosauth", charset="UTF-8"`},
		{"T2/invalid_request", InvalidRequest("x"), 400, CodeBadRequest, "invalid_request", "", ""},
		{"T3/invalid_scope", InvalidScope("x"), 400, CodeBadRequest, "invalid_scope", "", ""},
		{"T5/invalid_grant", InvalidGrant("x"), 401, CodeUnauthorized, "invalid_grant", "", ""},
		{"R1/invalid_token", InvalidToken("x"), 401, CodeUnauthorized, "invalid_token", "WWW-Authenticate", `Bearer error="invalid_token"`},
		{"R2/insufficient_scope", InsufficientScope("write:*"), 403, CodeForbidden, "insufficient_scope", "WWW-Authenticate", `Bearer error="insufficient_scope", scope="write:*"`},
		{"R3/not_found", NotFound(), 404, CodeNotFound, "", "", ""},
		{"R4/method_not_allowed", MethodNotAllowed("GET, HEAD"), 405, CodeMethodNotAllowed, "", "Allow", "GET, HEAD"},
		{"R5/too_many", TooManyRequests(3), 429, CodeTooManyRequests, "", "Retry-After", "3"},
		{"R4/internal", Internal(errors.New("disk")), 500, CodeInternal, "server_error", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err.Status != tt.status || tt.err.Code != tt.code || tt.err.OAuthError != tt.oauth {
				t.Fatalf("got %d %s %s, want %d %s %s", tt.err.Status, tt.err.Code, tt.err.OAuthError, tt.status, tt.code, tt.oauth)
			}
			if http.StatusText(tt.status) == "" {
				t.Fatalf("bad status")
			}
			if tt.headerName != "" && tt.err.Header.Get(tt.headerName) != tt.header {
				t.Fatalf("%s = %q, want %q", tt.headerName, tt.err.Header.Get(tt.headerName), tt.header)
			}
		})
	}
}

func TestFreshValues(t *testing.T) {
	a, b := NotFound(), NotFound()
	a.Header.Set("X", "1")
	if b.Header.Get("X") != "" || a == b {
		t.Fatal("constructors must return independent values")
	}
}

func TestCauseIsHiddenButUnwraps(t *testing.T) {
	cause := errors.New("secret detail")
	e := Internal(cause)
	if e.Message != "Internal Server Error" {
		t.Fatalf("message leaks: %q", e.Message)
	}
	wrapped := fmt.Errorf("handler: %w", e)
	var pe *Error
	if !errors.As(wrapped, &pe) || !errors.Is(wrapped, cause) {
		t.Fatal("errors.As/Is must find the problem and its cause")
	}
}

// TestOAuthDescription: an error_description holds only the characters
// RFC 6749 §5.2 allows, whatever a message echoes.
func TestOAuthDescription(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"client authentication failed", "client authentication failed"},
		{`unknown scope "zähler\x"`, `unknown scope 'z?hler/x'`},
		{"tab\there\u2028…", "tab?here??"},
		{"", ""},
	} {
		got := OAuthDescription(tc.in)
		if got != tc.want {
			t.Errorf("OAuthDescription(%q) = %q, want %q", tc.in, got, tc.want)
		}
		for _, r := range got {
			if r < 0x20 || r == '"' || r == '\\' || r > 0x7e {
				t.Errorf("%q keeps %q", got, r)
			}
		}
	}
}
