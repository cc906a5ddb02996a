//go:build fault

package fault_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// allowed is the README's policy table ("Authorization: the policy") for
// the users resource: own says whether the caller owns the target.
func allowed(role, action string, own bool) bool {
	switch role {
	case "admin":
		return true
	case "staff":
		return action == "list" || action == "read" || (action == "update" && own)
	case "user":
		return (action == "read" || action == "update") && own
	}
	return false
}

// outcome is one request of a workload and what the policy says it should
// have got.
type outcome struct {
	op, role, desc string
	want           int   // the status the policy table gives
	tolerate       []int // also acceptable, because an earlier fault made the request's state uncertain
	got            int   // 0 for a transport error
	err            error
	bodyOK         bool // the body says what want promises (checked only when got == want)
	protected      bool // a 2xx would hand out data or change state
	start, end     time.Time
}

// grant reports whether the server said yes.
func (o outcome) grant() bool { return o.got >= 200 && o.got < 300 }

// correct is whether o is what the policy table says, or tolerated.
func (o outcome) correct() bool {
	return o.err == nil && ((o.got == o.want && o.bodyOK) || slices.Contains(o.tolerate, o.got))
}

func (o outcome) String() string {
	got := fmt.Sprint(o.got)
	if o.err != nil {
		got = o.err.Error()
	} else if o.got == o.want && !o.bodyOK {
		got += " with a wrong body"
	}
	return fmt.Sprintf("%s as %s: got %s, want %d", o.desc, o.role, got, o.want)
}

// createdUser is a user the server acknowledged creating.
type createdUser struct {
	id       int64
	username string
}

// recorder keeps every outcome of a workload, the refresh tokens that were
// spent, and the users created.
type recorder struct {
	mu        sync.Mutex
	outcomes  []outcome
	refreshed map[string]int // old refresh token -> 200 answers for it
	created   []createdUser
}

func newRecorder() *recorder { return &recorder{refreshed: map[string]int{}} }

func (r *recorder) add(o outcome) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.outcomes = append(r.outcomes, o)
}

func (r *recorder) spent(token string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.refreshed[token]++
}

func (r *recorder) create(u createdUser) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.created = append(r.created, u)
}

// snapshot copies the outcomes so far.
func (r *recorder) snapshot() []outcome {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.outcomes)
}

// count is how many outcomes started at or after since satisfy keep.
func (r *recorder) count(since time.Time, keep func(outcome) bool) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, o := range r.outcomes {
		if !o.start.Before(since) && keep(o) {
			n++
		}
	}
	return n
}

// doubleSpent lists refresh tokens that got more than one new pair.
func (r *recorder) doubleSpent() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []int
	for _, n := range r.refreshed {
		if n > 1 {
			out = append(out, n)
		}
	}
	return out
}

// worker runs requests as one account, choosing each at random.
type worker struct {
	c     *client
	me    *account
	peers []*account // users the worker does not own
	rec   *recorder
	rng   *rand.Rand
	n     int

	lastSpent string // the refresh token the last rotation spent
	tainted   bool   // a rotation of the current refresh token failed and may have spent it
}

// step is one kind of request, and how often a worker picks it.
type step struct {
	weight int
	run    func(w *worker)
}

func (w *worker) steps() []step {
	s := []step{
		{4, (*worker).getMe}, {4, (*worker).list}, {3, (*worker).readOther}, {2, (*worker).readSelf},
		{2, (*worker).updateSelf}, {2, (*worker).updateOther}, {1, (*worker).create}, {3, (*worker).area},
		{1, (*worker).readPolicy}, {1, (*worker).anonymous}, {3, (*worker).rotate}, {1, (*worker).relogin},
		{1, (*worker).replay},
	}
	if w.me.role != "admin" { // an administrator would really do these
		s = append(s, step{1, (*worker).deleteOther}, step{1, (*worker).promoteSelf})
	}
	return s
}

// run works until ctx is done.
func (w *worker) run(ctx context.Context) {
	steps := w.steps()
	total := 0
	for _, s := range steps {
		total += s.weight
	}
	for ctx.Err() == nil {
		k := w.rng.IntN(total)
		for _, s := range steps {
			if k -= s.weight; k < 0 {
				s.run(w)
				break
			}
		}
	}
}

// call sends one request and records its outcome; check reads the body of
// an answer with the wanted status, and says whether it is right.
func (w *worker) call(op, method, path, token string, body any, want int, protected bool, check func(reply) bool) reply {
	o := outcome{op: op, role: w.me.role, desc: method + " " + path, want: want, protected: protected, start: time.Now()}
	r := w.c.do(method, path, token, body)
	o.end, o.got, o.err = time.Now(), r.status, r.err
	if r.status == want {
		switch {
		case want == http.StatusForbidden:
			o.bodyOK = r.code() == "permission_denied"
		case want == http.StatusUnauthorized:
			o.bodyOK = r.code() == "token_not_valid" || r.code() == "not_authenticated"
		case check != nil:
			o.bodyOK = check(r)
		default:
			o.bodyOK = true
		}
	}
	if op == "rotate" && w.tainted {
		o.tolerate = []int{http.StatusUnauthorized}
	}
	w.rec.add(o)
	return r
}

// decision is the status the policy table gives: ok when allowed, else 403.
func decision(allow bool, ok int) int {
	if allow {
		return ok
	}
	return http.StatusForbidden
}

func (w *worker) peer() *account { return w.peers[w.rng.IntN(len(w.peers))] }

func (w *worker) getMe() {
	w.call("me", http.MethodGet, "/me/", w.me.access, nil, http.StatusOK, true, func(r reply) bool {
		var u userJSON
		return r.decode(&u) && u.ID == w.me.id && u.Username == w.me.username && u.Role == w.me.role
	})
}

func (w *worker) list() {
	want := decision(allowed(w.me.role, "list", false), http.StatusOK)
	w.call("list", http.MethodGet, "/v1/users?limit=50", w.me.access, nil, want, true, func(r reply) bool {
		var page struct{ Results []userJSON }
		return r.decode(&page) && len(page.Results) >= 1 && len(page.Results) <= 50
	})
}

func (w *worker) readUser(op string, target *account, own bool) {
	want := decision(allowed(w.me.role, "read", own), http.StatusOK)
	w.call(op, http.MethodGet, fmt.Sprintf("/v1/users/%d", target.id), w.me.access, nil, want, true, func(r reply) bool {
		var u userJSON
		return r.decode(&u) && u.ID == target.id && u.Username == target.username
	})
}

func (w *worker) readOther() { w.readUser("read_other", w.peer(), false) }
func (w *worker) readSelf()  { w.readUser("read_self", w.me, true) }

func (w *worker) updateUser(op string, target *account, own bool, field string) {
	w.n++
	value := fmt.Sprintf("%s-%d", w.me.username, w.n)
	want := decision(allowed(w.me.role, "update", own), http.StatusOK)
	w.call(op, http.MethodPatch, fmt.Sprintf("/v1/users/%d", target.id), w.me.access, map[string]string{field: value}, want, true, func(r reply) bool {
		var out struct{ User map[string]any }
		return r.decode(&out) && out.User[field] == value
	})
}

func (w *worker) updateSelf()  { w.updateUser("update_self", w.me, true, "first_name") }
func (w *worker) updateOther() { w.updateUser("update_other", w.peer(), false, "last_name") }

func (w *worker) create() {
	w.n++
	name := fmt.Sprintf("c-%s-%d", w.me.username, w.n)
	want := decision(allowed(w.me.role, "create", false), http.StatusCreated)
	r := w.call("create", http.MethodPost, "/v1/users", w.me.access, map[string]string{"username": name, "password": password}, want, true, func(r reply) bool {
		var out struct{ User userJSON }
		return r.decode(&out) && out.User.ID > 0 && out.User.Username == name && out.User.Role == "user"
	})
	var out struct{ User userJSON }
	if r.status == http.StatusCreated && r.decode(&out) {
		w.rec.create(createdUser{id: out.User.ID, username: name})
	}
}

func (w *worker) deleteOther() {
	want := decision(allowed(w.me.role, "delete", false), http.StatusNoContent)
	w.call("delete_other", http.MethodDelete, fmt.Sprintf("/v1/users/%d", w.peer().id), w.me.access, nil, want, true, nil)
}

func (w *worker) promoteSelf() {
	want := decision(allowed(w.me.role, "assign_role", true), http.StatusOK)
	w.call("promote_self", http.MethodPatch, "/me/", w.me.access, map[string]string{"role": "admin"}, want, true, nil)
}

func (w *worker) area() {
	area := []string{"admin", "staff", "user"}[w.rng.IntN(3)]
	want := decision(area == w.me.role, http.StatusOK)
	w.call("area", http.MethodGet, "/"+area+"-area/", w.me.access, nil, want, true, func(r reply) bool {
		var m struct{ Message string }
		return r.decode(&m) && strings.HasSuffix(m.Message, " "+w.me.username+"!")
	})
}

func (w *worker) readPolicy() {
	want := decision(w.me.role == "admin", http.StatusOK)
	w.call("policy", http.MethodGet, "/v1/policy", w.me.access, nil, want, true, func(r reply) bool {
		var p struct{ Version string }
		return r.decode(&p) && p.Version != ""
	})
}

func (w *worker) anonymous() {
	w.call("anonymous", http.MethodGet, "/me/", "", nil, http.StatusUnauthorized, true, nil)
}

// rotate spends the current refresh token for a new pair.
func (w *worker) rotate() {
	old := w.me.refresh
	var p tokenPair
	r := w.call("rotate", http.MethodPost, "/token/refresh/", "", map[string]string{"refresh": old}, http.StatusOK, true, func(r reply) bool {
		return r.decode(&p) && p.Access != "" && p.Refresh != "" && p.Refresh != old
	})
	switch {
	case r.status == http.StatusOK && p.Refresh != "":
		w.rec.spent(old)
		w.me.access, w.me.refresh, w.lastSpent, w.tainted = p.Access, p.Refresh, old, false
	case r.status == http.StatusUnauthorized:
		w.relogin()
	case r.err != nil || r.status >= 500:
		w.tainted = true // retried as is next time: it must not be spent twice
	}
}

// relogin starts a new session.
func (w *worker) relogin() {
	var p tokenPair
	r := w.call("login", http.MethodPost, "/login/", "", map[string]string{"username": w.me.username, "password": password}, http.StatusOK, true, func(r reply) bool {
		return r.decode(&p) && p.Access != "" && p.Refresh != ""
	})
	if r.status == http.StatusOK && p.Refresh != "" {
		w.me.access, w.me.refresh, w.lastSpent, w.tainted = p.Access, p.Refresh, "", false
	}
}

// replay presents the refresh token the last rotation spent, as a thief
// would: 401, and the session it belonged to ends, so the token that
// replaced it is refused too.
func (w *worker) replay() {
	if w.lastSpent == "" {
		return
	}
	r := w.call("replay", http.MethodPost, "/token/refresh/", "", map[string]string{"refresh": w.lastSpent}, http.StatusUnauthorized, true, nil)
	w.lastSpent = ""
	if r.status != http.StatusUnauthorized {
		w.tainted = true
		return
	}
	w.call("after_replay", http.MethodPost, "/token/refresh/", "", map[string]string{"refresh": w.me.refresh}, http.StatusUnauthorized, true, nil)
	w.relogin()
}

// startWorkers runs one worker per account until the returned stop is
// called; stop waits for them.
func startWorkers(c *client, p population, rec *recorder) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i, a := range p.all() {
		var peers []*account
		for _, u := range p.users {
			if u != a {
				peers = append(peers, u)
			}
		}
		w := &worker{c: c, me: a, peers: peers, rec: rec, rng: rand.New(rand.NewPCG(uint64(i), 42))}
		wg.Go(func() { w.run(ctx) })
	}
	return func() {
		cancel()
		wg.Wait()
	}
}

// tally counts outcomes by operation and status, for the test's log.
func tally(outcomes []outcome) string {
	counts := map[string]map[int]int{}
	for _, o := range outcomes {
		if counts[o.op] == nil {
			counts[o.op] = map[int]int{}
		}
		counts[o.op][o.got]++
	}
	ops := make([]string, 0, len(counts))
	for op := range counts {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	var b strings.Builder
	for _, op := range ops {
		fmt.Fprintf(&b, "  %-13s", op)
		statuses := make([]int, 0, len(counts[op]))
		for s := range counts[op] {
			statuses = append(statuses, s)
		}
		sort.Ints(statuses)
		for _, s := range statuses {
			fmt.Fprintf(&b, " %d:%d", s, counts[op][s])
		}
		b.WriteString("\n")
	}
	return b.String()
}

// examples reports up to ten outcomes for which bad is true, and how many
// there were.
func examples(t *testing.T, what string, outcomes []outcome, bad func(outcome) bool) int {
	t.Helper()
	n := 0
	for _, o := range outcomes {
		if bad(o) {
			if n < 10 {
				t.Errorf("%s: %v", what, o)
			}
			n++
		}
	}
	if n > 10 {
		t.Errorf("%s: %d in all", what, n)
	}
	return n
}
