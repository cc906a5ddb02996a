package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/models"
)

// TestRenameIsItsOwnAction is issue 10's username enumeration: a user who
// could rename themselves learned which names were taken (400) and which
// free (200). Renaming is now the rename action, which the shipped policy
// grants only to admins: a user or staff member gets the same 403 for a
// taken name and a free one, nothing changes, and the deny is audited.
// Sending back one's own username is no rename and is accepted.
func TestRenameIsItsOwnAction(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		taken := e.storedUser(t, roleUser)
		for _, role := range []string{roleUser, roleStaff} {
			u := e.newUser(t, role)
			before := e.stored(t, u.ID)
			var answers []*response
			for _, name := range []string{strings.ToUpper(taken.Username), unique("free")} {
				for _, path := range []string{"/me/", "/v1/me", fmt.Sprintf("/v1/users/%d", u.ID)} {
					r := e.do(t, http.MethodPatch, path, u.Access, obj{"username": name})
					wantForbidden(t, r)
					if got := r.object(t)["action"]; got != models.ActionRename {
						t.Errorf("%s: got action %v, want %q", r.What, got, models.ActionRename)
					}
					answers = append(answers, r)
				}
			}
			for _, r := range answers[1:] {
				wantSameAnswer(t, answers[0], r)
			}
			e.wantUnchanged(t, before)
			denies := e.waitAudit(t, models.AuditFilter{ActorID: u.ID, Action: models.AuditDecisionDeny, Limit: 100}, len(answers))
			for _, ev := range denies {
				if ev.Detail["action"] != models.ActionRename || ev.Target != fmt.Sprintf("users/%d", u.ID) {
					t.Errorf("deny: got target %q detail %v, want users/%d and action rename", ev.Target, ev.Detail, u.ID)
				}
			}
			r := e.do(t, http.MethodPatch, "/v1/me", u.Access, obj{"username": u.Username, "first_name": "Same"})
			wantUpdated(t, e, r, before, "Profile updated", func(s *models.User) { s.FirstName = "Same" })
		}
		// An admin renames: a taken name is 400, a free one 200.
		admin := e.newUser(t, roleAdmin)
		target := e.storedUser(t, roleUser)
		before := e.stored(t, target.ID)
		wantFieldError(t, e.do(t, http.MethodPatch, fmt.Sprintf("/v1/users/%d", target.ID), admin.Access, obj{"username": taken.Username}), "username")
		e.wantUnchanged(t, before)
		name := unique("renamed")
		r := e.do(t, http.MethodPatch, fmt.Sprintf("/v1/users/%d", target.ID), admin.Access, obj{"username": name})
		wantUpdated(t, e, r, before, "User updated", func(s *models.User) { s.Username = name })
	})
}

// TestRenameThrottle checks that username changes count against the
// signup limit (here 2), per renaming user and per client address: a
// third rename is 429 and changes nothing, from any address; another user
// at another address may still rename; and the address's signups share
// its counter. Sending back the current username is no rename and is not
// counted.
func TestRenameThrottle(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		e = throttleEnv(t, e, map[string]string{"ROLEGATE_TRUSTED_PROXIES": "127.0.0.0/8"})
		admin, other := e.newUser(t, roleAdmin), e.newUser(t, roleAdmin)
		target := e.storedUser(t, roleUser)
		path := fmt.Sprintf("/v1/users/%d", target.ID)
		rename := func(u *user, name, xff string) *response {
			t.Helper()
			body := obj{"username": name}
			req := mustRequest(t, e, http.MethodPatch, path, body)
			req.Header.Set("Authorization", "Bearer "+u.Access)
			req.Header.Set("X-Forwarded-For", xff)
			return e.send(t, req, body)
		}
		const first, second, third = "203.0.113.10", "203.0.113.11", "203.0.113.12"
		for range 2 {
			wantStatus(t, rename(admin, unique("renamed"), first), http.StatusOK)
		}
		// Not a rename: the name it already has.
		wantStatus(t, rename(admin, e.stored(t, target.ID).Username, second), http.StatusOK)
		before := e.stored(t, target.ID)
		for _, xff := range []string{first, second} {
			wantThrottled(t, rename(admin, unique("renamed"), xff))
		}
		e.wantUnchanged(t, before)
		// The address is spent too: another admin there is refused, and so
		// is a signup.
		wantThrottled(t, rename(other, unique("renamed"), first))
		signup := obj{"username": unique("joiner"), "password": newPassword()}
		req := mustRequest(t, e, http.MethodPost, "/v1/auth/signup", signup)
		req.Header.Set("X-Forwarded-For", first)
		wantThrottled(t, e.send(t, req, signup))
		e.wantUnchanged(t, before)
		// Another admin at a fresh address is not.
		name := unique("renamed")
		r := rename(other, name, third)
		wantUpdated(t, e, r, before, "User updated", func(u *models.User) { u.Username = name })
	})
}
