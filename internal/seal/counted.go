package seal

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// formatCounted is the first byte of a counted token's body. A counted
// token names its family and its generation, the number of rotations that
// led to it, under a MAC of the server's refresh key: the family's row
// holds the generation that is live, so a rotation rewrites one row and
// stores no token (issue 17, refresh), and the child of a generation is
// the same string on every replica and for every retry (PRODUCT T5).
const formatCounted byte = 0x03

// The layout of a counted token's body, base64url without padding after
// Prefix: format (1) | generation (8, big endian) | family id | tag (32),
// the tag HMAC-SHA-256 of everything before it.
const (
	generationLen = 8
	countedTagLen = sha256.Size
	// maxFamilyID bounds the family id a counted token carries; ids are
	// 30 characters.
	maxFamilyID = 64
)

// countedInfo binds the MAC key, derived from the refresh key, to this
// use and layout version: the refresh key also derives the children of
// tokens that have rows (ids.DeriveRefreshToken).
const countedInfo = "nomosauth counted refresh token v1"

// Counted is what a counted token names.
type Counted struct {
	FamilyID   string
	Generation uint64 // 1 for a family's first counted token
}

// Counter mints and reads counted tokens under one key. Safe for
// concurrent use: it holds only the derived key.
type Counter struct {
	key []byte
}

// NewCounter returns the counter of refreshKey, the server-wide secret
// every replica shares.
func NewCounter(refreshKey []byte) (*Counter, error) {
	if len(refreshKey) < 16 {
		return nil, fmt.Errorf("seal: refresh key is %d bytes, want at least 16", len(refreshKey))
	}
	k, err := hkdf.Key(sha256.New, refreshKey, nil, countedInfo, 32)
	if err != nil {
		return nil, err
	}
	return &Counter{key: k}, nil
}

// ErrNotCounted: the token has no counted token's shape, or its tag does
// not verify. The token endpoint answers either with invalid_grant.
var ErrNotCounted = errors.New("seal: not a counted refresh token")

// Mint returns the counted token of c.
func (k *Counter) Mint(c Counted) (string, error) {
	if c.FamilyID == "" || len(c.FamilyID) > maxFamilyID || c.Generation == 0 {
		return "", fmt.Errorf("seal: cannot count family %q at generation %d", c.FamilyID, c.Generation)
	}
	b := make([]byte, 0, 1+generationLen+len(c.FamilyID)+countedTagLen)
	b = append(b, formatCounted)
	b = binary.BigEndian.AppendUint64(b, c.Generation)
	b = append(b, c.FamilyID...)
	b = k.tag(b)
	return Prefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// tag appends the MAC of b to b.
func (k *Counter) tag(b []byte) []byte {
	m := hmac.New(sha256.New, k.key)
	m.Write(b)
	return m.Sum(b)
}

// IsCounted reports whether raw has a counted token's shape (prefix,
// length, format byte); it says nothing of whether it verifies.
func IsCounted(raw string) bool {
	_, err := countedBody(raw)
	return err == nil
}

func countedBody(raw string) ([]byte, error) {
	rest, ok := strings.CutPrefix(raw, Prefix)
	// One string per token, as for sealed tokens: no line breaks the
	// decoder would skip.
	if !ok || len(raw) > maxToken || base64.RawURLEncoding.DecodedLen(len(rest)) <= randomBody || strings.ContainsAny(rest, "\r\n") {
		return nil, ErrNotCounted
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(rest)
	if err != nil || len(b) <= 1+generationLen+countedTagLen || len(b) > 1+generationLen+maxFamilyID+countedTagLen || b[0] != formatCounted {
		return nil, ErrNotCounted
	}
	return b, nil
}

// Read returns what raw names when it is a counted token whose tag
// verifies under this counter's key.
func (k *Counter) Read(raw string) (Counted, error) {
	b, err := countedBody(raw)
	if err != nil {
		return Counted{}, err
	}
	body, tag := b[:len(b)-countedTagLen], b[len(b)-countedTagLen:]
	want := k.tag(append([]byte(nil), body...))[len(body):]
	if !hmac.Equal(tag, want) {
		return Counted{}, ErrNotCounted
	}
	c := Counted{Generation: binary.BigEndian.Uint64(body[1:]), FamilyID: string(body[1+generationLen:])}
	if c.Generation == 0 {
		return Counted{}, ErrNotCounted
	}
	return c, nil
}
