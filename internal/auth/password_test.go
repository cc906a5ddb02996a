package auth

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trustelem/zxcvbn/frequency"

	"github.com/rolegate/rolegate/models"
)

// cheap keeps tests fast; production uses OWASP or stronger.
var cheap = Argon2Params{Memory: 64, Iterations: 1, Parallelism: 1}

// anyone is the requester of tests that do not share the hashing slots.
var anyone = Requester{Account: "tester", Client: "192.0.2.1"}

func newHasher(t *testing.T, p Argon2Params, slots int, wait time.Duration) *Hasher {
	t.Helper()
	h, err := NewHasher(p, slots, wait)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestHashIsPHCAndVerifies(t *testing.T) {
	h := newHasher(t, cheap, 2, time.Second)
	ctx := context.Background()
	enc, err := h.Hash(ctx, anyone, "correct horse battery staple ☃")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=64,t=1,p=1$") || strings.Count(enc, "$") != 5 {
		t.Fatalf("got %q, want a PHC argon2id string", enc)
	}
	if again, _ := h.Hash(ctx, anyone, "correct horse battery staple ☃"); again == enc {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
	for pw, want := range map[string]bool{
		"correct horse battery staple ☃": true,
		"correct horse battery staple":   false,
		"":                               false,
	} {
		ok, rehash, err := h.Verify(ctx, anyone, pw, enc)
		if err != nil || ok != want || rehash {
			t.Errorf("verify %q: got ok=%v rehash=%v err=%v, want ok=%v rehash=false", pw, ok, rehash, err, want)
		}
	}
}

func TestWeakerHashAsksForRehash(t *testing.T) {
	ctx := context.Background()
	weak := newHasher(t, cheap, 1, time.Second)
	enc, _ := weak.Hash(ctx, anyone, "some long password")
	strong := newHasher(t, Argon2Params{Memory: 128, Iterations: 2, Parallelism: 1}, 1, time.Second)
	ok, rehash, err := strong.Verify(ctx, anyone, "some long password", enc)
	if err != nil || !ok || !rehash {
		t.Errorf("got ok=%v rehash=%v err=%v, want ok and rehash", ok, rehash, err)
	}
	if _, rehash, _ := strong.Verify(ctx, anyone, "wrong", enc); rehash {
		t.Error("a failed verification asked for a rehash")
	}
}

func TestMalformedHashNeverMatches(t *testing.T) {
	h := newHasher(t, cheap, 1, time.Second)
	for _, enc := range []string{
		"", "plain", "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5aw",
		"$argon2id$v=18$m=64,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5aw",
		"$argon2id$v=19$m=0,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5aw",
		"$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5aw",
		"$argon2id$v=19$m=64,t=1,p=1$!!!$a2V5a2V5a2V5a2V5a2V5aw",
		"pbkdf2_sha256$260000$salt$hash",
	} {
		if ok, _, err := h.Verify(context.Background(), anyone, "", enc); ok || err != nil {
			t.Errorf("verify against %q: got ok=%v err=%v, want false, nil", enc, ok, err)
		}
	}
}

func TestHashingIsCapped(t *testing.T) {
	// One slot, held: a second caller waits, then gets EUNAVAILABLE rather
	// than running a second hash, and leaves nothing behind in the queue.
	h := newHasher(t, cheap, 1, 10*time.Millisecond)
	ctx := context.Background()
	release, err := h.slots.acquire(ctx, anyone)
	if err != nil {
		t.Fatal(err)
	}
	_, err = h.Hash(ctx, Requester{Account: "other", Client: "192.0.2.2"}, "whatever password")
	if got := models.ErrorCode(err); got != models.EUNAVAILABLE {
		t.Fatalf("hash with no free slot: got %v, want EUNAVAILABLE", err)
	}
	release()
	if n := h.slots.idle(); n != "" {
		t.Fatalf("after the wait ended and the slot came back: %s, want nothing held or waiting", n)
	}
	var wg sync.WaitGroup
	errs := make([]error, 4)
	h2 := newHasher(t, cheap, 1, 5*time.Second)
	for i := range errs {
		wg.Go(func() { _, errs[i] = h2.Hash(ctx, anyone, "queued password") })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("queued hash %d: got %v, want success after waiting", i, err)
		}
	}
}

func TestOWASPIsTheFloor(t *testing.T) {
	if OWASP.Memory != 19456 || OWASP.Iterations != 2 || OWASP.Parallelism != 1 {
		t.Errorf("OWASP params: got %+v, want m=19456 t=2 p=1", OWASP)
	}
	if !cheap.Weaker(OWASP) || OWASP.Weaker(OWASP) {
		t.Error("Weaker: got wrong comparison")
	}
}

// alice is the account the policy tests check passwords for.
var alice = &models.User{Username: "alice-the-great", Email: "liddell.wonder@example.com", FirstName: "Alice", LastName: "Liddell"}

func TestPasswordPolicy(t *testing.T) {
	pp := PasswordPolicy{MinLength: 12}
	const (
		breach   = "This password has appeared in a data breach, so attackers try it first."
		similar  = "This password is too similar to your username, email address or name."
		guess    = "This password is too easy to guess."
		suggest  = "Add another word or two; uncommon words are better."
		passNone = ""
	)
	cases := []struct {
		password string
		want     []string
	}{
		{"short", []string{"This password is too short. It must contain at least 12 characters."}},
		{strings.Repeat("é", 11), []string{"This password is too short. It must contain at least 12 characters."}}, // characters, not bytes
		{strings.Repeat("x", 129), []string{"This password is too long. It must contain at most 128 characters."}},
		// Issue 10 item 9: accepted before, all from breaches.
		{"password1234", []string{breach}},
		{"123456789012", []string{breach}},
		{"1234567890123", []string{breach}},
		{"passwordpassword", []string{breach}},
		{"PassWord1234", []string{breach}}, // the list is matched case-insensitively
		// Built from the account's own attributes.
		{"Alice-The-Great", []string{similar, suggest}},
		{"liddell.wonder@example.com", []string{similar, suggest}},
		{"AliceLiddell!", []string{similar, suggest}},
		{"alice.liddell.1999", []string{similar, suggest}},
		{"wonder-liddell-alice", []string{similar, suggest}},
		{"Liddell_Wonder@2024", []string{similar, suggest}},
		// Patterns zxcvbn finds, not on the breach list.
		{"poiuytrewqlkjhgf", []string{"This password is too common. Reversed words are not much harder to guess.", suggest}},
		{"asdfghjkl;lkjhgf", []string{guess + " Short keyboard patterns are easy to guess.", suggest}},
		{"ａｓｄｆｇｈｊｋｌ；ｌｋｊｈｇｆ", []string{guess + " Short keyboard patterns are easy to guess.", suggest}}, // fullwidth: NFKC first
		{"ＡＬＩＣＥ．ＬＩＤＤＥＬＬ．１９９９", []string{similar, suggest}},
		{"abcdefghijklmnopqr", []string{guess + " Sequences like abc or 6543 are easy to guess.", suggest}},
		{strings.Repeat("xy!", 6), []string{guess + ` Repeats like "abcabcabc" are only slightly harder to guess than "abc".`, suggest}},
		{strings.Repeat("x", 128), []string{guess + ` Repeats like "aaa" are easy to guess.`, suggest}},
		// Strong passphrases pass, in any script.
		{"correct horse battery ☃", nil},
		{"Zoë walks 9 élans", nil},
		{"a long admin passphrase", nil},
		{"alice counts nine violet kestrels", nil}, // her name, among other words
		{"the quiet harbor keeps seven lanterns burning while a violet kestrel circles over copper roofs and distant orchards hum at dusk,", nil}, // 128 characters
	}
	for _, c := range cases {
		err := pp.Validate("new_password", c.password, alice)
		if got := models.FieldsOf(err)["new_password"]; strings.Join(got, "|") != strings.Join(c.want, "|") || (err == nil) != (c.want == nil) {
			t.Errorf("check %q: got %v, want new_password: %q", c.password, err, c.want)
		}
	}
}

// TestStrongPasswordsFromOtherAccounts checks that the account matters: a
// password built from alice's name is fine for someone else.
func TestStrongPasswordsFromOtherAccounts(t *testing.T) {
	pp := PasswordPolicy{MinLength: 12}
	bob := &models.User{Username: "bob", Email: "bob@example.com"}
	if got := pp.problems("liddell.wonder@example.com", bob); got != nil {
		t.Errorf("alice's email as bob's password: got %q, want it accepted", got)
	}
}

// TestZxcvbnCoversTheOldCommonList checks that dropping the shipped
// top-10,000 list lost nothing: it was the top of zxcvbn's own password
// list, and with a minimum length of 1 the policy refuses every entry.
func TestZxcvbnCoversTheOldCommonList(t *testing.T) {
	pp := PasswordPolicy{MinLength: 1}
	common := frequency.FrequencyLists["passwords"][:10000]
	for _, pw := range common {
		if got := pp.problems(pw, nil); got == nil {
			t.Errorf("check %q (a top-10,000 password): got accepted, want refused", pw)
		}
	}
	short := PasswordPolicy{MinLength: 6}
	for _, pw := range []string{"123456789", "Password1", "qwertyuiop"} {
		if got := short.problems(pw, nil); len(got) == 0 || got[0] != "This password is too common." {
			t.Errorf("check %q: got %q, want too common", pw, got)
		}
	}
}

// BenchmarkCheck measures the policy on a strong passphrase and on the
// most expensive input zxcvbn reads, a 64-character repeat.
func BenchmarkCheck(b *testing.B) {
	pp := PasswordPolicy{MinLength: 12}
	for name, pw := range map[string]string{
		"passphrase": "correct horse battery staple",
		"repeat128":  strings.Repeat("a", 128),
		"pattern128": strings.Repeat("ab1!", 32),
	} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				pp.problems(pw, alice)
			}
		})
	}
}
