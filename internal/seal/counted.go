package seal

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
)

// formatCounted is the first byte of a counted token's body. A counted
// token names its family and its generation, the number of rotations that
// led to it, under a MAC keyed by a seal key: the family's row holds the
// generation that is live, so a rotation rewrites one row and stores no
// token, and the token of a generation, minted under the key that sealed
// when the generation was issued, is the same string on every replica and
// for every retry (PRODUCT T5). Seal keys rotate with overlap
// (`keys rotate-seal`), so counted tokens move to a new key at their next
// rotation.
const formatCounted byte = 0x03

// The layout of a counted token's body, base64url without padding after
// Prefix: format (1) | key id (8) | generation (8, big endian) | family id
// | tag (32), the tag HMAC-SHA-256 of everything before it under a key
// derived (HKDF-SHA-256) from the seal key.
const (
	generationLen = 8
	countedTagLen = sha256.Size
	countedHead   = 1 + keyIDLen + generationLen
	// maxFamilyID bounds the family id a counted token carries; ids are
	// 30 characters.
	maxFamilyID = 64
)

// countedInfo binds the MAC key, derived from a seal key's secret, to
// this use and layout version: the same secret also seals first tokens.
const countedInfo = "nomosauth counted refresh token v1"

// Counted is what a counted token names.
type Counted struct {
	FamilyID   string
	Generation uint64 // 1 for a family's first counted token
}

// ErrNotCounted: the token has no counted token's shape. A counted token
// under a key the server does not hold is ErrUnknownKey, and one whose tag
// does not verify ErrTampered; the token endpoint answers each with
// invalid_grant.
var ErrNotCounted = errors.New("seal: not a counted refresh token")

// macKey is the MAC key of counted tokens under seal key secret.
func macKey(secret []byte) ([]byte, error) {
	if len(secret) != 32 {
		return nil, fmt.Errorf("seal: key secret is %d bytes, not 32", len(secret))
	}
	return hkdf.Key(sha256.New, secret, nil, countedInfo, 32)
}

func countedTag(key, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(body)
	return m.Sum(nil)
}

// Count returns the counted token of c under k.
func Count(k domain.SealKey, c Counted) (string, error) {
	if c.FamilyID == "" || len(c.FamilyID) > maxFamilyID || c.Generation == 0 {
		return "", fmt.Errorf("seal: cannot count family %q at generation %d", c.FamilyID, c.Generation)
	}
	id, err := keyID(k.ID)
	if err != nil {
		return "", err
	}
	key, err := macKey(k.Secret)
	if err != nil {
		return "", err
	}
	b := make([]byte, 0, countedHead+len(c.FamilyID)+countedTagLen)
	b = append(b, formatCounted)
	b = append(b, id[:]...)
	b = binary.BigEndian.AppendUint64(b, c.Generation)
	b = append(b, c.FamilyID...)
	b = append(b, countedTag(key, b)...)
	return Prefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// IsCounted reports whether raw has a counted token's shape (prefix,
// length, format byte); it says nothing of whether it verifies.
func IsCounted(raw string) bool {
	_, err := countedBody(raw)
	return err == nil
}

func countedBody(raw string) ([]byte, error) {
	b, ok := decode(raw)
	if !ok || len(b) <= countedHead+countedTagLen || len(b) > countedHead+maxFamilyID+countedTagLen || b[0] != formatCounted {
		return nil, ErrNotCounted
	}
	return b, nil
}

// ReadCounted returns what raw names when it is a counted token under one
// of keys (found by its id) whose tag verifies.
func ReadCounted(keys []domain.SealKey, raw string) (Counted, error) {
	b, err := countedBody(raw)
	if err != nil {
		return Counted{}, err
	}
	k := keyNamed(keys, b[1:1+keyIDLen])
	if k == nil {
		return Counted{}, ErrUnknownKey
	}
	key, err := macKey(k.Secret)
	if err != nil {
		return Counted{}, err
	}
	body, tag := b[:len(b)-countedTagLen], b[len(b)-countedTagLen:]
	if !hmac.Equal(tag, countedTag(key, body)) {
		return Counted{}, ErrTampered
	}
	c := Counted{Generation: binary.BigEndian.Uint64(body[1+keyIDLen:]), FamilyID: string(body[countedHead:])}
	if c.Generation == 0 {
		// Verified but never minted: only a key holder could make it.
		return Counted{}, ErrTampered
	}
	return c, nil
}

// keyNamed is the key of keys whose id is id, or nil.
func keyNamed(keys []domain.SealKey, id []byte) *domain.SealKey {
	for i := range keys {
		if kid, err := keyID(keys[i].ID); err == nil && [keyIDLen]byte(id) == kid {
			return &keys[i]
		}
	}
	return nil
}

// Count returns the counted token of c under the key that sealed at at:
// for a generation, the time it was issued, so every replica and every
// retry mints the same string for it, whichever key seals now.
func (r *Ring) Count(c Counted, at time.Time) (string, error) {
	k, err := r.Sealer(at)
	if err != nil {
		return "", err
	}
	return Count(k, c)
}

// CountUnder returns the counted token of c under the key named id, the
// one its generation was minted under when issued, or, for "" (a
// generation stored before families named their key), under the key that
// sealed at at. A key the ring has not loaded is ErrUnknownKey: the
// caller reloads the ring and tries again (another replica may seal with
// a key this one's poll has not brought yet).
func (r *Ring) CountUnder(id string, c Counted, at time.Time) (string, error) {
	if id == "" {
		return r.Count(c, at)
	}
	kid, err := keyID(id)
	if err != nil {
		return "", err
	}
	r.mu.RLock()
	k := keyNamed(r.keys, kid[:])
	var key domain.SealKey
	if k != nil {
		key = *k
	}
	r.mu.RUnlock()
	if k == nil {
		return "", ErrUnknownKey
	}
	return Count(key, c)
}

// ReadCounted reads raw with the keys not retired at now; a token under a
// retired key is ErrUnknownKey, as one under a key never held.
func (r *Ring) ReadCounted(raw string, now time.Time) (Counted, error) {
	return ReadCounted(r.live(now), raw)
}
