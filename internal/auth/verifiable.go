package auth

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// hashAlgorithm matches the algorithm name a hash starts with: Django's
// "name$..." or PHC's "$name$...".
var hashAlgorithm = regexp.MustCompile(`^\$?([a-z0-9_-]{1,32})\$`)

// CheckStoredHash returns why no password can ever match the stored hash
// encoded, or nil when Verify can check passwords against it. An import
// keeps such a row (the account exists, and an administrator can set its
// password) but reports it, since its user cannot log in.
func CheckStoredHash(encoded string) error {
	switch {
	case encoded == "":
		return errors.New("no password hash")
	case strings.HasPrefix(encoded, "!"):
		return errors.New("an unusable password (Django marks accounts that may not log in with a password this way)")
	}
	_, err := parseStored(encoded)
	switch {
	case err == nil:
		return nil
	case strings.HasPrefix(encoded, "$argon2id$") || strings.HasPrefix(encoded, djangoArgon2Prefix) || strings.HasPrefix(encoded, djangoPBKDF2Prefix):
		return fmt.Errorf("a malformed hash: %v", err)
	}
	if m := hashAlgorithm.FindStringSubmatch(encoded); m != nil {
		return fmt.Errorf("%s hashes cannot be verified: rolegate verifies argon2id, and Django's pbkdf2_sha256 and argon2", m[1])
	}
	return errors.New("not a password hash in any format rolegate verifies")
}
