package auth

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
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
			ids[i] = ks.SignerAt(time.Now()).ID
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
	if err != nil || again.SignerAt(time.Now()).ID != ids[0] {
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
	bad := strings.Replace(string(data), ks.SignerAt(time.Now()).ID, "someone-elses-kid", 1)
	os.WriteFile(path, []byte(bad), 0o600)
	if _, err := LoadKeys(path); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Errorf("got %v, want a kid mismatch error", err)
	}
}

// TestRotationPublishesBeforeSigning checks that a rotated key is in the
// JWKS from the start, signs only once every cached JWKS can have expired,
// and that the key it replaces verifies until its last tokens expire and
// is dropped by a later rotation only then.
func TestRotationPublishesBeforeSigning(t *testing.T) {
	if PublishDelay < JWKSMaxAge+KeyFilePoll {
		t.Fatalf("PublishDelay %v: want at least the JWKS cache time %v plus the key file poll %v", PublishDelay, JWKSMaxAge, KeyFilePoll)
	}
	path := filepath.Join(t.TempDir(), "keys.json")
	firstSet, err := LoadOrCreateKeys(path)
	if err != nil {
		t.Fatal(err)
	}
	first := firstSet.Keys()[0]
	if !first.SignsFrom.Equal(first.CreatedAt) {
		t.Errorf("first key: got signs from %v, want at once (%v)", first.SignsFrom, first.CreatedAt)
	}
	keep := 5*time.Minute + Leeway
	now := first.CreatedAt.Add(time.Hour)
	second, dropped, err := RotateKeys(path, keep, now)
	if err != nil || len(dropped) != 0 {
		t.Fatalf("first rotation: dropped %v, err %v; want nothing dropped", dropped, err)
	}
	if want := now.Add(PublishDelay); !second.SignsFrom.Equal(want) {
		t.Errorf("rotated key: got signs from %v, want %v", second.SignsFrom, want)
	}
	ks, err := LoadKeys(path)
	if err != nil {
		t.Fatal(err)
	}
	if jwks, _ := json.Marshal(ks.JWKS()); !strings.Contains(string(jwks), second.ID) || !strings.Contains(string(jwks), first.ID) {
		t.Errorf("JWKS right after the rotation: got %s, want both keys", jwks)
	}
	steps := []struct {
		at                 time.Time
		signer             string
		firstState, second string
	}{
		{now, first.ID, Signing, Pending},
		{second.SignsFrom.Add(-time.Second), first.ID, Signing, Pending},
		{second.SignsFrom, second.ID, Verifying, Signing},
		{second.SignsFrom.Add(keep - time.Second), second.ID, Verifying, Signing},
		{second.SignsFrom.Add(keep), second.ID, Retirable, Signing},
	}
	for _, s := range steps {
		if got := ks.SignerAt(s.at).ID; got != s.signer {
			t.Errorf("signer at %v: got %s, want %s", s.at, got, s.signer)
		}
		if got := ks.State(first.ID, keep, s.at); got.Name != s.firstState {
			t.Errorf("first key at %v: got %+v, want %s", s.at, got, s.firstState)
		}
		if got := ks.State(second.ID, keep, s.at); got.Name != s.second {
			t.Errorf("second key at %v: got %+v, want %s", s.at, got, s.second)
		}
	}
	if st := ks.State(first.ID, keep, second.SignsFrom); !st.Until.Equal(second.SignsFrom.Add(keep)) {
		t.Errorf("first key while verifying: got until %v, want %v", st.Until, second.SignsFrom.Add(keep))
	}
	// A rotation while the first key's tokens may be valid keeps it; one
	// after drops it.
	if _, dropped, err = RotateKeys(path, keep, second.SignsFrom.Add(time.Minute)); err != nil || len(dropped) != 0 {
		t.Fatalf("second rotation: dropped %v, err %v; want nothing dropped", dropped, err)
	}
	if _, dropped, err = RotateKeys(path, keep, second.SignsFrom.Add(keep+time.Minute)); err != nil || len(dropped) != 1 || dropped[0].ID != first.ID {
		t.Fatalf("third rotation: dropped %v, err %v; want the first key", dropped, err)
	}
}

// TestServersSwitchSignerOnTime checks that a running Tokens starts
// signing with a rotated key at its time, without reading the file again.
func TestServersSwitchSignerOnTime(t *testing.T) {
	tk, path := newTokens(t)
	before := tk.Keys().Keys()[0]
	now := time.Now()
	added, _, err := RotateKeys(path, time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := LoadKeys(path)
	if err != nil {
		t.Fatal(err)
	}
	tk.SetKeys(ks)
	tk.cfg.KeyFile = ""
	kidAt := func(at time.Time) string {
		tk.now = func() time.Time { return at }
		issued, err := tk.IssueAccess(&models.User{ID: 3, AccountKey: "k3"})
		if err != nil {
			t.Fatal(err)
		}
		parsed, _, _ := jwt.NewParser().ParseUnverified(issued.Token, &Claims{})
		return parsed.Header["kid"].(string)
	}
	if got := kidAt(now.Add(PublishDelay - time.Minute)); got != before.ID {
		t.Errorf("before the new key's time: got kid %s, want the old key %s", got, before.ID)
	}
	if got := kidAt(added.SignsFrom.Add(time.Second)); got != added.ID {
		t.Errorf("after the new key's time: got kid %s, want the new key %s", got, added.ID)
	}
}

// TestKeyFileWithoutSignsFrom reads a key file written before keys were
// published ahead of signing: each key signs from its creation, so the
// newest signs, as it did.
func TestKeyFileWithoutSignsFrom(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	var entries []string
	var newest string
	for i, created := range []string{"2025-01-01T00:00:00Z", "2025-02-01T00:00:00Z"} {
		seed := make([]byte, 32)
		seed[0] = byte(i + 1)
		at, _ := time.Parse(time.RFC3339, created)
		k := keyFromSeed(seed, at, at)
		newest = k.ID
		entries = append(entries, fmt.Sprintf(`{"kid": %q, "created_at": %q, "seed": %q}`, k.ID, created, base64.RawURLEncoding.EncodeToString(seed)))
	}
	if err := os.WriteFile(path, []byte(`{"keys": [`+strings.Join(entries, ",")+`]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	ks, err := LoadKeys(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := ks.SignerAt(time.Now()).ID; got != newest {
		t.Errorf("signer: got %s, want the newest key %s", got, newest)
	}
}

// TestRetireKey checks which keys "keys retire" removes, and that it asks
// for force where tokens would be refused or the signer would change.
func TestRetireKey(t *testing.T) {
	keep := 5*time.Minute + Leeway
	// setup makes a file with an old key, the key that signs, and one
	// published but not yet signing, as of the returned time.
	setup := func(t *testing.T) (path string, old, signing, pending Key, now time.Time) {
		path = filepath.Join(t.TempDir(), "keys.json")
		ks, err := LoadOrCreateKeys(path)
		if err != nil {
			t.Fatal(err)
		}
		old = ks.Keys()[0]
		if signing, _, err = RotateKeys(path, keep, old.CreatedAt.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		now = signing.SignsFrom.Add(time.Minute)
		if pending, _, err = RotateKeys(path, keep, now); err != nil {
			t.Fatal(err)
		}
		return path, old, signing, pending, now
	}
	remaining := func(t *testing.T, path string) []string {
		ks, err := LoadKeys(path)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, k := range ks.Keys() {
			ids = append(ids, k.ID)
		}
		return ids
	}
	t.Run("refused without force", func(t *testing.T) {
		path, old, signing, _, now := setup(t)
		for name, id := range map[string]string{"verifying": old.ID, "signing": signing.ID} {
			if _, _, err := RetireKey(path, id, keep, now, false); !errors.Is(err, ErrKeyInUse) {
				t.Errorf("%s key: got %v, want ErrKeyInUse", name, err)
			}
		}
		if _, _, err := RetireKey(path, old.ID, keep, now, false); err == nil || !strings.Contains(err.Error(), signing.SignsFrom.Add(keep).Format(time.RFC3339)) {
			t.Errorf("verifying key: got %v, want the time its tokens expire", err)
		}
		if _, _, err := RetireKey(path, "no-such-kid", keep, now, true); err == nil {
			t.Error("unknown kid: got success, want an error")
		}
		if got := remaining(t, path); len(got) != 3 {
			t.Errorf("keys after refusals: got %v, want all 3", got)
		}
	})
	t.Run("pending and retirable", func(t *testing.T) {
		path, old, signing, pending, now := setup(t)
		if _, signer, err := RetireKey(path, pending.ID, keep, now, false); err != nil || signer.ID != signing.ID {
			t.Fatalf("pending key: got signer %s, %v; want %s signing on", signer.ID, err, signing.ID)
		}
		if _, signer, err := RetireKey(path, old.ID, keep, signing.SignsFrom.Add(keep), false); err != nil || signer.ID != signing.ID {
			t.Fatalf("retirable key: got signer %s, %v; want %s", signer.ID, err, signing.ID)
		}
		if got := remaining(t, path); len(got) != 1 || got[0] != signing.ID {
			t.Errorf("keys left: got %v, want only %s", got, signing.ID)
		}
		if _, _, err := RetireKey(path, signing.ID, keep, now, true); err == nil {
			t.Error("the only key: got retired, want refused even with force")
		}
	})
	t.Run("forced", func(t *testing.T) {
		path, old, signing, pending, now := setup(t)
		if _, signer, err := RetireKey(path, signing.ID, keep, now, true); err != nil || signer.ID != old.ID {
			t.Fatalf("forced signing key: got signer %s, %v; want the older key %s", signer.ID, err, old.ID)
		}
		// With only a pending key left, it signs at once.
		if _, signer, err := RetireKey(path, old.ID, keep, now, true); err != nil || signer.ID != pending.ID {
			t.Fatalf("forced last signing key: got signer %s, %v; want the pending key %s", signer.ID, err, pending.ID)
		}
		ks, _ := LoadKeys(path)
		if got := ks.SignerAt(now).ID; got != pending.ID {
			t.Errorf("signer with only a pending key: got %s, want it (%s)", got, pending.ID)
		}
	})
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
	key := tk.Keys().SignerAt(time.Now())
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
	if d := time.Until(stored.ExpiresAt); d < time.Hour-time.Minute || d > time.Hour {
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
	key := tk.Keys().SignerAt(time.Now())
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
