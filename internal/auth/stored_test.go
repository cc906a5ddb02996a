package auth

import (
	"context"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
)

// djangoPBKDF2 makes a hash as Django's PBKDF2PasswordHasher does.
func djangoPBKDF2(t *testing.T, password, salt string, iterations int) string {
	t.Helper()
	key, err := pbkdf2.Key(sha256.New, password, []byte(salt), iterations, sha256.Size)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("pbkdf2_sha256$%d$%s$%s", iterations, salt, base64.StdEncoding.EncodeToString(key))
}

// djangoArgon2 makes a hash as Django's Argon2PasswordHasher does: the
// salt is text, and argon2-cffi encodes it in unpadded base64.
func djangoArgon2(password, salt string) string {
	key := argon2.IDKey([]byte(password), []byte(salt), 1, 64, 1, 32)
	return fmt.Sprintf("argon2$argon2id$v=19$m=64,t=1,p=1$%s$%s", b64.EncodeToString([]byte(salt)), b64.EncodeToString(key))
}

func TestDjangoHashesVerifyAndAskForRehash(t *testing.T) {
	h := newHasher(t, cheap, 1, time.Second)
	cases := []struct {
		name, password, encoded string
		// costly hashes take seconds under -race, so a wrong password is
		// tried only on the cheap ones of the same format.
		costly bool
	}{
		// Known answers from Django's own tests (tests/auth_tests/test_hashers.py).
		{"django pbkdf2 vector", "lètmein", "pbkdf2_sha256$390000$seasalt$8xBlGd3jVgvJ+92hWPxi5ww0uuAuAnKgC45eudxro7c=", true},
		{"django argon2i vector", "secret", "argon2$argon2i$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$YC9+jJCrQhs5R6db7LlN8Q", false},
		{"django argon2id vector", "secret", "argon2$argon2id$v=19$m=102400,t=2,p=8$Y041dExhNkljRUUy$TMa6A8fPJhCAUXRhJXCXdw", true},
		// From the seed's dumpdata fixture (alice).
		{"seed export", "alice-seed-pass-1", "pbkdf2_sha256$260000$IhWRlz3jz1PfcLdGoszi5R$L6moqSDbL7CWyr4WsLWuU2PR1IIPbx22ZrUnuGh2vJk=", true},
		{"few iterations", "zoë's pässword", djangoPBKDF2(t, "zoë's pässword", "abcdefghijkl", 1000), false},
		{"made argon2id", "correct horse", djangoArgon2("correct horse", "0123456789abcdefghijkl"), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ok, rehash, err := h.Verify(context.Background(), anyone, c.password, c.encoded)
			if err != nil || !ok || !rehash {
				t.Errorf("right password: got ok=%v rehash=%v err=%v, want ok and rehash", ok, rehash, err)
			}
			if c.costly {
				return
			}
			ok, rehash, err = h.Verify(context.Background(), anyone, c.password+"x", c.encoded)
			if err != nil || ok || rehash {
				t.Errorf("wrong password: got ok=%v rehash=%v err=%v, want neither", ok, rehash, err)
			}
		})
	}
}

func TestForeignAndBrokenHashesNeverMatch(t *testing.T) {
	h := newHasher(t, cheap, 1, time.Second)
	good := djangoPBKDF2(t, "pw", "somesalt", 1000)
	key := good[strings.LastIndex(good, "$")+1:]
	for _, enc := range []string{
		// Unusable passwords, as Django's set_unusable_password stores them.
		"!", "!Xb3kPq9Zr2LmN8vT4wY6aC1dE5fG7hJ0kL2mN4pQ",
		// Django hashers rolegate does not read.
		"pbkdf2_sha1$10000$wz5B6WkasRoF$atJmJ1o+XfJxKq1+Nu1f1i57Z5I=",
		"bcrypt_sha256$$2b$12$abcdefghijklmnopqrstuu5Yy0JzQ3Y0wJ9e7p5iYc0v3mS0m3e1y",
		"bcrypt$$2b$12$abcdefghijklmnopqrstuu5Yy0JzQ3Y0wJ9e7p5iYc0v3mS0m3e1y",
		"md5$seasalt$3f86d0d3d465b7b458c231bf3555c0e3",
		"scrypt$16384$seasalt$8$1$Qj3+9PPyRjSJIebHnG81TMjsqtaIGxNQG/aEB/NYafTJ7tibgfYz71m0ldQESkXFRkdVCBhhY8mx7rQwite/Pw==",
		// Django argon2 hashes of unsupported kinds: no version (0x10), argon2d.
		"argon2$argon2i$m=8,t=1,p=1$c29tZXNhbHQ$gwQOXSNhxiOxPOA0+PY10P9QFO4NAYysnqRt1GSQLE55m+2GYDt9FEjPMHhP2Cuf0nOEXXMocVrsJAtNSsKyfg",
		"argon2$argon2d$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$YC9+jJCrQhs5R6db7LlN8Q",
		"argon2$$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$YC9+jJCrQhs5R6db7LlN8Q",
		"argon2$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ",
		// Broken pbkdf2_sha256.
		"pbkdf2_sha256$",
		"pbkdf2_sha256$1000$somesalt",
		"pbkdf2_sha256$0$somesalt$" + key,
		"pbkdf2_sha256$-5$somesalt$" + key,
		"pbkdf2_sha256$x$somesalt$" + key,
		"pbkdf2_sha256$99999999999$somesalt$" + key,
		"pbkdf2_sha256$1000$$" + key,
		"pbkdf2_sha256$1000$somesalt$" + key[:len(key)-4],
		"pbkdf2_sha256$1000$somesalt$not base64!",
		"pbkdf2_sha256$1000$some$salt$" + key,
		"PBKDF2_SHA256$1000$somesalt$" + key,
	} {
		if ok, rehash, err := h.Verify(context.Background(), anyone, "pw", enc); ok || rehash || err != nil {
			t.Errorf("verify against %q: got ok=%v rehash=%v err=%v, want false, false, nil", enc, ok, rehash, err)
		}
	}
	if ok, _, _ := h.Verify(context.Background(), anyone, "pw", good); !ok {
		t.Errorf("the unbroken hash %q: got no match, want a match", good)
	}
}

func TestIterationCapRefusesHugeCounts(t *testing.T) {
	h := newHasher(t, cheap, 1, time.Second)
	enc := fmt.Sprintf("pbkdf2_sha256$%d$somesalt$%s", MaxPBKDF2Iterations+1, base64.StdEncoding.EncodeToString(make([]byte, 32)))
	start := time.Now()
	if ok, _, _ := h.Verify(context.Background(), anyone, "pw", enc); ok {
		t.Fatal("got a match, want none")
	}
	// Refused before any PBKDF2 work: far below the seconds 10M iterations take.
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("verifying took %v, want the cap to refuse it at once", d)
	}
}

// FuzzVerifyNeverPanics feeds Verify arbitrary stored hashes. Cheap
// prefixes keep each case fast.
func FuzzVerifyNeverPanics(f *testing.F) {
	for _, seed := range []string{
		"pbkdf2_sha256$1$s$" + base64.StdEncoding.EncodeToString(make([]byte, 32)),
		"argon2$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$YC9+jJCrQhs5R6db7LlN8Q",
		"$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$YC9+jJCrQhs5R6db7LlN8Q",
		"!", "", "$", "argon2$", "pbkdf2_sha256$$$",
	} {
		f.Add(seed)
	}
	h, err := NewHasher(cheap, 1, time.Second)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, enc string) {
		if strings.Contains(enc, "pbkdf2_sha256$") && !strings.HasPrefix(enc, "pbkdf2_sha256$1$") {
			t.Skip("large iteration counts are slow, not interesting")
		}
		if strings.Contains(enc, "argon2") && !strings.Contains(enc, "m=8,t=1,p=1$") {
			t.Skip("large argon2 parameters are slow, not interesting")
		}
		h.Verify(context.Background(), anyone, "pw", enc)
	})
}
