package ids

import (
	"crypto/rand"
	"testing"
)

// go test ./internal/ids -run '^$' -bench . -benchmem
func BenchmarkHash(b *testing.B) {
	g := Generator{Rand: zeroReader{}}
	secret, _ := g.Secret()
	b.ReportAllocs()
	for b.Loop() {
		Hash(secret)
	}
}

func BenchmarkGenerate(b *testing.B) {
	g := Generator{Rand: rand.Reader}
	b.Run("refresh_token", func(b *testing.B) {
		for b.Loop() {
			g.RefreshToken()
		}
	})
	b.Run("derived_refresh_token", func(b *testing.B) {
		key := make([]byte, 32)
		for b.Loop() {
			DeriveRefreshToken(key, "nrt_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG")
		}
	})
	b.Run("id", func(b *testing.B) {
		for b.Loop() {
			g.ID("fam_")
		}
	})
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }
