package httpapi_test

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rolegate/rolegate/models"
)

// tenantFixture is a tenant made directly in the store, with its owner.
type tenantFixture struct {
	ID    int64
	Slug  string
	Owner *user
}

// storeTenant creates an active tenant owned by a new system user.
func (e *env) storeTenant(t *testing.T) tenantFixture {
	t.Helper()
	owner := e.storedUser(t, roleUser)
	slug := "t-" + strings.ToLower(rand.Text()[:12])
	tn, err := e.srv.Store.CreateTenant(t.Context(), &models.Tenant{Slug: slug, Name: slug, IsActive: true}, owner.ID, "owner")
	if err != nil {
		t.Fatalf("create tenant: %v", err)
	}
	return tenantFixture{ID: tn.ID, Slug: slug, Owner: owner}
}

// joinTenant gives u role in tn, directly in the store.
func (e *env) joinTenant(t *testing.T, tn tenantFixture, u *user, role string) {
	t.Helper()
	if _, err := e.srv.Store.PutMember(t.Context(), tn.ID, u.ID, models.MemberPatch{Role: &role}, models.TenantGuard{}, nil); err != nil {
		t.Fatalf("add member: %v", err)
	}
}

type checkAnswer struct {
	Allowed bool
	Rule    []string
	Via     string
}

// check asks POST /v1/authz/check as token, with tenant unless it is nil.
func (e *env) check(t *testing.T, token string, tenant any, resource, action string) checkAnswer {
	t.Helper()
	body := obj{"resource": resource, "action": action}
	if tenant != nil {
		body["tenant"] = tenant
	}
	r := e.do(t, http.MethodPost, "/v1/authz/check", token, body)
	wantStatus(t, r, http.StatusOK)
	var a checkAnswer
	r.decode(t, &a)
	if a.Allowed != (a.Via != "") || a.Allowed != (len(a.Rule) > 0) {
		t.Errorf("%s %s: got %s, want via and a rule exactly when allowed", resource, action, r.Body)
	}
	return a
}

// forwardAs asks GET /v1/authz/forward about method and uri as token.
func (e *env) forwardAs(t *testing.T, token, method, uri string) *response {
	t.Helper()
	req, err := e.newRequest(http.MethodGet, "/v1/authz/forward", token, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Original-Method", method)
	req.Header.Set("X-Original-URI", uri)
	return e.send(t, req, nil)
}

const shippedRoutes = "../../policy/routes.csv"

// routedEnv is a server of its own on e's kind of database, with the
// shipped route table, for the forward endpoint's tenant routes.
func routedEnv(t *testing.T, e *env) *env {
	t.Helper()
	return freshEnvWith(t, e, shippedPolicy, map[string]string{"ROLEGATE_POLICY_ROUTES": shippedRoutes})
}

var recordActions = []string{models.ActionList, models.ActionRead, models.ActionCreate, models.ActionUpdate, models.ActionDelete}

// customerRoutes are the shipped route table's customer routes inside
// tenant ref, one per method, each with the action it maps to.
func customerRoutes(ref string) [][3]string {
	base := "/api/t/" + ref + "/customers"
	return [][3]string{
		{http.MethodGet, base, "list"},
		{http.MethodPost, base, "create"},
		{http.MethodGet, base + "/9", "read"},
		{http.MethodPut, base + "/9", "update"},
		{http.MethodPatch, base + "/9", "update"},
		{http.MethodDelete, base + "/9", "delete"},
	}
}

// The seed's guest: a system user who is admin of the guest tenant only
// has full CRUD on records there, through the check API and through the
// forward endpoint, and nothing in any other tenant or system-wide.
func TestGuestThroughDecisionAPI(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		e = routedEnv(t, e)
		guestTenant, other := e.storeTenant(t), e.storeTenant(t)
		guest := e.newUser(t, roleUser)
		e.joinTenant(t, guestTenant, guest, "admin")

		for _, ref := range []any{guestTenant.Slug, strconv.FormatInt(guestTenant.ID, 10)} {
			for _, res := range []string{"customers", "suppliers", "records"} {
				for _, action := range recordActions {
					a := e.check(t, guest.Access, ref, res, action)
					if !a.Allowed || a.Via != models.ViaMembership || a.Rule[0] != "tenant:admin" {
						t.Errorf("guest, %s %s in their tenant %v: got %+v, want allowed via membership by a tenant:admin line", res, action, ref, a)
					}
				}
			}
		}
		for what, ref := range map[string]any{
			"another tenant": other.Slug, "another tenant by id": strconv.FormatInt(other.ID, 10),
			"an unknown tenant": "no-such-tenant", "an unknown id": "999999999",
		} {
			for _, action := range recordActions {
				if a := e.check(t, guest.Access, ref, "customers", action); a.Allowed {
					t.Errorf("guest, customers %s in %s: got %+v, want denied", action, what, a)
				}
			}
		}
		for _, q := range [][2]string{{"customers", "read"}, {"users", "list"}, {"admin_area", "read"}, {"staff_area", "read"}, {"tenants", "list"}, {"groups", "list"}, {"audit", "read"}} {
			if a := e.check(t, guest.Access, nil, q[0], q[1]); a.Allowed {
				t.Errorf("guest, %s %s system-wide: got %+v, want denied", q[0], q[1], a)
			}
			if a := e.check(t, guest.Access, guestTenant.Slug, q[0], q[1]); a.Allowed && q[0] != "customers" {
				t.Errorf("guest, %s %s with their tenant named: got %+v, want denied (a tenant role answers no system question)", q[0], q[1], a)
			}
		}

		for _, rt := range customerRoutes(guestTenant.Slug) {
			r := e.forwardAs(t, guest.Access, rt[0], rt[1])
			wantStatus(t, r, http.StatusOK)
			if r.Header.Get("X-Tenant-Id") != strconv.FormatInt(guestTenant.ID, 10) || r.Header.Get("X-Tenant-Role") != "admin" ||
				r.Header.Get("X-User-Id") != strconv.FormatInt(guest.ID, 10) {
				t.Errorf("forward %s %s: got X-Tenant-Id %q, X-Tenant-Role %q, X-User-Id %q; want %d, admin, %d", rt[0], rt[1],
					r.Header.Get("X-Tenant-Id"), r.Header.Get("X-Tenant-Role"), r.Header.Get("X-User-Id"), guestTenant.ID, guest.ID)
			}
		}
		for _, ref := range []string{other.Slug, "no-such-tenant", strconv.FormatInt(other.ID, 10)} {
			for _, rt := range customerRoutes(ref) {
				r := e.forwardAs(t, guest.Access, rt[0], rt[1])
				wantForbidden(t, r)
				if r.Header.Get("X-Tenant-Id") != "" {
					t.Errorf("forward %s %s, refused: got X-Tenant-Id %q, want none", rt[0], rt[1], r.Header.Get("X-Tenant-Id"))
				}
			}
		}
		for _, path := range []string{"/api/users", "/api/admin/x", "/api/staff/x"} {
			wantForbidden(t, e.forwardAs(t, guest.Access, http.MethodGet, path))
		}
		// Anonymous callers are sent to log in, tenant or not.
		wantStatus(t, e.forwardAs(t, "", http.MethodGet, "/api/t/"+guestTenant.Slug+"/customers"), http.StatusUnauthorized)

		// A route outside tenants says no tenant.
		r := e.forwardAs(t, guest.Access, http.MethodGet, "/api/dashboard/x")
		wantStatus(t, r, http.StatusOK)
		if v, ok := r.Header["X-Tenant-Id"]; !ok || len(v) != 1 || v[0] != "" {
			t.Errorf("forward outside tenants: got X-Tenant-Id %q, want it present and empty", v)
		}
	})
}

// Each tenant role's records row of the table through the check API, and
// batch checks across tenants in one request.
func TestTenantRolesThroughCheck(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		tn := e.storeTenant(t)
		want := map[string]map[string]bool{
			"owner":    {"list": true, "read": true, "create": true, "update": true, "delete": true},
			"admin":    {"list": true, "read": true, "create": true, "update": true, "delete": true},
			"manager":  {"list": true, "read": true, "create": true, "update": true, "delete": true},
			"user":     {"list": true, "read": true, "create": true},
			"readonly": {"list": true, "read": true},
		}
		for role, allowed := range want {
			u := e.newUser(t, roleUser)
			if role == "owner" {
				u = tn.Owner
				e.login(t, u)
			} else {
				e.joinTenant(t, tn, u, role)
			}
			checks := make([]obj, 0, len(recordActions)+1)
			for _, action := range recordActions {
				checks = append(checks, obj{"resource": "sales_orders", "action": action, "tenant": tn.Slug})
			}
			checks = append(checks, obj{"resource": "sales_orders", "action": "update", "tenant": tn.Slug, "owner_id": u.ID})
			r := e.do(t, http.MethodPost, "/v1/authz/check/batch", u.Access, obj{"checks": checks})
			wantStatus(t, r, http.StatusOK)
			var body struct{ Results []checkAnswer }
			r.decode(t, &body)
			for i, action := range recordActions {
				if body.Results[i].Allowed != allowed[action] {
					t.Errorf("tenant %s, sales_orders %s: got %+v, want allowed %v", role, action, body.Results[i], allowed[action])
				}
			}
			if own := body.Results[len(recordActions)]; own.Allowed != (role != "readonly") {
				t.Errorf("tenant %s, update of their own sales order: got %+v, want allowed %v", role, own, role != "readonly")
			}
		}
	})
}

// System roles in a tenant they do not belong to: the admin may do
// everything (via role), staff may read the tenant and list members only,
// and an inactive tenant refuses its members but not the system admin.
func TestSystemRolesAndInactiveTenants(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		e = routedEnv(t, e)
		tn := e.storeTenant(t)
		admin, staff := e.newUser(t, roleAdmin), e.newUser(t, roleStaff)
		for _, action := range recordActions {
			if a := e.check(t, admin.Access, tn.Slug, "customers", action); !a.Allowed || a.Via != models.ViaRole {
				t.Errorf("system admin, customers %s: got %+v, want allowed via role", action, a)
			}
			if a := e.check(t, staff.Access, tn.Slug, "customers", action); a.Allowed {
				t.Errorf("staff, customers %s: got %+v, want denied", action, a)
			}
		}
		if a := e.check(t, staff.Access, tn.Slug, "members", "list"); !a.Allowed || a.Via != models.ViaRole {
			t.Errorf("staff, members list: got %+v, want allowed via role", a)
		}
		member := e.newUser(t, roleUser)
		e.joinTenant(t, tn, member, "admin")
		inactive := false
		if _, err := e.srv.Store.UpdateTenant(t.Context(), tn.ID, models.TenantPatch{IsActive: &inactive}); err != nil {
			t.Fatal(err)
		}
		if a := e.check(t, member.Access, tn.Slug, "customers", "read"); a.Allowed {
			t.Errorf("member of an inactive tenant: got %+v, want denied", a)
		}
		r := e.forwardAs(t, member.Access, http.MethodGet, "/api/t/"+tn.Slug+"/customers")
		wantStatus(t, r, http.StatusForbidden)
		if code := r.object(t)["code"]; code != "tenant_inactive" {
			t.Errorf("forward for a member of an inactive tenant: got code %v, want tenant_inactive", code)
		}
		if a := e.check(t, admin.Access, tn.Slug, "customers", "delete"); !a.Allowed {
			t.Errorf("system admin in an inactive tenant: got %+v, want allowed", a)
		}
		wantStatus(t, e.forwardAs(t, admin.Access, http.MethodDelete, "/api/t/"+tn.Slug+"/customers/3"), http.StatusOK)
	})
}

func TestCheckTenantInput(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		u := e.newUser(t, roleUser)
		for what, body := range map[string]any{
			"empty":      obj{"resource": "customers", "action": "read", "tenant": ""},
			"too long":   obj{"resource": "customers", "action": "read", "tenant": strings.Repeat("a", 129)},
			"a number":   obj{"resource": "customers", "action": "read", "tenant": 5},
			"in a batch": obj{"checks": []obj{{"resource": "customers", "action": "read", "tenant": ""}}},
		} {
			t.Run(what, func(t *testing.T) {
				path := "/v1/authz/check"
				field := "tenant"
				if what == "in a batch" {
					path, field = path+"/batch", "checks[0].tenant"
				}
				wantFieldError(t, e.do(t, http.MethodPost, path, u.Access, body), field)
			})
		}
	})
}

func breakGlassPath(ref string) string { return "/v1/tenants/" + ref + "/access" }

// Break-glass: staff take read access to a tenant they are not in, which
// the check API and the forward endpoint then answer via break_glass, and
// which ends early on DELETE; the audit trail has both, in the tenant's
// own trail, with the reason.
func TestBreakGlass(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		e = routedEnv(t, e)
		tn := e.storeTenant(t)
		staff := e.newUser(t, roleStaff)
		if a := e.check(t, staff.Access, tn.Slug, "customers", "read"); a.Allowed {
			t.Fatalf("staff before break-glass: got %+v, want denied", a)
		}
		before := time.Now().Add(-time.Second)
		r := e.do(t, http.MethodPost, breakGlassPath(tn.Slug), staff.Access, obj{"reason": "ticket 42", "minutes": 30, "mode": "read"})
		wantStatus(t, r, http.StatusCreated)
		var g struct {
			ID                   int64
			Tenant               string
			TenantID             int64 `json:"tenant_id"`
			UserID               int64 `json:"user_id"`
			Mode, Reason         string
			CreatedAt, ExpiresAt time.Time
			EndedAt              *time.Time `json:"ended_at"`
		}
		r.decode(t, &g)
		if g.TenantID != tn.ID || g.Tenant != tn.Slug || g.UserID != staff.ID || g.Mode != "read" || g.Reason != "ticket 42" || g.EndedAt != nil {
			t.Errorf("grant: got %s, want read access for staff in %s", r.Body, tn.Slug)
		}
		if a := e.check(t, staff.Access, tn.Slug, "customers", "read"); !a.Allowed || a.Via != models.ViaBreakGlass {
			t.Errorf("staff under break-glass, customers read: got %+v, want allowed via break_glass", a)
		}
		if a := e.check(t, staff.Access, tn.Slug, "customers", "create"); a.Allowed {
			t.Errorf("staff under read break-glass, customers create: got %+v, want denied", a)
		}
		fwd := e.forwardAs(t, staff.Access, http.MethodGet, "/api/t/"+tn.Slug+"/customers/1")
		wantStatus(t, fwd, http.StatusOK)
		if fwd.Header.Get("X-Tenant-Id") != strconv.FormatInt(tn.ID, 10) || fwd.Header.Get("X-Tenant-Role") != "" {
			t.Errorf("forward under break-glass: got X-Tenant-Id %q, X-Tenant-Role %q; want %d and no role", fwd.Header.Get("X-Tenant-Id"), fwd.Header.Get("X-Tenant-Role"), tn.ID)
		}
		wantForbidden(t, e.forwardAs(t, staff.Access, http.MethodDelete, "/api/t/"+tn.Slug+"/customers/1"))

		wantStatus(t, e.do(t, http.MethodDelete, breakGlassPath(tn.Slug), staff.Access, nil), http.StatusNoContent)
		if a := e.check(t, staff.Access, tn.Slug, "customers", "read"); a.Allowed {
			t.Errorf("staff after ending break-glass: got %+v, want denied", a)
		}
		wantStatus(t, e.do(t, http.MethodDelete, breakGlassPath(tn.Slug), staff.Access, nil), http.StatusNotFound)

		// A grant ends by itself: one whose time is up answers no.
		r = e.do(t, http.MethodPost, breakGlassPath(tn.Slug), staff.Access, obj{"reason": "ticket 43", "minutes": 1, "mode": "read"})
		wantStatus(t, r, http.StatusCreated)
		if a := e.check(t, staff.Access, tn.Slug, "customers", "read"); !a.Allowed {
			t.Fatalf("second grant: got %+v, want allowed", a)
		}
		db, err := e.srv.Store.SQLDB()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(t.Context(), "UPDATE break_glass_grants SET expires_at = created_at WHERE user_id = "+strconv.FormatInt(staff.ID, 10)); err != nil {
			t.Fatal(err)
		}
		if a := e.check(t, staff.Access, tn.Slug, "customers", "read"); a.Allowed {
			t.Errorf("expired grant: got %+v, want denied", a)
		}
		wantStatus(t, e.do(t, http.MethodDelete, breakGlassPath(tn.Slug), staff.Access, nil), http.StatusNotFound)

		starts := e.waitAudit(t, models.AuditFilter{ActorID: staff.ID, Action: models.AuditBreakGlassStart, Limit: 10}, 2)[1:]
		ends := e.waitAudit(t, models.AuditFilter{ActorID: staff.ID, Action: models.AuditBreakGlassEnd, Limit: 10}, 1)
		for _, ev := range []models.AuditEvent{starts[0], ends[0]} {
			if ev.TenantID != tn.ID || ev.Detail["reason"] != "ticket 42" || ev.Detail["mode"] != "read" || ev.At.Before(before) {
				t.Errorf("%s event: got %+v, want tenant %d with the reason and mode", ev.Action, ev, tn.ID)
			}
		}
		inTrail := e.waitAudit(t, models.AuditFilter{TenantID: tn.ID, Action: models.AuditBreakGlassStart, Limit: 10}, 2)
		if inTrail[1].ID != starts[0].ID {
			t.Errorf("tenant's own trail: got %+v, want the start event", inTrail[0])
		}
		used := e.waitAudit(t, models.AuditFilter{ActorID: staff.ID, Action: models.AuditBreakGlassDecision, Limit: 10}, 3)
		for _, ev := range used {
			if ev.TenantID != tn.ID || ev.Detail["via"] != models.ViaBreakGlass {
				t.Errorf("decision under break-glass: got %+v, want tenant %d and via break_glass", ev, tn.ID)
			}
		}
	})
}

// Who may take break-glass, and what a bad request gets.
func TestBreakGlassRefusals(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		tn := e.storeTenant(t)
		staff, admin, plain := e.newUser(t, roleStaff), e.newUser(t, roleAdmin), e.newUser(t, roleUser)
		ok := obj{"reason": "incident 7", "minutes": 240, "mode": "write"}
		wantForbidden(t, e.do(t, http.MethodPost, breakGlassPath(tn.Slug), staff.Access, ok))
		// A system user cannot see a tenant they are not in: 404, as for
		// one that does not exist, and the same for its owner, whom no
		// line lets take break-glass.
		for _, ref := range []string{tn.Slug, "no-such-tenant"} {
			r := e.do(t, http.MethodPost, breakGlassPath(ref), plain.Access, ok)
			wantStatus(t, r, http.StatusNotFound)
			wantBody(t, r, obj{"detail": "Not found.", "code": "not_found"})
		}
		e.login(t, tn.Owner)
		wantForbidden(t, e.do(t, http.MethodPost, breakGlassPath(tn.Slug), tn.Owner.Access, obj{"reason": "x", "minutes": 1, "mode": "read"}))
		r := e.do(t, http.MethodPost, breakGlassPath(tn.Slug), admin.Access, ok)
		wantStatus(t, r, http.StatusCreated)
		if a := e.check(t, admin.Access, tn.Slug, "customers", "delete"); !a.Allowed || a.Via != models.ViaRole {
			t.Errorf("admin: got %+v, want allowed via their role, the first layer", a)
		}
		for field, body := range map[string]obj{
			"reason":  {"reason": strings.Repeat("x", 501), "minutes": 1, "mode": "read"},
			"minutes": {"reason": "x", "minutes": 241, "mode": "read"},
			"mode":    {"reason": "x", "minutes": 1, "mode": "admin"},
		} {
			wantFieldError(t, e.do(t, http.MethodPost, breakGlassPath(tn.Slug), staff.Access, body), field)
		}
		r = e.do(t, http.MethodPost, breakGlassPath(tn.Slug), staff.Access, obj{})
		wantStatus(t, r, http.StatusBadRequest)
		if got := fmt.Sprint(len(r.object(t))); got != "3" {
			t.Errorf("empty body: got %s, want three fields required", r.Body)
		}
		wantStatus(t, e.do(t, http.MethodDelete, breakGlassPath("no-such-tenant"), staff.Access, nil), http.StatusNotFound)
	})
}
