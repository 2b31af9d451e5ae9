package token

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// AccessTTL is the access-token lifetime (PRODUCT T8).
const AccessTTL = 60 * time.Minute

// Leeway absorbs clock skew between replicas and resource servers when
// checking exp, nbf and iat.
const Leeway = 30 * time.Second

// Claims are the claims of an access token, RFC 9068 §2.2, plus the tenant
// it acts for and the refresh family it came from (for revocation).
type Claims struct {
	Issuer     string `json:"iss"`
	Subject    string `json:"sub"`
	Audience   string `json:"aud"`
	ExpiresAt  int64  `json:"exp"`
	IssuedAt   int64  `json:"iat"`
	NotBefore  int64  `json:"nbf"`
	JWTID      string `json:"jti"`
	ClientID   string `json:"client_id"`
	Scope      string `json:"scope"`
	OrgID      string `json:"org_id"`
	CustomerID string `json:"customer_id,omitempty"`
	FamilyID   string `json:"family_id,omitempty"`
}

// Grant is what an access token is minted for.
type Grant struct {
	ClientID   string
	OrgID      string
	CustomerID string // empty for client-credentials tokens
	FamilyID   string
	Scope      string
}

// Issuer mints and verifies access tokens.
type Issuer struct {
	Ring     *KeyRing
	Issuer   string // the iss claim, exactly as configured (PRODUCT O3)
	Audience string // the aud claim: the protected API
	IDs      Generator
}

// Mint signs an access token for g, valid from now for AccessTTL (PRODUCT T8).
// sub is the customer for customer tokens and the client otherwise.
func (is *Issuer) Mint(g Grant, now time.Time) (string, error) {
	jti, err := is.IDs.ID("")
	if err != nil {
		return "", err
	}
	sub := g.ClientID
	if g.CustomerID != "" {
		sub = g.CustomerID
	}
	claims := Claims{
		Issuer: is.Issuer, Subject: sub, Audience: is.Audience,
		ExpiresAt: now.Add(AccessTTL).Unix(), IssuedAt: now.Unix(), NotBefore: now.Unix(),
		JWTID: jti, ClientID: g.ClientID, Scope: g.Scope,
		OrgID: g.OrgID, CustomerID: g.CustomerID, FamilyID: g.FamilyID,
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("marshal claims: %w", err)
	}
	signer, err := is.Ring.signer(now)
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("sign access token: %w", err)
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		return "", fmt.Errorf("serialize access token: %w", err)
	}
	return raw, nil
}

// ErrInvalidToken is returned by Verify for every bad token; the wrapped
// text says why, for the log.
var ErrInvalidToken = errors.New("invalid access token")

// maxTokenLen bounds what Verify parses: our tokens are well under 1 KiB.
const maxTokenLen = 4096

// Verify checks an access token's signature against the published keys and
// its typ, iss, aud, exp and nbf (RFC 9068 §4), and returns its claims.
func (is *Issuer) Verify(raw string, now time.Time) (Claims, error) {
	if len(raw) > maxTokenLen {
		return Claims{}, fmt.Errorf("%w: too long", ErrInvalidToken)
	}
	// Compact serialization only (RFC 7519 §1; RFC 9068 §2.1): the JSON
	// serializations can carry unprotected headers and several signatures,
	// which no access token of ours has. Only the algorithms we sign with:
	// never "none", never an HMAC keyed with a public key (RFC 8725 §3.1);
	// the key's own alg is checked against the header's below.
	if !canonicalCompact(raw) {
		return Claims{}, fmt.Errorf("%w: not canonical base64url", ErrInvalidToken)
	}
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.ES256, jose.RS256, jose.EdDSA})
	if err != nil {
		return Claims{}, fmt.Errorf("%w: parse: %v", ErrInvalidToken, err)
	}
	if len(jws.Signatures) != 1 {
		return Claims{}, fmt.Errorf("%w: expected one signature", ErrInvalidToken)
	}
	hdr := jws.Signatures[0].Protected
	if typ, _ := hdr.ExtraHeaders[jose.HeaderType].(string); !strings.EqualFold(typ, "at+jwt") && !strings.EqualFold(typ, "application/at+jwt") {
		return Claims{}, fmt.Errorf("%w: typ %q", ErrInvalidToken, typ)
	}
	key, ok := is.Ring.publicKey(hdr.KeyID)
	if !ok || key.Algorithm != hdr.Algorithm {
		return Claims{}, fmt.Errorf("%w: unknown key", ErrInvalidToken)
	}
	payload, err := jws.Verify(key.Key)
	if err != nil {
		return Claims{}, fmt.Errorf("%w: signature: %v", ErrInvalidToken, err)
	}
	var c Claims
	if err := json.Unmarshal(payload, &c); err != nil {
		return Claims{}, fmt.Errorf("%w: claims: %v", ErrInvalidToken, err)
	}
	switch {
	case c.Issuer != is.Issuer:
		return Claims{}, fmt.Errorf("%w: issuer", ErrInvalidToken)
	case c.Audience != is.Audience:
		return Claims{}, fmt.Errorf("%w: audience", ErrInvalidToken)
	}
	if err := c.checkTime(now); err != nil {
		return Claims{}, err
	}
	return c, nil
}

// canonicalCompact reports whether raw is three segments written exactly as
// RFC 7515 §2 base64url without padding writes them: only the alphabet (Go's
// decoder skips line breaks) and no set bit in the unused low bits of a
// segment's last character (RFC 4648 §3.5). The decoder accepts both, so
// without this check one signed token has many strings that verify, and a
// cache of verified tokens keyed by the string holds one entry for each
// (PRODUCT T8: one token string verifies to one cache entry).
func canonicalCompact(raw string) bool {
	segments, segLen := 0, 0
	for i := 0; i <= len(raw); i++ {
		if i == len(raw) || raw[i] == '.' {
			if !canonicalEnd(raw[i-segLen : i]) {
				return false
			}
			segments, segLen = segments+1, 0
			continue
		}
		if b64Value(raw[i]) < 0 {
			return false
		}
		segLen++
	}
	return segments == 3
}

// canonicalEnd reports whether seg, of alphabet characters only, has a
// length unpadded base64url can have and leaves the unused low bits of its
// last character clear: 2 characters carry 8 of their 12 bits, 3 carry 16 of 18.
func canonicalEnd(seg string) bool {
	switch len(seg) % 4 {
	case 1:
		return false
	case 2:
		return b64Value(seg[len(seg)-1])&0x0f == 0
	case 3:
		return b64Value(seg[len(seg)-1])&0x03 == 0
	}
	return true
}

// b64Value is c's value in the base64url alphabet, or -1.
func b64Value(c byte) int {
	switch {
	case c >= 'A' && c <= 'Z':
		return int(c - 'A')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 26
	case c >= '0' && c <= '9':
		return int(c-'0') + 52
	case c == '-':
		return 62
	case c == '_':
		return 63
	}
	return -1
}

// checkTime is RFC 9068 §4's exp and nbf, with Leeway for skewed clocks.
func (c Claims) checkTime(now time.Time) error {
	leeway := int64(Leeway / time.Second)
	switch {
	case now.Unix() >= c.ExpiresAt+leeway:
		return fmt.Errorf("%w: expired", ErrInvalidToken)
	case now.Unix()+leeway < c.NotBefore:
		return fmt.Errorf("%w: not yet valid", ErrInvalidToken)
	}
	return nil
}
