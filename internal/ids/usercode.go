package ids

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
)

// UserCodeHash is how a device user code is stored and looked up:
// HMAC-SHA-256 of the code as oauth.ParseUserCode returns it (eight
// capital letters, no dash) under the server key "user-code", in
// base64url. A user code has only about 2^34.6 values, so a plain hash of a
// stolen table would give every code away; without the key it gives none
// (PRODUCT T11; RFC 8628 §5.1).
func UserCodeHash(key []byte, code string) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(code))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}
