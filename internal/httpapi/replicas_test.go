package httpapi_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/rolegate/rolegate/internal/dbtest"
)

// replicaPair starts two servers on one fresh PostgreSQL database, sharing
// their signing keys as replicas behind one load balancer do. It skips
// without PostgreSQL.
func replicaPair(t *testing.T) (*env, *env) {
	t.Helper()
	targets := dbtest.Targets(t)
	i := slices.IndexFunc(targets, func(tg dbtest.Target) bool { return tg.Name == "postgres" })
	if i < 0 {
		t.Skipf("PostgreSQL only; set %s", dbtest.EnvURL)
	}
	dir := t.TempDir()
	var pair [2]*env
	for n := range pair {
		e, err := startEnv(targets[i], dir, shippedPolicy)
		if err != nil {
			t.Fatalf("start replica %d: %v", n+1, err)
		}
		t.Cleanup(e.close)
		pair[n] = e
	}
	for n, e := range pair {
		deadline := time.Now().Add(5 * time.Second)
		for !e.srv.Store.UserCacheLive() {
			if time.Now().After(deadline) {
				t.Fatalf("replica %d: user cache not live after 5s", n+1)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return pair[0], pair[1]
}

// seenWithin polls r with req until it answers want, for at most limit,
// and returns how long that took.
func seenWithin(t *testing.T, r *env, limit time.Duration, want int, req func() *response) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		got := req()
		if got.Status == want {
			return time.Since(start)
		}
		if time.Since(start) > limit {
			t.Fatalf("%s on the other replica: got %d after %v, want %d", got.What, got.Status, limit, want)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// A group change made through one replica is in force on the other within
// a second: the write notifies every replica's user cache, which would
// otherwise serve the user for its TTL (2 s).
func TestGroupChangeReachesOtherReplica(t *testing.T) {
	one, two := replicaPair(t)
	admin := one.newUser(t, roleAdmin)
	var times []time.Duration
	for range 5 {
		u := one.newUser(t, roleUser)
		list := func() *response { return two.do(t, http.MethodGet, "/v1/users?limit=1", u.Access, nil) }
		wantForbidden(t, list()) // cached on replica two now, without the group
		wantStatus(t, one.do(t, http.MethodPut, groupMemberPath(supportGroup, u.ID), admin.Access, nil), http.StatusOK)
		times = append(times, seenWithin(t, two, time.Second, http.StatusOK, list))
		wantStatus(t, list(), http.StatusOK) // and cached again
		wantStatus(t, one.do(t, http.MethodDelete, groupMemberPath(supportGroup, u.ID), admin.Access, nil), http.StatusNoContent)
		times = append(times, seenWithin(t, two, time.Second, http.StatusForbidden, list))
	}
	slices.Sort(times)
	t.Logf("group change seen on the other replica: median %v, max %v over %d changes", times[len(times)/2], times[len(times)-1], len(times))
}
