package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/models"
)

// TestSignupRole checks the seed's first flaw is gone: an anonymous
// caller signs up as a user, and asking for any other role is refused by
// the policy with nothing created.
func TestSignupRole(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		for _, rs := range routeSets {
			t.Run(rs.name, func(t *testing.T) {
				for _, role := range []any{nil, roleUser} {
					name := unique("signup")
					in := obj{"username": name, "email": name + "@example.com", "password": newPassword()}
					if role != nil {
						in["role"] = role
					}
					r := e.do(t, http.MethodPost, rs.signup, "", in)
					wantSignedUp(t, e, r, name, roleUser)
				}
				for _, role := range []string{roleAdmin, roleStaff} {
					name := unique("climber")
					r := e.do(t, http.MethodPost, rs.signup, "", obj{"username": name, "password": newPassword(), "role": role})
					wantForbidden(t, r) // the policy refuses it; a token would not help
					e.wantNoUsername(t, name)
				}
				name := unique("nosuchrole")
				r := e.do(t, http.MethodPost, rs.signup, "", obj{"username": name, "password": newPassword(), "role": "superuser"})
				wantFieldError(t, r, "role")
				e.wantNoUsername(t, name)
			})
		}
	})
}

// TestSignupRoleByCaller checks that the role a signed-in caller may give
// a new account is the policy's assign_role decision.
func TestSignupRoleByCaller(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		for _, role := range []string{roleStaff, roleUser} {
			caller := e.newUser(t, role)
			name := unique("climber")
			r := e.do(t, http.MethodPost, "/signup/", caller.Access, obj{"username": name, "password": newPassword(), "role": roleAdmin})
			wantDenied(t, r, role)
			e.wantNoUsername(t, name)
		}
		name := unique("hired")
		r := e.do(t, http.MethodPost, "/v1/auth/signup", e.adminToken(t), obj{"username": name, "password": newPassword(), "role": roleStaff})
		wantSignedUp(t, e, r, name, roleStaff)
	})
}

// wantSignedUp checks a 201 from signup and the stored account.
func wantSignedUp(t *testing.T, e *env, r *response, name, role string) {
	t.Helper()
	wantStatus(t, r, http.StatusCreated)
	body := r.object(t)
	stored, err := e.srv.Store.UserByUsername(t.Context(), name)
	if err != nil {
		t.Fatalf("user %q after signup: got %v, want it stored", name, err)
	}
	if body["message"] != "User created successfully" || len(body) != 2 {
		t.Errorf("%s: got %s, want the message and the user", r.What, r.Body)
	}
	wantUser(t, r.What, body["user"], stored)
	if stored.Role != role || !stored.IsActive || !strings.HasPrefix(stored.PasswordHash, "$argon2id$") {
		t.Errorf("stored user: got role %q, active %v, hash %.10q, want role %q, active, an argon2id hash", stored.Role, stored.IsActive, stored.PasswordHash, role)
	}
}

// adminToken returns a fresh access token of the shared server's first
// admin.
func (e *env) adminToken(t *testing.T) string {
	t.Helper()
	a := *e.admin
	e.login(t, &a)
	return a.Access
}

// TestSelfRoleChange checks the seed's second flaw is gone: a user cannot
// change their own role or active flag, not even alongside allowed
// changes, while editing their own profile works.
func TestSelfRoleChange(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		u := e.newUser(t, roleUser)
		refused := []struct{ method, path, body string }{
			{http.MethodPut, "/me/", `{"role": "admin"}`},
			{http.MethodPatch, "/me", `{"role": "staff"}`},
			{http.MethodPatch, "/v1/me", `{"is_active": false}`},
			{http.MethodPut, "/v1/me/", `{"first_name": "Eve", "role": "admin"}`},
			{http.MethodPatch, "/v1/me", `{"rol\u0065": "admin"}`},
			{http.MethodPatch, fmt.Sprintf("/v1/users/%d", u.ID), `{"role": "admin"}`},
		}
		for _, c := range refused {
			before := e.stored(t, u.ID)
			r := e.do(t, c.method, c.path, u.Access, c.body)
			wantDenied(t, r, roleUser)
			e.wantUnchanged(t, before)
		}
		wantDenied(t, e.do(t, http.MethodGet, "/admin-area/", u.Access, nil), roleUser)

		name := unique("Ada")
		before := e.stored(t, u.ID)
		r := e.do(t, http.MethodPut, "/me/", u.Access, obj{"email": name + "@example.net", "first_name": name})
		wantUpdated(t, e, r, before, "Profile updated", func(s *models.User) { s.Email, s.FirstName = name+"@example.net", name })

		// A profile sent back as it was read, role and all, is accepted.
		profile := e.do(t, http.MethodGet, "/v1/me", u.Access, nil)
		wantStatus(t, profile, http.StatusOK)
		before = e.stored(t, u.ID)
		r = e.do(t, http.MethodPut, "/v1/me", u.Access, string(profile.Body))
		wantStatus(t, r, http.StatusOK)
		e.wantUnchanged(t, before)
	})
}

// TestStaffCannotEditOthers checks that staff, who may read every user,
// may change only themselves.
func TestStaffCannotEditOthers(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		s := e.newUser(t, roleStaff)
		for _, role := range []string{roleUser, roleStaff, roleAdmin} {
			other := e.storedUser(t, role)
			before := e.stored(t, other.ID)
			for _, method := range []string{http.MethodPut, http.MethodPatch} {
				r := e.do(t, method, fmt.Sprintf("/v1/users/%d", other.ID), s.Access, obj{"first_name": "Mallory"})
				wantDenied(t, r, roleStaff)
				r = e.do(t, method, fmt.Sprintf("/admin/users/%d/", other.ID), s.Access, obj{"role": roleStaff})
				wantDenied(t, r, roleStaff)
			}
			e.wantUnchanged(t, before)
		}
	})
}

// TestKeyTricks checks that JSON keys that encoding/json would fold onto
// "role" (other cases, duplicates) are refused with 400 naming the key,
// and change nothing.
func TestKeyTricks(t *testing.T) {
	cases := []struct{ body, field string }{
		{`{"ROLE": "admin"}`, "ROLE"},
		{`{"Role": "admin"}`, "Role"},
		{`{"first_name": "x", "rOlE": "admin"}`, "rOlE"},
		{`{"IS_ACTIVE": false}`, "IS_ACTIVE"},
		{`{"role": "user", "role": "admin"}`, "role"},
		{`{"role": "admin", "role": "user"}`, "role"},
		{`{"role": "user", "rol\u0065": "admin"}`, "role"},
	}
	forEach(t, func(t *testing.T, e *env) {
		u := e.newUser(t, roleUser)
		for _, path := range []string{"/me/", "/v1/me", fmt.Sprintf("/v1/users/%d", u.ID)} {
			for _, method := range []string{http.MethodPut, http.MethodPatch} {
				for _, c := range cases {
					before := e.stored(t, u.ID)
					r := e.do(t, method, path, u.Access, c.body)
					wantFieldError(t, r, c.field)
					e.wantUnchanged(t, before)
				}
			}
		}
		for _, rs := range routeSets {
			name := unique("tricky")
			body := fmt.Sprintf(`{"username": %q, "password": %q, "Role": "admin"}`, name, newPassword())
			wantFieldError(t, e.do(t, http.MethodPost, rs.signup, "", body), "Role")
			body = fmt.Sprintf(`{"username": %q, "password": %q, "role": "user", "role": "admin"}`, name, newPassword())
			wantFieldError(t, e.do(t, http.MethodPost, rs.signup, "", body), "role")
			e.wantNoUsername(t, name)
		}
	})
}

// TestAccessChangesTakeEffect checks that every request reads the caller's
// current state: a role change applies to the very next request with the
// same token, and a deactivated or deleted user's tokens stop working.
func TestAccessChangesTakeEffect(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		t.Run("role change", func(t *testing.T) {
			admin := e.adminToken(t)
			u := e.newUser(t, roleUser)
			wantDenied(t, e.do(t, http.MethodGet, "/admin-area/", u.Access, nil), roleUser)
			wantDenied(t, e.do(t, http.MethodGet, "/v1/users", u.Access, nil), roleUser)

			wantStatus(t, e.do(t, http.MethodPatch, fmt.Sprintf("/v1/users/%d", u.ID), admin, obj{"role": roleAdmin}), http.StatusOK)
			r := e.do(t, http.MethodGet, "/admin-area/", u.Access, nil)
			wantStatus(t, r, http.StatusOK)
			wantBody(t, r, obj{"message": "Hello Admin " + u.Username + "!"})
			wantStatus(t, e.do(t, http.MethodGet, "/v1/users", u.Access, nil), http.StatusOK)
			wantDenied(t, e.do(t, http.MethodGet, "/user-area/", u.Access, nil), roleAdmin)

			wantStatus(t, e.do(t, http.MethodPut, fmt.Sprintf("/admin/users/%d/", u.ID), admin, obj{"role": roleStaff}), http.StatusOK)
			wantDenied(t, e.do(t, http.MethodGet, "/admin-area/", u.Access, nil), roleStaff)
			wantStatus(t, e.do(t, http.MethodGet, "/staff-area/", u.Access, nil), http.StatusOK)
			wantDenied(t, e.do(t, http.MethodDelete, fmt.Sprintf("/v1/users/%d", e.storedUser(t, roleUser).ID), u.Access, nil), roleStaff)
		})
		t.Run("deactivation", func(t *testing.T) {
			admin := e.adminToken(t)
			u := e.newUser(t, roleUser)
			wantStatus(t, e.do(t, http.MethodGet, "/v1/me", u.Access, nil), http.StatusOK)
			wantStatus(t, e.do(t, http.MethodPatch, fmt.Sprintf("/v1/users/%d", u.ID), admin, obj{"is_active": false}), http.StatusOK)
			wantStatus(t, e.do(t, http.MethodGet, "/v1/me", u.Access, nil), http.StatusUnauthorized)
			wantStatus(t, e.do(t, http.MethodGet, "/user-area/", u.Access, nil), http.StatusUnauthorized)
			wantStatus(t, e.do(t, http.MethodPost, "/token/refresh/", "", obj{"refresh": u.Refresh}), http.StatusUnauthorized)
			login := e.do(t, http.MethodPost, "/login/", "", obj{"username": u.Username, "password": u.Password})
			wantStatus(t, login, http.StatusUnauthorized)
			wantBody(t, login, badCredentials)

			// Reactivation lets them log in again, but the sessions that
			// deactivation ended stay ended.
			wantStatus(t, e.do(t, http.MethodPatch, fmt.Sprintf("/v1/users/%d", u.ID), admin, obj{"is_active": true}), http.StatusOK)
			wantTokenRefused(t, e.do(t, http.MethodGet, "/v1/me", u.Access, nil))
			wantStatus(t, e.do(t, http.MethodPost, "/token/refresh/", "", obj{"refresh": u.Refresh}), http.StatusUnauthorized)
			e.login(t, u)
			wantStatus(t, e.do(t, http.MethodGet, "/v1/me", u.Access, nil), http.StatusOK)
		})
		t.Run("deletion", func(t *testing.T) {
			u := e.newUser(t, roleUser)
			wantStatus(t, e.do(t, http.MethodGet, "/v1/me", u.Access, nil), http.StatusOK)
			wantStatus(t, e.do(t, http.MethodDelete, fmt.Sprintf("/v1/users/%d", u.ID), e.adminToken(t), nil), http.StatusNoContent)
			wantStatus(t, e.do(t, http.MethodGet, "/v1/me", u.Access, nil), http.StatusUnauthorized)
			wantStatus(t, e.do(t, http.MethodGet, "/user-area/", u.Access, nil), http.StatusUnauthorized)
			wantStatus(t, e.do(t, http.MethodPost, "/v1/auth/refresh", "", obj{"refresh": u.Refresh}), http.StatusUnauthorized)
			login := e.do(t, http.MethodPost, "/v1/auth/login", "", obj{"username": u.Username, "password": u.Password})
			wantStatus(t, login, http.StatusUnauthorized)
			wantBody(t, login, badCredentials)
		})
	})
}
