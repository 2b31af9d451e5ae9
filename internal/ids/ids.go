package ids

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
)

// Prefixes make our secrets recognisable in leaks and secret scanners (PRODUCT S1).
const (
	PrefixClientSecret = "nsec_"
	PrefixRefreshToken = "nrt_"
	PrefixAuthCode     = "nac_"
	PrefixDeviceCode   = "ndc_"
	PrefixMagicLink    = "nml_"
)

// HoldsSecret reports whether s holds one of our secrets, by the prefixes
// above, wherever one turns up (a path in the logs, PRODUCT O4).
func HoldsSecret(s string) bool {
	for _, p := range [...]string{PrefixClientSecret, PrefixRefreshToken, PrefixAuthCode, PrefixDeviceCode, PrefixMagicLink} {
		if strings.Contains(s, p) {
			return true
		}
	}
	return false
}

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// Generator makes ids, secrets and tokens from Rand (crypto/rand in production).
type Generator struct {
	Rand io.Reader
}

func (g Generator) bytes(n int) ([]byte, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(g.Rand, b); err != nil {
		return nil, fmt.Errorf("read random: %w", err)
	}
	return b, nil
}

// ID returns prefix plus 128 random bits in lower-case base32: URL-safe and
// unambiguous when read aloud (PRODUCT Domain).
func (g Generator) ID(prefix string) (string, error) {
	b, err := g.bytes(16)
	if err != nil {
		return "", err
	}
	return prefix + idEncoding.EncodeToString(b), nil
}

// Secret returns a new client secret: 32 random bytes (PRODUCT S1).
func (g Generator) Secret() (string, error) { return g.prefixed(PrefixClientSecret) }

// RefreshToken returns a new opaque refresh token: 32 random bytes.
func (g Generator) RefreshToken() (string, error) { return g.prefixed(PrefixRefreshToken) }

// DeriveRefreshToken returns the refresh token a rotation of presented
// issues: HMAC-SHA-256 of presented under key, encoded like RefreshToken.
// Drawn from the token and a server-wide secret instead of randomness,
// every presentation of one token on any replica names the same child, so
// a retried or raced rotation hands out the token the first one stored
// (PRODUCT T5). Without key nobody can work out a child from its parent.
func DeriveRefreshToken(key []byte, presented string) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(presented))
	return PrefixRefreshToken + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// AuthCode returns a new authorization code: 32 random bytes.
func (g Generator) AuthCode() (string, error) { return g.prefixed(PrefixAuthCode) }

// DeviceCode returns a new device code: 32 random bytes (PRODUCT T11;
// RFC 8628 §3.2), stored only as its Hash.
func (g Generator) DeviceCode() (string, error) { return g.prefixed(PrefixDeviceCode) }

// MagicLink returns a new magic-link token: 32 random bytes (PRODUCT A12).
// Only its Hash is stored.
func (g Generator) MagicLink() (string, error) { return g.prefixed(PrefixMagicLink) }

// UserCodeHash is how a device user code is stored and looked up: HMAC-
// SHA-256 under a server key, in hex. A user code has only about 2^34.6
// values (PRODUCT T11), so a plain hash of a leaked row would be reversed
// offline in minutes; without the key it cannot be.
func UserCodeHash(key []byte, code string) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(code))
	return hex.EncodeToString(mac.Sum(nil))
}

// OneTimeCode returns six decimal digits, uniform over 000000-999999
// (PRODUCT A7).
func (g Generator) OneTimeCode() (string, error) {
	// Rejection sampling keeps the digits uniform: 4,294,000,000 is the
	// largest multiple of a million below 2^32.
	for {
		b, err := g.bytes(4)
		if err != nil {
			return "", err
		}
		n := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		if n < 4_294_000_000 {
			return fmt.Sprintf("%06d", n%1_000_000), nil
		}
	}
}

// BrowserID returns 256 random bits in base64url without a prefix: the
// browser id of the hosted pages' cookie, which never leaves the browser
// and the cookie jar, so it needs no scanner-friendly prefix.
func (g Generator) BrowserID() (string, error) { return g.prefixed("") }

func (g Generator) prefixed(prefix string) (string, error) {
	b, err := g.bytes(32)
	if err != nil {
		return "", err
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// Hash is how secrets, refresh tokens and codes are stored and looked up:
// SHA-256 in hex. They carry 256 random bits, so a slow password hash would
// add cost and no safety.
func Hash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// Letters returns n letters drawn uniformly from alphabet (at most 256
// letters): device user codes (PRODUCT T11).
func (g Generator) Letters(alphabet string, n int) (string, error) {
	// Rejection sampling keeps the letters uniform: limit is the largest
	// multiple of the alphabet's size that a byte can hold.
	limit := 256 - 256%len(alphabet)
	out := make([]byte, 0, n)
	for len(out) < n {
		b, err := g.bytes(n)
		if err != nil {
			return "", err
		}
		for _, c := range b {
			if int(c) < limit && len(out) < n {
				out = append(out, alphabet[int(c)%len(alphabet)])
			}
		}
	}
	return string(out), nil
}
