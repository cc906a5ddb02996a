package httpapi_test

import (
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rolegate/rolegate/models"
)

// hammer sends request from n goroutines, over and over, until stop is
// closed or each has sent max requests, and counts the answers by status.
// It returns a function that stops it and returns the counts.
func hammer(e *env, n, max int, request func() (*http.Request, error)) (started *atomic.Int64, stop func() (map[int]int, error)) {
	started = new(atomic.Int64)
	done := make(chan struct{})
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		statuses = map[int]int{}
		firstErr error
	)
	for range n {
		wg.Go(func() {
			for range max {
				select {
				case <-done:
					return
				default:
				}
				req, err := request()
				var r *response
				if err == nil {
					r, err = e.roundTrip(req)
				}
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				if r != nil {
					statuses[r.Status]++
				}
				mu.Unlock()
				started.Add(1)
			}
		})
	}
	return started, func() (map[int]int, error) {
		close(done)
		wg.Wait()
		return statuses, firstErr
	}
}

// waitCount polls until n reaches want, for at most within.
func waitCount(t *testing.T, n *atomic.Int64, want int64, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for n.Load() < want {
		if time.Now().After(deadline) {
			t.Fatalf("got %d answers within %v, want at least %d", n.Load(), within, want)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestDemotionSticks is issue 10's first race: a user keeps sending their
// own current role and active flag to PATCH /me/ while an admin demotes
// and deactivates them. The admin's change must stick every time: the
// user's requests decide, and write, against the row as locked, where
// the role and the flag are no longer theirs to set.
func TestDemotionSticks(t *testing.T) {
	const rounds = 20
	forEach(t, func(t *testing.T, e *env) {
		admin := e.newUser(t, roleAdmin) // an actor of its own, for the audit trail
		refusals := map[int64]int{}      // by user: their 403s, each a deny in the audit trail
		for round := range rounds {
			u := e.newUser(t, roleStaff)
			started, stop := hammer(e, 4, 2000, func() (*http.Request, error) {
				return e.newRequest(http.MethodPatch, "/me/", u.Access, obj{"role": roleStaff, "is_active": true})
			})
			waitCount(t, started, 4, 10*time.Second)
			r := e.do(t, http.MethodPatch, fmt.Sprintf("/v1/users/%d", u.ID), admin.Access, obj{"role": roleUser, "is_active": false})
			wantStatus(t, r, http.StatusOK)
			statuses, err := stop()
			if err != nil {
				t.Fatal(err)
			}
			for status := range statuses {
				// 200 before the admin's change, 403 for a request that
				// authenticated before it and wrote after it, 401 after.
				if status != http.StatusOK && status != http.StatusForbidden && status != http.StatusUnauthorized {
					t.Errorf("round %d: the user's PATCH /me/ got status %d (%v), want 200, 401 or 403", round, status, statuses)
				}
			}
			t.Logf("round %d: the user's PATCH /me/ answers: %v", round, statuses)
			refusals[u.ID] = statuses[http.StatusForbidden]
			got := e.stored(t, u.ID)
			if got.Role != roleUser || got.IsActive {
				t.Fatalf("round %d: after the admin's demotion got role %q, active %v (the user's requests: %v), want role %q, inactive",
					round, got.Role, got.IsActive, statuses, roleUser)
			}
		}
		// Each refusal is audited as a deny of assign_role, and the admin's
		// change as the one role change, from the values the write replaced.
		for id, n := range refusals {
			denies := e.waitAudit(t, models.AuditFilter{ActorID: id, Action: models.AuditDecisionDeny, Limit: 1000}, n)
			for _, ev := range denies {
				if ev.Target != fmt.Sprintf("users/%d", id) || ev.Detail["action"] != models.ActionAssignRole {
					t.Errorf("user %d's deny: got target %q, detail %v, want users/%d and action assign_role", id, ev.Target, ev.Detail, id)
				}
			}
		}
		changes := e.waitAudit(t, models.AuditFilter{ActorID: admin.ID, Action: models.AuditUserRoleChange, Limit: 1000}, len(refusals))
		want := map[string]any{"role": map[string]any{"from": roleStaff, "to": roleUser}, "is_active": map[string]any{"from": true, "to": false}}
		for _, ev := range changes {
			if id, err := strconv.ParseInt(strings.TrimPrefix(ev.Target, "users/"), 10, 64); err != nil || !hasKey(refusals, id) {
				t.Errorf("the admin's role change: got target %q, want one of the demoted users", ev.Target)
			}
			if !reflect.DeepEqual(ev.Detail, want) {
				t.Errorf("the admin's role change of %s: got %v, want %v", ev.Target, ev.Detail, want)
			}
		}
	})
}

func hasKey[K comparable, V any](m map[K]V, k K) bool {
	_, ok := m[k]
	return ok
}

// waitAudit polls e's audit trail until f selects n events, for at most
// five seconds, and returns them. More than n is an error.
func (e *env) waitAudit(t *testing.T, f models.AuditFilter, n int) []models.AuditEvent {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		events, err := e.srv.Store.ListAuditEvents(t.Context(), f)
		if err != nil {
			t.Fatal(err)
		}
		if len(events) > n {
			t.Fatalf("audit events %+v: got %d, want %d", f, len(events), n)
		}
		if len(events) == n {
			return events
		}
		if time.Now().After(deadline) {
			t.Fatalf("audit events %+v: got %d within 5s, want %d", f, len(events), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
