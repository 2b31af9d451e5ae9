package seal

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func counter(t testing.TB, fill byte) *Counter {
	t.Helper()
	k, err := NewCounter(bytes.Repeat([]byte{fill}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestCountedMintRead: a counted token reads back as what it names under
// its own key and under no other; a changed byte anywhere, a sealed or a
// random token, and every malformed shape are ErrNotCounted; minting is
// deterministic, so a retry names the same child (PRODUCT T5).
func TestCountedMintRead(t *testing.T) {
	k, other := counter(t, 1), counter(t, 2)
	want := Counted{FamilyID: "fam_abcdefghijklmnopqrstuvwxyz", Generation: 7}
	raw, err := k.Mint(want)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := k.Mint(want); again != raw {
		t.Fatalf("minting twice gave %q and %q", raw, again)
	}
	if next, _ := k.Mint(Counted{FamilyID: want.FamilyID, Generation: 8}); next == raw {
		t.Fatal("two generations share a token")
	}
	if got, err := k.Read(raw); err != nil || got != want {
		t.Fatalf("Read = %+v, %v; want %+v", got, err, want)
	}
	if !IsCounted(raw) || IsSealed(raw) {
		t.Fatalf("IsCounted = %v, IsSealed = %v for a counted token", IsCounted(raw), IsSealed(raw))
	}
	if _, err := other.Read(raw); !errors.Is(err, ErrNotCounted) {
		t.Fatalf("another key read it: %v", err)
	}
	b := reseal(t, raw, func(b []byte) []byte { return b })
	if b != raw {
		t.Fatal("reseal changed the token")
	}
	for i := 0; i < len(raw)-len(Prefix); i++ {
		changed := reseal(t, raw, func(b []byte) []byte {
			if i < len(b) {
				b[i] ^= 0x01
			}
			return b
		})
		if changed == raw {
			continue
		}
		if got, err := k.Read(changed); err == nil {
			t.Fatalf("byte %d changed still reads as %+v", i, got)
		}
	}
	sealed, err := Seal(key("0102030405060708", 1), claims(), bytes.NewReader(bytes.Repeat([]byte{9}, 64)))
	if err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string]string{
		"sealed":      sealed,
		"random":      Prefix + strings.Repeat("A", 43),
		"no prefix":   strings.TrimPrefix(raw, Prefix),
		"line break":  raw[:20] + "\n" + raw[20:],
		"padded":      raw + "=",
		"too long":    Prefix + strings.Repeat("A", 2000),
		"truncated":   raw[:len(raw)-4],
		"empty":       "",
		"prefix only": Prefix,
	} {
		if got, err := k.Read(bad); !errors.Is(err, ErrNotCounted) {
			t.Errorf("%s: Read = %+v, %v; want ErrNotCounted", name, got, err)
		}
	}
	for _, c := range []Counted{{FamilyID: "", Generation: 1}, {FamilyID: "fam_x", Generation: 0}, {FamilyID: strings.Repeat("f", 65), Generation: 1}} {
		if _, err := k.Mint(c); err == nil {
			t.Errorf("Mint(%+v) succeeded", c)
		}
	}
	if _, err := NewCounter(make([]byte, 15)); err == nil {
		t.Error("a 15-byte refresh key was accepted")
	}
}

// FuzzCountedRead: whatever is presented, Read either refuses it or
// returns what minting it again gives back exactly: one spelling per
// token, so no variant can dodge the generation check.
func FuzzCountedRead(f *testing.F) {
	k := counter(f, 1)
	raw, _ := k.Mint(Counted{FamilyID: "fam_abc", Generation: 3})
	f.Add(raw)
	f.Add(Prefix + "AwAAAAAAAAAB")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := k.Read(s)
		if err != nil {
			return
		}
		again, err := k.Mint(c)
		if err != nil || again != s {
			t.Fatalf("%q reads as %+v, which mints %q (%v)", s, c, again, err)
		}
	})
}
