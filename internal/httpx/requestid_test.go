package httpx

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"
)

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// TestRequestIDIsFreshUUIDv4: every response carries a new random
// request id in the UUIDv4 form the Nomos API uses, the same one the
// handler sees in its context, never the one a client sent (PRODUCT R4).
func TestRequestIDIsFreshUUIDv4(t *testing.T) {
	var inContext string
	h := WithRequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { inContext = RequestID(r.Context()) }))
	seen := map[string]bool{}
	for range 100 {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set(RequestIDHeader, "forged")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		id := w.Header().Get(RequestIDHeader)
		if !uuidV4.MatchString(id) || id != inContext || seen[id] {
			t.Fatalf("request id %q (context %q, seen before %v)", id, inContext, seen[id])
		}
		seen[id] = true
	}
}

func BenchmarkRequestID(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		newUUID()
	}
}
