package api

import (
	"net/url"
	"testing"
	"time"

	"github.com/nomosauth/nomosauth/internal/store"
)

// FuzzCursor: no input but a cursor this server sealed for this very query
// opens (PRODUCT R7).
func FuzzCursor(f *testing.F) {
	a := &API{Config: Config{CursorKey: []byte("fuzz-key-fuzz-key-fuzz-key-fuzz!")}}
	lq, _ := a.parseList(url.Values{}, "customers\x00org_a")
	sealed := a.sealCursor(store.Cursor{CreatedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), ID: "cus_1"}, lq.fingerprint)
	f.Add(sealed)
	f.Add("")
	f.Add("AAAA")
	f.Fuzz(func(t *testing.T, raw string) {
		got, err := a.openCursor(raw, lq.fingerprint)
		if err == nil && raw != sealed {
			t.Fatalf("opened a cursor the server did not seal: %q → %+v", raw, got)
		}
		if raw == sealed && (err != nil || got.ID != "cus_1") {
			t.Fatalf("sealed cursor did not open: %v", err)
		}
	})
}
