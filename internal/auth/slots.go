package auth

import (
	"container/list"
	"context"
	"sync"
	"time"

	"github.com/rolegate/rolegate/internal/account"
	"github.com/rolegate/rolegate/models"
)

// Requester says whom a password hash is for: the account it concerns (a
// username as typed, or "" for none) and the client address that asked (""
// for none). The Hasher shares its slots fairly between requesters, so
// that one account or one client flooding it cannot starve the others.
type Requester struct {
	Account string
	Client  string
}

// fairSlots caps how many hashes run at once, and hands freed slots to
// waiters in turn: round-robin among the client addresses with waiters,
// and within one address round-robin among its accounts, first come first
// served within one account. A newcomer is served after at most one turn
// of each address (and account) already waiting, however many requests
// they have queued. While others wait, a client or an account that
// already holds its share of the slots (the slots divided by the clients,
// or the accounts, that hold or wait for one) is passed over; when every
// waiter is over its share, the next in turn gets the slot anyway, so
// that no slot stays idle while anyone waits.
type fairSlots struct {
	size int
	wait time.Duration

	mu      sync.Mutex
	busy    int
	waiting int
	clients list.List              // of *clientLine that have waiters, in turn order
	lines   map[string]*clientLine // by client
	held    map[slotKey]int        // slots held, by client and by account
	active  map[slotKey]int        // slots held and waited for, by client and by account
	// activeClients and activeAccounts count the keys of each kind in
	// active.
	activeClients, activeAccounts int
}

// slotKey is one side of a requester: its client, or its account.
type slotKey struct {
	account bool
	name    string
}

// slotKeys are the two keys of one requester.
type slotKeys struct {
	client, account slotKey
}

func keysOf(who Requester) slotKeys {
	return slotKeys{
		client:  slotKey{name: who.Client},
		account: slotKey{account: true, name: account.UsernameKey(who.Account)},
	}
}

// clientLine holds the accounts of one client that have waiters.
type clientLine struct {
	name     string
	elem     *list.Element           // in fairSlots.clients
	accounts list.List               // of *accountLine, in turn order
	byName   map[string]*accountLine // by account key
}

// accountLine holds one account's waiters from one client, in order.
type accountLine struct {
	name    string
	elem    *list.Element // in clientLine.accounts
	waiters list.List     // of *waiter
}

type waiter struct {
	keys    slotKeys
	ready   chan struct{} // closed when granted
	granted bool
	elem    *list.Element // in accountLine.waiters
	line    *accountLine
	client  *clientLine
}

func newFairSlots(size int, wait time.Duration) *fairSlots {
	return &fairSlots{
		size: max(1, size), wait: wait,
		lines: map[string]*clientLine{}, held: map[slotKey]int{}, active: map[slotKey]int{},
	}
}

var errHashBusy = &models.Error{Code: models.EUNAVAILABLE, Reason: "busy", Message: "Too many password checks in progress; try again shortly."}

// acquire waits for a slot for who, at most the wait bound, and returns
// the function that gives it back. It returns EUNAVAILABLE when no slot
// comes in time or ctx ends first.
func (s *fairSlots) acquire(ctx context.Context, who Requester) (release func(), err error) {
	k := keysOf(who)
	release = func() { s.release(k) }
	s.mu.Lock()
	s.activate(k)
	if s.busy < s.size && s.waiting == 0 {
		s.take(k)
		s.mu.Unlock()
		return release, nil
	}
	w := s.enqueue(k)
	s.mu.Unlock()

	t := time.NewTimer(s.wait)
	defer t.Stop()
	select {
	case <-w.ready:
		return release, nil
	case <-t.C:
		err = errHashBusy
	case <-ctx.Done():
		err = models.Unavailable(ctx.Err())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if w.granted { // granted as the wait ended: keep it
		return release, nil
	}
	s.dequeue(w)
	s.deactivate(k)
	return nil, err
}

func (s *fairSlots) release(k slotKeys) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.busy--
	s.held[k.client]--
	s.held[k.account]--
	s.deactivate(k)
	for s.busy < s.size && s.waiting > 0 {
		w := s.next()
		s.dequeue(w)
		s.take(w.keys)
		w.granted = true
		close(w.ready)
	}
}

// take gives a slot to k.
func (s *fairSlots) take(k slotKeys) {
	s.busy++
	s.held[k.client]++
	s.held[k.account]++
}

// next returns the waiter whose turn it is, and moves its client and its
// account to the back of their turns.
func (s *fairSlots) next() *waiter {
	var first, chosen *waiter
	for ce := s.clients.Front(); ce != nil && chosen == nil; ce = ce.Next() {
		for ae := ce.Value.(*clientLine).accounts.Front(); ae != nil; ae = ae.Next() {
			w := ae.Value.(*accountLine).waiters.Front().Value.(*waiter)
			if first == nil {
				first = w
			}
			if !s.overShare(w.keys) {
				chosen = w
				break
			}
		}
	}
	if chosen == nil {
		chosen = first
	}
	chosen.client.accounts.MoveToBack(chosen.line.elem)
	s.clients.MoveToBack(chosen.client.elem)
	return chosen
}

// overShare reports whether k's client or account already holds its share
// of the slots.
func (s *fairSlots) overShare(k slotKeys) bool {
	share := func(n int) int { return max(1, s.size/max(1, n)) }
	return s.held[k.client] >= share(s.activeClients) || s.held[k.account] >= share(s.activeAccounts)
}

func (s *fairSlots) enqueue(k slotKeys) *waiter {
	cl := s.lines[k.client.name]
	if cl == nil {
		cl = &clientLine{name: k.client.name, byName: map[string]*accountLine{}}
		cl.elem = s.clients.PushBack(cl)
		s.lines[cl.name] = cl
	}
	al := cl.byName[k.account.name]
	if al == nil {
		al = &accountLine{name: k.account.name}
		al.elem = cl.accounts.PushBack(al)
		cl.byName[al.name] = al
	}
	w := &waiter{keys: k, ready: make(chan struct{}), line: al, client: cl}
	w.elem = al.waiters.PushBack(w)
	s.waiting++
	return w
}

// dequeue takes w out of its lines, dropping the lines it leaves empty.
func (s *fairSlots) dequeue(w *waiter) {
	al, cl := w.line, w.client
	al.waiters.Remove(w.elem)
	s.waiting--
	if al.waiters.Len() > 0 {
		return
	}
	cl.accounts.Remove(al.elem)
	delete(cl.byName, al.name)
	if cl.accounts.Len() > 0 {
		return
	}
	s.clients.Remove(cl.elem)
	delete(s.lines, cl.name)
}

// activate counts one more request, waiting or holding, for k.
func (s *fairSlots) activate(k slotKeys) {
	for _, key := range []slotKey{k.client, k.account} {
		if s.active[key]++; s.active[key] == 1 {
			s.count(key, 1)
		}
	}
}

// deactivate counts one request of k less, forgetting keys with none.
func (s *fairSlots) deactivate(k slotKeys) {
	for _, key := range []slotKey{k.client, k.account} {
		if s.active[key]--; s.active[key] == 0 {
			delete(s.active, key)
			delete(s.held, key)
			s.count(key, -1)
		}
	}
}

func (s *fairSlots) count(key slotKey, d int) {
	if key.account {
		s.activeAccounts += d
	} else {
		s.activeClients += d
	}
}
