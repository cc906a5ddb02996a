package auth

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/rolegate/rolegate/models"
)

// RFC 8037 appendix A.3: the thumbprint of its Ed25519 example key.
func TestThumbprintMatchesRFC8037(t *testing.T) {
	x, err := base64.RawURLEncoding.DecodeString("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := thumbprint(x), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestKeyFileIsCreatedOnceAndPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "keys.json")
	var wg sync.WaitGroup
	ids := make([]string, 8)
	for i := range ids {
		wg.Go(func() {
			ks, err := LoadOrCreateKeys(path)
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = ks.Signer().ID
		})
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("concurrent starts: got kids %v, want one key", ids)
		}
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode: got %v, want 0600", st.Mode().Perm())
	}
	again, err := LoadOrCreateKeys(path)
	if err != nil || again.Signer().ID != ids[0] {
		t.Errorf("reload: got %v, %v; want kid %s", again, err, ids[0])
	}
}

func TestLoadKeysRefusesTampering(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	ks, err := LoadOrCreateKeys(path)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	bad := strings.Replace(string(data), ks.Signer().ID, "someone-elses-kid", 1)
	os.WriteFile(path, []byte(bad), 0o600)
	if _, err := LoadKeys(path); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Errorf("got %v, want a kid mismatch error", err)
	}
}

func TestRotateKeepsOldKeysUntilTheirTokensExpire(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	first, err := LoadOrCreateKeys(path)
	if err != nil {
		t.Fatal(err)
	}
	keep := 24 * time.Hour
	now := first.Signer().CreatedAt.Add(time.Hour)
	second, dropped, err := RotateKeys(path, keep, now)
	if err != nil || len(dropped) != 0 {
		t.Fatalf("first rotation: dropped %v, err %v; want nothing dropped", dropped, err)
	}
	// A token signed by the first key before the rotation still verifies.
	ks, _ := LoadKeys(path)
	if len(ks.Keys()) != 2 || ks.Signer().ID != second.ID {
		t.Fatalf("after rotation: got %d keys signing with %s, want 2 signing with %s", len(ks.Keys()), ks.Signer().ID, second.ID)
	}
	// Once the second key has signed for longer than keep, the first goes.
	_, dropped, err = RotateKeys(path, keep, now.Add(keep+time.Minute))
	if err != nil || len(dropped) != 1 || dropped[0].ID != first.Signer().ID {
		t.Fatalf("second rotation: dropped %v, err %v; want the first key", dropped, err)
	}
}

func newTokens(t *testing.T) (*Tokens, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "keys.json")
	ks, err := LoadOrCreateKeys(path)
	if err != nil {
		t.Fatal(err)
	}
	return NewTokens(TokenConfig{Issuer: "rg", Audience: "rg-api", AccessTTL: time.Minute, RefreshTTL: time.Hour, KeyFile: path}, ks), path
}

// TestAccessTokensAreRFC9068 checks that access tokens say what they are
// in the typ header, that verification insists on it, and that refresh
// tokens are not JWTs at all: nothing that verifies with the JWKS can take
// one for a credential.
func TestAccessTokensAreRFC9068(t *testing.T) {
	tk, _ := newTokens(t)
	u := &models.User{ID: 7, TokenEpoch: 3, AccountKey: "k7"}
	access, err := tk.IssueAccess(u)
	if err != nil {
		t.Fatal(err)
	}
	parsed, _, err := jwt.NewParser().ParseUnverified(access.Token, &Claims{})
	if err != nil || parsed.Header["typ"] != "at+jwt" || parsed.Header["alg"] != "EdDSA" {
		t.Fatalf("access token header: got %v (%v), want typ at+jwt and alg EdDSA", parsed.Header, err)
	}
	c, err := tk.Verify(access.Token)
	if err != nil || c.UserID != 7 || c.Epoch != 3 || c.AccountKey != "k7" || c.Subject != "7" {
		t.Fatalf("access: got %+v, %v; want user 7 epoch 3 key k7", c, err)
	}
	key := tk.Keys().Signer()
	for typ, valid := range map[any]bool{
		"at+jwt": true, "AT+JWT": true, "application/at+jwt": true,
		"JWT": false, "jwt": false, "": false, "at+jwt ": false, "application/jwt": false, 1: false, nil: false,
	} {
		tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, access.Claims)
		tok.Header["kid"] = key.ID
		if typ == nil {
			delete(tok.Header, "typ")
		} else {
			tok.Header["typ"] = typ
		}
		s, err := tok.SignedString(key.private)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tk.Verify(s); (err == nil) != valid {
			t.Errorf("typ %#v: got error %v, want valid %v", typ, err, valid)
		}
	}
	refresh, stored := tk.NewRefresh()
	if !strings.HasPrefix(refresh, "rgr_") || strings.Count(refresh, ".") != 0 {
		t.Errorf("refresh token: got %q, want an opaque rgr_ string", refresh)
	}
	if _, err := tk.Verify(refresh); models.ErrorCode(err) != models.EUNAUTHORIZED {
		t.Errorf("refresh token as access: got %v, want EUNAUTHORIZED", err)
	}
	if h, ok := RefreshHash(refresh); !ok || h != stored.Hash || strings.Contains(h, refresh[4:]) {
		t.Errorf("refresh hash: got %q, %v; want the stored hash %q", h, ok, stored.Hash)
	}
	if d := stored.ExpiresAt.Sub(time.Now()); d < time.Hour-time.Minute || d > time.Hour {
		t.Errorf("refresh expiry: got in %v, want the refresh lifetime (1h)", d)
	}
	if again, _ := tk.NewRefresh(); again == refresh {
		t.Error("two refresh tokens: got the same twice, want random ones")
	}
	for _, bad := range []string{"", "rgr_", refresh[:len(refresh)-1], refresh + "A", "xyz" + refresh[3:], access.Token,
		refresh[:len(refresh)-1] + "=", refresh[:10] + "+" + refresh[11:], strings.ToUpper(refresh[:4]) + refresh[4:]} {
		if _, ok := RefreshHash(bad); ok {
			t.Errorf("RefreshHash(%q): got ok, want refused", bad)
		}
	}
}

func TestVerifyChecksIssuerAudienceAndTime(t *testing.T) {
	tk, path := newTokens(t)
	u := &models.User{ID: 1, AccountKey: "k1"}
	access, _ := tk.IssueAccess(u)
	for name, other := range map[string]TokenConfig{
		"issuer":   {Issuer: "evil", Audience: "rg-api", AccessTTL: time.Minute, RefreshTTL: time.Hour},
		"audience": {Issuer: "rg", Audience: "other-api", AccessTTL: time.Minute, RefreshTTL: time.Hour},
	} {
		v := NewTokens(other, tk.Keys())
		if _, err := v.Verify(access.Token); err == nil {
			t.Errorf("wrong %s: got valid, want refused", name)
		}
	}
	ks, _ := LoadKeys(path)
	late := NewTokens(TokenConfig{Issuer: "rg", Audience: "rg-api"}, ks)
	late.now = func() time.Time { return time.Now().Add(time.Minute + Leeway + time.Second) }
	if _, err := late.Verify(access.Token); err == nil {
		t.Error("expired beyond leeway: got valid, want refused")
	}
	within := NewTokens(TokenConfig{Issuer: "rg", Audience: "rg-api"}, ks)
	within.now = func() time.Time { return time.Now().Add(time.Minute + Leeway/2) }
	if _, err := within.Verify(access.Token); err != nil {
		t.Errorf("expired within leeway: got %v, want valid", err)
	}
}

func TestVerifyRefusesKeyChoosingHeaders(t *testing.T) {
	tk, _ := newTokens(t)
	key := tk.Keys().Signer()
	for _, h := range []string{"jku", "jwk", "x5u", "x5c"} {
		c := Claims{RegisteredClaims: jwt.RegisteredClaims{Issuer: "rg", Audience: jwt.ClaimStrings{"rg-api"}, Subject: "1",
			ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Minute)), IssuedAt: jwt.NewNumericDate(time.Now()), ID: "x"},
			TokenType: AccessToken, UserID: 1, AccountKey: "k1"}
		tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
		tok.Header["kid"] = key.ID
		tok.Header["typ"] = AccessTokenType
		tok.Header[h] = "https://attacker.example/keys"
		s, err := tok.SignedString(key.private)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tk.Verify(s); err == nil {
			t.Errorf("header %s: got valid, want refused", h)
		}
	}
}

func TestRotatedKeyIsPickedUpOnFirstSight(t *testing.T) {
	tk, path := newTokens(t)
	if _, _, err := RotateKeys(path, time.Hour, time.Now()); err != nil {
		t.Fatal(err)
	}
	// Another replica, already on the new key, issues a token.
	ks, _ := LoadKeys(path)
	other := NewTokens(TokenConfig{Issuer: "rg", Audience: "rg-api", AccessTTL: time.Minute, RefreshTTL: time.Hour}, ks)
	access, _ := other.IssueAccess(&models.User{ID: 5, AccountKey: "k5"})
	if _, err := tk.Verify(access.Token); err != nil {
		t.Errorf("token from a rotated key: got %v, want valid after reloading the key file", err)
	}
	// A kid in no file is still refused.
	stranger, _ := newTokens(t)
	foreign, _ := stranger.IssueAccess(&models.User{ID: 5, AccountKey: "k5"})
	if _, err := tk.Verify(foreign.Token); err == nil {
		t.Error("token from an unknown key: got valid, want refused")
	}
}
