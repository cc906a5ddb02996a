package auth

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// expensive is an imported hash that costs far more to check than the
// cheap test parameters: milliseconds, and about 0.1 s under -race.
func expensive(t *testing.T) string {
	t.Helper()
	return djangoPBKDF2(t, "some password", "saltsaltsalt", 20000)
}

// checkCost returns how long checking password against encoded takes in
// its slot, as the floor records it.
func checkCost(t *testing.T, h *Hasher, encoded string) time.Duration {
	t.Helper()
	v, err := h.Check(context.Background(), anyone, "wrong password", encoded)
	if err != nil {
		t.Fatal(err)
	}
	return v.cost
}

// TestFailureFloorFollowsTheMostExpensiveKind checks that once an
// expensive kind of hash has been checked (by a login or by Calibrate),
// every refused login, the decoy of an unknown user included, takes at
// least as long as checking it.
func TestFailureFloorFollowsTheMostExpensiveKind(t *testing.T) {
	h := newHasher(t, cheap, 2, time.Minute)
	pbkdf2 := expensive(t)
	if err := h.Calibrate(context.Background(), []string{pbkdf2, "not a hash at all"}); err != nil {
		t.Fatal(err)
	}
	// The floor is well above the average cost, but one check may run
	// slower still on a busy machine.
	cost := checkCost(t, h, pbkdf2)
	if floor := h.FailureFloor(); floor < cost*4/5 {
		t.Errorf("floor after calibrating: got %v, want about the PBKDF2 check's %v or more", floor, cost)
	}
	for name, refuse := range map[string]func() (Verification, error){
		"unknown user":   func() (Verification, error) { return h.CheckDecoy(context.Background(), anyone, "some password") },
		"wrong password": func() (Verification, error) { return h.Check(context.Background(), anyone, "wrong", h.hash("right")) },
		"unusable hash": func() (Verification, error) {
			return h.Check(context.Background(), anyone, "some password", "!unusable")
		},
	} {
		// A refusal is held to the floor as it stood when its check began.
		floor := h.FailureFloor()
		start := time.Now()
		v, err := refuse()
		if err != nil || v.OK {
			t.Fatalf("%s: got %+v, %v; want a refusal", name, v, err)
		}
		v.Refuse()
		if took := time.Since(start); took < floor {
			t.Errorf("%s: refused in %v, want at least the floor %v", name, took, floor)
		}
	}
}

// TestRefusalHoldsNoHashingSlot checks that a refused login waits out the
// floor without its slot: with one slot, a hash started after the refused
// check finishes before the refusal does.
func TestRefusalHoldsNoHashingSlot(t *testing.T) {
	h := newHasher(t, cheap, 1, time.Minute)
	h.floor.observe("a kind that takes 200ms", 200*time.Millisecond)
	checked := make(chan struct{})
	refused := make(chan time.Time, 1)
	go func() {
		v, _ := h.CheckDecoy(context.Background(), anyone, "guess")
		close(checked)
		v.Refuse()
		refused <- time.Now()
	}()
	<-checked
	if _, err := h.Hash(context.Background(), anyone, "another user's login"); err != nil {
		t.Fatalf("hash while a refusal waits: %v", err)
	}
	hashed := time.Now()
	select {
	case at := <-refused:
		t.Errorf("the refusal ended at %v, before the hash that waited for its slot (%v): want the slot free while it waits", at, hashed)
	case <-time.After(time.Minute):
		t.Fatal("the refusal never ended")
	default:
	}
	<-refused
}

// TestFailureFloorIsBounded checks that the kinds tracked are bounded,
// and so is the floor.
func TestFailureFloorIsBounded(t *testing.T) {
	f := newFailureFloor("ref", time.Millisecond)
	for i := range 3 * maxHashKinds {
		f.observe(fmt.Sprint("kind", i), time.Duration(i+1)*time.Millisecond)
	}
	if n := len(f.kinds); n > maxHashKinds+2 {
		t.Errorf("kinds tracked: got %d, want at most %d", n, maxHashKinds+2)
	}
	top := float64(3 * maxHashKinds) // the most expensive kind's ratio
	if got, want := f.floor(), time.Duration(top*minFloorMargin)*time.Millisecond; got < want*99/100 {
		t.Errorf("floor: got %v, want the most expensive kind seen, even past the bound (%v)", got, want)
	}
	f.observe("absurd", time.Hour)
	if got := f.floor(); got != MaxFailureFloor {
		t.Errorf("floor after an absurd hash: got %v, want the cap %v", got, MaxFailureFloor)
	}
}
