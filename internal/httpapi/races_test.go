package httpapi_test

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rolegate/rolegate/internal/auth"
	"github.com/rolegate/rolegate/models"
)

// hammering is a flood of requests in progress.
type hammering struct {
	done     chan struct{}
	wg       sync.WaitGroup
	mu       sync.Mutex
	statuses map[int]int
	firstErr error
}

// hammer sends request from n goroutines, over and over, until stopped or
// each has sent max requests, and counts the answers by status.
func hammer(e *env, n, max int, request func() (*http.Request, error)) *hammering {
	h := &hammering{done: make(chan struct{}), statuses: map[int]int{}}
	for range n {
		h.wg.Go(func() {
			for range max {
				select {
				case <-h.done:
					return
				default:
				}
				req, err := request()
				var r *response
				if err == nil {
					r, err = e.roundTrip(req)
				}
				h.mu.Lock()
				if err != nil && h.firstErr == nil {
					h.firstErr = err
				}
				if r != nil {
					h.statuses[r.Status]++
				}
				h.mu.Unlock()
			}
		})
	}
	return h
}

// answered returns how many answers had status, or any status for 0.
func (h *hammering) answered(status int) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	if status != 0 {
		return h.statuses[status]
	}
	n := 0
	for _, c := range h.statuses {
		n += c
	}
	return n
}

// waitAnswered polls until h has had want answers of status (0: any), for
// at most within.
func (h *hammering) waitAnswered(t *testing.T, status, want int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for h.answered(status) < want {
		if time.Now().After(deadline) {
			t.Fatalf("got %d answers of status %d within %v, want at least %d (all: %v)", h.answered(status), status, within, want, h.stop())
		}
		time.Sleep(time.Millisecond)
	}
}

// stop ends the flood, waits for the requests in flight, and returns the
// count of answers by status. It fails the test if a request could not be
// sent.
func (h *hammering) stop() map[int]int {
	select {
	case <-h.done:
	default:
		close(h.done)
	}
	h.wg.Wait()
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.statuses
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
			flood := hammer(e, 4, 2000, func() (*http.Request, error) {
				return e.newRequest(http.MethodPatch, "/me/", u.Access, obj{"role": roleStaff, "is_active": true})
			})
			flood.waitAnswered(t, 0, 4, 10*time.Second)
			r := e.do(t, http.MethodPatch, fmt.Sprintf("/v1/users/%d", u.ID), admin.Access, obj{"role": roleUser, "is_active": false})
			wantStatus(t, r, http.StatusOK)
			statuses := flood.stop()
			if flood.firstErr != nil {
				t.Fatal(flood.firstErr)
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

// outdatedHashes make a password hash the server replaces at the next
// successful login: argon2id at fewer passes than the server's, and an
// imported Django PBKDF2 hash.
var outdatedHashes = map[string]func(t *testing.T, password string) string{
	"argon2id t=2": func(t *testing.T, password string) string {
		h, err := auth.NewHasher(auth.Argon2Params{Memory: 64, Iterations: 2, Parallelism: 1}, 1, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		hash, err := h.Hash(t.Context(), auth.Requester{}, password)
		if err != nil {
			t.Fatal(err)
		}
		return hash
	},
	"imported pbkdf2_sha256": func(t *testing.T, password string) string {
		salt := unique("salt")
		key, err := pbkdf2.Key(sha256.New, password, []byte(salt), 1000, sha256.Size)
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("pbkdf2_sha256$1000$%s$%s", salt, base64.StdEncoding.EncodeToString(key))
	},
}

// TestRehashDoesNotUndoReset is issue 10's second race: logins with the
// old password rehash an outdated hash while an admin resets the
// password. The reset must stick: afterwards the new password logs in and
// the old one does not. A rehash is written only over the hash it was
// derived from.
func TestRehashDoesNotUndoReset(t *testing.T) {
	const rounds, logins = 10, 4
	forEach(t, func(t *testing.T, e *env) {
		// The server hashes at t=3; the users' hashes are older.
		e = freshEnvWith(t, e, shippedPolicy, map[string]string{"ROLEGATE_ARGON2_ITERATIONS": "3", "ROLEGATE_HASH_CONCURRENCY": "5"})
		admin := e.adminToken(t)
		for kind, outdated := range outdatedHashes {
			for round := range rounds {
				u := e.storedUser(t, roleUser)
				setHash(t, e, u.ID, outdated(t, u.Password))
				newPassword := newPassword()
				start := make(chan struct{})
				answers := make([]*response, logins+1)
				errs := make([]error, logins+1)
				var wg sync.WaitGroup
				for i := range logins {
					req := mustRequest(t, e, http.MethodPost, "/v1/auth/login", obj{"username": u.Username, "password": u.Password})
					wg.Go(func() { <-start; answers[i], errs[i] = e.roundTrip(req) })
				}
				reset := mustRequest(t, e, http.MethodPost, fmt.Sprintf("/v1/users/%d/password", u.ID), obj{"new_password": newPassword})
				reset.Header.Set("Authorization", "Bearer "+admin)
				wg.Go(func() { <-start; answers[logins], errs[logins] = e.roundTrip(reset) })
				close(start)
				wg.Wait()
				for i, err := range errs {
					if err != nil {
						t.Fatal(err)
					}
					if want := http.StatusOK; i == logins && answers[i].Status != want {
						t.Fatalf("%s, round %d: reset got %d %s, want 200", kind, round, answers[i].Status, answers[i].Body)
					}
					if s := answers[i].Status; s != http.StatusOK && s != http.StatusUnauthorized {
						t.Errorf("%s, round %d: a racing login got %d %s, want 200 or 401", kind, round, s, answers[i].Body)
					}
				}
				wantStatus(t, e.loginAs(t, u.Username, newPassword, ""), http.StatusOK)
				if r := e.loginAs(t, u.Username, u.Password, ""); r.Status != http.StatusUnauthorized {
					t.Fatalf("%s, round %d: the old password after the reset got %d, want 401 (the logins answered %v)",
						kind, round, r.Status, statusesOf(answers[:logins]))
				}
			}
		}
	})
}

func statusesOf(rs []*response) []int {
	out := make([]int, len(rs))
	for i, r := range rs {
		out[i] = r.Status
	}
	return out
}

// setHash stores hash as user id's password hash, as an import would.
func setHash(t *testing.T, e *env, id int64, hash string) {
	t.Helper()
	if _, err := e.srv.Store.UpdateUser(t.Context(), id, models.UserPatch{PasswordHash: &hash}, models.AdminGuard{}, nil); err != nil {
		t.Fatal(err)
	}
}

// TestPasswordChangeDoesNotUndoReset races a user changing their own
// password with an admin resetting it. Whatever the order, the admin's
// password must be the one in force afterwards: a change that checked
// the old password against the hash the reset replaced is refused (409),
// or its token is already dead (401), and never overwrites the reset.
func TestPasswordChangeDoesNotUndoReset(t *testing.T) {
	const rounds = 15
	forEach(t, func(t *testing.T, e *env) {
		e = freshEnvWith(t, e, shippedPolicy, map[string]string{"ROLEGATE_HASH_CONCURRENCY": "3"})
		admin := e.adminToken(t)
		seen := map[int]int{}
		for round := range rounds {
			u := e.newUser(t, roleUser)
			chosen, reset := newPassword(), newPassword()
			change := mustRequest(t, e, http.MethodPost, "/v1/me/password", obj{"old_password": u.Password, "new_password": chosen})
			change.Header.Set("Authorization", "Bearer "+u.Access)
			resetReq := mustRequest(t, e, http.MethodPost, fmt.Sprintf("/v1/users/%d/password", u.ID), obj{"new_password": reset})
			resetReq.Header.Set("Authorization", "Bearer "+admin)
			start := make(chan struct{})
			var changed, wasReset *response
			var errs [2]error
			var wg sync.WaitGroup
			wg.Go(func() { <-start; changed, errs[0] = e.roundTrip(change) })
			wg.Go(func() { <-start; wasReset, errs[1] = e.roundTrip(resetReq) })
			close(start)
			wg.Wait()
			for _, err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			checkResponse(t, changed, nil)
			if wasReset.Status != http.StatusOK {
				t.Fatalf("round %d: reset got %d %s, want 200", round, wasReset.Status, wasReset.Body)
			}
			switch changed.Status {
			case http.StatusOK, http.StatusUnauthorized:
			case http.StatusConflict:
				wantBody(t, changed, obj{"detail": "Your password was changed by another request; log in again with the new password.", "code": "conflict"})
			default:
				t.Errorf("round %d: the user's change got %d %s, want 200, 401 or 409", round, changed.Status, changed.Body)
			}
			seen[changed.Status]++
			wantStatus(t, e.loginAs(t, u.Username, reset, ""), http.StatusOK)
			if r := e.loginAs(t, u.Username, chosen, ""); r.Status != http.StatusUnauthorized {
				t.Fatalf("round %d: the user's own new password after the reset got %d, want 401 (the change answered %d)", round, r.Status, changed.Status)
			}
		}
		t.Logf("the user's changes answered %v", seen)
	})
}
