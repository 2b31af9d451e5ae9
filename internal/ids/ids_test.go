package ids

import (
	"bytes"
	"crypto/rand"
	"strings"
	"testing"
)

func TestGenerator(t *testing.T) {
	g := Generator{Rand: bytes.NewReader(bytes.Repeat([]byte{0xff}, 100))}
	id, _ := g.ID("org_")
	if id != "org_"+strings.Repeat("7", 25)+"4" {
		t.Fatalf("id %q", id)
	}
	g = Generator{Rand: rand.Reader}
	s, _ := g.Secret()
	r, _ := g.RefreshToken()
	if !strings.HasPrefix(s, PrefixClientSecret) || len(s) != len(PrefixClientSecret)+43 || !strings.HasPrefix(r, PrefixRefreshToken) {
		t.Fatalf("S1: %q %q", s, r)
	}
	if _, err := (Generator{Rand: bytes.NewReader(nil)}).Secret(); err == nil {
		t.Fatal("exhausted randomness must fail")
	}
	if Hash("a") != "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb" {
		t.Fatal("Hash is SHA-256 hex")
	}
}

func TestOneTimeCodeIsSixDigits(t *testing.T) {
	// 0xffffffff is rejected (above the last whole million), then 0 is taken.
	g := Generator{Rand: bytes.NewReader(append(bytes.Repeat([]byte{0xff}, 4), 0, 0, 0, 0))}
	code, err := g.OneTimeCode()
	if err != nil || code != "000000" {
		t.Fatalf("A7: %q %v", code, err)
	}
}

func TestDeriveRefreshToken(t *testing.T) {
	a := DeriveRefreshToken([]byte("key"), "nrt_parent")
	if a != DeriveRefreshToken([]byte("key"), "nrt_parent") {
		t.Fatal("T5: one parent and key derive one child")
	}
	if a == DeriveRefreshToken([]byte("other"), "nrt_parent") || a == DeriveRefreshToken([]byte("key"), "nrt_other") {
		t.Fatal("T5: the child depends on the key and the parent")
	}
	if !strings.HasPrefix(a, PrefixRefreshToken) || len(a) != len(PrefixRefreshToken)+43 {
		t.Fatalf("T5: the child looks like any refresh token: %q", a)
	}
}

// TestLetters: device user codes are n letters of the alphabet, drawn
// uniformly: fed every byte value once, each of the 20 letters comes out
// exactly 12 times and the 16 bytes from 240 up are skipped, which a plain
// modulo would not do (PRODUCT T11).
func TestLetters(t *testing.T) {
	const alphabet = "BCDFGHJKLMNPQRSTVWXZ"
	// The 16 bytes a fair draw must skip come first, then every other
	// value once, then filler the second read takes but does not need.
	var all []byte
	for i := 240; i < 256; i++ {
		all = append(all, byte(i))
	}
	for i := range 240 {
		all = append(all, byte(i))
	}
	all = append(all, make([]byte, 224)...)
	g := Generator{Rand: bytes.NewReader(all)}
	code, err := g.Letters(alphabet, 240)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[rune]int{}
	for _, r := range code {
		if !strings.ContainsRune(alphabet, r) {
			t.Fatalf("T11/alphabet_only: %q", code)
		}
		counts[r]++
	}
	for _, r := range alphabet {
		if counts[r] != 12 {
			t.Fatalf("T11/uniform: %c drawn %d times, want 12: %v", r, counts[r], counts)
		}
	}
	if c, err := (Generator{Rand: rand.Reader}).Letters(alphabet, 8); err != nil || len(c) != 8 {
		t.Fatalf("T11/eight_letters: %q %v", c, err)
	}
}

// TestDeviceCodes: the device code is a prefixed 256-bit secret; the user
// code's stored hash is keyed, so a row alone does not reveal the code
// (PRODUCT T11).
func TestDeviceCodes(t *testing.T) {
	d, err := Generator{Rand: rand.Reader}.DeviceCode()
	if err != nil || !strings.HasPrefix(d, PrefixDeviceCode) || len(d) != len(PrefixDeviceCode)+43 {
		t.Fatalf("T11/device_code_256_bit: %q %v", d, err)
	}
	h := UserCodeHash([]byte("key"), "BCDFGHJK")
	if h != UserCodeHash([]byte("key"), "BCDFGHJK") || len(h) != 64 {
		t.Fatalf("T11/user_code_hash_stable: %q", h)
	}
	if h == UserCodeHash([]byte("other"), "BCDFGHJK") || h == Hash("BCDFGHJK") {
		t.Fatal("T11/user_code_hash_keyed: the hash must depend on the server key")
	}
}
