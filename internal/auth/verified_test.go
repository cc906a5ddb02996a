package auth

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/rolegate/rolegate/models"
)

// A cached access token is still refused once it expires, after the same
// leeway as a fresh verification.
func TestVerifiedTokenStillExpires(t *testing.T) {
	tk, _ := newTokens(t)
	var offset atomic.Int64
	tk.now = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	access, _ := tk.IssueAccess(&models.User{ID: 7, AccountKey: "k7"})
	for i := range 2 { // the second time from the cache
		if c, err := tk.Verify(access.Token); err != nil || c.UserID != 7 {
			t.Fatalf("verify %d: got %+v, %v, want user 7", i, c, err)
		}
	}
	offset.Store(int64(time.Minute + Leeway/2))
	if _, err := tk.Verify(access.Token); err != nil {
		t.Errorf("cached, expired within leeway: got %v, want valid", err)
	}
	offset.Store(int64(time.Minute + Leeway + time.Second))
	if _, err := tk.Verify(access.Token); models.ErrorCode(err) != models.EUNAUTHORIZED {
		t.Errorf("cached, expired beyond leeway: got %v, want EUNAUTHORIZED", err)
	}
}

// The cache answers only for the token it verified: a token differing in
// one signature character, or asked for as another type, is verified in
// full and refused; claims handed out are copies.
func TestVerifiedCacheIsExact(t *testing.T) {
	tk, _ := newTokens(t)
	access, _ := tk.IssueAccess(&models.User{ID: 7, AccountKey: "k7"})
	c, err := tk.Verify(access.Token)
	if err != nil {
		t.Fatal(err)
	}
	c.UserID = 8
	if c, _ := tk.Verify(access.Token); c == nil || c.UserID != 7 {
		t.Errorf("after changing a returned copy: got %+v, want user 7", c)
	}
	tampered := access.Token[:len(access.Token)-2] + "AA"
	if tampered == access.Token {
		tampered = access.Token[:len(access.Token)-2] + "BB"
	}
	if _, err := tk.Verify(tampered); err == nil {
		t.Error("tampered signature after a cached verify: got valid, want refused")
	}
}

// Replacing the key set empties the cache: a token whose key is gone is
// refused at once.
func TestSetKeysForgetsVerifiedTokens(t *testing.T) {
	tk, _ := newTokens(t)
	access, _ := tk.IssueAccess(&models.User{ID: 7, AccountKey: "k7"})
	if _, err := tk.Verify(access.Token); err != nil {
		t.Fatal(err)
	}
	other, _ := newTokens(t)
	tk.SetKeys(other.Keys())
	tk.cfg.KeyFile = "" // no re-read of the old file
	if _, err := tk.Verify(access.Token); err == nil {
		t.Error("after the key set changed: got valid, want refused")
	}
}

func TestVerifiedCacheIsBounded(t *testing.T) {
	v := newVerifiedCache()
	c := Claims{}
	for i := range MaxVerifiedTokens + 10 {
		v.put([32]byte{byte(i), byte(i >> 8), byte(i >> 16)}, c)
	}
	if n := len(v.entries); n != MaxVerifiedTokens {
		t.Errorf("got %d entries, want %d", n, MaxVerifiedTokens)
	}
}
