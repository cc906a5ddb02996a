package auth

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

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

func TestPasswordPolicy(t *testing.T) {
	pp := PasswordPolicy{MinLength: 12}
	cases := []struct {
		password, username, want string
	}{
		{"short", "", "too short"},
		{strings.Repeat("é", 11), "", "too short"}, // counted in characters, not bytes
		{strings.Repeat("x", 129), "", "too long"},
		{"Alice-The-Great", "alice-the-great", "similar"},
		{"correct horse battery ☃", "alice", ""},
		{strings.Repeat("é", 12), "", ""},
		{strings.Repeat("x", 128), "", ""},
	}
	for _, c := range cases {
		got := strings.Join(pp.Check(c.password, c.username), " ")
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("check %q: got %q, want %q", c.password, got, c.want)
		}
	}
	// The shipped list is checked, case-insensitively.
	if len(commonPasswords) != 10000 {
		t.Errorf("common passwords: got %d, want 10000", len(commonPasswords))
	}
	short := PasswordPolicy{MinLength: 6}
	for _, pw := range []string{"123456789", "Password1", "qwertyuiop"} {
		if got := short.Check(pw, ""); len(got) == 0 || !strings.Contains(got[0], "common") {
			t.Errorf("check %q: got %v, want too common", pw, got)
		}
	}
}
