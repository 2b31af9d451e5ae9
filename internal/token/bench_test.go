package token

import (
	"crypto/rand"
	"testing"
	"time"
)

// The hot pieces of every token request, per signing algorithm:
//
//	go test ./internal/token -run '^$' -bench . -benchmem
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
	b.Run("ES256/cached", func(b *testing.B) {
		is, _ := newIssuer(b, AlgES256)
		raw, _ := is.Mint(grant, now)
		c := &VerifiedCache{Verifier: is, Max: 1024}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.Verify(raw, now.Add(time.Minute)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkHash(b *testing.B) {
	ids := Generator{Rand: zeroReader{}}
	secret, _ := ids.Secret()
	b.ReportAllocs()
	for b.Loop() {
		Hash(secret)
	}
}

func BenchmarkGenerate(b *testing.B) {
	ids := Generator{Rand: rand.Reader}
	b.Run("refresh_token", func(b *testing.B) {
		for b.Loop() {
			ids.RefreshToken()
		}
	})
	b.Run("id", func(b *testing.B) {
		for b.Loop() {
			ids.ID("fam_")
		}
	})
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }
