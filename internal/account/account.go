// Package account validates and normalizes the attributes of a user
// account, the same way for the HTTP API, the command line and the
// importer.
package account

import (
	"fmt"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/mtibben/confusables"
	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"

	"github.com/rolegate/rolegate/models"
)

// Names of the attributes Validate checks, as it reports them: the API's
// JSON names. A caller that shows other names (the command line's flags)
// maps them.
const (
	FieldUsername  = "username"
	FieldEmail     = "email"
	FieldFirstName = "first_name"
	FieldLastName  = "last_name"
)

// Fields lists the attributes Validate checks, in the order a list of
// problems shows them.
var Fields = []string{FieldUsername, FieldEmail, FieldFirstName, FieldLastName}

// Validate checks the attributes of an account that p sets, leaving out
// those it does not: a whole account is checked as its User.Patch. The
// username must be normalized (NormalizeUsername) as it will be stored.
// It returns EINVALID with a message for each attribute an account may not
// hold, by its name in Fields, or nil. The role is the policy's to check,
// and a password auth's.
func Validate(p models.UserPatch) error {
	fields := map[string][]string{}
	check := func(field string, v *string, problem func(string) string) {
		if v == nil {
			return
		}
		if msg := problem(*v); msg != "" {
			fields[field] = []string{msg}
		}
	}
	check(FieldUsername, p.Username, checkUsername)
	check(FieldEmail, p.Email, checkEmail)
	check(FieldFirstName, p.FirstName, checkName)
	check(FieldLastName, p.LastName, checkName)
	if len(fields) == 0 {
		return nil
	}
	return &models.Error{Code: models.EINVALID, Message: "invalid input", Fields: fields}
}

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

// UsernameKey is the form usernames are searched in: normalized and
// lower-cased.
func UsernameKey(s string) string { return strings.ToLower(NormalizeUsername(s)) }

// UsernameSkeleton is the form usernames are made unique and looked up in:
// the Unicode confusable skeleton (UTS #39, section 4) of the normalized,
// case-folded name. Names that only look alike share a skeleton: "аdmin"
// with a Cyrillic "а" and "admin", "rn" and "m", "l" and "1". It is a key,
// never shown: a skeleton mixes scripts freely.
//
// The skeleton depends on the Unicode data of the confusables and x/text
// modules: a dependency update that changes it needs a migration that
// recomputes the stored keys, as 0008 did.
func UsernameSkeleton(s string) string {
	return confusables.Skeleton(cases.Fold().String(NormalizeUsername(s)))
}

// hiddenControl reports whether r is a control character, a bidirectional
// control (U+061C, U+200E, U+200F, U+202A to U+202E, U+2066 to U+2069) or a
// line or paragraph separator: characters that reorder or break the text
// around them, so that a name holding one can display as something else.
func hiddenControl(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || unicode.In(r, unicode.Zl, unicode.Zp)
}

const hiddenControlMessage = "This field may not contain control or bidirectional-control characters."

// checkUsername returns why a normalized username is not acceptable, or "".
// Letters and digits of any script are allowed, and @ . + - _.
func checkUsername(s string) string {
	n := utf8.RuneCountInString(s)
	switch {
	case n == 0:
		return "This field may not be blank."
	case n > MaxUsernameLength:
		return fmt.Sprintf("Ensure this field has no more than %d characters.", MaxUsernameLength)
	case strings.ContainsFunc(s, hiddenControl):
		return hiddenControlMessage
	}
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune("@.+-_", r) {
			return "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters."
		}
	}
	return ""
}

// checkEmail returns why an email address is not acceptable, or "". The
// empty string is acceptable: email is optional.
func checkEmail(s string) string {
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
	if strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || hiddenControl(r) }) {
		return invalid
	}
	return ""
}

// checkName returns why a first or last name is not acceptable, or "".
func checkName(s string) string {
	if utf8.RuneCountInString(s) > MaxNameLength {
		return fmt.Sprintf("Ensure this field has no more than %d characters.", MaxNameLength)
	}
	if strings.ContainsFunc(s, hiddenControl) {
		return hiddenControlMessage
	}
	return ""
}
