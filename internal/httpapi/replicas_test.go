package httpapi_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/rolegate/rolegate/internal/dbtest"
	"github.com/rolegate/rolegate/models"
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
		times = append(times, pollUntilTrue(t, time.Second, "the group on the other replica", func() bool { return list().Status == http.StatusOK }))
		wantStatus(t, list(), http.StatusOK) // and cached again
		wantStatus(t, one.do(t, http.MethodDelete, groupMemberPath(supportGroup, u.ID), admin.Access, nil), http.StatusNoContent)
		times = append(times, pollUntilTrue(t, time.Second, "the removal on the other replica", func() bool { return list().Status == http.StatusForbidden }))
	}
	slices.Sort(times)
	t.Logf("group change seen on the other replica: median %v, max %v over %d changes", times[len(times)/2], times[len(times)-1], len(times))
}

// A membership change made on one replica is in force on the other within
// a second: the tenant role is read per request, never from a token.
func TestMembershipChangeReachesOtherReplica(t *testing.T) {
	one, two := replicaPair(t)
	tn := one.storeTenant(t)
	var times []time.Duration
	for range 5 {
		u := one.newUser(t, roleUser)
		ask := func() *response {
			return two.do(t, http.MethodPost, "/v1/authz/check", u.Access, obj{"resource": "customers", "action": "create", "tenant": tn.Slug})
		}
		allowed := func(r *response) bool { return r.Status == http.StatusOK && r.object(t)["allowed"] == true }
		if allowed(ask()) {
			t.Fatal("before the membership: got allowed, want denied")
		}
		one.joinTenant(t, tn, u, "user")
		times = append(times, pollUntilTrue(t, time.Second, "the membership on the other replica", func() bool { return allowed(ask()) }))
		readonly := "readonly"
		if _, err := one.srv.Store.PutMember(t.Context(), tn.ID, u.ID, models.MemberPatch{Role: &readonly}, models.TenantGuard{}, nil); err != nil {
			t.Fatal(err)
		}
		times = append(times, pollUntilTrue(t, time.Second, "the demotion on the other replica", func() bool { return !allowed(ask()) }))
	}
	slices.Sort(times)
	t.Logf("membership change seen on the other replica: median %v, max %v over %d changes", times[len(times)/2], times[len(times)-1], len(times))
}

// pollUntilTrue polls cond until it holds, for at most limit, and returns
// how long that took.
func pollUntilTrue(t *testing.T, limit time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > limit {
			t.Fatalf("%s: not seen within %v", what, limit)
		}
		time.Sleep(2 * time.Millisecond)
	}
	return time.Since(start)
}
