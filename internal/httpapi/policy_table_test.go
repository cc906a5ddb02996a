package httpapi_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/rolegate/rolegate/models"
)

// grants is the access table of the specification for the users resource:
// for each action, the roles granted it and their scope, "any" or "own".
// Anything absent is denied; the anonymous caller is granted nothing.
var grants = map[string]map[string]string{
	"list":           {roleAdmin: "any", roleStaff: "any"},
	"read":           {roleAdmin: "any", roleStaff: "any", roleUser: "own"},
	"create":         {roleAdmin: "any"},
	"update":         {roleAdmin: "any", roleStaff: "own", roleUser: "own"},
	"delete":         {roleAdmin: "any"},
	"assign_role":    {roleAdmin: "any"},
	"rename":         {roleAdmin: "any"},
	"reset_password": {roleAdmin: "any"},
}

// allowed reports whether the table lets role do action on its own account
// (own) or on someone else's.
func allowed(action, role string, own bool) bool {
	switch grants[action][role] {
	case "any":
		return true
	case "own":
		return own
	}
	return false
}

var allRoles = []string{roleAdmin, roleStaff, roleUser, roleAnonymous}

// routeSet is one of the two sets of paths that share the handlers.
type routeSet struct {
	name    string
	list    []string
	create  string
	one     func(id int64) string
	me      string
	signup  string
	login   string
	refresh string
	logout  string
	// reset is the password reset path, which only /v1 has.
	reset func(id int64) string
}

var routeSets = []routeSet{
	{
		name: "seed", list: []string{"/admin/users/", "/staff/users/"}, create: "/admin/users/",
		one: func(id int64) string { return fmt.Sprintf("/admin/users/%d/", id) }, me: "/me/",
		signup: "/signup/", login: "/login/", refresh: "/token/refresh/", logout: "/logout/",
	},
	{
		name: "v1", list: []string{"/v1/users"}, create: "/v1/users",
		one: func(id int64) string { return fmt.Sprintf("/v1/users/%d", id) }, me: "/v1/me",
		signup: "/v1/auth/signup", login: "/v1/auth/login", refresh: "/v1/auth/refresh", logout: "/v1/auth/logout",
		reset: func(id int64) string { return fmt.Sprintf("/v1/users/%d/password", id) },
	},
}

// cellTest exercises one row of the table for one caller through one route
// set, and checks the status, the body and the database after. A cell
// whose allowed request would alter the caller uses a fresh one of the
// same role.
type cellTest func(t *testing.T, e *env, rs routeSet, actor *user)

var cells = []struct {
	name string
	test cellTest
}{
	{"list", testListCell},
	{"read_other", testReadOtherCell},
	{"read_own", testReadOwnCell},
	{"create", testCreateCell},
	{"update_other", testUpdateOtherCell},
	{"update_own", testUpdateOwnCell},
	{"delete_other", testDeleteOtherCell},
	{"delete_own", testDeleteOwnCell},
	{"assign_role_other", testAssignRoleOtherCell},
	{"assign_role_own", testAssignRoleOwnCell},
	{"rename_other", testRenameOtherCell},
	{"rename_own", testRenameOwnCell},
	{"reset_password_other", testResetPasswordOtherCell},
	{"reset_password_own", testResetPasswordOwnCell},
}

// TestPolicyTable checks every cell of the default policy's table for the
// users resource, allowed and denied, for every role, through both route
// sets.
func TestPolicyTable(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		for _, rs := range routeSets {
			for _, role := range allRoles {
				actor := e.newUser(t, role)
				for _, c := range cells {
					t.Run(rs.name+"/"+role+"/"+c.name, func(t *testing.T) { c.test(t, e, rs, actor) })
				}
			}
		}
	})
}

func testListCell(t *testing.T, e *env, rs routeSet, actor *user) {
	role := actor.Role
	target := e.storedUser(t, roleUser)
	for _, path := range rs.list {
		r := e.do(t, http.MethodGet, path+"?search="+url.QueryEscape(target.Email), actor.Access, nil)
		if !allowed("list", role, false) {
			wantDenied(t, r, role)
			continue
		}
		wantStatus(t, r, http.StatusOK)
		var page struct {
			Results []any
			Next    *string
		}
		r.decode(t, &page)
		if len(page.Results) != 1 || page.Next != nil {
			t.Fatalf("%s: got %s, want exactly user %d and no next page", r.What, r.Body, target.ID)
		}
		wantUser(t, r.What, page.Results[0], e.stored(t, target.ID))
	}
}

func testReadOtherCell(t *testing.T, e *env, rs routeSet, actor *user) {
	role := actor.Role
	target := e.storedUser(t, roleUser)
	r := e.do(t, http.MethodGet, rs.one(target.ID), actor.Access, nil)
	if !allowed("read", role, false) {
		wantDenied(t, r, role)
		return
	}
	wantStatus(t, r, http.StatusOK)
	wantUser(t, r.What, r.object(t), e.stored(t, target.ID))
}

// ownPaths are the paths of the caller's own account: /me, and for a
// caller with an account, its id path.
func ownPaths(rs routeSet, actor *user) []string {
	if actor.Role == roleAnonymous {
		return []string{rs.me}
	}
	return []string{rs.one(actor.ID), rs.me}
}

func testReadOwnCell(t *testing.T, e *env, rs routeSet, actor *user) {
	role := actor.Role
	for _, path := range ownPaths(rs, actor) {
		r := e.do(t, http.MethodGet, path, actor.Access, nil)
		if !allowed("read", role, true) {
			wantDenied(t, r, role)
			continue
		}
		wantStatus(t, r, http.StatusOK)
		wantUser(t, r.What, r.object(t), e.stored(t, actor.ID))
	}
}

func testCreateCell(t *testing.T, e *env, rs routeSet, actor *user) {
	role := actor.Role
	name := unique("created")
	r := e.do(t, http.MethodPost, rs.create, actor.Access, obj{"username": name, "email": name + "@example.com", "password": newPassword()})
	if !allowed("create", role, false) {
		wantDenied(t, r, role)
		e.wantNoUsername(t, name)
		return
	}
	wantStatus(t, r, http.StatusCreated)
	body := r.object(t)
	if body["message"] != "User created successfully" || len(body) != 2 {
		t.Errorf("%s: got %s, want the message and the user", r.What, r.Body)
	}
	stored, err := e.srv.Store.UserByUsername(t.Context(), name)
	if err != nil {
		t.Fatalf("created user %q: got %v, want it stored", name, err)
	}
	if stored.Role != roleUser || !stored.IsActive {
		t.Errorf("created user: got role %q active %v, want role %q active", stored.Role, stored.IsActive, roleUser)
	}
	wantUser(t, r.What, body["user"], stored)
}

// wantUpdated checks an allowed update of the user stored as before: the
// message, the user as stored, and that the stored user is before with
// apply's changes and no others (PUT is partial, like PATCH).
func wantUpdated(t *testing.T, e *env, r *response, before *models.User, message string, apply func(want *models.User)) {
	t.Helper()
	wantStatus(t, r, http.StatusOK)
	body := r.object(t)
	stored := e.stored(t, before.ID)
	if body["message"] != message || len(body) != 2 {
		t.Errorf("%s: got %s, want message %q and the user", r.What, r.Body, message)
	}
	wantUser(t, r.What, body["user"], stored)
	want := *before
	apply(&want)
	if !sameUser(stored, &want) {
		t.Errorf("%s: got stored user %+v, want %+v", r.What, stored, &want)
	}
}

func testUpdateOtherCell(t *testing.T, e *env, rs routeSet, actor *user) {
	role := actor.Role
	for _, method := range []string{http.MethodPut, http.MethodPatch} {
		target := e.storedUser(t, roleUser)
		before := e.stored(t, target.ID)
		name := unique("First")
		r := e.do(t, method, rs.one(target.ID), actor.Access, obj{"first_name": name})
		if !allowed("update", role, false) {
			wantDenied(t, r, role)
			e.wantUnchanged(t, before)
			continue
		}
		wantUpdated(t, e, r, before, "User updated", func(u *models.User) { u.FirstName = name })
	}
}

func testUpdateOwnCell(t *testing.T, e *env, rs routeSet, actor *user) {
	role := actor.Role
	for _, method := range []string{http.MethodPut, http.MethodPatch} {
		for _, path := range ownPaths(rs, actor) {
			name := unique("Last")
			body := obj{"last_name": name, "email": name + "@example.org"}
			if role == roleAnonymous {
				wantDenied(t, e.do(t, method, path, "", body), role)
				continue
			}
			before := e.stored(t, actor.ID)
			r := e.do(t, method, path, actor.Access, body)
			if !allowed("update", role, true) {
				wantDenied(t, r, role)
				e.wantUnchanged(t, before)
				continue
			}
			message := "User updated"
			if path == rs.me {
				message = "Profile updated"
			}
			wantUpdated(t, e, r, before, message, func(u *models.User) { u.LastName, u.Email = name, name+"@example.org" })
		}
	}
}

func testDeleteOtherCell(t *testing.T, e *env, rs routeSet, actor *user) {
	role := actor.Role
	target := e.storedUser(t, roleUser)
	before := e.stored(t, target.ID)
	r := e.do(t, http.MethodDelete, rs.one(target.ID), actor.Access, nil)
	if !allowed("delete", role, false) {
		wantDenied(t, r, role)
		e.wantUnchanged(t, before)
		return
	}
	wantStatus(t, r, http.StatusNoContent)
	e.wantGone(t, target.ID)
}

func testDeleteOwnCell(t *testing.T, e *env, rs routeSet, caller *user) {
	role := caller.Role
	if role == roleAnonymous {
		return
	}
	actor := e.newUser(t, role)
	before := e.stored(t, actor.ID)
	r := e.do(t, http.MethodDelete, rs.one(actor.ID), actor.Access, nil)
	if !allowed("delete", role, true) {
		wantDenied(t, r, role)
		e.wantUnchanged(t, before)
		return
	}
	wantStatus(t, r, http.StatusNoContent)
	e.wantGone(t, actor.ID)
}

// accessChanges are the two kinds of assign_role request, each with the
// change it makes to the stored user.
var accessChanges = []struct {
	body  func(role string) obj
	apply func(role string) func(*models.User)
}{
	{
		// A change of role: a promotion, or for an admin a demotion.
		body:  func(role string) obj { return obj{"role": otherRole(role)} },
		apply: func(role string) func(*models.User) { return func(u *models.User) { u.Role = otherRole(role) } },
	},
	{
		// A deactivation, which also ends the user's sessions.
		body:  func(string) obj { return obj{"is_active": false} },
		apply: func(string) func(*models.User) { return func(u *models.User) { u.IsActive = false; u.TokenEpoch++ } },
	},
}

func otherRole(role string) string {
	if role == roleAdmin {
		return roleStaff
	}
	return roleAdmin
}

func testAssignRoleOtherCell(t *testing.T, e *env, rs routeSet, actor *user) {
	role := actor.Role
	for _, method := range []string{http.MethodPut, http.MethodPatch} {
		for _, change := range accessChanges {
			target := e.storedUser(t, roleUser)
			before := e.stored(t, target.ID)
			r := e.do(t, method, rs.one(target.ID), actor.Access, change.body(roleUser))
			if !allowed("assign_role", role, false) {
				wantDenied(t, r, role)
				e.wantUnchanged(t, before)
				continue
			}
			wantUpdated(t, e, r, before, "User updated", change.apply(roleUser))
		}
	}
}

func testAssignRoleOwnCell(t *testing.T, e *env, rs routeSet, caller *user) {
	role := caller.Role
	if role == roleAnonymous {
		return
	}
	for _, path := range []func(*user) string{func(u *user) string { return rs.one(u.ID) }, func(*user) string { return rs.me }} {
		for _, change := range accessChanges {
			// A fresh caller each time: an allowed change alters the caller.
			actor := e.newUser(t, role)
			before := e.stored(t, actor.ID)
			r := e.do(t, http.MethodPatch, path(actor), actor.Access, change.body(role))
			if !allowed("assign_role", role, true) {
				wantDenied(t, r, role)
				e.wantUnchanged(t, before)
				continue
			}
			message := "User updated"
			if path(actor) == rs.me {
				message = "Profile updated"
			}
			wantUpdated(t, e, r, before, message, change.apply(role))
		}
	}
}

func testRenameOtherCell(t *testing.T, e *env, rs routeSet, actor *user) {
	role := actor.Role
	target := e.storedUser(t, roleUser)
	before := e.stored(t, target.ID)
	name := unique("renamed")
	r := e.do(t, http.MethodPatch, rs.one(target.ID), actor.Access, obj{"username": name})
	if !allowed("update", role, false) || !allowed("rename", role, false) {
		wantDenied(t, r, role)
		e.wantUnchanged(t, before)
		return
	}
	wantUpdated(t, e, r, before, "User updated", func(u *models.User) { u.Username = name })
}

func testRenameOwnCell(t *testing.T, e *env, rs routeSet, caller *user) {
	role := caller.Role
	if role == roleAnonymous {
		return
	}
	for _, path := range []func(*user) string{func(u *user) string { return rs.one(u.ID) }, func(*user) string { return rs.me }} {
		// A fresh caller each time: an allowed rename alters the caller.
		actor := e.newUser(t, role)
		before := e.stored(t, actor.ID)
		name := unique("renamed")
		r := e.do(t, http.MethodPatch, path(actor), actor.Access, obj{"username": name})
		if !allowed("rename", role, true) {
			wantDenied(t, r, role)
			e.wantUnchanged(t, before)
			continue
		}
		message := "User updated"
		if path(actor) == rs.me {
			message = "Profile updated"
		}
		wantUpdated(t, e, r, before, message, func(u *models.User) { u.Username = name })
	}
}

func testResetPasswordOtherCell(t *testing.T, e *env, rs routeSet, actor *user) {
	role := actor.Role
	if rs.reset == nil {
		return // the seed has no such route
	}
	target := e.storedUser(t, roleUser)
	testResetPassword(t, e, actor, target, allowed("reset_password", role, false), rs.reset(target.ID))
}

func testResetPasswordOwnCell(t *testing.T, e *env, rs routeSet, caller *user) {
	role := caller.Role
	if rs.reset == nil || role == roleAnonymous {
		return
	}
	actor := e.newUser(t, role)
	testResetPassword(t, e, actor, actor, allowed("reset_password", role, true), rs.reset(actor.ID))
}

func testResetPassword(t *testing.T, e *env, actor, target *user, allow bool, path string) {
	t.Helper()
	before := e.stored(t, target.ID)
	password := newPassword()
	r := e.do(t, http.MethodPost, path, actor.Access, obj{"new_password": password})
	if !allow {
		wantDenied(t, r, actor.Role)
		e.wantUnchanged(t, before)
		return
	}
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, obj{"message": "Password reset; all of the user's sessions have ended."})
	login := e.do(t, http.MethodPost, "/login/", "", obj{"username": target.Username, "password": password})
	wantStatus(t, login, http.StatusOK)
	old := e.do(t, http.MethodPost, "/login/", "", obj{"username": target.Username, "password": target.Password})
	wantStatus(t, old, http.StatusUnauthorized)
}

// TestRoleAreas checks the seed's three areas: each greets its own role
// only, with the seed's exact body, with and without the trailing slash.
func TestRoleAreas(t *testing.T) {
	areas := map[string]string{"/admin-area/": "Admin", "/staff-area/": "Staff", "/user-area/": "User"}
	owner := map[string]string{"/admin-area/": roleAdmin, "/staff-area/": roleStaff, "/user-area/": roleUser}
	forEach(t, func(t *testing.T, e *env) {
		for _, role := range allRoles {
			actor := e.newUser(t, role)
			for path, label := range areas {
				for _, p := range []string{path, path[:len(path)-1]} {
					r := e.do(t, http.MethodGet, p, actor.Access, nil)
					if owner[path] != role {
						wantDenied(t, r, role)
						continue
					}
					wantStatus(t, r, http.StatusOK)
					wantBody(t, r, obj{"message": fmt.Sprintf("Hello %s %s!", label, actor.Username)})
				}
			}
		}
	})
}
