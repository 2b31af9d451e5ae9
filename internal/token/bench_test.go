package token

import "testing"

// The hot pieces of every token request, per signing algorithm:
//
//	go test ./internal/token -run '^$' -bench . -benchmem
//
// Mint uses the go-jose signer the key ring builds once per key, so each
// iteration is what a token request pays: a jti, the claims' JSON, the
// protected header's JSON, two base64 encodings and the signature.
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
}
