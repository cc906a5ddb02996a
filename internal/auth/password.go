// Package auth holds rolegate's credentials: password hashing and policy,
// signing keys, and the access and refresh tokens of login sessions.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"github.com/rolegate/rolegate/internal/auth/breached"
	"github.com/rolegate/rolegate/models"
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
	// floor is what a refused login costs at least (see floor.go).
	floor *failureFloor
}

// NewHasher returns a Hasher that runs at most concurrency hashes at once,
// and makes a caller wait at most wait for a turn.
func NewHasher(p Argon2Params, concurrency int, wait time.Duration) (*Hasher, error) {
	if p.Memory == 0 || p.Iterations == 0 || p.Parallelism == 0 {
		return nil, fmt.Errorf("argon2id parameters must be positive: %+v", p)
	}
	h := &Hasher{params: p, slots: newFairSlots(concurrency, wait)}
	start := time.Now()
	h.decoy = h.hash(rand.Text())
	decoy, err := parseArgon2PHC(h.decoy)
	if err != nil {
		return nil, fmt.Errorf("argon2id parameters out of range: %w", err)
	}
	h.floor = newFailureFloor(decoy.kind(), time.Since(start))
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
	v, err := h.Check(ctx, who, password, encoded)
	return v.OK, v.Rehash, err
}

// Check is Verify for a login: its Verification can also hold a refused
// login to the failure floor (see Verification.Refuse). The time the
// check takes in its hashing slot is recorded for the floor.
func (h *Hasher) Check(ctx context.Context, who Requester, password, encoded string) (Verification, error) {
	release, err := h.slots.acquire(ctx, who)
	if err != nil {
		return Verification{}, err
	}
	floor := h.floor.floor()
	start := time.Now()
	stored, perr := parseStored(encoded)
	if perr != nil {
		// Spend the time of a check of the Hasher's own hash, then refuse.
		stored, _ = parseArgon2PHC(h.decoy)
	}
	ok := stored.matches(password) && perr == nil
	cost := time.Since(start)
	release()
	h.floor.observe(stored.kind(), cost)
	return Verification{OK: ok, Rehash: ok && stored.outdated(h.params), cost: cost, floor: floor}, nil
}

// CheckDecoy spends the time of a real check and never matches. It is for
// logins of unknown users; Refuse the Verification.
func (h *Hasher) CheckDecoy(ctx context.Context, who Requester, password string) (Verification, error) {
	v, err := h.Check(ctx, who, password, h.decoy)
	v.OK, v.Rehash = false, false
	return v, err
}

// Calibrate checks a random password against each of hashes, so that the
// failure floor knows what their kinds cost before a login meets one. The
// server calls it at start with a sample of each kind of stored hash.
func (h *Hasher) Calibrate(ctx context.Context, hashes []string) error {
	for _, encoded := range hashes {
		if _, err := h.Check(ctx, calibration, rand.Text(), encoded); err != nil {
			return err
		}
	}
	return nil
}

// calibration is the requester of Calibrate's checks, which run before
// the server takes requests.
var calibration = Requester{Client: "calibration"}

// FailureFloor is how long a refused login takes at least, now.
func (h *Hasher) FailureFloor() time.Duration { return h.floor.floor() }

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

func (a argon2Hash) kind() string {
	return fmt.Sprintf("%s m=%d t=%d p=%d k=%d", a.variant, a.params.Memory, a.params.Iterations, a.params.Parallelism, len(a.key))
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

// MaxPasswordLength is the longest password accepted, in characters. It is
// checked before hashing, so a huge password cannot be used to burn CPU.
const MaxPasswordLength = 128

// PasswordPolicy says which passwords are acceptable. There are no
// composition rules, per NIST 800-63B: a password must be long enough, not
// have appeared in a breach, and not be guessable, from common patterns or
// from the account's own attributes.
type PasswordPolicy struct {
	MinLength int
}

// Validate checks password for u, the account as it is or as it will be
// once created, its attributes validated (account.Validate). It returns
// EINVALID naming field, the input that holds the password, with every
// reason the password is not acceptable, or nil. Every caller that takes
// a new password checks it here: the API, the command line and Service.
func (pp PasswordPolicy) Validate(field, password string, u *models.User) error {
	problems := pp.problems(password, u)
	if len(problems) == 0 {
		return nil
	}
	return &models.Error{Code: models.EINVALID, Message: "invalid input", Fields: map[string][]string{field: problems}}
}

// problems returns why password is not acceptable for u, or nil. Each
// reason is a sentence for the user; the first says why.
func (pp PasswordPolicy) problems(password string, u *models.User) []string {
	n := utf8.RuneCountInString(password)
	switch {
	case !utf8.ValidString(password):
		return []string{"Password must be valid UTF-8."}
	case n < pp.MinLength:
		return []string{fmt.Sprintf("This password is too short. It must contain at least %d characters.", pp.MinLength)}
	case n > MaxPasswordLength:
		return []string{fmt.Sprintf("This password is too long. It must contain at most %d characters.", MaxPasswordLength)}
	}
	list, err := breached.Load()
	switch {
	case err != nil:
		// Cannot happen with a binary whose tests passed; refuse rather
		// than accept a password nothing checked.
		return []string{"This password could not be checked against the list of breached passwords."}
	case list.Contains(password):
		return []string{"This password has appeared in a data breach, so attackers try it first."}
	}
	return guessability(password, u)
}
