// Package account validates and normalizes the attributes of a user
// account, the same way for the HTTP API and the command line.
package account

import (
	"fmt"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Limits on user attributes, as Django's user model has them.
const (
	MaxUsernameLength = 150
	MaxNameLength     = 150
	MaxEmailLength    = 254
)

// NormalizeUsername returns the stored form of a username: NFKC, as
// Django's AbstractBaseUser.normalize_username does, so that visually
// identical compatibility forms are one name.
func NormalizeUsername(s string) string { return norm.NFKC.String(s) }

// UsernameKey is the form usernames are compared and made unique in:
// normalized and lower-cased.
func UsernameKey(s string) string { return strings.ToLower(NormalizeUsername(s)) }

// CheckUsername returns why a normalized username is not acceptable, or "".
// Letters and digits of any script are allowed, and @ . + - _.
func CheckUsername(s string) string {
	n := utf8.RuneCountInString(s)
	switch {
	case n == 0:
		return "This field may not be blank."
	case n > MaxUsernameLength:
		return fmt.Sprintf("Ensure this field has no more than %d characters.", MaxUsernameLength)
	}
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune("@.+-_", r) {
			return "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters."
		}
	}
	return ""
}

// CheckEmail returns why an email address is not acceptable, or "". The
// empty string is acceptable: email is optional.
func CheckEmail(s string) string {
	const invalid = "Enter a valid email address."
	if s == "" {
		return ""
	}
	if len(s) > MaxEmailLength {
		return fmt.Sprintf("Ensure this field has no more than %d characters.", MaxEmailLength)
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Address != s || addr.Name != "" {
		return invalid
	}
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || strings.Contains(domain, "@") || !strings.Contains(domain, ".") ||
		strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.Contains(domain, "..") {
		return invalid
	}
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return invalid
		}
	}
	return ""
}

// CheckName returns why a first or last name is not acceptable, or "".
func CheckName(s string) string {
	if utf8.RuneCountInString(s) > MaxNameLength {
		return fmt.Sprintf("Ensure this field has no more than %d characters.", MaxNameLength)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return "This field may not contain control characters."
		}
	}
	return ""
}
