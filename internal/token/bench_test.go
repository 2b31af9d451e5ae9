package token

import (
	"crypto"
	"crypto/x509"
	"encoding/json"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

// The hot pieces of every token request, per signing algorithm:
//
//	go test ./internal/token -run '^$' -bench . -benchmem
//
// Mint is what a token request pays: a jti, the claims' JSON, the
// signature and the compact serialization by compactSigner.
// BenchmarkMintGoJose does the same through go-jose's signer, which Mint
// used before: the reason compactSigner exists.
func BenchmarkMint(b *testing.B) {
	for _, alg := range Algorithms() {
		b.Run(alg, func(b *testing.B) {
			is, _ := newIssuer(b, alg)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := is.Mint(grant, now); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkMintGoJose(b *testing.B) {
	for _, alg := range Algorithms() {
		b.Run(alg, func(b *testing.B) {
			is, k := newIssuer(b, alg)
			signer := goJoseSigner(b, k.Algorithm, k.ID, k.PrivateDER)
			b.ReportAllocs()
			for b.Loop() {
				jti, _ := is.IDs.ID("")
				payload, _ := json.Marshal(Claims{Issuer: is.Issuer, Subject: grant.ClientID, Audience: is.Audience,
					ExpiresAt: now.Add(AccessTTL).Unix(), IssuedAt: now.Unix(), NotBefore: now.Unix(), JWTID: jti,
					ClientID: grant.ClientID, Scope: grant.Scope, OrgID: grant.OrgID, FamilyID: grant.FamilyID})
				jws, err := signer.Sign(payload)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := jws.CompactSerialize(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// goJoseSigner is the go-jose signer of a stored key, typ at+jwt.
func goJoseSigner(t testing.TB, alg, kid string, der []byte) jose.Signer {
	t.Helper()
	parsed, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(alg),
		Key: jose.JSONWebKey{Key: parsed.(crypto.Signer), KeyID: kid, Algorithm: alg}}, (&jose.SignerOptions{}).WithType("at+jwt"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func BenchmarkVerify(b *testing.B) {
	for _, alg := range Algorithms() {
		b.Run(alg, func(b *testing.B) {
			is, _ := newIssuer(b, alg)
			raw, _ := is.Mint(grant, now)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := is.Verify(raw, now); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
