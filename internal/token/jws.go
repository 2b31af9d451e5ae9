package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
)

// compactSigner writes JWS compact serializations (RFC 7515 §7.1) with one
// key: the protected header is encoded once per key, and each token costs
// one JSON payload, two base64 encodings and the signature. Verification
// stays with go-jose.
type compactSigner struct {
	alg    string
	header []byte // base64url of {"alg","kid","typ":"at+jwt"} (RFC 9068 §2.1)
	key    crypto.Signer
}

func newCompactSigner(alg, kid string, key crypto.Signer) (*compactSigner, error) {
	switch key.(type) {
	case *ecdsa.PrivateKey:
		if alg != AlgES256 {
			return nil, fmt.Errorf("an ECDSA key cannot sign %s", alg)
		}
	case *rsa.PrivateKey:
		if alg != AlgRS256 {
			return nil, fmt.Errorf("an RSA key cannot sign %s", alg)
		}
	case ed25519.PrivateKey:
		if alg != AlgEdDSA {
			return nil, fmt.Errorf("an Ed25519 key cannot sign %s", alg)
		}
	default:
		return nil, fmt.Errorf("unsupported key type %T", key)
	}
	hdr, err := json.Marshal(struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
		Typ string `json:"typ"`
	}{alg, kid, "at+jwt"})
	if err != nil {
		return nil, err
	}
	return &compactSigner{alg: alg, header: base64.RawURLEncoding.AppendEncode(nil, hdr), key: key}, nil
}

// sign returns header.payload.signature. Signatures take their randomness
// from crypto/rand whatever the Generator uses: a predictable ECDSA nonce
// would reveal the key.
func (s *compactSigner) sign(payload []byte) (string, error) {
	enc := base64.RawURLEncoding
	buf := make([]byte, 0, len(s.header)+enc.EncodedLen(len(payload))+enc.EncodedLen(512)+2)
	buf = append(buf, s.header...)
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, payload)
	var sig []byte
	switch key := s.key.(type) {
	case *ecdsa.PrivateKey:
		digest := sha256.Sum256(buf)
		der, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
		if err != nil {
			return "", err
		}
		if sig, err = rawECDSA(der, 32); err != nil {
			return "", err
		}
	case *rsa.PrivateKey:
		digest := sha256.Sum256(buf)
		var err error
		if sig, err = rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:]); err != nil {
			return "", err
		}
	case ed25519.PrivateKey:
		sig = ed25519.Sign(key, buf)
	}
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, sig)
	return string(buf), nil
}

// rawECDSA turns an ASN.1 ECDSA signature, SEQUENCE { INTEGER r, INTEGER
// s }, into R and S as fixed-width big-endian octets (RFC 7518 §3.4).
func rawECDSA(der []byte, size int) ([]byte, error) {
	bad := fmt.Errorf("malformed ECDSA signature")
	if len(der) < 2 || der[0] != 0x30 || der[1]&0x80 != 0 || int(der[1]) != len(der)-2 {
		return nil, bad
	}
	rest := der[2:]
	out := make([]byte, 2*size)
	for i := range 2 {
		if len(rest) < 2 || rest[0] != 0x02 || rest[1]&0x80 != 0 || int(rest[1]) > len(rest)-2 {
			return nil, bad
		}
		v := rest[2 : 2+int(rest[1])]
		rest = rest[2+int(rest[1]):]
		for len(v) > 0 && v[0] == 0 {
			v = v[1:]
		}
		if len(v) > size {
			return nil, bad
		}
		copy(out[(i+1)*size-len(v):(i+1)*size], v)
	}
	if len(rest) != 0 {
		return nil, bad
	}
	return out, nil
}
