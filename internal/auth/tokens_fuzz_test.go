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
// clock, and the tokens it has issued: one access and one refresh token,
// signed deterministically (Ed25519 signatures are) so that they can sit
// in the committed corpus.
func fuzzTokens(tb testing.TB) (*Tokens, map[string]string) {
	tb.Helper()
	key := keyFromSeed(bytes.Repeat([]byte{7}, 32), fuzzNow.Add(-time.Hour))
	tokens := NewTokens(TokenConfig{Issuer: "rolegate", Audience: "rolegate-api", AccessTTL: 5 * time.Minute, RefreshTTL: 24 * time.Hour}, newKeySet([]Key{key}))
	tokens.now = func() time.Time { return fuzzNow }
	issued := map[string]string{}
	for _, typ := range []string{AccessToken, RefreshToken} {
		c := Claims{
			RegisteredClaims: jwt.RegisteredClaims{
				Issuer: "rolegate", Subject: "42", Audience: jwt.ClaimStrings{"rolegate-api"},
				ExpiresAt: jwt.NewNumericDate(fuzzNow.Add(time.Hour)), IssuedAt: jwt.NewNumericDate(fuzzNow),
				ID: "jti-" + typ,
			},
			TokenType: typ, UserID: 42, Epoch: 3, AccountKey: "key-42",
		}
		if typ == RefreshToken {
			c.SessionID = "session-1"
		}
		tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
		tok.Header["kid"] = key.ID
		s, err := tok.SignedString(key.private)
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := tokens.Verify(s, typ); err != nil {
			tb.Fatalf("the fuzzers' own %s token: %v", typ, err)
		}
		issued[typ] = s
	}
	return tokens, issued
}

// checkVerify asserts the one thing Verify promises a fuzzer: a string
// verifies as a type only when it is, byte for byte, the token issued as
// that type, and then with that token's claims.
func checkVerify(t *testing.T, tokens *Tokens, issued map[string]string, s string) {
	t.Helper()
	for _, typ := range []string{AccessToken, RefreshToken} {
		c, err := tokens.Verify(s, typ)
		if err != nil {
			if c != nil {
				t.Fatalf("Verify(%q, %s) returned claims with error %v", s, typ, err)
			}
			continue
		}
		if s != issued[typ] {
			t.Fatalf("Verify accepted %q as a %s token; only %q was issued", s, typ, issued[typ])
		}
		if c.UserID != 42 || c.TokenType != typ || c.ID != "jti-"+typ {
			t.Fatalf("Verify(%s token) = %+v, want the issued claims", typ, c)
		}
	}
}

// FuzzVerify feeds arbitrary strings to Verify, as the Authorization header
// and the refresh endpoint do.
func FuzzVerify(f *testing.F) {
	tokens, issued := fuzzTokens(f)
	for _, s := range issued {
		f.Add(s)
		parts := strings.Split(s, ".")
		f.Add(parts[0] + "." + parts[1] + ".")
		f.Add(parts[0] + "." + parts[1] + "." + parts[2] + "=")
		f.Add(strings.Replace(parts[0], "Ed", "no", 1) + "." + parts[1] + "." + parts[2])
		// Base64 decoding, even strict, skips CR and LF.
		f.Add(s + "\n")
		f.Add(parts[0] + "." + parts[1] + "." + parts[2][:40] + "\r\n" + parts[2][40:])
	}
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

// FuzzVerifyMutated changes one byte of a real token, or cuts it short,
// and checks that the result never verifies unless it is unchanged: a
// random string almost never gets near a valid signature, a one-byte edit
// of a real token always does. pos counts from the end, where the
// signature is.
func FuzzVerifyMutated(f *testing.F) {
	tokens, issued := fuzzTokens(f)
	f.Add(false, uint16(0), byte('x'), false)
	f.Add(true, uint16(10), byte('.'), false)
	f.Add(true, uint16(300), byte('A'), true)
	f.Fuzz(func(t *testing.T, refresh bool, pos uint16, b byte, truncate bool) {
		s := issued[AccessToken]
		if refresh {
			s = issued[RefreshToken]
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
