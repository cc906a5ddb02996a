package auth

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// storedHash is a parsed password hash in any format rolegate verifies.
type storedHash interface {
	matches(password string) bool
	// outdated reports whether a hash that matched should be replaced by
	// one made with p.
	outdated(p Argon2Params) bool
	// kind names the algorithm and parameters, which decide what a check
	// costs.
	kind() string
}

// parseStored parses a stored password hash. Three formats are read:
//
//   - rolegate's own PHC argon2id, "$argon2id$v=19$m=..,t=..,p=..$salt$key";
//   - Django's PBKDF2PasswordHasher, "pbkdf2_sha256$iterations$salt$key",
//     Django's default, which users imported from the seed carry;
//   - Django's Argon2PasswordHasher, "argon2" followed by an argon2-cffi PHC
//     string (argon2id, or argon2i from before Django 3.2).
//
// Imported hashes are always outdated, so that the first successful login
// replaces them with rolegate's. Anything else is an error and never
// matches: Django's other hashers (pbkdf2_sha1, bcrypt, scrypt, md5, ...),
// its unusable passwords ("!" and random characters), and argon2 hashes of
// versions before 19.
func parseStored(encoded string) (storedHash, error) {
	switch {
	case strings.HasPrefix(encoded, "$argon2id$"):
		return parseArgon2PHC(encoded)
	case strings.HasPrefix(encoded, djangoArgon2Prefix):
		a, err := parseArgon2PHC(strings.TrimPrefix(encoded, "argon2"))
		a.foreign = true
		return a, err
	case strings.HasPrefix(encoded, djangoPBKDF2Prefix):
		return parseDjangoPBKDF2(encoded)
	}
	return nil, errors.New("unknown password hash format")
}

const (
	djangoArgon2Prefix = "argon2$"
	djangoPBKDF2Prefix = "pbkdf2_sha256$"
)

// MaxPBKDF2Iterations bounds the iteration count of an imported PBKDF2
// hash. Django's own defaults grow by about 100,000 a release and reached
// 1,000,000 in Django 5.0; a bigger number in a row of imported data is a
// mistake or an attack, and verifying it would tie up a hashing slot.
const MaxPBKDF2Iterations = 10_000_000

// pbkdf2Hash is Django's PBKDF2-HMAC-SHA256: the salt is used as the bytes
// of its text, and the key is 32 bytes in standard padded base64.
type pbkdf2Hash struct {
	iterations int
	salt       string
	key        []byte
}

func parseDjangoPBKDF2(s string) (pbkdf2Hash, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 4 {
		return pbkdf2Hash{}, errors.New("not a pbkdf2_sha256 hash")
	}
	n, err := strconv.Atoi(parts[1])
	if err != nil || n < 1 || n > MaxPBKDF2Iterations {
		return pbkdf2Hash{}, fmt.Errorf("pbkdf2 iterations %q out of range", parts[1])
	}
	if parts[2] == "" {
		return pbkdf2Hash{}, errors.New("empty pbkdf2 salt")
	}
	key, err := base64.StdEncoding.DecodeString(parts[3])
	if err != nil || len(key) != sha256.Size {
		return pbkdf2Hash{}, errors.New("bad pbkdf2 key")
	}
	return pbkdf2Hash{iterations: n, salt: parts[2], key: key}, nil
}

// matches uses the standard library's crypto/pbkdf2, which
// golang.org/x/crypto/pbkdf2 only wraps: the wrapper panics where this
// returns an error (in FIPS 140-only mode), and a bad row of imported data
// must never bring the server down.
func (p pbkdf2Hash) matches(password string) bool {
	got, err := pbkdf2.Key(sha256.New, password, []byte(p.salt), p.iterations, len(p.key))
	return err == nil && subtle.ConstantTimeCompare(got, p.key) == 1
}

func (pbkdf2Hash) outdated(Argon2Params) bool { return true }

func (p pbkdf2Hash) kind() string { return fmt.Sprintf("pbkdf2_sha256 i=%d", p.iterations) }
