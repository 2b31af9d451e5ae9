package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/nomosauth/nomosauth/internal/domain"
)

// Signing algorithms. ES256 is the default: small tokens, fast signing and
// supported by every JOSE library; RS256 is there for clients that need it.
const (
	AlgES256 = "ES256"
	AlgRS256 = "RS256"
	AlgEdDSA = "EdDSA"
)

// Algorithms lists the supported signing algorithms.
func Algorithms() []string { return []string{AlgES256, AlgRS256, AlgEdDSA} }

// Generator makes the random ids a signing key (kid) and an access token
// (jti) carry; ids.Generator is the one used in production.
type Generator interface {
	ID(prefix string) (string, error)
}

// GenerateKey makes a new signing key record for alg from rand.
func GenerateKey(alg string, rand io.Reader, ids Generator, now time.Time) (domain.SigningKey, error) {
	var priv crypto.Signer
	var err error
	switch alg {
	case AlgES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand)
	case AlgRS256:
		priv, err = rsa.GenerateKey(rand, 2048)
	case AlgEdDSA:
		_, priv, err = ed25519.GenerateKey(rand)
	default:
		return domain.SigningKey{}, fmt.Errorf("unsupported signing algorithm %q", alg)
	}
	if err != nil {
		return domain.SigningKey{}, fmt.Errorf("generate %s key: %w", alg, err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return domain.SigningKey{}, fmt.Errorf("marshal key: %w", err)
	}
	kid, err := ids.ID(domain.PrefixKey)
	if err != nil {
		return domain.SigningKey{}, err
	}
	return domain.SigningKey{ID: kid, Algorithm: alg, PrivateDER: der, CreatedAt: now}, nil
}

// errNoActiveKey means the ring has no key to sign with.
var errNoActiveKey = errors.New("no active signing key")

type ringKey struct {
	record domain.SigningKey
	public jose.JSONWebKey
	signer jose.Signer // nil for keys retired when the ring was loaded
	// idSigner signs ID tokens with the same key, typ "JWT" (PRODUCT T12;
	// OpenID Connect Core §2); nil when signer is.
	idSigner jose.Signer
}

// KeyRing holds the published keys and those that sign now or will. It is
// replaced whole by Update, so readers see one consistent set.
//
// Which key signs is a matter of time, not of the last Update (PRODUCT T8,
// publish then sign): a rotation stores the new key at once, so the JWKS
// carries it, and sets the old key's retirement a publication delay ahead;
// the old key signs until then. The signing key at a time is the one of
// the earliest retirement still ahead, a key with none coming last, so a
// second rotation inside the delay queues behind the first.
type KeyRing struct {
	mu      sync.RWMutex
	signers []*ringKey // keys not retired at load, by retirement, the unretired last
	byID    map[string]*ringKey
	jwks    []byte
	ids     []string // sorted ids, to tell whether Update changes anything
}

// NewKeyRing builds a ring from stored keys.
func NewKeyRing(keys []domain.SigningKey, now time.Time) (*KeyRing, error) {
	r := &KeyRing{}
	if err := r.Update(keys, now); err != nil {
		return nil, err
	}
	return r, nil
}

// Update replaces the ring's keys with those still published at now. It is
// cheap when nothing changed, so callers may poll the store with it.
func (r *KeyRing) Update(keys []domain.SigningKey, now time.Time) error {
	var ids []string
	for _, k := range keys {
		if k.PublishedUntil.IsZero() || now.Before(k.PublishedUntil) {
			ids = append(ids, k.ID+"/"+k.RetiredAt.String())
		}
	}
	slices.Sort(ids)
	r.mu.RLock()
	same := len(r.signers) > 0 && slices.Equal(ids, r.ids)
	r.mu.RUnlock()
	if same {
		return nil
	}

	byID := map[string]*ringKey{}
	var signers []*ringKey
	set := jose.JSONWebKeySet{}
	for _, k := range keys {
		if !k.PublishedUntil.IsZero() && !now.Before(k.PublishedUntil) {
			continue
		}
		rk, err := loadKey(k, now)
		if err != nil {
			return err
		}
		byID[k.ID] = rk
		set.Keys = append(set.Keys, rk.public)
		if rk.signer != nil {
			signers = append(signers, rk)
		}
	}
	if len(signers) == 0 {
		return errNoActiveKey
	}
	slices.SortFunc(signers, func(a, b *ringKey) int {
		ra, rb := a.record.RetiredAt, b.record.RetiredAt
		switch {
		case ra.IsZero() != rb.IsZero():
			if ra.IsZero() {
				return 1
			}
			return -1
		case !ra.Equal(rb):
			return ra.Compare(rb)
		}
		return b.record.CreatedAt.Compare(a.record.CreatedAt) // newest first
	})
	jwks, err := json.Marshal(set)
	if err != nil {
		return fmt.Errorf("marshal jwks: %w", err)
	}
	r.mu.Lock()
	r.signers, r.byID, r.jwks, r.ids = signers, byID, jwks, ids
	r.mu.Unlock()
	return nil
}

func loadKey(k domain.SigningKey, now time.Time) (*ringKey, error) {
	parsed, err := x509.ParsePKCS8PrivateKey(k.PrivateDER)
	if err != nil {
		return nil, fmt.Errorf("parse key %s: %w", k.ID, err)
	}
	priv, ok := parsed.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("key %s is not a signer", k.ID)
	}
	rk := &ringKey{
		record: k,
		public: jose.JSONWebKey{Key: priv.Public(), KeyID: k.ID, Algorithm: k.Algorithm, Use: "sig"},
	}
	if k.RetiredAt.IsZero() || now.Before(k.RetiredAt) {
		if rk.signer, err = newSigner(k.Algorithm, k.ID, priv, "at+jwt"); err != nil {
			return nil, fmt.Errorf("signer for key %s: %w", k.ID, err)
		}
		if rk.idSigner, err = newSigner(k.Algorithm, k.ID, priv, "JWT"); err != nil {
			return nil, fmt.Errorf("ID token signer for key %s: %w", k.ID, err)
		}
	}
	return rk, nil
}

// JWKS returns the published keys as a JSON Web Key Set (RFC 7517 §5).
func (r *KeyRing) JWKS() []byte {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.jwks
}

// newSigner builds the one go-jose signer of an active key, reused for every
// mint. Its protected header is alg, kid and typ: "at+jwt" for access
// tokens (RFC 9068 §2.1), so resource servers find the key and cannot take
// the token for an ID token, "JWT" for ID tokens (PRODUCT T12). Signatures take their randomness from crypto/rand, whatever the
// Issuer's id generator uses: a predictable ECDSA nonce would reveal the
// key. go-jose refuses a key that does not fit alg.
func newSigner(alg, kid string, key crypto.Signer, typ jose.ContentType) (jose.Signer, error) {
	opts := (&jose.SignerOptions{}).WithType(typ)
	return jose.NewSigner(jose.SigningKey{
		Algorithm: jose.SignatureAlgorithm(alg),
		Key:       jose.JSONWebKey{Key: key, KeyID: kid, Algorithm: alg},
	}, opts)
}

// signer is the signer of the key that signs at now: the first of the
// ring's signers not retired at now. One always is while the store holds a
// key without retirement, which every rotation writes with the retirement
// it sets.
func (r *KeyRing) signer(now time.Time) (jose.Signer, error) {
	k, err := r.signingKey(now)
	if err != nil {
		return nil, err
	}
	return k.signer, nil
}

// signingKey is the key that signs at now (see signer).
func (r *KeyRing) signingKey(now time.Time) (*ringKey, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, k := range r.signers {
		if k.record.RetiredAt.IsZero() || now.Before(k.record.RetiredAt) {
			return k, nil
		}
	}
	return nil, errNoActiveKey
}

// SigningKeyAge is how old, at now, the key that signs at now is: the
// metrics' signing key age (PRODUCT O7), so an operator sees a key that is
// never rotated. 0 when no key signs.
func (r *KeyRing) SigningKeyAge(now time.Time) time.Duration {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, k := range r.signers {
		if k.record.RetiredAt.IsZero() || now.Before(k.record.RetiredAt) {
			return now.Sub(k.record.CreatedAt)
		}
	}
	return 0
}

func (r *KeyRing) publicKey(kid string) (jose.JSONWebKey, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	k, ok := r.byID[kid]
	if !ok {
		return jose.JSONWebKey{}, false
	}
	return k.public, true
}
