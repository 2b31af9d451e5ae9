package seal

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
)

// TestCountedMintRead: a counted token reads back as what it names under
// its own key and under no other (a key id the reader does not hold is
// ErrUnknownKey, another secret under the same id ErrTampered); a changed
// byte anywhere fails; a sealed or a random token and every malformed
// shape are ErrNotCounted; minting is deterministic, so a retry names the
// same child (PRODUCT T5).
func TestCountedMintRead(t *testing.T) {
	k, other := key("0102030405060708", 1), key("1112131415161718", 2)
	sameID := key("0102030405060708", 3)
	keys := []domain.SealKey{other, k}
	want := Counted{FamilyID: "fam_abcdefghijklmnopqrstuvwxyz", Generation: 7}
	raw, err := Count(k, want)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := Count(k, want); again != raw {
		t.Fatalf("minting twice gave %q and %q", raw, again)
	}
	if next, _ := Count(k, Counted{FamilyID: want.FamilyID, Generation: 8}); next == raw {
		t.Fatal("two generations share a token")
	}
	if got, err := ReadCounted(keys, raw); err != nil || got != want {
		t.Fatalf("ReadCounted = %+v, %v; want %+v", got, err, want)
	}
	if !IsCounted(raw) || IsSealed(raw) {
		t.Fatalf("IsCounted = %v, IsSealed = %v for a counted token", IsCounted(raw), IsSealed(raw))
	}
	if _, err := ReadCounted([]domain.SealKey{other}, raw); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("a ring without its key read it: %v", err)
	}
	if _, err := ReadCounted([]domain.SealKey{sameID}, raw); !errors.Is(err, ErrTampered) {
		t.Fatalf("another secret under its key id read it: %v", err)
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
		if got, err := ReadCounted(keys, changed); err == nil {
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
		if got, err := ReadCounted(keys, bad); !errors.Is(err, ErrNotCounted) {
			t.Errorf("%s: ReadCounted = %+v, %v; want ErrNotCounted", name, got, err)
		}
	}
	for _, c := range []Counted{{FamilyID: "", Generation: 1}, {FamilyID: "fam_x", Generation: 0}, {FamilyID: strings.Repeat("f", 65), Generation: 1}} {
		if _, err := Count(k, c); err == nil {
			t.Errorf("Count(%+v) succeeded", c)
		}
	}
}

// TestRingCountsUnderTheKeyOfTheIssue: the ring mints a generation under
// the key that sealed when it was issued, so a retry after a rotation's
// new key began sealing still gets the same string; a new generation
// moves to the new key; a retired key reads nothing.
func TestRingCountsUnderTheKeyOfTheIssue(t *testing.T) {
	old, next := key("0102030405060708", 1), key("1112131415161718", 2)
	next.SealsFrom = base.Add(time.Hour)
	old.RetiresAt = base.Add(100 * time.Hour)
	r := NewRing([]domain.SealKey{next, old})
	c := Counted{FamilyID: "fam_x", Generation: 4}
	before, err := r.Count(c, base.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := r.Count(c, base.Add(time.Minute)); again != before {
		t.Fatal("the same generation minted twice differs")
	}
	want, _ := Count(old, c)
	if before != want {
		t.Fatal("a generation issued before the new key sealed is not under the old key")
	}
	after, _ := r.Count(Counted{FamilyID: "fam_x", Generation: 5}, base.Add(2*time.Hour))
	if want, _ := Count(next, Counted{FamilyID: "fam_x", Generation: 5}); after != want {
		t.Fatal("a generation issued after the new key sealed is not under it")
	}
	if got, err := r.ReadCounted(before, base.Add(2*time.Hour)); err != nil || got != c {
		t.Fatalf("the old key no longer reads: %+v %v", got, err)
	}
	if _, err := r.ReadCounted(before, old.RetiresAt); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("a retired key still reads: %v", err)
	}
}

// FuzzCountedRead: whatever is presented, Read either refuses it or
// returns what minting it again gives back exactly: one spelling per
// token, so no variant can dodge the generation check.
func FuzzCountedRead(f *testing.F) {
	k := key("0102030405060708", 1)
	raw, _ := Count(k, Counted{FamilyID: "fam_abc", Generation: 3})
	f.Add(raw)
	f.Add(Prefix + "AwAAAAAAAAAB")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ReadCounted([]domain.SealKey{k}, s)
		if err != nil {
			return
		}
		again, err := Count(k, c)
		if err != nil || again != s {
			t.Fatalf("%q reads as %+v, which mints %q (%v)", s, c, again, err)
		}
	})
}
