package auth

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestCheckStoredHash agrees with Verify: a hash it accepts verifies its
// password, and one it refuses matches nothing, not even its own text.
func TestCheckStoredHash(t *testing.T) {
	h, err := NewHasher(Argon2Params{Memory: 64, Iterations: 1, Parallelism: 1}, 1, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	good, err := h.Hash(context.Background(), Requester{}, "a good password")
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckStoredHash(good); err != nil {
		t.Errorf("argon2id: got %v, want nil", err)
	}
	for hash, want := range map[string]string{
		"":                                      "no password hash",
		"!k3j4h5g6f7d8s9a0":                     "an unusable password",
		"pbkdf2_sha1$260000$salt$a2V5":          "pbkdf2_sha1 hashes cannot be verified",
		"bcrypt_sha256$$2b$12$abc":              "bcrypt_sha256 hashes cannot be verified",
		"md5$salt$5f4dcc3b5aa765d61d8327deb882": "md5 hashes cannot be verified",
		"$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/Pg":  "2b hashes cannot be verified",
		"pbkdf2_sha256$x$y$z":                   "a malformed hash: pbkdf2 iterations",
		"$argon2id$v=19$m=64,t=1,p=1$bad":       "a malformed hash",
		"unusable":                              "not a password hash in any format",
	} {
		err := CheckStoredHash(hash)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want %q", hash, err, want)
		}
		if ok, _, _ := h.Verify(context.Background(), Requester{}, hash, hash); ok {
			t.Errorf("%q: Verify matched a hash CheckStoredHash refuses", hash)
		}
	}
}
