package seal

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
)

var base = time.Date(2026, 5, 1, 12, 0, 0, 123456000, time.UTC)

func key(id string, fill byte) domain.SealKey {
	return domain.SealKey{ID: id, Secret: bytes.Repeat([]byte{fill}, 32), CreatedAt: base, SealsFrom: base}
}

func claims() Claims {
	return Claims{FamilyID: "fam_abc", ClientID: "client_xyz", OrgID: "org_1", Scopes: domain.Scopes{"read:*", "write:*"}, IssuedAt: base}
}

// reseal re-encodes a token's body after f changed it.
func reseal(t *testing.T, raw string, f func(b []byte) []byte) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(raw, Prefix))
	if err != nil {
		t.Fatal(err)
	}
	return Prefix + base64.RawURLEncoding.EncodeToString(f(b))
}

// TestSealOpen is issue 17 point 1: what one key seals, that key opens,
// and nothing else does: a changed byte anywhere, another key, a key id
// the ring does not hold, a random refresh token.
func TestSealOpen(t *testing.T) {
	k1, k2 := key("0102030405060708", 1), key("1112131415161718", 2)
	raw, err := Seal(k1, claims(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(raw, "nrt_") || !IsSealed(raw) || len(raw) > maxToken {
		t.Fatalf("sealed token %q: want the nrt_ prefix, the sealed shape and a bounded length", raw)
	}
	got, err := Open([]domain.SealKey{k2, k1}, raw)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	want := claims()
	if got.FamilyID != want.FamilyID || got.ClientID != want.ClientID || got.OrgID != want.OrgID ||
		got.Scopes.String() != want.Scopes.String() || !got.IssuedAt.Equal(want.IssuedAt) {
		t.Fatalf("opened %+v, want %+v", got, want)
	}
	if f := got.Family(); f.ID != "fam_abc" || !f.CreatedAt.Equal(base) || f.Revoked() {
		t.Fatalf("family %+v", f)
	}
	random := "nrt_" + base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{format}, 32))
	for _, tc := range []struct {
		name string
		raw  string
		keys []domain.SealKey
		want error
	}{
		{"other_key_same_id", raw, []domain.SealKey{key("0102030405060708", 9)}, ErrTampered},
		{"foreign_key_id", raw, []domain.SealKey{k2}, ErrUnknownKey},
		{"no_keys", raw, nil, ErrUnknownKey},
		{"flipped_tag", reseal(t, raw, func(b []byte) []byte { b[len(b)-1] ^= 1; return b }), []domain.SealKey{k1}, ErrTampered},
		{"flipped_claims", reseal(t, raw, func(b []byte) []byte { b[headerLen+3] ^= 0x80; return b }), []domain.SealKey{k1}, ErrTampered},
		{"flipped_salt", reseal(t, raw, func(b []byte) []byte { b[1+keyIDLen] ^= 1; return b }), []domain.SealKey{k1}, ErrTampered},
		{"key_id_swapped_to_another_held_key", reseal(t, raw, func(b []byte) []byte { copy(b[1:], []byte{0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18}); return b }), []domain.SealKey{k1, k2}, ErrTampered},
		{"other_format", reseal(t, raw, func(b []byte) []byte { b[0] = 3; return b }), []domain.SealKey{k1}, ErrNotSealed},
		// The format is authenticated: a token cannot pass for format 1,
		// which would drop its sealed expiry.
		{"relabelled_format_1", reseal(t, raw, func(b []byte) []byte { b[0] = formatV1; return b }), []domain.SealKey{k1}, ErrTampered},
		{"truncated", reseal(t, raw, func(b []byte) []byte { return b[:minBody-1] }), []domain.SealKey{k1}, ErrNotSealed},
		{"random_refresh_token_starting_with_format", random, []domain.SealKey{k1}, ErrNotSealed},
		{"padding", raw + "=", []domain.SealKey{k1}, ErrNotSealed},
		// Found by FuzzOpen: base64's strict decoder skips line breaks, so
		// one token would have many spellings, each with its own hash.
		{"line_break_inside", raw[:40] + "\r" + raw[40:], []domain.SealKey{k1}, ErrNotSealed},
		{"newline_at_end", raw + "\n", []domain.SealKey{k1}, ErrNotSealed},
		{"no_prefix", strings.TrimPrefix(raw, "nrt_"), []domain.SealKey{k1}, ErrNotSealed},
		{"too_long", raw + strings.Repeat("A", maxToken), []domain.SealKey{k1}, ErrNotSealed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Open(tc.keys, tc.raw); !errors.Is(err, tc.want) {
				t.Fatalf("open: %v, want %v", err, tc.want)
			}
		})
	}
}

// TestIsSealedTellsRefreshTokensApart is issue 17 point 1: random and
// derived refresh tokens (32 bytes) are never taken for sealed ones,
// whatever their first byte.
func TestIsSealedTellsRefreshTokensApart(t *testing.T) {
	for b := range 256 {
		tok := "nrt_" + base64.RawURLEncoding.EncodeToString(append([]byte{byte(b)}, make([]byte, 31)...))
		if IsSealed(tok) {
			t.Fatalf("a 32-byte refresh token starting with %#x reads as sealed", b)
		}
	}
}

// TestRing is issue 17 point 2: the newest key whose SealsFrom has come
// seals; a key not yet sealing already opens; a retired key opens nothing.
func TestRing(t *testing.T) {
	old, next := key("0102030405060708", 1), key("1112131415161718", 2)
	next.CreatedAt, next.SealsFrom = base.Add(time.Hour), base.Add(2*time.Hour)
	old.RetiresAt = base.Add(100 * time.Hour)
	r := NewRing([]domain.SealKey{next, old})
	for _, tc := range []struct {
		at   time.Time
		want string
	}{
		{base.Add(time.Hour), old.ID},      // the new key is loaded but waits
		{base.Add(2 * time.Hour), next.ID}, // its SealsFrom has come
		{base.Add(200 * time.Hour), next.ID},
	} {
		if k, err := r.Sealer(tc.at); err != nil || k.ID != tc.want {
			t.Fatalf("at %v: sealer %q, %v; want %q", tc.at, k.ID, err, tc.want)
		}
	}
	// Created in one clock tick and listed in either order: the key that
	// replaced the other seals.
	sameTick := next
	sameTick.CreatedAt, sameTick.SealsFrom = old.CreatedAt, old.SealsFrom
	for _, keys := range [][]domain.SealKey{{sameTick, old}, {old, sameTick}} {
		if k, err := NewRing(keys).Sealer(base); err != nil || k.ID != next.ID {
			t.Fatalf("keys %v: sealer %q, %v; want the current key %q", keys, k.ID, err, next.ID)
		}
	}
	byOld, err := Seal(old, claims(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Open(byOld, base.Add(99*time.Hour)); err != nil {
		t.Fatalf("the replaced key opens until it retires: %v", err)
	}
	if _, err := r.Open(byOld, old.RetiresAt); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("a retired key opens: %v", err)
	}
	if _, err := NewRing(nil).Seal(claims(), base, rand.Reader); !errors.Is(err, ErrNoKey) {
		t.Fatalf("an empty ring seals: %v", err)
	}
}

// FuzzOpen is STYLE's fuzzing of hostile input: Open never panics, and
// whatever opens under the test key is exactly what was sealed.
func FuzzOpen(f *testing.F) {
	k := key("0102030405060708", 1)
	// A fixed nonce: every fuzz worker builds the same seed.
	raw, err := Seal(k, claims(), bytes.NewReader(make([]byte, nonceLen)))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw)
	f.Add("nrt_")
	f.Add("nrt_" + strings.Repeat("A", 80))
	f.Add(raw[:len(raw)-1])
	f.Fuzz(func(t *testing.T, s string) {
		c, err := Open([]domain.SealKey{k}, s)
		if err == nil && (c.FamilyID == "" || c.ClientID == "" || c.OrgID == "") {
			t.Fatalf("opened empty claims %+v from %q", c, s)
		}
		if err == nil && s != raw {
			t.Fatalf("a forged token %q opened", s)
		}
	})
}

// sealV1 seals c as a format-1 token, sealed before the expiry was: the
// issue time and the strings, no expiry.
func sealV1(t *testing.T, k domain.SealKey, c Claims) string {
	t.Helper()
	id, err := keyID(k.ID)
	if err != nil {
		t.Fatal(err)
	}
	plain := binary.BigEndian.AppendUint64(nil, uint64(c.IssuedAt.UnixMicro()))
	for _, f := range []string{c.FamilyID, c.ClientID, c.OrgID, c.Scopes.String()} {
		plain = append(append(plain, byte(len(f))), f...)
	}
	out := make([]byte, headerLen, headerLen+len(plain)+tagLen)
	out[0] = formatV1
	copy(out[1:], id[:])
	if _, err := rand.Read(out[1+keyIDLen : headerLen]); err != nil {
		t.Fatal(err)
	}
	a, nonce, err := aead(k.Secret, out[1+keyIDLen:headerLen])
	if err != nil {
		t.Fatal(err)
	}
	return Prefix + base64.RawURLEncoding.EncodeToString(a.Seal(out, nonce, plain, out[:1+keyIDLen]))
}

// TestSealedExpiry: a token carries the expiry it was sealed with
// (PRODUCT T5: fixed at issue, whatever idle time the opener runs with
// later); a format-1 token, sealed before, still opens, without one.
func TestSealedExpiry(t *testing.T) {
	k := key("0102030405060708", 1)
	c := claims()
	c.ExpiresAt = base.Add(90 * 24 * time.Hour).Truncate(time.Microsecond)
	raw, err := Seal(k, c, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Open([]domain.SealKey{k}, raw)
	if err != nil || !got.ExpiresAt.Equal(c.ExpiresAt) || !got.IssuedAt.Equal(c.IssuedAt) {
		t.Fatalf("opened %+v, %v; want expiry %v", got, err, c.ExpiresAt)
	}
	v1 := sealV1(t, k, claims())
	if !IsSealed(v1) {
		t.Fatal("a format-1 token is not taken for sealed")
	}
	got, err = Open([]domain.SealKey{k}, v1)
	if err != nil || !got.ExpiresAt.IsZero() || !got.IssuedAt.Equal(base.Truncate(time.Microsecond)) || got.FamilyID != "fam_abc" || got.Scopes.String() != "read:* write:*" {
		t.Fatalf("format 1 opened %+v, %v", got, err)
	}
}

// TestRingReload: a ring with no loader never reloads; with one, a reload
// reads the stored keys into the ring, and another inside the gap does
// nothing, however many come; a failed read keeps the keys.
func TestRingReload(t *testing.T) {
	k1, k2 := key("0102030405060708", 1), key("1112131415161718", 2)
	k1.SealsFrom = base.Add(-time.Hour) // k2 seals once the ring holds it
	r := NewRing([]domain.SealKey{k1})
	if r.Reload(t.Context(), base) {
		t.Fatal("a ring without a loader reloaded")
	}
	reads := 0
	stored := []domain.SealKey{k2, k1}
	var fail error
	r.SetLoader(func(context.Context) ([]domain.SealKey, error) { reads++; return stored, fail }, time.Second)
	if !r.Reload(t.Context(), base) || reads != 1 {
		t.Fatalf("first reload: %d reads", reads)
	}
	if k, err := r.Sealer(base); err != nil || k.ID != k2.ID {
		t.Fatalf("after the reload the sealer is %s, %v", k.ID, err)
	}
	for range 100 {
		if r.Reload(t.Context(), base.Add(999*time.Millisecond)) {
			t.Fatal("a reload inside the gap")
		}
	}
	if reads != 1 {
		t.Fatalf("%d reads inside the gap", reads)
	}
	fail, stored = errors.New("down"), nil
	if r.Reload(t.Context(), base.Add(time.Second)) || reads != 2 {
		t.Fatalf("a failed read reloaded (%d reads)", reads)
	}
	if k, _ := r.Sealer(base); k.ID != k2.ID {
		t.Fatal("a failed read dropped the keys")
	}
}
