//go:build fault

package fault_test

import (
	"os"
	"testing"
	"time"
)

// loadDuration is how long the load test runs; ROLEGATE_FAULT_LOAD_DURATION
// changes it.
func loadDuration(t *testing.T) time.Duration {
	t.Helper()
	d := 30 * time.Second
	if v := os.Getenv("ROLEGATE_FAULT_LOAD_DURATION"); v != "" {
		var err error
		if d, err = time.ParseDuration(v); err != nil {
			t.Fatalf("ROLEGATE_FAULT_LOAD_DURATION: %v", err)
		}
	}
	return d
}

// TestLoad runs 32 clients, as administrators, staff and users, for 30
// seconds of mixed requests, and checks every answer against the policy
// table: no 5xx, no wrong decision, no refresh token spent twice.
func TestLoad(t *testing.T) {
	dbURL := freshDatabase(t)
	env := serverEnv(t, dbURL, t.TempDir(), nil)
	srv := startServer(t, env)
	c := newClient(srv.base)
	pop := populate(t, c, env, 4, 6, 22)

	rec := newRecorder()
	began := time.Now()
	stop := startWorkers(c, pop, rec)
	d := loadDuration(t)
	deadline := began.Add(d)
	for time.Now().Before(deadline) && srv.running() {
		time.Sleep(100 * time.Millisecond)
	}
	stop()
	elapsed := time.Since(began)
	if !srv.running() {
		t.Fatalf("the server exited under load: %v\n%s", srv.err, srv.stderr.String())
	}

	outcomes := rec.snapshot()
	fivexx := examples(t, "5xx", outcomes, func(o outcome) bool { return o.got >= 500 })
	wrong := examples(t, "wrong decision", outcomes, func(o outcome) bool { return o.got < 500 && !o.correct() })
	if twice := rec.doubleSpent(); len(twice) > 0 {
		t.Errorf("refresh tokens that got a new pair more than once: %d", len(twice))
	}
	grants := rec.count(began, outcome.grant)
	t.Logf("load: %d clients, %d requests in %.1fs = %.0f requests/s; %d granted, %d refused as the policy says; 5xx %d, wrong decisions %d; %d refresh rotations, %d users created\n%s",
		len(pop.all()), len(outcomes), elapsed.Seconds(), float64(len(outcomes))/elapsed.Seconds(),
		grants, len(outcomes)-grants-fivexx-wrong, fivexx, wrong, len(rec.refreshed), len(rec.created), tally(outcomes))
	if len(outcomes) < 1000 {
		t.Errorf("only %d requests in %v: the load was not sustained", len(outcomes), elapsed)
	}
}
