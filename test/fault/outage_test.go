//go:build fault

package fault_test

import (
	"context"
	"database/sql"
	"net/http"
	"sync"
	"testing"
	"time"
)

// readiness polls /readyz and keeps every answer.
type readiness struct {
	mu      sync.Mutex
	samples []sample
	stop    func()
}

type sample struct {
	at     time.Time
	status int // 0 when the request failed
}

func watchReadiness(c *client) *readiness {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	r := &readiness{stop: func() { cancel(); <-done }}
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			got := c.do(http.MethodGet, "/readyz", "", nil)
			r.mu.Lock()
			r.samples = append(r.samples, sample{time.Now(), got.status})
			r.mu.Unlock()
			time.Sleep(20 * time.Millisecond)
		}
	}()
	return r
}

// first is when /readyz first answered status after since.
func (r *readiness) first(status int, since time.Time) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.samples {
		if s.at.After(since) && s.status == status {
			return s.at, true
		}
	}
	return time.Time{}, false
}

// waitFor polls cond every 20 ms until it holds, for at most timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) time.Time {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Now()
}

// TestDatabaseOutage stops PostgreSQL in the middle of a load run and
// starts it again. While it is down nothing is granted and /readyz is 503;
// afterwards the same process serves again by itself, every user it
// acknowledged creating exists, and no refresh token was spent twice.
func TestDatabaseOutage(t *testing.T) {
	dbURL := freshDatabase(t)
	env := serverEnv(t, dbURL, t.TempDir(), nil)
	srv := startServer(t, env)
	c := newClient(srv.base)
	pop := populate(t, c, env, 2, 3, 11)
	rec := newRecorder()
	ready := watchReadiness(c)
	began := time.Now()
	var once sync.Once
	stopWorkers := startWorkers(c, pop, rec)
	stop := func() { once.Do(func() { stopWorkers(); ready.stop() }) }
	t.Cleanup(func() {
		stop()
		cluster.ctl("start") // for the tests that follow, if this one failed while it was down
	})

	waitFor(t, 60*time.Second, "300 grants before the outage", func() bool { return rec.count(began, outcome.grant) >= 300 })
	stopBegan := time.Now()
	if err := cluster.ctl("stop"); err != nil {
		t.Fatal(err)
	}
	down := time.Now()
	duringOutage := func(o outcome) bool { return !o.start.Before(down) }
	waitFor(t, 30*time.Second, "/readyz 503 and 200 answers while PostgreSQL is down", func() bool {
		_, notReady := ready.first(http.StatusServiceUnavailable, down)
		return notReady && time.Since(down) >= 2*time.Second && rec.count(down, duringOutage) >= 200
	})
	startBegan := time.Now()
	if err := cluster.ctl("start"); err != nil {
		t.Fatal(err)
	}
	up := time.Now()
	waitFor(t, 60*time.Second, "/readyz 200 after PostgreSQL came back", func() bool {
		_, ok := ready.first(http.StatusOK, up)
		return ok
	})
	readyAt, _ := ready.first(http.StatusOK, up)
	waitFor(t, 60*time.Second, "300 grants after recovery", func() bool { return rec.count(readyAt, outcome.grant) >= 300 })
	stop()
	if !srv.running() {
		t.Fatalf("the server exited: %v\n%s", srv.err, srv.stderr.String())
	}

	outcomes := rec.snapshot()
	inside := func(o outcome) bool { return !o.start.Before(down) && o.end.Before(startBegan) }
	overlaps := func(o outcome) bool { return !o.end.Before(stopBegan) && !o.start.After(readyAt) }
	examples(t, "a grant while PostgreSQL was down", outcomes, func(o outcome) bool { return inside(o) && o.protected && o.grant() })
	examples(t, "an answer other than 503, 401 or 403 while PostgreSQL was down", outcomes, func(o outcome) bool {
		return inside(o) && o.got != http.StatusServiceUnavailable && o.got != http.StatusUnauthorized && o.got != http.StatusForbidden
	})
	examples(t, "a wrong decision around the outage", outcomes, func(o outcome) bool {
		return overlaps(o) && !o.correct() && o.got != http.StatusServiceUnavailable && !(o.got == http.StatusUnauthorized && o.want/100 == 2)
	})
	examples(t, "a wrong decision or 5xx away from the outage", outcomes, func(o outcome) bool { return !overlaps(o) && !o.correct() })
	if twice := rec.doubleSpent(); len(twice) > 0 {
		t.Errorf("refresh tokens that got a new pair more than once: %d", len(twice))
	}
	missing := missingUsers(t, openDB(t, dbURL), rec.created)
	if missing > 0 {
		t.Errorf("%d of %d users acknowledged with 201 are not in the database", missing, len(rec.created))
	}

	notReadyAt, _ := ready.first(http.StatusServiceUnavailable, stopBegan)
	firstGrant := firstAfter(outcomes, up)
	in, loggedOut := 0, 0
	granted, refused := map[int]int{}, map[int]int{}
	for _, o := range outcomes {
		if inside(o) {
			in++
			if o.want/100 == 2 {
				granted[o.got]++
			} else {
				refused[o.got]++
			}
		}
		if overlaps(o) && o.got == http.StatusUnauthorized && o.want/100 == 2 {
			loggedOut++ // a rotation whose earlier 503 had spent the token after all
		}
	}
	t.Logf("outage: %d requests in %.1fs, %d while PostgreSQL was down (%.1fs): those the policy grants got %v, those it refuses %v; "+
		"%d answers of 401 where the policy grants; /readyz 503 %.0fms after the stop began; "+
		"after PostgreSQL was back (start took %.1fs), /readyz 200 in %.0fms and the first grant in %.0fms; "+
		"%d users created and all found, %d refresh rotations, none spent twice\n%s",
		len(outcomes), time.Since(began).Seconds(), in, startBegan.Sub(stopBegan).Seconds(), granted, refused, loggedOut,
		ms(notReadyAt.Sub(stopBegan)), up.Sub(startBegan).Seconds(), ms(readyAt.Sub(up)), ms(firstGrant.Sub(up)),
		len(rec.created), len(rec.refreshed), tally(outcomes))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// firstAfter is when the first protected request that started after since
// was granted.
func firstAfter(outcomes []outcome, since time.Time) time.Time {
	var first time.Time
	for _, o := range outcomes {
		if o.protected && o.grant() && o.start.After(since) && (first.IsZero() || o.end.Before(first)) {
			first = o.end
		}
	}
	return first
}

// missingUsers counts the created users that are not stored with their
// id and username.
func missingUsers(t *testing.T, db *sql.DB, created []createdUser) int {
	t.Helper()
	missing := 0
	for _, u := range created {
		var name string
		err := db.QueryRow("SELECT username FROM users WHERE id = $1", u.id).Scan(&name)
		if err != nil || name != u.username {
			if missing < 10 {
				t.Errorf("user %d %s: got %q, %v", u.id, u.username, name, err)
			}
			missing++
		}
	}
	return missing
}
