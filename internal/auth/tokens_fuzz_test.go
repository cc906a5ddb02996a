package auth

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// fuzzNow is the fixed clock of the token fuzzers, so that the tokens in
// the seed corpus stay unexpired and every input verifies the same way on
// every run.
var fuzzNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// fuzzTokens is a Tokens with a key made from a fixed seed and a fixed
// clock, and the tokens it has issued: an access token, signed
// deterministically (Ed25519 signatures are) so that it can sit in the
// committed corpus, and a refresh token made of fixed bytes.
func fuzzTokens(tb testing.TB) (*Tokens, map[string]string) {
	tb.Helper()
	key := keyFromSeed(bytes.Repeat([]byte{7}, 32), fuzzNow.Add(-time.Hour), fuzzNow.Add(-time.Hour))
	tokens := NewTokens(TokenConfig{Issuer: "rolegate", Audience: "rolegate-api", AccessTTL: 5 * time.Minute, RefreshTTL: 24 * time.Hour}, newKeySet([]Key{key}))
	tokens.now = func() time.Time { return fuzzNow }
	c := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: "rolegate", Subject: "42", Audience: jwt.ClaimStrings{"rolegate-api"},
			ExpiresAt: jwt.NewNumericDate(fuzzNow.Add(time.Hour)), IssuedAt: jwt.NewNumericDate(fuzzNow),
			ID: "jti-access",
		},
		TokenType: AccessToken, UserID: 42, Epoch: 3, AccountKey: "key-42",
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
	tok.Header["kid"] = key.ID
	tok.Header["typ"] = AccessTokenType
	access, err := tok.SignedString(key.private)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := tokens.Verify(access); err != nil {
		tb.Fatalf("the fuzzers' own access token: %v", err)
	}
	refresh := refreshPrefix + base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{9}, refreshBytes))
	if _, ok := RefreshHash(refresh); !ok {
		tb.Fatalf("the fuzzers' own refresh token %q is refused", refresh)
	}
	return tokens, map[string]string{"access": access, "refresh": refresh}
}

// checkVerify asserts what Verify and RefreshHash promise a fuzzer: a
// string verifies as an access token only when it is, byte for byte, the
// access token issued, and then with its claims; and a string is taken as
// a refresh token only in the one shape rolegate issues, and is then
// stored by its SHA-256.
func checkVerify(t *testing.T, tokens *Tokens, issued map[string]string, s string) {
	t.Helper()
	c, err := tokens.Verify(s)
	switch {
	case err != nil && c != nil:
		t.Fatalf("Verify(%q) returned claims with error %v", s, err)
	case err == nil && s != issued["access"]:
		t.Fatalf("Verify accepted %q; only %q was issued", s, issued["access"])
	case err == nil && (c.UserID != 42 || c.TokenType != AccessToken || c.ID != "jti-access"):
		t.Fatalf("Verify(access token) = %+v, want the issued claims", c)
	}
	h, ok := RefreshHash(s)
	if !ok {
		return
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(strings.TrimPrefix(s, refreshPrefix))
	if !strings.HasPrefix(s, refreshPrefix) || err != nil || len(raw) != refreshBytes || h != hashRefresh(s) {
		t.Fatalf("RefreshHash(%q) = %q, true; want refused, or the hash of a well-formed token", s, h)
	}
}

// FuzzVerify feeds arbitrary strings to Verify, as the Authorization header
// and the refresh endpoint do.
func FuzzVerify(f *testing.F) {
	tokens, issued := fuzzTokens(f)
	s := issued["access"]
	f.Add(s)
	parts := strings.Split(s, ".")
	f.Add(parts[0] + "." + parts[1] + ".")
	f.Add(parts[0] + "." + parts[1] + "." + parts[2] + "=")
	f.Add(strings.Replace(parts[0], "Ed", "no", 1) + "." + parts[1] + "." + parts[2])
	// Base64 decoding, even strict, skips CR and LF.
	f.Add(s + "\n")
	f.Add(parts[0] + "." + parts[1] + "." + parts[2][:40] + "\r\n" + parts[2][40:])
	r := issued["refresh"]
	f.Add(r)
	f.Add(r + "\n")
	f.Add(r[:len(r)-1] + "=")
	// alg "none", and a header naming its own key.
	f.Add(segment(`{"alg":"none","typ":"JWT"}`) + "." + segment(`{"token_type":"access","user_id":1,"sub":"1","jti":"x","exp":9999999999}`) + ".")
	f.Add(segment(`{"alg":"EdDSA","kid":"x","jwk":{"kty":"OKP"}}`) + ".e30.AAAA")
	f.Add("")
	f.Add("..")
	f.Add("a.b.c.d")
	f.Fuzz(func(t *testing.T, s string) {
		checkVerify(t, tokens, issued, s)
	})
}

// FuzzVerifyMutated changes one byte of a real access or refresh token,
// or cuts it short, and checks that the result never verifies unless it
// is unchanged: a random string almost never gets near a valid signature,
// a one-byte edit of a real token always does. pos counts from the end,
// where an access token's signature is.
func FuzzVerifyMutated(f *testing.F) {
	tokens, issued := fuzzTokens(f)
	f.Add(false, uint16(0), byte('x'), false)
	f.Add(true, uint16(10), byte('.'), false)
	f.Add(true, uint16(300), byte('A'), true)
	f.Fuzz(func(t *testing.T, refresh bool, pos uint16, b byte, truncate bool) {
		s := issued["access"]
		if refresh {
			s = issued["refresh"]
		}
		i := len(s) - 1 - int(pos)%len(s)
		if truncate {
			s = s[:i]
		} else {
			s = s[:i] + string([]byte{b}) + s[i+1:]
		}
		checkVerify(t, tokens, issued, s)
	})
}

func segment(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
