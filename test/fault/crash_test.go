//go:build fault

package fault_test

import (
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// tracked is a user one updater changes over and over: the last value the
// server acknowledged, and the one in flight when the server died.
type tracked struct {
	acct            *account
	acked, inFlight string
}

// TestCrashKeepsAcknowledgedWrites kills the server with SIGKILL during a
// burst of creates and updates, starts it again on the same database, and
// finds every write it had acknowledged.
func TestCrashKeepsAcknowledgedWrites(t *testing.T) {
	dbURL := freshDatabase(t)
	env := serverEnv(t, dbURL, t.TempDir(), nil)
	srv := startServer(t, env)
	c := newClient(srv.base)
	admin := firstAdmin(t, c, env)
	targets := make([]*tracked, 8)
	for i := range targets {
		targets[i] = &tracked{acct: c.createAccount(t, admin, fmt.Sprintf("target%d", i), "user")}
	}

	var acks atomic.Int64
	var mu sync.Mutex
	var created []createdUser
	var unexpected []string
	fail := func(what string, r reply) {
		mu.Lock()
		defer mu.Unlock()
		unexpected = append(unexpected, fmt.Sprintf("%s: %v", what, r))
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() { // creator: stops at the first transport error, the crash
			for n := 0; ; n++ {
				name := fmt.Sprintf("crash-%d-%d", i, n)
				r := c.do(http.MethodPost, "/v1/users", admin.access, map[string]string{"username": name, "password": password})
				var out struct{ User userJSON }
				switch {
				case r.err != nil:
					return
				case r.status != http.StatusCreated || !r.decode(&out):
					fail("create "+name, r)
					return
				}
				mu.Lock()
				created = append(created, createdUser{id: out.User.ID, username: name})
				mu.Unlock()
				acks.Add(1)
			}
		})
		wg.Go(func() { // updater of one user
			u := targets[i]
			for n := 0; ; n++ {
				u.inFlight = fmt.Sprintf("v%d", n)
				r := c.do(http.MethodPatch, fmt.Sprintf("/v1/users/%d", u.acct.id), admin.access, map[string]string{"first_name": u.inFlight})
				switch {
				case r.err != nil:
					return
				case r.status != http.StatusOK:
					fail("update "+u.acct.username, r)
					return
				}
				u.acked = u.inFlight
				acks.Add(1)
			}
		})
	}
	waitFor(t, 60*time.Second, "400 acknowledged writes", func() bool { return acks.Load() >= 400 })
	killed := time.Now()
	srv.kill(t)
	wg.Wait()
	for _, u := range unexpected {
		t.Errorf("before the crash: %s", u)
	}

	srv = startServer(t, env)
	restarted := time.Since(killed)
	c = newClient(srv.base)
	c.login(t, admin)
	lost := 0
	for _, u := range created {
		var got userJSON
		r := c.do(http.MethodGet, fmt.Sprintf("/v1/users/%d", u.id), admin.access, nil)
		if r.status != http.StatusOK || !r.decode(&got) || got.Username != u.username {
			t.Errorf("created user %d %s after the crash: got %v, want 200 with its username", u.id, u.username, r)
			lost++
		}
	}
	for _, u := range targets {
		var got userJSON
		r := c.do(http.MethodGet, fmt.Sprintf("/v1/users/%d", u.acct.id), admin.access, nil)
		if r.status != http.StatusOK || !r.decode(&got) || !slices.Contains([]string{u.acked, u.inFlight}, got.FirstName) {
			t.Errorf("user %s after the crash: got %v, want first_name %q (acknowledged) or %q (in flight)", u.acct.username, r, u.acked, u.inFlight)
			lost++
		}
	}
	lost += missingUsers(t, openDB(t, dbURL), created)
	t.Logf("crash: SIGKILL after %d acknowledged writes (%d creates, %d updates); restarted and serving in %.1fs; %d acknowledged writes lost",
		acks.Load(), len(created), acks.Load()-int64(len(created)), restarted.Seconds(), lost)
}
