package console_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rolegate/rolegate/models"
)

// inGroup reports whether user id is in group, as the database says.
func (e *env) inGroup(t *testing.T, id int64, group string) bool {
	t.Helper()
	groups, err := e.srv.Store.UserGroups(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return slices.Contains(groups, group)
}

func (e *env) addToGroup(t testing.TB, id int64, group string) {
	t.Helper()
	if _, _, err := e.srv.Store.AddUserToGroup(t.Context(), id, group, 0); err != nil {
		t.Fatal(err)
	}
}

// signInSupport signs in a staff member in the support group.
func (e *env) signInSupport(t testing.TB) *person {
	t.Helper()
	p := e.signIn(t, "staff")
	e.addToGroup(t, p.ID, "support")
	return p
}

// waitAudit polls the audit trail until it holds n events matching f.
func (e *env) waitAudit(t *testing.T, f models.AuditFilter, n int) []models.AuditEvent {
	t.Helper()
	f.Limit = n + 10
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := e.srv.Store.ListAuditEvents(t.Context(), f)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) >= n || time.Now().After(deadline) {
			if len(got) != n {
				t.Fatalf("got %d audit events %+v, want %d", len(got), f, n)
			}
			return got
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestGroupsSection: an admin sees every group with its grants (linked to
// their policy lines) and member count, adds a member by username or id
// and removes one, each audited as the API audits it; staff, staff in
// support and a regular user are refused, forged POSTs included.
func TestGroupsSection(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		admin := e.signIn(t, "admin")
		a, b := e.user(t, "user"), e.user(t, "user")
		e.addToGroup(t, a.ID, "support")
		e.addToGroup(t, a.ID, "retired") // in the database, not the policy

		r := admin.get(t, "/console/groups")
		wantStatus(t, r, http.StatusOK)
		wantContains(t, r, `href="/console/groups"`, `href="/console/groups/support"`, `href="/console/policy#L212"`,
			"list users", `href="/console/groups/retired"`, "(not in the policy)")
		if got := between(r.body, `href="/console/groups/support"`, "</tr>"); !strings.Contains(got, `data-label="Members">1<`) {
			t.Errorf("support's row shows no member count of 1: %s", got)
		}

		r = admin.get(t, "/console/groups/support")
		wantStatus(t, r, http.StatusOK)
		wantContains(t, r, a.Username, `name="user"`, "Add to support", "Remove "+a.Username)

		r = admin.postCSRF(t, "/console/groups/support/members", url.Values{"user": {b.Username}})
		wantStatus(t, r, http.StatusSeeOther)
		if !e.inGroup(t, b.ID, "support") {
			t.Fatalf("%s is not in support after the add", b.Username)
		}
		wantContains(t, admin.get(t, r.Header.Get("Location")), b.Username+" was added.")
		r = admin.postCSRF(t, "/console/groups/support/members", url.Values{"user": {strconv.FormatInt(b.ID, 10)}})
		wantStatus(t, r, http.StatusSeeOther)
		wantContains(t, admin.get(t, r.Header.Get("Location")), "was already a member.")

		r = admin.postCSRF(t, fmt.Sprintf("/console/groups/support/members/%d/remove", b.ID), nil)
		wantStatus(t, r, http.StatusSeeOther)
		if e.inGroup(t, b.ID, "support") {
			t.Fatalf("%s is still in support after the removal", b.Username)
		}
		adds := e.waitAudit(t, models.AuditFilter{ActorID: admin.ID, Action: models.AuditGroupMemberAdd}, 1)
		e.waitAudit(t, models.AuditFilter{ActorID: admin.ID, Action: models.AuditGroupMemberRemove}, 1)
		if got := adds[0]; got.Target != models.GroupMemberTarget("support", b.ID) || got.Detail["via"] != "console" || got.Detail["group"] != "support" {
			t.Errorf("got add event %+v, want target %s, group support, via console", got, models.GroupMemberTarget("support", b.ID))
		}

		// Bad input: a clear error and nothing changes.
		r = admin.postCSRF(t, "/console/groups/support/members", url.Values{"user": {"nobody-" + b.Username}})
		wantStatus(t, r, http.StatusBadRequest)
		wantContains(t, r, "No user has the username or id")
		wantStatus(t, admin.postCSRF(t, "/console/groups/retired/members", url.Values{"user": {b.Username}}), http.StatusNotFound)
		wantStatus(t, admin.get(t, "/console/groups/nosuch"), http.StatusNotFound)
		wantStatus(t, admin.postCSRF(t, fmt.Sprintf("/console/groups/support/members/%d/remove", b.ID), nil), http.StatusNotFound)
		if e.inGroup(t, b.ID, "support") || e.inGroup(t, b.ID, "retired") {
			t.Fatal("a refused add changed the groups")
		}
		// A stale member of a group the policy dropped can be removed.
		wantStatus(t, admin.postCSRF(t, fmt.Sprintf("/console/groups/retired/members/%d/remove", a.ID), nil), http.StatusSeeOther)

		for _, p := range []*person{e.signIn(t, "staff"), e.signInSupport(t), e.signIn(t, "user")} {
			r := p.get(t, "/console/")
			wantLacks(t, r, `href="/console/groups"`)
			wantStatus(t, p.get(t, "/console/groups"), http.StatusForbidden)
			wantStatus(t, p.get(t, "/console/groups/support"), http.StatusForbidden)
			wantStatus(t, p.postCSRF(t, "/console/groups/support/members", url.Values{"user": {b.Username}}), http.StatusForbidden)
			wantStatus(t, p.postCSRF(t, fmt.Sprintf("/console/groups/support/members/%d/remove", a.ID), nil), http.StatusForbidden)
		}
		if e.inGroup(t, b.ID, "support") || !e.inGroup(t, a.ID, "support") {
			t.Fatal("a forged POST changed the support group")
		}
	})
}

// TestUserFiltersByGroupAndTenant: ?group and ?tenant (slug or id) filter
// the list and its export; a viewer who may not read the groups has the
// group filter ignored, and an unknown tenant matches no one.
func TestUserFiltersByGroupAndTenant(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		admin := e.signIn(t, "admin")
		member, owner, other := e.user(t, "user"), e.user(t, "user"), e.user(t, "user")
		e.addToGroup(t, member.ID, "support")
		tn, err := e.srv.Store.CreateTenant(t.Context(), &models.Tenant{Slug: unique("acme-"), Name: "Acme", IsActive: true}, owner.ID, "tenant:owner")
		if err != nil {
			t.Fatal(err)
		}

		r := admin.get(t, "/console/users?group=support")
		wantStatus(t, r, http.StatusOK)
		wantContains(t, r, member.Username, `<option value="support" selected>`, "<strong>1</strong> user")
		wantLacks(t, r, owner.Username, other.Username)
		for _, ref := range []string{tn.Slug, strconv.FormatInt(tn.ID, 10)} {
			r = admin.get(t, "/console/users?tenant="+ref)
			wantContains(t, r, owner.Username, "<strong>1</strong> user")
			wantLacks(t, r, member.Username, other.Username)
		}
		r = admin.get(t, "/console/users?tenant=no-such-tenant")
		wantStatus(t, r, http.StatusOK)
		wantContains(t, r, "No tenant has the slug or id", "No users match.")
		r = admin.get(t, "/console/users/export.csv?group=support&o=-id")
		wantStatus(t, r, http.StatusOK)
		if lines := strings.Split(strings.TrimSpace(r.body), "\n"); len(lines) != 2 || !strings.Contains(lines[1], member.Username) {
			t.Errorf("got export %q, want the header and %s", r.body, member.Username)
		}

		staff := e.signIn(t, "staff")
		r = staff.get(t, "/console/users?group=support")
		wantStatus(t, r, http.StatusOK)
		wantContains(t, r, "the group filter was ignored", other.Username)
		wantLacks(t, r, `id="group"`)
		r = staff.get(t, "/console/users?tenant="+tn.Slug)
		wantContains(t, r, owner.Username, `id="tenant"`)
		wantLacks(t, r, other.Username)
	})
}

// TestBulkAddToGroup: the bulk "add to group" lists every user on its
// confirmation page and reports each row; a viewer without groups/assign
// is never offered it and a forged POST is refused with nothing changed.
func TestBulkAddToGroup(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		admin := e.signIn(t, "admin")
		a, b := e.user(t, "user"), e.user(t, "staff")
		e.addToGroup(t, b.ID, "support")
		gone := e.user(t, "user")
		if err := e.srv.Store.DeleteUser(t.Context(), gone.ID, models.AdminGuard{}); err != nil {
			t.Fatal(err)
		}
		wantContains(t, admin.get(t, "/console/users"), `value="add_to_group"`, `name="group"`)
		form := url.Values{"action": {"add_to_group"}, "group": {"support"}, "id": {fmt.Sprint(a.ID), fmt.Sprint(b.ID), fmt.Sprint(gone.ID)}}
		r := admin.postCSRF(t, "/console/users/bulk", form)
		wantStatus(t, r, http.StatusOK)
		wantContains(t, r, a.Username, b.Username, "no longer exists", "Yes, add 3 users to support", `name="group" value="support"`)
		if e.inGroup(t, a.ID, "support") {
			t.Fatal("the confirmation page changed the group")
		}
		r = admin.postCSRF(t, "/console/users/bulk/apply", form)
		wantStatus(t, r, http.StatusOK)
		wantContains(t, r, "2 of 3 done", "Added to support.", "Unchanged: already a member of support.", "Skipped: the user no longer exists.")
		if !e.inGroup(t, a.ID, "support") || !e.inGroup(t, b.ID, "support") {
			t.Fatal("the bulk add did not put both users in support")
		}
		e.waitAudit(t, models.AuditFilter{ActorID: admin.ID, Action: models.AuditGroupMemberAdd}, 1)

		form.Set("group", "no-such-group")
		wantStatus(t, admin.postCSRF(t, "/console/users/bulk", form), http.StatusBadRequest)

		c := e.user(t, "user")
		forged := url.Values{"action": {"add_to_group"}, "group": {"support"}, "id": {fmt.Sprint(c.ID)}}
		for _, p := range []*person{e.signIn(t, "staff"), e.signInSupport(t), e.signIn(t, "user")} {
			wantLacks(t, p.get(t, "/console/users"), `value="add_to_group"`)
			wantStatus(t, p.postCSRF(t, "/console/users/bulk", forged), http.StatusForbidden)
			wantStatus(t, p.postCSRF(t, "/console/users/bulk/apply", forged), http.StatusForbidden)
		}
		if e.inGroup(t, c.ID, "support") {
			t.Fatal("a forged bulk add changed the group")
		}
	})
}

// TestUserPageShowsMemberships: a user's page lists their tenants (link,
// role, active) for a viewer who may list members, and their groups for
// one who may read the groups.
func TestUserPageShowsMemberships(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		u := e.user(t, "user")
		e.addToGroup(t, u.ID, "support")
		tn, err := e.srv.Store.CreateTenant(t.Context(), &models.Tenant{Slug: unique("globex-"), Name: "Globex", IsActive: true}, u.ID, "tenant:owner")
		if err != nil {
			t.Fatal(err)
		}
		path := fmt.Sprintf("/console/users/%d", u.ID)
		r := e.signIn(t, "admin").get(t, path)
		wantStatus(t, r, http.StatusOK)
		wantContains(t, r, `href="/console/tenants/`+tn.Slug+`"`, "tenant:owner", `href="/console/groups/support"`)

		r = e.signIn(t, "staff").get(t, path)
		wantStatus(t, r, http.StatusOK)
		wantContains(t, r, `href="/console/tenants/`+tn.Slug+`"`)
		wantLacks(t, r, `href="/console/groups/support"`)
	})
}

// TestDashboardCountsTenants: the dashboard counts tenants and active
// memberships for a viewer who may list tenants.
func TestDashboardCountsTenants(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		u := e.user(t, "user")
		if _, err := e.srv.Store.CreateTenant(t.Context(), &models.Tenant{Slug: unique("initech-"), Name: "Initech", IsActive: true}, u.ID, "tenant:owner"); err != nil {
			t.Fatal(err)
		}
		for _, role := range []string{"admin", "staff"} {
			r := e.signIn(t, role).get(t, "/console/")
			wantStatus(t, r, http.StatusOK)
			wantContains(t, r, "Active memberships</dt><dd>1<", "Tenants</dt><dd>1<")
		}
		wantStatus(t, e.signIn(t, "user").get(t, "/console/"), http.StatusForbidden)
	})
}
