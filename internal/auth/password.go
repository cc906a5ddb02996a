// Package auth holds rolegate's credentials: password hashing and policy,
// signing keys, and the access and refresh tokens of login sessions.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Argon2Params are argon2id's cost parameters.
type Argon2Params struct {
	Memory      uint32 // KiB
	Iterations  uint32
	Parallelism uint8
}

// OWASP is the OWASP Password Storage Cheat Sheet's minimum for argon2id:
// 19 MiB of memory, 2 iterations, 1 degree of parallelism.
var OWASP = Argon2Params{Memory: 19 * 1024, Iterations: 2, Parallelism: 1}

// Weaker reports whether p costs less than q in any dimension.
func (p Argon2Params) Weaker(q Argon2Params) bool {
	return p.Memory < q.Memory || p.Iterations < q.Iterations || p.Parallelism < q.Parallelism
}

const (
	saltLen = 16
	keyLen  = 32
)

// Hasher hashes and verifies passwords with argon2id. It caps how many
// hashes run at once, because each costs Memory KiB and a core: a login
// flood waits for a slot, up to a limit, and then gets EUNAVAILABLE
// instead of exhausting the machine. Waiting requesters take turns (see
// fairSlots), so that a flood from one account or one client delays
// everyone else by about one hash, not by the whole flood.
type Hasher struct {
	params Argon2Params
	slots  *fairSlots
	// decoy is a hash of a random password, verified for unknown users so
	// that their logins cost as much as a wrong password.
	decoy string
}

// NewHasher returns a Hasher that runs at most concurrency hashes at once,
// and makes a caller wait at most wait for a turn.
func NewHasher(p Argon2Params, concurrency int, wait time.Duration) (*Hasher, error) {
	if p.Memory == 0 || p.Iterations == 0 || p.Parallelism == 0 {
		return nil, fmt.Errorf("argon2id parameters must be positive: %+v", p)
	}
	h := &Hasher{params: p, slots: newFairSlots(concurrency, wait)}
	h.decoy = h.hash(rand.Text())
	return h, nil
}

// Params returns the parameters new hashes use.
func (h *Hasher) Params() Argon2Params { return h.params }

// Hash returns the PHC string of password, hashed for who. It returns
// EUNAVAILABLE when no hashing slot frees up in time.
func (h *Hasher) Hash(ctx context.Context, who Requester, password string) (string, error) {
	release, err := h.slots.acquire(ctx, who)
	if err != nil {
		return "", err
	}
	defer release()
	return h.hash(password), nil
}

// Verify reports whether password matches the stored hash encoded, and
// whether the hash should be replaced: because it uses weaker parameters
// than the Hasher's, or because it was imported from Django (see
// parseStored for the formats). A malformed hash or one of an unknown
// format never matches. It returns EUNAVAILABLE when no hashing slot
// frees up in time for who.
func (h *Hasher) Verify(ctx context.Context, who Requester, password, encoded string) (ok, rehash bool, err error) {
	release, err := h.slots.acquire(ctx, who)
	if err != nil {
		return false, false, err
	}
	defer release()
	stored, perr := parseStored(encoded)
	if perr != nil {
		// Spend the same time as a real check, then refuse.
		verifyArgon2(h.decoyParts())
		return false, false, nil
	}
	ok = stored.matches(password)
	return ok, ok && stored.outdated(h.params), nil
}

// VerifyDecoy spends the time of a real verification and always fails. It
// is for logins of unknown users.
func (h *Hasher) VerifyDecoy(ctx context.Context, who Requester, password string) error {
	_, _, err := h.Verify(ctx, who, password, h.decoy)
	return err
}

func (h *Hasher) decoyParts() (Argon2Params, []byte, []byte) {
	a, _ := parseArgon2PHC(h.decoy)
	return a.params, a.salt, a.key
}

func verifyArgon2(p Argon2Params, salt, key []byte) {
	argon2.IDKey(nil, salt, p.Iterations, p.Memory, p.Parallelism, uint32(len(key)))
}

func (h *Hasher) hash(password string) string {
	salt := make([]byte, saltLen)
	rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, h.params.Iterations, h.params.Memory, h.params.Parallelism, keyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
		h.params.Memory, h.params.Iterations, h.params.Parallelism,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

var b64 = base64.RawStdEncoding

// argon2Hash is a parsed argon2 hash: rolegate's own, or Django's.
type argon2Hash struct {
	variant string // "argon2id" or "argon2i"
	params  Argon2Params
	salt    []byte
	key     []byte
	// foreign marks a hash rolegate did not make, to be replaced at the
	// first successful login.
	foreign bool
}

func (a argon2Hash) matches(password string) bool {
	derive := argon2.IDKey
	if a.variant == "argon2i" {
		derive = argon2.Key
	}
	got := derive([]byte(password), a.salt, a.params.Iterations, a.params.Memory, a.params.Parallelism, uint32(len(a.key)))
	return subtle.ConstantTimeCompare(got, a.key) == 1
}

func (a argon2Hash) outdated(p Argon2Params) bool {
	return a.foreign || a.variant != "argon2id" || a.params.Weaker(p)
}

// parseArgon2PHC parses "$argon2id$v=19$m=..,t=..,p=..$salt$key", or the
// same with argon2i. Only version 19 (0x13) is supported, the one
// golang.org/x/crypto/argon2 implements.
func parseArgon2PHC(s string) (a argon2Hash, err error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || (parts[1] != "argon2id" && parts[1] != "argon2i") {
		return a, fmt.Errorf("not an argon2 PHC string")
	}
	a.variant = parts[1]
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return a, fmt.Errorf("unsupported argon2 version %q", parts[2])
	}
	p := &a.params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Iterations, &p.Parallelism); err != nil {
		return a, fmt.Errorf("bad argon2 parameters %q: %w", parts[3], err)
	}
	if p.Memory == 0 || p.Iterations == 0 || p.Parallelism == 0 || p.Memory > 4<<20 || p.Iterations > 64 {
		return a, fmt.Errorf("argon2 parameters out of range %q", parts[3])
	}
	if a.salt, err = b64.DecodeString(parts[4]); err != nil {
		return a, fmt.Errorf("bad salt: %w", err)
	}
	if a.key, err = b64.DecodeString(parts[5]); err != nil || len(a.key) < 16 || len(a.key) > 64 {
		return a, fmt.Errorf("bad key")
	}
	return a, nil
}

//go:embed common-passwords.txt
var commonPasswordText string

// commonPasswords holds the shipped list, lower-cased.
var commonPasswords = func() map[string]struct{} {
	set := make(map[string]struct{}, 10000)
	for _, l := range strings.Split(commonPasswordText, "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			set[strings.ToLower(l)] = struct{}{}
		}
	}
	return set
}()

// MaxPasswordLength is the longest password accepted, in characters. It is
// checked before hashing, so a huge password cannot be used to burn CPU.
const MaxPasswordLength = 128

// PasswordPolicy says which passwords are acceptable. There are no
// composition rules: length and not being common matter, per NIST 800-63B.
type PasswordPolicy struct {
	MinLength int
}

// Check returns why password is not acceptable for username, or nil.
func (pp PasswordPolicy) Check(password, username string) []string {
	n := utf8.RuneCountInString(password)
	switch {
	case !utf8.ValidString(password):
		return []string{"Password must be valid UTF-8."}
	case n < pp.MinLength:
		return []string{fmt.Sprintf("This password is too short. It must contain at least %d characters.", pp.MinLength)}
	case n > MaxPasswordLength:
		return []string{fmt.Sprintf("This password is too long. It must contain at most %d characters.", MaxPasswordLength)}
	case username != "" && strings.EqualFold(password, username):
		return []string{"The password is too similar to the username."}
	}
	if _, common := commonPasswords[strings.ToLower(password)]; common {
		return []string{"This password is too common."}
	}
	return nil
}
