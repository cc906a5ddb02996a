package console_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/rolegate/rolegate/internal/dbtest"
)

// noStaffReadPolicy is the default policy without plain staff's users,
// tenants and members lines: there, only the support group shows a staff
// member the users.
const noStaffReadPolicy = "testdata/policy-nostaffread.csv"

// forEachPolicy runs test on a fresh server per database serving the
// policy file.
func forEachPolicy(t *testing.T, file string, test func(t *testing.T, e *env)) {
	t.Helper()
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			// The policy's own tests assert the default grants, which
			// this policy takes away on purpose: a file that does not exist is
			// no tests.
			test(t, newEnv(t, target, map[string]string{"ROLEGATE_POLICY_FILE": file, "ROLEGATE_POLICY_TESTS": "testdata/no-policy-tests.csv"}))
		})
	}
}

// TestSupportPersonOwnPolicy: where plain staff may not read users, a
// staff member in no group sees only what staff alone is granted (the
// dashboard), while one in support sees the users read-only: no edit,
// delete or bulk controls, forged POSTs refused, the database unchanged.
// Joining the group takes effect on the next request.
func TestSupportPersonOwnPolicy(t *testing.T) {
	forEachPolicy(t, noStaffReadPolicy, func(t *testing.T, e *env) {
		victim := e.user(t, "user")
		victimPage := fmt.Sprintf("/console/users/%d", victim.ID)

		plain := e.signIn(t, "staff")
		r := plain.get(t, "/console/")
		wantStatus(t, r, http.StatusOK)
		wantLacks(t, r, `href="/console/users"`, `href="/console/groups"`, `href="/console/policy"`, `href="/console/audit"`, "Active memberships")
		for _, path := range []string{"/console/users", victimPage, "/console/users/export.csv", "/console/groups"} {
			wantStatus(t, plain.get(t, path), http.StatusForbidden)
		}

		support := e.signInSupport(t)
		wantSupportReadOnly(t, e, support, victim.ID)

		// The plain staff member joins support: their very next request
		// decides with the group, as the API's would.
		e.addToGroup(t, plain.ID, "support")
		wantStatus(t, plain.get(t, "/console/users"), http.StatusOK)
		if err := e.srv.Store.RemoveUserFromGroup(t.Context(), plain.ID, "support"); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, plain.get(t, "/console/users"), http.StatusForbidden)
	})
}

// TestSupportPersonDefaultPolicy: with the shipped policy, where staff
// read users anyway, a support member sees users, tenants and members
// read-only and is refused every change, as a staff member in no group is.
func TestSupportPersonDefaultPolicy(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		victim := e.user(t, "user")
		wantSupportReadOnly(t, e, e.signInSupport(t), victim.ID)
		plain := e.signIn(t, "staff")
		r := plain.get(t, "/console/users")
		wantStatus(t, r, http.StatusOK)
		wantLacks(t, r, `type="checkbox"`, "Export CSV")
	})
}

// wantSupportReadOnly checks what a support member sees and may do.
func wantSupportReadOnly(t *testing.T, e *env, support *person, victimID int64) {
	t.Helper()
	victim := e.stored(t, victimID)
	id := fmt.Sprint(victimID)
	r := support.get(t, "/console/")
	wantStatus(t, r, http.StatusOK)
	wantContains(t, r, `href="/console/users"`, "Active memberships")
	wantLacks(t, r, `href="/console/groups"`, `href="/console/policy"`, `href="/console/audit"`)

	r = support.get(t, "/console/users")
	wantStatus(t, r, http.StatusOK)
	wantContains(t, r, victim.Username, `id="tenant"`)
	wantLacks(t, r, `type="checkbox"`, `name="action"`, "Export CSV", `id="group"`)
	r = support.get(t, "/console/users/"+id)
	wantStatus(t, r, http.StatusOK)
	wantContains(t, r, victim.Username, "Tenants")
	wantLacks(t, r, "Save", "Reset password", "End all sessions", "Delete this user", `name="role"`)
	for _, path := range []string{"/console/users/export.csv", "/console/users/" + id + "/history", "/console/groups", "/console/policy", "/console/audit"} {
		wantStatus(t, support.get(t, path), http.StatusForbidden)
	}
	for _, f := range []struct {
		path string
		form url.Values
	}{
		{"/console/users/bulk", url.Values{"action": {"deactivate"}, "id": {id}}},
		{"/console/users/bulk/apply", url.Values{"action": {"deactivate"}, "id": {id}}},
		{"/console/users/bulk/apply", url.Values{"action": {"delete"}, "id": {id}}},
		{"/console/users/bulk/apply", url.Values{"action": {"add_to_group"}, "group": {"support"}, "id": {id}}},
		{"/console/users/" + id, url.Values{"email": {"owned@example.com"}}},
		{"/console/users/" + id + "/password", url.Values{"new_password": {"Zz9-another-long-one"}}},
		{"/console/users/" + id + "/sessions/end", nil},
		{"/console/groups/support/members", url.Values{"user": {id}}},
		{"/console/policy/reload", nil},
	} {
		wantStatus(t, support.postCSRF(t, f.path, f.form), http.StatusForbidden)
	}
	got := e.stored(t, victimID)
	if !got.IsActive || got.Email != victim.Email || got.PasswordHash != victim.PasswordHash || e.inGroup(t, victimID, "support") {
		t.Errorf("got %+v, want the user unchanged and in no group", got)
	}
}
