package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
)

// Prefix is ids.PrefixRefreshToken: a sealed token is a refresh token to
// clients and secret scanners alike (PRODUCT S1).
const Prefix = "nrt_"

// format is the first byte of a sealed token's body: version 2 of the
// layout below, whose claims carry the token's expiry. A random or
// derived refresh token is exactly 32 bytes (43 base64 characters) with
// no layout at all; a sealed one is longer than minBody, so the two are
// told apart by length before any byte.
const format byte = 0x02

// formatV1 is the layout sealed before the expiry was sealed too: its
// claims end at the issue time, and its opener adds the refresh idle time.
// It still opens, so tokens sealed before an upgrade keep working.
const formatV1 byte = 0x01

// The layout of a sealed token's body, base64url without padding after
// Prefix: format (1) | key id (8) | salt (16) | AES-256-GCM of the claims
// with tag (16). Each token is sealed under its own key, derived from the
// seal key and the token's random salt (HKDF-SHA-256), with a zero nonce:
// a derived key seals one token only, so no nonce can repeat under a key
// however many tokens a seal key seals (random 96-bit GCM nonces would
// cap a key at 2^32 tokens, NIST SP 800-38D §8.3). The format and key id
// are the additional data, so neither can be changed without the tag
// failing.
const (
	keyIDLen  = 8
	nonceLen  = 16 // the salt; named for what it does for GCM
	tagLen    = 16
	headerLen = 1 + keyIDLen + nonceLen
	minBody   = headerLen + tagLen + 8 // the claims hold at least the issue time
	// maxToken bounds what Open decodes at all (PRODUCT S4); a sealed token
	// is a few hundred characters.
	maxToken = 1024
	// randomBody is the length of a random or derived refresh token's
	// body (ids.RefreshToken, ids.DeriveRefreshToken).
	randomBody = 32
)

// Claims is what a sealed token carries: the family as its first
// refresh token needs it, and when it was issued. Its expiry is the
// refresh idle time after IssuedAt (PRODUCT T5), the opener's to add.
type Claims struct {
	FamilyID string
	ClientID string
	OrgID    string
	Scopes   domain.Scopes
	IssuedAt time.Time // kept to the microsecond, like the store's times
	// ExpiresAt is fixed when the token is sealed, the refresh idle time
	// in force then (PRODUCT T5), as a stored token's row fixes its own:
	// an expiry worked out at each opening would grow with a longer idle
	// time, past the sealed_until that keeps a revoked family's tombstone,
	// and let a revoked token materialize its family again (T9). Zero in
	// a format-1 token.
	ExpiresAt time.Time
}

// Family is the family c describes, as the store would have kept it had
// its first token been written: created at the issue time.
func (c Claims) Family() domain.Family {
	return domain.Family{ID: c.FamilyID, ClientID: c.ClientID, OrgID: c.OrgID, Scopes: c.Scopes, CreatedAt: c.IssuedAt}
}

// Errors of Open. They say why only to the log: the token endpoint
// answers each with invalid_grant.
var (
	ErrNotSealed  = errors.New("seal: not a sealed refresh token")
	ErrUnknownKey = errors.New("seal: sealed under a key this server does not hold")
	ErrTampered   = errors.New("seal: sealed token does not verify")
)

// IsSealed reports whether raw has a sealed token's shape: the prefix, a
// base64url body longer than a random token's, and the format byte. It
// says nothing of whether it opens.
func IsSealed(raw string) bool {
	_, err := body(raw)
	return err == nil
}

func body(raw string) ([]byte, error) {
	b, ok := decode(raw)
	if !ok || len(b) < minBody || (b[0] != format && b[0] != formatV1) {
		return nil, ErrNotSealed
	}
	return b, nil
}

// decode is the body of a refresh token that is not a random or derived
// one: after the prefix, longer than theirs, in strict base64url. One
// string per token: the strict decoder still skips \r and \n, which would
// give one token many spellings, so many hashes, and let a variant dodge
// the reuse check of the spelling stored.
func decode(raw string) ([]byte, bool) {
	rest, ok := strings.CutPrefix(raw, Prefix)
	if !ok || len(raw) > maxToken || base64.RawURLEncoding.DecodedLen(len(rest)) <= randomBody || strings.ContainsAny(rest, "\r\n") {
		return nil, false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(rest)
	return b, err == nil && len(b) > 0
}

// keyID is a key's id as the token carries it: its 8 bytes.
func keyID(id string) ([keyIDLen]byte, error) {
	var out [keyIDLen]byte
	b, err := hex.DecodeString(id)
	if err != nil || len(b) != keyIDLen {
		return out, fmt.Errorf("seal: key id %q is not %d bytes in hex", id, keyIDLen)
	}
	copy(out[:], b)
	return out, nil
}

// hkdfInfo binds derived keys to this use and layout version.
const hkdfInfo = "nomosauth sealed refresh token v1"

// aead is the one-token AEAD a seal key's secret and a token's salt
// derive, and the nonce it is used with (zero: the key seals one token).
func aead(secret, salt []byte) (cipher.AEAD, []byte, error) {
	if len(secret) != 32 {
		return nil, nil, fmt.Errorf("seal: key secret is %d bytes, not 32", len(secret))
	}
	k, err := hkdf.Key(sha256.New, secret, salt, hkdfInfo, 32)
	if err != nil {
		return nil, nil, err
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, nil, err
	}
	a, err := cipher.NewGCM(block)
	if err != nil {
		return nil, nil, err
	}
	return a, make([]byte, a.NonceSize()), nil
}

// Seal returns c sealed under k, with a salt read from rand
// (crypto/rand in production): a refresh token that needs no row.
func Seal(k domain.SealKey, c Claims, rand io.Reader) (string, error) {
	id, err := keyID(k.ID)
	if err != nil {
		return "", err
	}
	plain, err := encodeClaims(c)
	if err != nil {
		return "", err
	}
	out := make([]byte, headerLen, headerLen+len(plain)+tagLen)
	out[0] = format
	copy(out[1:], id[:])
	if _, err := io.ReadFull(rand, out[1+keyIDLen:headerLen]); err != nil {
		return "", fmt.Errorf("seal: read salt: %w", err)
	}
	a, nonce, err := aead(k.Secret, out[1+keyIDLen:headerLen])
	if err != nil {
		return "", err
	}
	out = a.Seal(out, nonce, plain, out[:1+keyIDLen])
	return Prefix + base64.RawURLEncoding.EncodeToString(out), nil
}

// Open returns the claims of raw when it is a sealed token under one of
// keys (found by its id) and verifies. It judges no time: the caller
// checks expiry against the claims' issue time.
func Open(keys []domain.SealKey, raw string) (Claims, error) {
	b, err := body(raw)
	if err != nil {
		return Claims{}, err
	}
	k := keyNamed(keys, b[1:1+keyIDLen])
	if k == nil {
		return Claims{}, ErrUnknownKey
	}
	a, nonce, err := aead(k.Secret, b[1+keyIDLen:headerLen])
	if err != nil {
		return Claims{}, err
	}
	plain, err := a.Open(nil, nonce, b[headerLen:], b[:1+keyIDLen])
	if err != nil {
		return Claims{}, ErrTampered
	}
	c, err := decodeClaims(b[0], plain)
	if err != nil {
		// Verified but unreadable: only a key holder could have made it.
		return Claims{}, fmt.Errorf("%w: %w", ErrTampered, err)
	}
	return c, nil
}

// maxField bounds each string of the claims: ids and a scope string are
// far shorter, and the token stays under maxToken.
const maxField = 200

// encodeClaims is the claims' plaintext: the issue time and the expiry in
// Unix microseconds (8 bytes each, big endian; format 1 has no expiry),
// then each string as a one-byte length and its bytes.
func encodeClaims(c Claims) ([]byte, error) {
	out := binary.BigEndian.AppendUint64(nil, uint64(c.IssuedAt.UnixMicro()))
	out = binary.BigEndian.AppendUint64(out, uint64(micros(c.ExpiresAt)))
	for _, f := range []string{c.FamilyID, c.ClientID, c.OrgID, c.Scopes.String()} {
		if len(f) > maxField {
			return nil, fmt.Errorf("seal: a claim of %d bytes is over %d", len(f), maxField)
		}
		out = append(out, byte(len(f)))
		out = append(out, f...)
	}
	return out, nil
}

var errBadClaims = errors.New("claims are malformed")

// micros is t in Unix microseconds, 0 for the zero time.
func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func decodeClaims(version byte, b []byte) (Claims, error) {
	if len(b) < 8 {
		return Claims{}, errBadClaims
	}
	issued := int64(binary.BigEndian.Uint64(b))
	b = b[8:]
	var expires time.Time
	if version == format {
		if len(b) < 8 {
			return Claims{}, errBadClaims
		}
		if v := int64(binary.BigEndian.Uint64(b)); v != 0 {
			expires = time.UnixMicro(v).UTC()
		}
		b = b[8:]
	}
	var f [4]string
	for i := range f {
		if len(b) < 1 || len(b) < 1+int(b[0]) {
			return Claims{}, errBadClaims
		}
		f[i], b = string(b[1:1+int(b[0])]), b[1+int(b[0]):]
	}
	if len(b) != 0 || f[0] == "" || f[1] == "" || f[2] == "" {
		return Claims{}, errBadClaims
	}
	return Claims{FamilyID: f[0], ClientID: f[1], OrgID: f[2], Scopes: domain.Scopes(strings.Fields(f[3])).Canonical(), IssuedAt: time.UnixMicro(issued).UTC(), ExpiresAt: expires}, nil
}
