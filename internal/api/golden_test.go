package api

import (
	"flag"
	"net/http"
	"testing"

	"github.com/nomosauth/nomosauth/internal/testfix"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestErrorEnvelopeGolden pins the protected API's error on the wire
// (PRODUCT R4 envelope, R1 challenge and headers): a request without a
// bearer token.
func TestErrorEnvelopeGolden(t *testing.T) {
	f := newFixture(t, nil)
	r := f.call(http.MethodGet, "/customers", "", "")
	wantError(t, r, http.StatusUnauthorized, "UNAUTHORIZED", "invalid_token")
	testfix.Golden(t, "testdata/unauthorized.txt", testfix.Wire(r.status, r.header, []byte(r.raw)), *update)
}
