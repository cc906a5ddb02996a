package server_test

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/rolegate/rolegate/internal/auth"
)

// kidOf returns the key id a token names.
func kidOf(t *testing.T, token string) string {
	t.Helper()
	parsed, _, err := jwt.NewParser().ParseUnverified(token, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	kid, _ := parsed.Header["kid"].(string)
	return kid
}

// jwksKids returns the key ids the server publishes, and checks the
// cache time it allows.
func (e *env) jwksKids(t *testing.T) []string {
	t.Helper()
	var set struct {
		Keys []struct{ Kid string } `json:"keys"`
	}
	resp := e.do(t, http.MethodGet, "/.well-known/jwks.json", "", nil, &set)
	if want := fmt.Sprintf("public, max-age=%d", int(auth.JWKSMaxAge.Seconds())); resp.Header.Get("Cache-Control") != want {
		t.Errorf("JWKS Cache-Control: got %q, want %q", resp.Header.Get("Cache-Control"), want)
	}
	var kids []string
	for _, k := range set.Keys {
		kids = append(kids, k.Kid)
	}
	return kids
}

// TestRotatedKeyIsPublishedBeforeItSigns checks a running server across a
// rotation and a forced retirement: the new key is in the JWKS as soon as
// the server re-reads the file, while tokens are still signed by the old
// one; retiring the old key refuses its tokens and makes the new key sign.
func TestRotatedKeyIsPublishedBeforeItSigns(t *testing.T) {
	e := start(t, false)
	keyFile := filepath.Join(filepath.Dir(e.policyFile), "keys.json")
	before := e.login(t, "keys-before", "user")
	first := kidOf(t, before)
	if kids := e.jwksKids(t); len(kids) != 1 || kids[0] != first {
		t.Fatalf("JWKS before rotation: got %v, want [%s]", kids, first)
	}
	keep := 5*time.Minute + auth.Leeway
	added, _, err := auth.RotateKeys(keyFile, keep, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	e.srv.Reload(context.Background(), "test") // as on SIGHUP, or the next poll of the file
	if kids := e.jwksKids(t); len(kids) != 2 || kids[1] != added.ID {
		t.Errorf("JWKS after rotation: got %v, want [%s %s]", kids, first, added.ID)
	}
	during := e.login(t, "keys-during", "user")
	if got := kidOf(t, during); got != first {
		t.Errorf("token issued right after the rotation: got kid %s, want the old key %s until %v", got, first, added.SignsFrom)
	}

	if _, _, err := auth.RetireKey(keyFile, first, keep, time.Now(), true); err != nil {
		t.Fatal(err)
	}
	e.srv.Reload(context.Background(), "test")
	for _, token := range []string{before, during} {
		if got := e.do(t, http.MethodGet, "/v1/me", token, nil, nil).StatusCode; got != http.StatusUnauthorized {
			t.Errorf("token of the retired key: got %d, want 401", got)
		}
	}
	after := e.login(t, "keys-after", "user")
	if got := kidOf(t, after); got != added.ID {
		t.Errorf("token issued after the signer was retired: got kid %s, want %s", got, added.ID)
	}
	if got := e.do(t, http.MethodGet, "/v1/me", after, nil, nil).StatusCode; got != http.StatusOK {
		t.Errorf("token of the new key: got %d, want 200", got)
	}
	if kids := e.jwksKids(t); len(kids) != 1 || kids[0] != added.ID {
		t.Errorf("JWKS after retiring: got %v, want [%s]", kids, added.ID)
	}
}
