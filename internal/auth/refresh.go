package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"

	"github.com/rolegate/rolegate/models"
)

// Refresh tokens are opaque random strings, not JWTs: only rolegate ever
// reads them, so nothing outside it (a service verifying tokens with the
// JWKS, say) can take one for a credential. The store keeps only a
// SHA-256 of each, so a copy of the database holds no usable token, and a
// refresh checks no signature: the lookup of the hash is the check.
const (
	// refreshPrefix starts every refresh token, so that people and secret
	// scanners tell one from an access token at a glance.
	refreshPrefix = "rgr_"
	// refreshBytes is the randomness of a refresh token: 256 bits.
	refreshBytes = 32
)

var refreshLen = len(refreshPrefix) + base64.RawURLEncoding.EncodedLen(refreshBytes)

// NewRefresh returns a new refresh token and its stored form, which
// expires after the configured refresh lifetime. The caller sets the
// stored form's session.
func (t *Tokens) NewRefresh() (string, models.RefreshToken) {
	b := make([]byte, refreshBytes)
	rand.Read(b)
	token := refreshPrefix + base64.RawURLEncoding.EncodeToString(b)
	return token, models.RefreshToken{Hash: hashRefresh(token), ExpiresAt: t.now().UTC().Add(t.cfg.RefreshTTL)}
}

// RefreshHash returns the stored form of a refresh token a client
// presents, or false when the string cannot be one that rolegate issued.
func RefreshHash(token string) (string, bool) {
	if len(token) != refreshLen || !strings.HasPrefix(token, refreshPrefix) {
		return "", false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(token[len(refreshPrefix):])
	if err != nil || len(b) != refreshBytes {
		return "", false
	}
	return hashRefresh(token), true
}

func hashRefresh(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
