package token

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/ids"
)

var now = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

func newIssuer(t testing.TB, alg string) (*Issuer, domain.SigningKey) {
	t.Helper()
	ids := ids.Generator{Rand: rand.Reader}
	k, err := GenerateKey(alg, rand.Reader, ids, now)
	if err != nil {
		t.Fatal(err)
	}
	ring, err := NewKeyRing([]domain.SigningKey{k}, now)
	if err != nil {
		t.Fatal(err)
	}
	return &Issuer{Ring: ring, Issuer: "https://iss.example", Audience: "https://api.example", IDs: ids}, k
}

var grant = Grant{ClientID: "client_a", OrgID: "org_a", FamilyID: "fam_a", Scope: "read:*"}

func TestMintVerifyEachAlgorithm(t *testing.T) {
	for _, alg := range Algorithms() {
		t.Run("T8/"+alg, func(t *testing.T) {
			is, k := newIssuer(t, alg)
			raw, err := is.Mint(grant, now)
			if err != nil {
				t.Fatal(err)
			}
			parseCompact(t, raw, alg, k.ID, "at+jwt")
			c, err := is.Verify(raw, now.Add(59*time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			want := Claims{Issuer: "https://iss.example", Subject: "client_a", Audience: "https://api.example",
				ExpiresAt: now.Add(time.Hour).Unix(), IssuedAt: now.Unix(), NotBefore: now.Unix(), JWTID: c.JWTID,
				ClientID: "client_a", Scope: "read:*", OrgID: "org_a", FamilyID: "fam_a"}
			if c != want || c.JWTID == "" {
				t.Fatalf("claims %+v", c)
			}
		})
	}
}

func TestCustomerTokenSubject(t *testing.T) {
	is, _ := newIssuer(t, AlgES256)
	g := grant
	g.CustomerID = "cus_a"
	raw, _ := is.Mint(g, now)
	c, err := is.Verify(raw, now)
	if err != nil || c.Subject != "cus_a" || c.CustomerID != "cus_a" {
		t.Fatalf("T8/customer: %+v %v", c, err)
	}
}

func TestVerifyRejects(t *testing.T) {
	is, _ := newIssuer(t, AlgES256)
	good, _ := is.Mint(grant, now)
	other, _ := newIssuer(t, AlgES256)
	foreign, _ := other.Mint(grant, now)
	wrongIss := *is
	wrongIss.Issuer = "https://evil.example"
	fromWrongIss, _ := (&Issuer{Ring: is.Ring, Issuer: "https://evil.example", Audience: is.Audience, IDs: is.IDs}).Mint(grant, now)
	fromWrongAud, _ := (&Issuer{Ring: is.Ring, Issuer: is.Issuer, Audience: "https://other.example", IDs: is.IDs}).Mint(grant, now)
	parts := strings.Split(good, ".")
	tampered := parts[0] + "." + parts[1] + "x." + parts[2]
	tests := []struct {
		name string
		raw  string
		at   time.Time
	}{
		{"expired", good, now.Add(time.Hour + Leeway)},
		{"not_yet_valid", good, now.Add(-time.Minute)},
		{"unknown_key", foreign, now},
		{"wrong_issuer", fromWrongIss, now},
		{"wrong_audience", fromWrongAud, now},
		{"tampered", tampered, now},
		{"garbage", "a.b.c", now},
		{"not_a_jws", "nope", now},
		{"overlong", strings.Repeat("a", 5000) + ".b.c", now},
		{"alg_none", noneToken(t), now},
	}
	for _, tt := range tests {
		t.Run("R1/"+tt.name, func(t *testing.T) {
			if _, err := is.Verify(tt.raw, tt.at); !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("err = %v", err)
			}
		})
	}
	if _, err := is.Verify(good, now.Add(time.Hour+Leeway-time.Second)); err != nil {
		t.Fatalf("within leeway: %v", err)
	}
}

func noneToken(t *testing.T) string {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(map[string]string{"alg": "none", "typ": "at+jwt"}) + "." + enc(map[string]any{"iss": "https://iss.example"}) + "."
}

// TestVerifyRefusesJSONSerialization: a correctly signed token re-wrapped in
// the flattened or general JWS JSON serialization (RFC 7515 §7.2) is
// refused. Access tokens are compact JWTs (RFC 7519 §1); the JSON forms can
// carry unprotected headers that a lenient parser merges into the ones the
// signature covers. Each wrapper holds exactly two dots, so it is refused
// by the parser, not by a count of dots.
func TestVerifyRefusesJSONSerialization(t *testing.T) {
	is, k := newIssuer(t, AlgES256)
	good, _ := is.Mint(grant, now)
	parts := strings.Split(good, ".")
	unprotected := map[string]string{"x": "a..b"}
	flattened, _ := json.Marshal(map[string]any{
		"protected": parts[0], "payload": parts[1], "signature": parts[2], "header": unprotected,
	})
	general, _ := json.Marshal(map[string]any{
		"payload":    parts[1],
		"signatures": []map[string]any{{"protected": parts[0], "signature": parts[2], "header": unprotected}},
	})
	pub, _ := is.Ring.publicKey(k.ID)
	for name, raw := range map[string]string{"flattened": string(flattened), "general": string(general)} {
		t.Run("T8/json_"+name, func(t *testing.T) {
			if strings.Count(raw, ".") != 2 {
				t.Fatalf("test wrapper has %d dots", strings.Count(raw, "."))
			}
			// The wrapper is a valid JWS: only its serialization is wrong.
			jws, err := jose.ParseSignedJSON(raw, []jose.SignatureAlgorithm{jose.ES256})
			if err != nil {
				t.Fatalf("wrapper does not parse as JWS JSON: %v", err)
			}
			if _, err := jws.Verify(pub.Key); err != nil {
				t.Fatalf("wrapper does not verify as JWS JSON: %v", err)
			}
			if _, err := is.Verify(raw, now); !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("Verify accepted the JSON serialization: %v", err)
			}
		})
	}
}

// reencodings re-encodes a compact token without changing a byte the
// signature covers: the same token written as another string. RFC 4648 §3.5
// lets a decoder ignore the unused bits of a segment's last character, and
// Go's decoder skips line breaks.
func reencodings(t testing.TB, raw string) map[string]string {
	t.Helper()
	parts := strings.Split(raw, ".")
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	out := map[string]string{}
	for i, name := range []string{"header", "payload", "signature"} {
		seg := parts[i]
		unused := map[int]int{2: 4, 3: 2}[len(seg)%4] // bits of the last character no byte uses
		if unused > 0 {
			last := strings.IndexByte(alphabet, seg[len(seg)-1])
			changed := slices.Clone(parts)
			changed[i] = seg[:len(seg)-1] + string(alphabet[last|1])
			if changed[i] != seg {
				out[name+"_unused_bits"] = strings.Join(changed, ".")
			}
		}
		changed := slices.Clone(parts)
		changed[i] = seg[:4] + "\r\n" + seg[4:]
		out[name+"_line_break"] = strings.Join(changed, ".")
	}
	return out
}

// TestVerifyOneStringPerToken: a token verifies only as the string Mint
// wrote. Re-encodings of its segments decode to the same signed bytes, so
// without this check each would verify and take its own entry in a cache
// of verified tokens, which would then not bound signature checks (PRODUCT T8).
func TestVerifyOneStringPerToken(t *testing.T) {
	for _, alg := range Algorithms() {
		is, _ := newIssuer(t, alg)
		good, _ := is.Mint(grant, now)
		if _, err := is.Verify(good, now); err != nil {
			t.Fatal(err)
		}
		variants := reencodings(t, good)
		if len(variants) < 4 {
			t.Fatalf("only %d variants of %s", len(variants), good)
		}
		for name, raw := range variants {
			t.Run("T8/"+alg+"/"+name, func(t *testing.T) {
				if _, err := is.Verify(raw, now); !errors.Is(err, ErrInvalidToken) {
					t.Fatalf("Verify accepted a re-encoded token: %v", err)
				}
			})
		}
	}
}

func TestRotationKeepsRetiredKeyPublished(t *testing.T) {
	is, old := newIssuer(t, AlgES256)
	before, _ := is.Mint(grant, now)
	newKey, _ := GenerateKey(AlgRS256, rand.Reader, is.IDs, now.Add(time.Minute))
	old.RetiredAt, old.PublishedUntil = newKey.CreatedAt, newKey.CreatedAt.Add(AccessTTL+Leeway)
	if err := is.Ring.Update([]domain.SigningKey{newKey, old}, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	after, _ := is.Mint(grant, now.Add(time.Minute))
	for _, raw := range []string{before, after} {
		if _, err := is.Verify(raw, now.Add(2*time.Minute)); err != nil {
			t.Fatalf("T8/rotation: %v", err)
		}
	}
	var set jose.JSONWebKeySet
	json.Unmarshal(is.Ring.JWKS(), &set)
	if len(set.Keys) != 2 || len(set.Key(old.ID)) != 1 || len(set.Key(newKey.ID)) != 1 {
		t.Fatalf("JWKS %s", is.Ring.JWKS())
	}
	if bytes.Contains(is.Ring.JWKS(), []byte(`"d"`)) {
		t.Fatal("JWKS leaks a private key")
	}
	// After publication ends, the old key is gone and its tokens fail.
	is.Ring.Update([]domain.SigningKey{newKey, old}, old.PublishedUntil)
	if _, err := is.Verify(before, now.Add(2*time.Minute)); err == nil {
		t.Fatal("retired key still verifies after its publication ended")
	}
}

// kidOf is the kid in a compact token's protected header.
func kidOf(t *testing.T, raw string) string {
	t.Helper()
	header, err := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		Kid string `json:"kid"`
	}
	if err := json.Unmarshal(header, &h); err != nil {
		t.Fatal(err)
	}
	return h.Kid
}

// TestRotationPublishesBeforeSigning is PRODUCT T8's publish-then-sign: a
// rotation at t0 with delay d stores the new key at once (so the JWKS
// carries it) and retires the old one at t0+d; the ring signs with the old
// key until then and with the new one after, whatever the time of its
// last Update. A second rotation inside the delay queues behind the first.
func TestRotationPublishesBeforeSigning(t *testing.T) {
	const delay = 5 * time.Minute
	is, k1 := newIssuer(t, AlgES256)
	k2, _ := GenerateKey(AlgEdDSA, rand.Reader, is.IDs, now)
	k1.RetiredAt, k1.PublishedUntil = now.Add(delay), now.Add(delay+AccessTTL+Leeway)
	if err := is.Ring.Update([]domain.SigningKey{k2, k1}, now); err != nil {
		t.Fatal(err)
	}
	mintAt := func(at time.Time) string {
		t.Helper()
		raw, err := is.Mint(grant, at)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := is.Verify(raw, at); err != nil {
			t.Fatal(err)
		}
		return kidOf(t, raw)
	}
	var set jose.JSONWebKeySet
	json.Unmarshal(is.Ring.JWKS(), &set)
	t.Run("T8/new_key_published_at_once", func(t *testing.T) {
		if len(set.Key(k1.ID)) != 1 || len(set.Key(k2.ID)) != 1 {
			t.Fatalf("JWKS %s", is.Ring.JWKS())
		}
	})
	t.Run("T8/old_key_signs_until_the_delay_passed", func(t *testing.T) {
		for _, at := range []time.Time{now, now.Add(delay - time.Second)} {
			if kid := mintAt(at); kid != k1.ID {
				t.Fatalf("at +%v signed with %s, want the old key %s", at.Sub(now), kid, k1.ID)
			}
		}
	})
	t.Run("T8/new_key_signs_after_the_delay", func(t *testing.T) {
		if kid := mintAt(now.Add(delay)); kid != k2.ID { // no Update in between
			t.Fatalf("signed with %s, want the new key %s", kid, k2.ID)
		}
	})
	t.Run("T8/second_rotation_queues_behind_the_first", func(t *testing.T) {
		at := now.Add(time.Minute)
		k3, _ := GenerateKey(AlgES256, rand.Reader, is.IDs, at)
		k2 := k2
		k2.RetiredAt, k2.PublishedUntil = at.Add(delay), at.Add(delay+AccessTTL+Leeway)
		if err := is.Ring.Update([]domain.SigningKey{k3, k2, k1}, at); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			at  time.Time
			kid string
		}{{at, k1.ID}, {now.Add(delay), k2.ID}, {at.Add(delay), k3.ID}} {
			if kid := mintAt(c.at); kid != c.kid {
				t.Fatalf("at +%v signed with %s, want %s", c.at.Sub(now), kid, c.kid)
			}
		}
	})
	t.Run("T8/second_rotation_with_a_shorter_delay_still_queues", func(t *testing.T) {
		// As the store leaves it (AddSigningKey): the second rotation asked
		// for a handover before k1's, and the store moved it to just after
		// k1's. k2 never signs to speak of; k3 signs from then.
		at := now.Add(time.Minute)
		k3, _ := GenerateKey(AlgES256, rand.Reader, is.IDs, at)
		k2 := k2
		k2.RetiredAt = k1.RetiredAt.Add(time.Microsecond)
		k2.PublishedUntil = k2.RetiredAt.Add(AccessTTL + Leeway)
		if err := is.Ring.Update([]domain.SigningKey{k3, k2, k1}, at); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			at  time.Time
			kid string
		}{{at, k1.ID}, {at.Add(2 * time.Second), k1.ID}, {now.Add(delay - time.Second), k1.ID}, {now.Add(delay + time.Second), k3.ID}} {
			if kid := mintAt(c.at); kid != c.kid {
				t.Fatalf("at +%v signed with %s, want %s", c.at.Sub(now), kid, c.kid)
			}
		}
	})
	t.Run("T8/a_key_made_on_a_clock_behind_waits_too", func(t *testing.T) {
		// keys rotate on a machine whose clock is behind: the new key's
		// creation time is before the current key's, and it still signs
		// only after the current key's handover.
		k0, _ := GenerateKey(AlgES256, rand.Reader, is.IDs, now.Add(-time.Second))
		k1 := k1
		if err := is.Ring.Update([]domain.SigningKey{k1, k0}, now); err != nil {
			t.Fatal(err)
		}
		if kid := mintAt(now); kid != k1.ID {
			t.Fatalf("a key made on a clock behind signed at once: %s, want %s", kid, k1.ID)
		}
		if kid := mintAt(now.Add(delay)); kid != k0.ID {
			t.Fatalf("after the handover signed with %s, want %s", kid, k0.ID)
		}
	})
}

// TestSigningKeyAge: the age the metrics show is that of the key that signs
// at the time asked, the old one until the publication delay passed
// (PRODUCT O7, T8).
func TestSigningKeyAge(t *testing.T) {
	const delay = 5 * time.Minute
	is, k1 := newIssuer(t, AlgES256)
	at := now.Add(time.Hour)
	k2, _ := GenerateKey(AlgES256, rand.Reader, is.IDs, at)
	k1.RetiredAt = at.Add(delay)
	if err := is.Ring.Update([]domain.SigningKey{k2, k1}, at); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		at   time.Time
		want time.Duration
	}{{at, time.Hour}, {at.Add(delay - time.Second), time.Hour + delay - time.Second}, {at.Add(delay), delay}} {
		if got := is.Ring.SigningKeyAge(c.at); got != c.want {
			t.Fatalf("O7/signing_key_age at +%v: %v, want %v", c.at.Sub(now), got, c.want)
		}
	}
}

func TestRingNeedsActiveKey(t *testing.T) {
	if _, err := NewKeyRing(nil, now); err == nil {
		t.Fatal("empty ring accepted")
	}
}

// TestMintIsStandardJWS checks what go-jose writes with the standard
// library alone: exactly the protected header of RFC 9068 §2.1, and a
// signature over header.payload in the form RFC 7518 §3.3, §3.4 and RFC
// 8037 §3.1 define (ECDSA as fixed-width R||S, not ASN.1). ECDSA is minted
// many times so integers with leading zero bytes come up.
func TestMintIsStandardJWS(t *testing.T) {
	for _, alg := range Algorithms() {
		t.Run(alg, func(t *testing.T) {
			is, k := newIssuer(t, alg)
			priv, err := x509.ParsePKCS8PrivateKey(k.PrivateDER)
			if err != nil {
				t.Fatal(err)
			}
			n := 200
			if alg == AlgRS256 {
				n = 3
			}
			for range n {
				raw, err := is.Mint(grant, now)
				if err != nil {
					t.Fatal(err)
				}
				parts := strings.Split(raw, ".")
				if len(parts) != 3 {
					t.Fatalf("not compact: %q", raw)
				}
				header, _ := base64.RawURLEncoding.DecodeString(parts[0])
				if want := `{"alg":"` + alg + `","kid":"` + k.ID + `","typ":"at+jwt"}`; string(header) != want {
					t.Fatalf("header %s, want %s", header, want)
				}
				sig, err := base64.RawURLEncoding.DecodeString(parts[2])
				if err != nil {
					t.Fatal(err)
				}
				signed := []byte(parts[0] + "." + parts[1])
				digest := sha256.Sum256(signed)
				var ok bool
				switch key := priv.(type) {
				case *ecdsa.PrivateKey:
					r, s := new(big.Int).SetBytes(sig[:len(sig)/2]), new(big.Int).SetBytes(sig[len(sig)/2:])
					ok = len(sig) == 64 && ecdsa.Verify(&key.PublicKey, digest[:], r, s)
				case *rsa.PrivateKey:
					ok = rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, digest[:], sig) == nil
				case ed25519.PrivateKey:
					ok = ed25519.Verify(key.Public().(ed25519.PublicKey), signed, sig)
				}
				if !ok {
					t.Fatalf("signature does not verify with the standard library: %q", raw)
				}
			}
		})
	}
}

// FuzzCanonicalCompact: what the check lets through is three segments that
// decode strictly and encode back to exactly themselves.
func FuzzCanonicalCompact(f *testing.F) {
	is, _ := newIssuer(f, AlgES256)
	good, _ := is.Mint(grant, now)
	f.Add(good)
	f.Add("a.b.c")
	f.Add("AA.AB.AAA")
	f.Fuzz(func(t *testing.T, raw string) {
		if !canonicalCompact(raw) {
			return
		}
		parts := strings.Split(raw, ".")
		if len(parts) != 3 {
			t.Fatalf("%q has %d segments", raw, len(parts))
		}
		for _, seg := range parts {
			b, err := base64.RawURLEncoding.Strict().DecodeString(seg)
			if err != nil || base64.RawURLEncoding.EncodeToString(b) != seg {
				t.Fatalf("segment %q of %q is not canonical: %v", seg, raw, err)
			}
		}
	})
}

// parseCompact parses raw as go-jose does for a resource server and checks
// its protected header is exactly alg, kid and typ.
func parseCompact(t *testing.T, raw, alg, kid, typ string) *jose.JSONWebSignature {
	t.Helper()
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
	if err != nil {
		t.Fatal(err)
	}
	h := jws.Signatures[0].Protected
	if h.Algorithm != alg || h.KeyID != kid || h.ExtraHeaders[jose.HeaderType] != typ || len(h.ExtraHeaders) != 1 {
		t.Fatalf("protected header %+v", h)
	}
	return jws
}
