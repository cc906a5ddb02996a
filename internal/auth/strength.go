package auth

import (
	"strings"
	"unicode"

	"github.com/trustelem/zxcvbn"
	"github.com/trustelem/zxcvbn/match"
	"golang.org/x/text/unicode/norm"

	"github.com/rolegate/rolegate/models"
)

// MinStrength is the lowest zxcvbn score a password needs: 3, "safely
// unguessable", at least 10^8 guesses.
const MinStrength = 3

// strengthInput is how much of a password zxcvbn reads, in characters. Its
// cost grows faster than the length: BenchmarkCheck measured 48 ms for a
// 128-character repeat and 36 ms for a 128-character pattern read whole,
// 3.3 and 4.9 ms read to 64 (2.2 ms for a 28-character passphrase). A
// password whose first 64 characters resist guessing still does with more
// after them, so reading less only ever refuses more.
const strengthInput = 64

// guessability runs zxcvbn on password, with u's username, email address
// and names as words an attacker would try first, and returns why it is
// too easy to guess, or nil. zxcvbn's Go port has no feedback text, so the
// reasons follow the original's: from the longest pattern it found. Both
// read the NFKC form, so that fullwidth letters are the letters they show.
func guessability(password string, u *models.User) []string {
	password = norm.NFKC.String(password)
	if builtFromAccount(password, u) {
		return []string{similarReason, suggestion}
	}
	r := zxcvbn.PasswordStrength(prefix(password, strengthInput), userInputs(u))
	if r.Score >= MinStrength {
		return nil
	}
	return []string{reason(longest(r.Sequence)), suggestion}
}

const (
	similarReason = "This password is too similar to your username, email address or name."
	suggestion    = "Add another word or two; uncommon words are better."
)

// builtFromAccount reports whether password is only pieces of u's
// username, email address and names, joined by punctuation and at most
// four-digit numbers: "alice.liddell.1999", "liddell-wonder5". zxcvbn
// charges each extra piece a flat ten thousand guesses, so three such
// pieces pass its score though an attacker who knows the account tries
// them first.
func builtFromAccount(password string, u *models.User) bool {
	own := map[string]bool{}
	for _, w := range accountWords(u) {
		for _, piece := range words(w) {
			own[piece] = true
		}
	}
	pieces := 0
	for _, w := range words(password) {
		switch {
		case own[w]:
			pieces++
		case len(w) <= 4 && strings.Trim(w, "0123456789") == "":
		default:
			return false
		}
	}
	return pieces > 0
}

// words splits s, lower-cased, at everything but letters and digits.
func words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// userInputs are the words zxcvbn should count as guessed first: the
// service's name and u's own.
func userInputs(u *models.User) []string {
	return append([]string{"rolegate"}, accountWords(u)...)
}

// accountWords are u's username, email address and its two halves, and
// names, each whole.
func accountWords(u *models.User) []string {
	if u == nil {
		return nil
	}
	local, domain, _ := strings.Cut(u.Email, "@")
	var out []string
	for _, w := range []string{u.Username, u.Email, local, domain, u.FirstName, u.LastName, u.FirstName + u.LastName} {
		if w != "" {
			out = append(out, w)
		}
	}
	return out
}

// prefix returns the first n characters of s.
func prefix(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}

// longest returns the match that covers the most of the password, or nil.
func longest(seq []*match.Match) *match.Match {
	var best *match.Match
	for _, m := range seq {
		if best == nil || m.J-m.I > best.J-best.I {
			best = m
		}
	}
	return best
}

// reason says why a password whose longest pattern is m is easy to guess.
func reason(m *match.Match) string {
	const easy = "This password is too easy to guess. "
	if m == nil {
		return strings.TrimSpace(easy)
	}
	switch m.Pattern {
	case "dictionary":
		return dictionaryReason(m)
	case "spatial":
		if m.Turns == 1 {
			return easy + "Straight rows of keys are easy to guess."
		}
		return easy + "Short keyboard patterns are easy to guess."
	case "repeat":
		if len([]rune(m.BaseToken)) == 1 {
			return easy + `Repeats like "aaa" are easy to guess.`
		}
		return easy + `Repeats like "abcabcabc" are only slightly harder to guess than "abc".`
	case "sequence":
		return easy + "Sequences like abc or 6543 are easy to guess."
	case "regex":
		return easy + "Recent years are easy to guess."
	case "date":
		return easy + "Dates are often easy to guess."
	}
	return strings.TrimSpace(easy)
}

func dictionaryReason(m *match.Match) string {
	const easy = "This password is too easy to guess. "
	disguise := ""
	if m.L33t {
		disguise = ` Predictable substitutions like "@" for "a" do not help much.`
	} else if m.Reversed {
		disguise = " Reversed words are not much harder to guess."
	}
	switch m.DictionaryName {
	case "user_inputs":
		return similarReason + disguise
	case "passwords":
		return "This password is too common." + disguise
	case "surnames", "male_names", "female_names":
		return easy + "Names and surnames are easy to guess." + disguise
	}
	return easy + "Common words are easy to guess." + disguise
}
