package httpapi_test

import (
	"database/sql"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	_ "github.com/glebarez/go-sqlite"  // the "sqlite" database/sql driver
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"github.com/rolegate/rolegate/models"
)

// The tenant roles of the shipped policy.
var tenantRoles = []string{"owner", "admin", "manager", "user", "readonly"}

// grantable is the table: which tenant roles each may invite,
// add, change or remove.
var grantable = map[string][]string{
	"owner":    {"owner", "admin", "manager", "user", "readonly"},
	"admin":    {"admin", "manager", "user", "readonly"},
	"manager":  {"user", "readonly"},
	"user":     nil,
	"readonly": nil,
}

// tenant is a tenant the tests made, with a member of each tenant role.
type tenant struct {
	Slug    string
	ID      int64
	Members map[string]*user
}

// newTenant creates a tenant through the API, owned by a new system user,
// and adds a member of every other tenant role through the API.
func (e *env) newTenant(t *testing.T) *tenant {
	t.Helper()
	owner := e.newUser(t, roleUser)
	tn := &tenant{Slug: unique("t-"), Members: map[string]*user{"owner": owner}}
	r := e.do(t, http.MethodPost, "/v1/tenants", owner.Access, obj{"slug": tn.Slug, "name": "Tenant " + tn.Slug})
	wantStatus(t, r, http.StatusCreated)
	body := r.object(t)
	if body["role"] != "owner" || body["slug"] != tn.Slug || body["is_active"] != true {
		t.Fatalf("create tenant: got %s, want role owner, the slug and active", r.Body)
	}
	tn.ID = int64(body["id"].(float64))
	for _, role := range tenantRoles[1:] {
		m := e.newUser(t, roleUser)
		e.addMember(t, tn, owner, m, role)
		tn.Members[role] = m
	}
	return tn
}

func (e *env) addMember(t *testing.T, tn *tenant, by, u *user, role string) {
	t.Helper()
	r := e.do(t, http.MethodPut, fmt.Sprintf("/v1/tenants/%s/members/%d", tn.Slug, u.ID), by.Access, obj{"role": role})
	wantStatus(t, r, http.StatusCreated)
}

// standing returns what u may do in tn by the store and the policy in
// force: the path every tenant decision takes.
func (e *env) decideIn(t *testing.T, tn *tenant, u *user, resource string, ownerID int64, action string) models.Decision {
	t.Helper()
	standing, err := e.srv.Store.TenantStanding(t.Context(), tn.ID, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	sub := models.Subject{ID: u.ID, Role: u.Role, Tenant: &standing}
	d, err := e.srv.Policy.Current().Decide(sub, models.Resource{Type: resource, OwnerID: ownerID}, action)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func wantStatusIn(t *testing.T, r *response, allowed bool, yes int) {
	t.Helper()
	if allowed {
		wantStatus(t, r, yes)
		return
	}
	wantForbidden(t, r)
}

// TestTenantTable checks every cell of the table through HTTP, for
// each tenant role, and the records rows through the store and the policy.
func TestTenantTable(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		tn := e.newTenant(t)
		base := "/v1/tenants/" + tn.Slug
		for _, role := range tenantRoles {
			t.Run(role, func(t *testing.T) {
				u := tn.Members[role]
				r := e.do(t, http.MethodGet, base, u.Access, nil)
				wantStatus(t, r, http.StatusOK)
				if got := r.object(t)["role"]; got != role {
					t.Errorf("GET tenant: got role %v, want %s", got, role)
				}
				canUpdate := role == "owner" || role == "admin"
				r = e.do(t, http.MethodPatch, base, u.Access, obj{"name": "By " + role, "settings": obj{"by": role}})
				wantStatusIn(t, r, canUpdate, http.StatusOK)
				wantStatus(t, e.do(t, http.MethodGet, base+"/members", u.Access, nil), http.StatusOK)
				r = e.do(t, http.MethodGet, base+"/audit", u.Access, nil)
				wantStatusIn(t, r, canUpdate, http.StatusOK)
				if role != "owner" {
					wantForbidden(t, e.do(t, http.MethodDelete, base, u.Access, nil))
				}
				e.checkGrants(t, tn, u, role)
				e.checkRecords(t, tn, u, role)
			})
		}
		owner := tn.Members["owner"]
		wantStatus(t, e.do(t, http.MethodDelete, base, owner.Access, nil), http.StatusNoContent)
		if _, err := e.srv.Store.TenantByRef(t.Context(), tn.Slug); models.ErrorCode(err) != models.ENOTFOUND {
			t.Errorf("tenant after delete: got %v, want not found", err)
		}
		wantStatus(t, e.do(t, http.MethodGet, base, owner.Access, nil), http.StatusNotFound)
	})
}

// checkGrants checks the members row of the table for u, of tenant role
// role: inviting, adding, changing and removing each tenant role.
func (e *env) checkGrants(t *testing.T, tn *tenant, u *user, role string) {
	t.Helper()
	base := "/v1/tenants/" + tn.Slug
	owner := tn.Members["owner"]
	for _, target := range tenantRoles {
		allowed := slices.Contains(grantable[role], target)
		r := e.do(t, http.MethodPost, base+"/invitations", u.Access, obj{"email": unique("inv") + "@example.com", "role": target})
		wantStatusIn(t, r, allowed, http.StatusCreated)
		// Add a new user with the role.
		newcomer := e.storedUser(t, roleUser)
		r = e.do(t, http.MethodPut, fmt.Sprintf("%s/members/%d", base, newcomer.ID), u.Access, obj{"role": target})
		wantStatusIn(t, r, allowed, http.StatusCreated)
		if !allowed {
			e.addMember(t, tn, owner, newcomer, target)
		}
		// Change it to readonly and back needs both roles.
		change := allowed && slices.Contains(grantable[role], "readonly")
		r = e.do(t, http.MethodPut, fmt.Sprintf("%s/members/%d", base, newcomer.ID), u.Access, obj{"role": "readonly"})
		if target == "readonly" {
			wantStatusIn(t, r, allowed, http.StatusOK) // no change, but still a grant of readonly
		} else {
			wantStatusIn(t, r, change, http.StatusOK)
		}
		if m := e.membership(t, tn, newcomer.ID); (m.Role == "readonly") != (change || target == "readonly") {
			t.Errorf("%s changing a %s to readonly: stored role %s", role, target, m.Role)
		}
		// Remove.
		removable := slices.Contains(grantable[role], e.membership(t, tn, newcomer.ID).Role)
		r = e.do(t, http.MethodDelete, fmt.Sprintf("%s/members/%d", base, newcomer.ID), u.Access, nil)
		wantStatusIn(t, r, removable, http.StatusNoContent)
		if gone := e.membership(t, tn, newcomer.ID).UserID == 0; gone != removable {
			t.Errorf("%s removing a %s: got removed %v, want %v", role, target, gone, removable)
		}
	}
}

// membership reads a membership back; the zero one when there is none.
func (e *env) membership(t *testing.T, tn *tenant, userID int64) models.Membership {
	t.Helper()
	m, err := e.srv.Store.MemberOf(t.Context(), tn.ID, userID)
	if models.ErrorCode(err) == models.ENOTFOUND {
		return models.Membership{}
	}
	if err != nil {
		t.Fatal(err)
	}
	return *m
}

// checkRecords checks the records rows of the table: there are no record
// routes in rolegate, so through the store's standing and the policy.
func (e *env) checkRecords(t *testing.T, tn *tenant, u *user, role string) {
	t.Helper()
	other := tn.Members["owner"].ID
	writes := role != "readonly"
	for _, c := range []struct {
		action string
		owner  int64
		want   bool
	}{
		{models.ActionList, 0, true}, {models.ActionRead, other, true}, {models.ActionCreate, 0, writes},
		{models.ActionUpdate, other, writes && role != "user"}, {models.ActionDelete, other, writes && role != "user"},
		{models.ActionUpdate, u.ID, writes}, {models.ActionDelete, u.ID, writes},
	} {
		for _, resource := range []string{"records", "customers", "sales_orders"} {
			d := e.decideIn(t, tn, u, resource, c.owner, c.action)
			if d.Allowed != c.want || c.want && d.Via != models.ViaMembership {
				t.Errorf("%s: %s %s (owner %d): got %v via %q, want %v via membership", role, resource, c.action, c.owner, d.Allowed, d.Via, c.want)
			}
		}
	}
}

// TestTenantIsolation checks that a non-member gets the same 404 on every
// tenant route as for a tenant that does not exist, and that nothing
// changes.
func TestTenantIsolation(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		tn := e.newTenant(t)
		elsewhere := e.newTenant(t) // a member of another tenant
		for name, outsider := range map[string]*user{
			"system user": e.newUser(t, roleUser), "member elsewhere": elsewhere.Members["owner"],
		} {
			t.Run(name, func(t *testing.T) {
				for _, ref := range []string{tn.Slug, fmt.Sprint(tn.ID), "no-such-tenant"} {
					for _, rt := range tenantRoutes(ref, tn.Members["readonly"].ID) {
						r := e.do(t, rt.method, rt.path, outsider.Access, rt.body)
						wantStatus(t, r, http.StatusNotFound)
						wantBody(t, r, obj{"detail": "Not found.", "code": "not_found"})
					}
				}
				if e.membership(t, tn, tn.Members["readonly"].ID).Role != "readonly" {
					t.Error("a refused request changed the tenant's members")
				}
				d := e.decideIn(t, tn, outsider, "records", 0, models.ActionRead)
				if d.Allowed {
					t.Errorf("records read by a non-member: got allowed via %s", d.Via)
				}
				// The probes are in the tenant's own trail, for its owners.
				e.waitAudit(t, models.AuditFilter{TenantID: tn.ID, ActorID: outsider.ID, Action: models.AuditDecisionDeny, Limit: 100}, 20)
			})
		}
	})
}

type routeCase struct {
	method, path string
	body         any
}

// tenantRoutes are every route inside tenant ref, with a valid body.
func tenantRoutes(ref string, memberID int64) []routeCase {
	base := "/v1/tenants/" + ref
	member := fmt.Sprintf("%s/members/%d", base, memberID)
	return []routeCase{
		{http.MethodGet, base, nil},
		{http.MethodPatch, base, obj{"name": "x"}},
		{http.MethodDelete, base, nil},
		{http.MethodGet, base + "/audit", nil},
		{http.MethodGet, base + "/members", nil},
		{http.MethodPut, member, obj{"role": "user"}},
		{http.MethodDelete, member, nil},
		{http.MethodGet, base + "/invitations", nil},
		{http.MethodPost, base + "/invitations", obj{"email": "a@example.com", "role": "user"}},
		{http.MethodDelete, base + "/invitations/1", nil},
	}
}

// TestTenantCollisions checks that the tenant admin and the system admin,
// and the tenant user and the system user, are different roles.
func TestTenantCollisions(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		tn := e.newTenant(t)
		base := "/v1/tenants/" + tn.Slug
		// A tenant admin gets no system right from it.
		for _, role := range []string{"admin", "user"} {
			u := tn.Members[role]
			for _, path := range []string{"/v1/users", "/admin-area/", "/staff-area/", "/v1/audit", "/v1/policy", "/v1/tenants?all=true"} {
				wantForbidden(t, e.do(t, http.MethodGet, path, u.Access, nil))
			}
			wantForbidden(t, e.do(t, http.MethodGet, fmt.Sprintf("/v1/users/%d", tn.Members["owner"].ID), u.Access, nil))
		}
		// The system admin reaches every tenant through the system layer.
		admin := e.newUser(t, roleAdmin)
		r := e.do(t, http.MethodGet, base, admin.Access, nil)
		wantStatus(t, r, http.StatusOK)
		if got := r.object(t)["role"]; got != nil {
			t.Errorf("system admin's tenant role: got %v, want null", got)
		}
		wantStatus(t, e.do(t, http.MethodPatch, base, admin.Access, obj{"name": "Admin was here"}), http.StatusOK)
		if d := e.decideIn(t, tn, admin, "records", 0, models.ActionDelete); !d.Allowed || d.Via != models.ViaRole {
			t.Errorf("system admin deleting records: got %v via %q, want allowed via role", d.Allowed, d.Via)
		}
		// System staff read tenants and members, and nothing more.
		staff := e.newUser(t, roleStaff)
		wantStatus(t, e.do(t, http.MethodGet, base, staff.Access, nil), http.StatusOK)
		wantStatus(t, e.do(t, http.MethodGet, base+"/members", staff.Access, nil), http.StatusOK)
		wantStatus(t, e.do(t, http.MethodGet, "/v1/tenants?all=true", staff.Access, nil), http.StatusOK)
		wantForbidden(t, e.do(t, http.MethodPatch, base, staff.Access, obj{"name": "staff"}))
		wantForbidden(t, e.do(t, http.MethodGet, base+"/audit", staff.Access, nil))
		wantForbidden(t, e.do(t, http.MethodPost, base+"/invitations", staff.Access, obj{"email": "s@example.com", "role": "readonly"}))
		newcomer := e.storedUser(t, roleUser)
		wantForbidden(t, e.do(t, http.MethodPut, fmt.Sprintf("%s/members/%d", base, newcomer.ID), staff.Access, obj{"role": "readonly"}))
		for _, action := range []string{models.ActionRead, models.ActionCreate} {
			if d := e.decideIn(t, tn, staff, "records", 0, action); d.Allowed {
				t.Errorf("system staff %s records: got allowed via %s, want denied", action, d.Via)
			}
		}
		// The system user is no tenant user, and the reverse.
		sysUser := e.newUser(t, roleUser)
		wantStatus(t, e.do(t, http.MethodGet, base, sysUser.Access, nil), http.StatusNotFound)
		if d := e.decideIn(t, tn, sysUser, "records", 0, models.ActionList); d.Allowed {
			t.Error("a system user without membership lists records")
		}
		wantForbidden(t, e.do(t, http.MethodGet, "/v1/users", tn.Members["user"].Access, nil))
	})
}

// TestTenantGuards checks the self-change refusal, the last-owner guard and
// the inactive membership and tenant.
func TestTenantGuards(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		tn := e.newTenant(t)
		base := "/v1/tenants/" + tn.Slug
		owner, admin := tn.Members["owner"], tn.Members["admin"]
		self := func(u *user) string { return fmt.Sprintf("%s/members/%d", base, u.ID) }
		r := e.do(t, http.MethodPut, self(admin), admin.Access, obj{"role": "manager"})
		wantStatus(t, r, http.StatusForbidden)
		if got := r.object(t)["code"]; got != "own_tenant_role" {
			t.Errorf("own role change: got code %v, want own_tenant_role", got)
		}
		wantStatus(t, e.do(t, http.MethodPut, self(owner), owner.Access, obj{"role": "admin"}), http.StatusForbidden)
		// The last owner cannot leave, nor be deactivated by a second owner
		// who then leaves.
		wantStatus(t, e.do(t, http.MethodDelete, self(owner), owner.Access, nil), http.StatusConflict)
		second := e.newUser(t, roleUser)
		e.addMember(t, tn, owner, second, "owner")
		wantStatus(t, e.do(t, http.MethodPut, self(owner), second.Access, obj{"role": "owner", "is_active": false}), http.StatusOK)
		r = e.do(t, http.MethodDelete, self(second), second.Access, nil)
		wantStatus(t, r, http.StatusConflict)
		if got := r.object(t)["code"]; got != "last_owner" {
			t.Errorf("last owner leaving: got code %v, want last_owner", got)
		}
		// An inactive membership is none.
		wantStatus(t, e.do(t, http.MethodGet, base, owner.Access, nil), http.StatusNotFound)
		// An admin may neither make nor remove an owner.
		wantForbidden(t, e.do(t, http.MethodDelete, self(second), admin.Access, nil))
		wantForbidden(t, e.do(t, http.MethodPut, self(owner), admin.Access, obj{"role": "owner", "is_active": true}))
		// Leaving, for a member without any grant.
		ro := tn.Members["readonly"]
		wantStatus(t, e.do(t, http.MethodDelete, self(ro), ro.Access, nil), http.StatusNoContent)
		wantStatus(t, e.do(t, http.MethodGet, base, ro.Access, nil), http.StatusNotFound)
		// An inactive tenant refuses its members, not system admins.
		wantStatus(t, e.do(t, http.MethodPatch, base, second.Access, obj{"is_active": false}), http.StatusOK)
		r = e.do(t, http.MethodGet, base, second.Access, nil)
		wantStatus(t, r, http.StatusForbidden)
		wantBody(t, r, obj{"detail": "This tenant is inactive.", "code": "tenant_inactive"})
		sysAdmin := e.newUser(t, roleAdmin)
		wantStatus(t, e.do(t, http.MethodGet, base, sysAdmin.Access, nil), http.StatusOK)
		wantStatus(t, e.do(t, http.MethodPatch, base, sysAdmin.Access, obj{"is_active": true}), http.StatusOK)
		wantStatus(t, e.do(t, http.MethodGet, base, second.Access, nil), http.StatusOK)
	})
}

// TestOwnersDemotingEachOtherOverHTTP has two owners demote each other at
// once, 20 rounds: one wins, the other is refused (403 if it saw the
// first's change, 409 if the last-owner guard stopped it), and the tenant
// keeps exactly one owner.
func TestOwnersDemotingEachOtherOverHTTP(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		for round := range 20 {
			a := e.newUser(t, roleUser)
			slug := unique("race-")
			wantStatus(t, e.do(t, http.MethodPost, "/v1/tenants", a.Access, obj{"slug": slug, "name": "Race"}), http.StatusCreated)
			tn := &tenant{Slug: slug}
			b := e.newUser(t, roleUser)
			e.addMember(t, tn, a, b, "owner")
			reqs := make([]*http.Request, 2)
			for i, pair := range [][2]*user{{a, b}, {b, a}} {
				req, err := e.newRequest(http.MethodPut, fmt.Sprintf("/v1/tenants/%s/members/%d", slug, pair[1].ID), pair[0].Access, obj{"role": "admin"})
				if err != nil {
					t.Fatal(err)
				}
				reqs[i] = req
			}
			statuses := make([]int, 2)
			var wg sync.WaitGroup
			for i := range reqs {
				wg.Go(func() {
					r, err := e.roundTrip(reqs[i])
					if err != nil {
						t.Error(err)
						return
					}
					statuses[i] = r.Status
				})
			}
			wg.Wait()
			slices.Sort(statuses)
			if statuses[0] != http.StatusOK || (statuses[1] != http.StatusForbidden && statuses[1] != http.StatusConflict) {
				t.Fatalf("round %d: got statuses %v, want one 200 and one 403 or 409", round, statuses)
			}
			r := e.do(t, http.MethodGet, "/v1/tenants/"+slug+"/members?role=owner", a.Access, nil)
			if r.Status == http.StatusNotFound {
				r = e.do(t, http.MethodGet, "/v1/tenants/"+slug+"/members?role=owner", b.Access, nil)
			}
			wantStatus(t, r, http.StatusOK)
			var page struct{ Results []map[string]any }
			r.decode(t, &page)
			if len(page.Results) != 1 {
				t.Fatalf("round %d: got %d owners, want 1", round, len(page.Results))
			}
		}
	})
}

// TestInvitations checks the token's one showing, acceptance by email in
// any case, and that a spent, expired, revoked or wrong-email token gets
// the same 404.
func TestInvitations(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		tn := e.newTenant(t)
		base := "/v1/tenants/" + tn.Slug
		manager := tn.Members["manager"]
		invitee := e.newUser(t, roleUser)
		r := e.do(t, http.MethodPost, base+"/invitations", manager.Access, obj{"email": strings.ToUpper(invitee.Email), "role": "user"})
		wantStatus(t, r, http.StatusCreated)
		var inv struct {
			ID    int64
			Token string
			Role  string
		}
		r.decode(t, &inv)
		if inv.Token == "" || inv.Role != "user" {
			t.Fatalf("invitation: got %s", r.Body)
		}
		// Listed without its token; stored only as a hash.
		r = e.do(t, http.MethodGet, base+"/invitations", manager.Access, nil)
		wantStatus(t, r, http.StatusOK)
		if strings.Contains(string(r.Body), inv.Token) || !strings.Contains(string(r.Body), fmt.Sprintf(`"id":%d`, inv.ID)) {
			t.Errorf("pending invitations: got %s, want the invitation without its token", r.Body)
		}
		wantForbidden(t, e.do(t, http.MethodGet, base+"/invitations", tn.Members["user"].Access, nil))
		for _, row := range e.rawStrings(t, "SELECT token_hash || email || role FROM tenant_invitations") {
			if strings.Contains(row, inv.Token) {
				t.Fatalf("a token is stored in plain text: %q", row)
			}
		}
		// Someone else cannot accept it; the invitee can, once.
		notFound := obj{"detail": "No such invitation, or it is no longer valid.", "code": "not_found"}
		stranger := e.newUser(t, roleUser)
		r = e.do(t, http.MethodPost, "/v1/invitations/accept", stranger.Access, obj{"token": inv.Token})
		wantStatus(t, r, http.StatusNotFound)
		wantBody(t, r, notFound)
		r = e.do(t, http.MethodPost, "/v1/invitations/accept", invitee.Access, obj{"token": inv.Token})
		wantStatus(t, r, http.StatusOK)
		if got := r.object(t); got["role"] != "user" || got["slug"] != tn.Slug {
			t.Errorf("accept: got %s, want the tenant with role user", r.Body)
		}
		if m := e.membership(t, tn, invitee.ID); m.Role != "user" || !m.IsActive || m.InvitedBy != manager.ID {
			t.Errorf("membership: got %+v, want an active user invited by the manager", m)
		}
		r = e.do(t, http.MethodPost, "/v1/invitations/accept", invitee.Access, obj{"token": inv.Token})
		wantStatus(t, r, http.StatusNotFound)
		wantBody(t, r, notFound)
		// Revoked.
		other := e.newUser(t, roleUser)
		r = e.do(t, http.MethodPost, base+"/invitations", manager.Access, obj{"email": other.Email, "role": "readonly"})
		wantStatus(t, r, http.StatusCreated)
		r.decode(t, &inv)
		wantForbidden(t, e.do(t, http.MethodDelete, fmt.Sprintf("%s/invitations/%d", base, inv.ID), tn.Members["readonly"].Access, nil))
		wantStatus(t, e.do(t, http.MethodDelete, fmt.Sprintf("%s/invitations/%d", base, inv.ID), manager.Access, nil), http.StatusNoContent)
		wantStatus(t, e.do(t, http.MethodDelete, fmt.Sprintf("%s/invitations/%d", base, inv.ID), manager.Access, nil), http.StatusNotFound)
		r = e.do(t, http.MethodPost, "/v1/invitations/accept", other.Access, obj{"token": inv.Token})
		wantStatus(t, r, http.StatusNotFound)
		wantBody(t, r, notFound)
		// Expired.
		r = e.do(t, http.MethodPost, base+"/invitations", manager.Access, obj{"email": other.Email, "role": "readonly"})
		wantStatus(t, r, http.StatusCreated)
		r.decode(t, &inv)
		e.rawExec(t, fmt.Sprintf("UPDATE tenant_invitations SET expires_at = created_at WHERE id = %d", inv.ID))
		r = e.do(t, http.MethodPost, "/v1/invitations/accept", other.Access, obj{"token": inv.Token})
		wantStatus(t, r, http.StatusNotFound)
		wantBody(t, r, notFound)
		if m := e.membership(t, tn, other.ID); m.UserID != 0 {
			t.Errorf("after refused acceptances: got membership %+v, want none", m)
		}
		// Bad input.
		wantFieldError(t, e.do(t, http.MethodPost, base+"/invitations", manager.Access, obj{"email": "not-an-email", "role": "user"}), "email")
		wantFieldError(t, e.do(t, http.MethodPost, base+"/invitations", manager.Access, obj{"email": "a@b.example", "role": "billing"}), "role")
		wantFieldError(t, e.do(t, http.MethodPost, "/v1/invitations/accept", other.Access, obj{}), "token")
	})
}

// TestTenantListsAndAudit checks the caller's tenant list, ?all=true, the
// member list's shape and filters, and the tenant's own audit trail.
func TestTenantListsAndAudit(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		tn := e.newTenant(t)
		base := "/v1/tenants/" + tn.Slug
		owner := tn.Members["owner"]
		r := e.do(t, http.MethodGet, "/v1/tenants", tn.Members["manager"].Access, nil)
		wantStatus(t, r, http.StatusOK)
		var mine struct {
			Results []map[string]any
			Next    *string
		}
		r.decode(t, &mine)
		if len(mine.Results) != 1 || mine.Results[0]["slug"] != tn.Slug || mine.Results[0]["role"] != "manager" || mine.Next != nil {
			t.Errorf("the manager's tenants: got %s", r.Body)
		}
		wantForbidden(t, e.do(t, http.MethodGet, "/v1/tenants?all=true", owner.Access, nil))
		wantFieldError(t, e.do(t, http.MethodGet, "/v1/tenants?all=maybe", owner.Access, nil), "all")
		r = e.do(t, http.MethodGet, base+"/members?limit=2", owner.Access, nil)
		wantStatus(t, r, http.StatusOK)
		var members struct {
			Results []map[string]any
			Next    *string
		}
		r.decode(t, &members)
		if len(members.Results) != 2 || members.Next == nil {
			t.Fatalf("members page: got %s, want 2 and a next link", r.Body)
		}
		first := members.Results[0]
		wantUserObj := obj{"id": owner.ID, "username": owner.Username, "email": owner.Email, "first_name": "", "last_name": ""}
		if !jsonEqual(first["user"], wantUserObj) || first["role"] != "owner" || first["is_active"] != true || first["invited_by"] != nil || first["joined_at"] == nil {
			t.Errorf("first member: got %v", first)
		}
		r = e.do(t, http.MethodGet, base+"/members?role=manager", owner.Access, nil)
		r.decode(t, &members)
		if len(members.Results) != 1 || members.Results[0]["invited_by"] != float64(owner.ID) {
			t.Errorf("managers: got %s", r.Body)
		}
		r = e.do(t, http.MethodGet, base+"/members?search="+strings.ToUpper(tn.Members["readonly"].Username), owner.Access, nil)
		r.decode(t, &members)
		if len(members.Results) != 1 || members.Results[0]["role"] != "readonly" {
			t.Errorf("search: got %s", r.Body)
		}
		// The trail: creation, each member added, with before and after.
		e.waitAudit(t, models.AuditFilter{TenantID: tn.ID, Action: models.AuditMemberAdd, Limit: 10}, 4)
		r = e.do(t, http.MethodGet, base+"/audit?limit=200", owner.Access, nil)
		wantStatus(t, r, http.StatusOK)
		var trail struct{ Results []map[string]any }
		r.decode(t, &trail)
		actions := map[string]int{}
		for _, ev := range trail.Results {
			actions[ev["action"].(string)]++
			if ev["tenant_id"] != float64(tn.ID) {
				t.Errorf("event %v: got tenant_id %v, want %d", ev["action"], ev["tenant_id"], tn.ID)
			}
		}
		if actions[models.AuditTenantCreate] != 1 || actions[models.AuditMemberAdd] != 4 {
			t.Errorf("trail: got %v, want one tenant.create and four member.add", actions)
		}
		added := trail.Results[0]
		if added["action"] != models.AuditMemberAdd || !jsonEqual(added["detail"], obj{
			"user_id": tn.Members["readonly"].ID, "before": nil, "after": obj{"role": "readonly", "is_active": true},
		}) {
			t.Errorf("newest event: got %v, want the readonly member added, with before and after", added)
		}
		// Bad input to create.
		wantFieldError(t, e.do(t, http.MethodPost, "/v1/tenants", owner.Access, obj{"slug": "Bad Slug", "name": "x"}), "slug")
		wantFieldError(t, e.do(t, http.MethodPost, "/v1/tenants", owner.Access, obj{"slug": "ok-" + tn.Slug, "name": "x", "settings": []int{1}}), "settings")
		r = e.do(t, http.MethodPost, "/v1/tenants", owner.Access, obj{"slug": tn.Slug, "name": "Again"})
		wantStatus(t, r, http.StatusConflict)
	})
}

// rawDB opens e's database directly, for what no API shows: the stored
// form of a token, or a row put in a state only time would bring.
func (e *env) rawDB(t *testing.T) *sql.DB {
	t.Helper()
	driver, dsn := "pgx", e.cfg.DatabaseURL
	if path, ok := strings.CutPrefix(dsn, "sqlite:"); ok {
		driver, dsn = "sqlite", path+"?_pragma=busy_timeout(10000)"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func (e *env) rawStrings(t *testing.T, query string) []string {
	t.Helper()
	rows, err := e.rawDB(t).QueryContext(t.Context(), query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("%s: got no rows", query)
	}
	return out
}

func (e *env) rawExec(t *testing.T, stmt string) {
	t.Helper()
	if _, err := e.rawDB(t).ExecContext(t.Context(), stmt); err != nil {
		t.Fatal(err)
	}
}

// TestSeedGuest checks seed 003's guest exactly as written: a regular
// user (no console) who is admin of the guest tenant only, with full CRUD
// on its records, 404 in every other tenant and 403 on anything
// system-level.
func TestSeedGuest(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		operator := e.newUser(t, roleAdmin)
		guestSlug := unique("guest-")
		wantStatus(t, e.do(t, http.MethodPost, "/v1/tenants", operator.Access, obj{"slug": guestSlug, "name": "Guest"}), http.StatusCreated)
		guest := e.newUser(t, roleUser)
		guestTenant := &tenant{Slug: guestSlug}
		e.addMember(t, guestTenant, operator, guest, "admin")
		tn, err := e.srv.Store.TenantByRef(t.Context(), guestSlug)
		if err != nil {
			t.Fatal(err)
		}
		guestTenant.ID = tn.ID
		for _, resource := range []string{"customers", "suppliers", "contacts", "sales_orders"} {
			for _, action := range []string{models.ActionList, models.ActionRead, models.ActionCreate, models.ActionUpdate, models.ActionDelete} {
				if d := e.decideIn(t, guestTenant, guest, resource, operator.ID, action); !d.Allowed || d.Via != models.ViaMembership {
					t.Errorf("guest %s %s in the guest tenant: got %v via %q, want allowed via membership", action, resource, d.Allowed, d.Via)
				}
			}
		}
		wantStatus(t, e.do(t, http.MethodGet, "/v1/tenants/"+guestSlug, guest.Access, nil), http.StatusOK)
		other := e.newTenant(t)
		for _, rt := range tenantRoutes(other.Slug, other.Members["user"].ID) {
			wantStatus(t, e.do(t, rt.method, rt.path, guest.Access, rt.body), http.StatusNotFound)
		}
		if d := e.decideIn(t, other, guest, "customers", 0, models.ActionRead); d.Allowed {
			t.Errorf("guest reading customers in another tenant: got allowed via %s", d.Via)
		}
		for _, path := range []string{"/admin-area/", "/staff-area/", "/v1/users", "/v1/audit", "/v1/policy", "/v1/tenants?all=true"} {
			wantForbidden(t, e.do(t, http.MethodGet, path, guest.Access, nil))
		}
		wantForbidden(t, e.do(t, http.MethodPost, "/v1/policy/reload", guest.Access, nil))
	})
}
