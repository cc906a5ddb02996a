package auth

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rolegate/rolegate/models"
)

// idle describes what s still holds or queues, "" when nothing.
func (s *fairSlots) idle() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.busy == 0 && s.waiting == 0 && len(s.lines) == 0 && len(s.held) == 0 && len(s.active) == 0 &&
		s.activeClients == 0 && s.activeAccounts == 0 {
		return ""
	}
	return fmt.Sprintf("busy %d, waiting %d, %d client lines, held %v, active %v", s.busy, s.waiting, len(s.lines), s.held, s.active)
}

// waitQueued polls until n requests wait for a slot of h, for at most five
// seconds.
func waitQueued(t *testing.T, h *Hasher, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		h.slots.mu.Lock()
		got := h.slots.waiting
		h.slots.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d requests waiting for a slot within 5s, want %d", got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// grants records the order in which requests got a slot.
type grants struct {
	mu    sync.Mutex
	order []string
	errs  []error
	wg    sync.WaitGroup
}

// ask queues a request of who, named name, for a slot of h; once granted,
// it notes its turn and waits for hold to be closed (nil: gives the slot
// back at once).
func (g *grants) ask(h *Hasher, who Requester, name string, hold chan struct{}) {
	g.wg.Go(func() {
		release, err := h.slots.acquire(context.Background(), who)
		g.mu.Lock()
		if err != nil {
			g.errs = append(g.errs, fmt.Errorf("%s: %w", name, err))
		} else {
			g.order = append(g.order, name)
		}
		g.mu.Unlock()
		if err != nil {
			return
		}
		if hold != nil {
			<-hold
		}
		release()
	})
}

func (g *grants) wait(t *testing.T) []string {
	t.Helper()
	g.wg.Wait()
	for _, err := range g.errs {
		t.Error(err)
	}
	return g.order
}

// TestSlotsServeANewcomerNext checks the fairness of the hashing slots
// with one slot: while 20 requests of one flood wait, a request that
// comes after them from another account, another client or both gets the
// slot after at most one of the flood's, not after all 20.
func TestSlotsServeANewcomerNext(t *testing.T) {
	const flood = 20
	cases := []struct {
		name     string
		flood    func(i int) Requester
		newcomer Requester
	}{
		{"another account and client", func(int) Requester { return Requester{"mallory", "203.0.113.9"} }, Requester{"carol", "198.51.100.7"}},
		{"another account, same client", func(int) Requester { return Requester{"mallory", "203.0.113.9"} }, Requester{"carol", "203.0.113.9"}},
		{"same account, another client", func(int) Requester { return Requester{"mallory", "203.0.113.9"} }, Requester{"MALLORY", "198.51.100.7"}},
		{"a spray of accounts from one client", func(i int) Requester { return Requester{fmt.Sprint("guess", i), "203.0.113.9"} }, Requester{"carol", "198.51.100.7"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHasher(t, cheap, 1, time.Minute)
			holder, err := h.slots.acquire(context.Background(), Requester{"holder", "192.0.2.1"})
			if err != nil {
				t.Fatal(err)
			}
			var g grants
			for i := range flood {
				g.ask(h, c.flood(i), "flood", nil)
			}
			waitQueued(t, h, flood)
			g.ask(h, c.newcomer, "newcomer", nil)
			waitQueued(t, h, flood+1)
			holder()
			order := g.wait(t)
			if at := slices.Index(order, "newcomer"); at < 0 || at > 1 {
				t.Errorf("the newcomer got a slot in turn %d of %d, want turn 0 or 1 (before %d of the flood's %d)", at, len(order), flood-1, flood)
			}
			if s := h.slots.idle(); s != "" {
				t.Errorf("after every request: %s, want nothing held or waiting", s)
			}
		})
	}
}

// TestSlotsCapAKeyWhileOthersWait checks the share cap with two slots: an
// account and client holding one slot, with more of its requests queued
// before a newcomer's, does not get the second slot when it frees; the
// newcomer does.
func TestSlotsCapAKeyWhileOthersWait(t *testing.T) {
	h := newHasher(t, cheap, 2, time.Minute)
	flood := Requester{"mallory", "203.0.113.9"}
	var g grants
	holds := []chan struct{}{make(chan struct{}), make(chan struct{})}
	g.ask(h, flood, "flood-1", holds[0])
	g.ask(h, flood, "flood-2", holds[1])
	waitFor(t, func() bool { g.mu.Lock(); defer g.mu.Unlock(); return len(g.order) == 2 })
	for range 3 {
		g.ask(h, flood, "flood", nil)
	}
	waitQueued(t, h, 3)
	g.ask(h, Requester{"carol", "198.51.100.7"}, "newcomer", nil)
	waitQueued(t, h, 4)
	close(holds[0]) // one slot frees; the flood still holds the other
	waitFor(t, func() bool { g.mu.Lock(); defer g.mu.Unlock(); return len(g.order) >= 3 })
	g.mu.Lock()
	third := g.order[2]
	g.mu.Unlock()
	if third != "newcomer" {
		t.Errorf("the freed slot went to %q, want the newcomer: the flood already held its share", third)
	}
	close(holds[1])
	g.wait(t)
	if s := h.slots.idle(); s != "" {
		t.Errorf("after every request: %s, want nothing held or waiting", s)
	}
}

// TestSlotsWaitBound checks that a request that waits out the bound, or
// whose context ends, gets EUNAVAILABLE and leaves the queue, and that
// the others still get their turn.
func TestSlotsWaitBound(t *testing.T) {
	h := newHasher(t, cheap, 1, 50*time.Millisecond)
	holder, err := h.slots.acquire(context.Background(), anyone)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.slots.acquire(ctx, Requester{"carol", "198.51.100.7"}); models.ErrorCode(err) != models.EUNAVAILABLE {
		t.Errorf("acquire with an ended context: got %v, want EUNAVAILABLE", err)
	}
	start := time.Now()
	_, err = h.slots.acquire(context.Background(), Requester{"dave", "198.51.100.8"})
	if models.ErrorCode(err) != models.EUNAVAILABLE || time.Since(start) < 50*time.Millisecond {
		t.Errorf("acquire past the wait bound: got %v after %v, want EUNAVAILABLE after 50ms", err, time.Since(start))
	}
	holder()
	if s := h.slots.idle(); s != "" {
		t.Fatalf("after the refusals: %s, want nothing held or waiting", s)
	}
	release, err := h.slots.acquire(context.Background(), Requester{"dave", "198.51.100.8"})
	if err != nil {
		t.Fatal(err)
	}
	release()
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(time.Millisecond)
	}
}
