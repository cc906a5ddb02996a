// Package policy_test checks the shipped model.conf, policy.csv and
// routes.csv: that they load, that they give exactly the access tables
// rolegate documents (the system roles' and, inside a tenant, the tenant
// roles' of issue 12), that they pass their own test file,
// policy_test.csv, which covers both tables, that the example routes map
// onto them, and that the files stay readable line by line.
package policy_test

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/internal/authz"
	"github.com/rolegate/rolegate/internal/policytest"
	"github.com/rolegate/rolegate/models"
)

// Owner ids for the table: the caller is user 7. "own" cells target 7,
// "other" cells target 8, "none" cells have no owner (lists, areas).
const (
	caller = 7
	other  = 8
	none   = 0
)

type cell struct {
	role, resource, action string
	owner                  int64
	want                   bool
}

// table is the access table from the README, one entry per cell and
// ownership case.
func table() []cell {
	var cells []cell
	add := func(resource, action string, owner int64, admin, staff, user bool) {
		cells = append(cells,
			cell{"admin", resource, action, owner, admin},
			cell{"staff", resource, action, owner, staff},
			cell{"user", resource, action, owner, user},
			cell{models.AnonymousRole, resource, action, owner, false},
		)
	}
	add("users", "list", none, true, true, false)
	add("users", "read", other, true, true, false)
	add("users", "read", caller, true, true, true)
	add("users", "create", none, true, false, false)
	add("users", "update", other, true, false, false)
	add("users", "update", caller, true, true, true)
	for _, owner := range []int64{caller, other} {
		add("users", "delete", owner, true, false, false)
		add("users", "assign_role", owner, true, false, false)
		add("users", "rename", owner, true, false, false)
		add("users", "reset_password", owner, true, false, false)
	}
	add("admin_area", "read", none, true, false, false)
	add("staff_area", "read", none, false, true, false)
	add("user_area", "read", none, false, false, true)
	add("policy", "read", none, true, false, false)
	add("policy", "reload", none, true, false, false)
	add("authz", "check_others", none, true, false, false)
	add("audit", "read", none, true, false, false)
	return cells
}

func load(t *testing.T) *authz.Policy {
	t.Helper()
	p, err := authz.Load("model.conf", "policy.csv")
	if err != nil {
		t.Fatalf("load shipped policy: %v", err)
	}
	return p
}

func TestShippedPolicyGivesTheTable(t *testing.T) {
	p := load(t)
	for _, c := range table() {
		d, err := p.Decide(models.Subject{ID: caller, Role: c.role}, models.Resource{Type: c.resource, OwnerID: c.owner}, c.action)
		if err != nil {
			t.Fatalf("decide %+v: %v", c, err)
		}
		if d.Allowed != c.want {
			t.Errorf("%s %s %s owner=%d: got allowed=%v, want %v", c.role, c.resource, c.action, c.owner, d.Allowed, c.want)
		}
		if d.Allowed && len(d.Rule) == 0 {
			t.Errorf("%s %s %s: allowed without a rule", c.role, c.resource, c.action)
		}
	}
}

// TestShippedTestFile runs policy_test.csv through the same runner as
// "rolegate policy test", and checks that it covers every cell of the
// table with the same answer, so that the file security teams edit and the
// table stay one source of truth.
func TestShippedTestFile(t *testing.T) {
	data, err := os.ReadFile("policy_test.csv")
	if err != nil {
		t.Fatal(err)
	}
	cases, err := policytest.Parse("policy_test.csv", data)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range policytest.Run(load(t), cases) {
		t.Errorf("policy_test.csv:%d: %s", f.Case.Line, f.Reason())
	}
	expect := map[string]bool{}
	for _, c := range cases {
		if !c.InTenant && len(c.Groups) == 0 {
			expect[cellKey(c.Role, c.Resource, c.Action, c.Owner)] = c.Allow
		}
		if c.InTenant && c.Role == "user" && c.TenantRole != "" && c.BreakGlass == "" && len(c.Groups) == 0 {
			expect[cellKey("tenant="+c.TenantRole, c.Resource, c.Action, c.Owner)] = c.Allow
		}
	}
	labels := map[int64]string{caller: "self", other: "other", none: "none"}
	for _, c := range table() {
		wantCase(t, expect, cellKey(c.role, c.resource, c.action, labels[c.owner]), c.want)
	}
	for _, c := range tenantTable() {
		wantCase(t, expect, cellKey("tenant="+c.role, c.resource, c.action, c.owner), c.want)
	}
}

// wantCase checks that the test file has a case for key expecting want.
func wantCase(t *testing.T, expect map[string]bool, key string, want bool) {
	t.Helper()
	got, ok := expect[key]
	switch {
	case !ok:
		t.Errorf("policy_test.csv has no case for %s", key)
	case got != want:
		t.Errorf("policy_test.csv, %s: got allow=%v, want %v", key, got, want)
	}
}

func cellKey(role, resource, action, owner string) string {
	return strings.Join([]string{role, resource, action, owner}, ", ")
}

func TestShippedPolicyRoles(t *testing.T) {
	p := load(t)
	if got, want := strings.Join(p.Roles(), ","), "admin,staff,user"; got != want {
		t.Errorf("roles: got %s, want %s", got, want)
	}
	if got, want := strings.Join(p.AdminGuard().Roles, ","), "admin"; got != want {
		t.Errorf("roles that can assign roles: got %s, want %s", got, want)
	}
	if got, want := strings.Join(p.TenantRoles(), ","), "admin,manager,owner,readonly,user"; got != want {
		t.Errorf("tenant roles: got %s, want %s", got, want)
	}
	if got, want := strings.Join(p.TenantGuard().Roles, ","), "owner"; got != want {
		t.Errorf("owner-like tenant roles (tenant, delete): got %s, want %s", got, want)
	}
	var groups []string
	for _, g := range p.Groups() {
		groups = append(groups, g.Name)
	}
	if got, want := strings.Join(groups, ","), "support"; got != want {
		t.Errorf("groups: got %s, want %s", got, want)
	}
}

// The tenant roles of issue 12's table, in its column order.
var tenantRoles = []string{"owner", "admin", "manager", "user", "readonly"}

// tenantCell is one cell of issue 12's table: what a member whose tenant
// role is role may do inside their tenant. owner is "none", "self" or
// "other", as in policy_test.csv.
type tenantCell struct {
	role, resource, action, owner string
	want                          bool
}

// tenantTable is issue 12's table, one entry per cell and ownership case
// ("members, invite / add / change role / remove" is grant on each tenant
// role), plus the tenant's own audit trail, which owners and admins read.
func tenantTable() []tenantCell {
	var cells []tenantCell
	add := func(resource, action, owner string, allowed ...string) {
		for _, role := range tenantRoles {
			cells = append(cells, tenantCell{role, resource, action, owner, slices.Contains(allowed, role)})
		}
	}
	all := tenantRoles
	add("tenant", "read", "none", all...)
	add("tenant", "update", "none", "owner", "admin")
	add("tenant", "delete", "none", "owner")
	add("members", "list", "none", all...)
	add(models.TenantRoleResource("owner"), "grant", "none", "owner")
	add(models.TenantRoleResource("admin"), "grant", "none", "owner", "admin")
	add(models.TenantRoleResource("manager"), "grant", "none", "owner", "admin")
	add(models.TenantRoleResource("user"), "grant", "none", "owner", "admin", "manager")
	add(models.TenantRoleResource("readonly"), "grant", "none", "owner", "admin", "manager")
	add("records", "list", "none", all...)
	add("records", "read", "other", all...)
	add("records", "create", "none", "owner", "admin", "manager", "user")
	for _, action := range []string{"update", "delete"} {
		add("records", action, "other", "owner", "admin", "manager")
		add("records", action, "self", "owner", "admin", "manager", "user")
	}
	add("tenant_audit", "read", "none", "owner", "admin")
	return cells
}

var ownerIDs = map[string]int64{"none": none, "self": caller, "other": other}

// member is a system user whose role in tenant 1 is role.
func member(role string) models.Subject {
	return models.Subject{ID: caller, Role: "user", Tenant: &models.TenantContext{TenantID: 1, Role: role}}
}

// TestShippedPolicyGivesTheTenantTable decides every cell of issue 12's
// table with the shipped policy: allowed cells through the membership, and
// the same cells for every record resource of the group.
func TestShippedPolicyGivesTheTenantTable(t *testing.T) {
	p := load(t)
	for _, c := range tenantTable() {
		resources := []string{c.resource}
		if c.resource == models.ResourceRecords {
			resources = append(resources, "customers", "suppliers", "contacts", "sales_orders")
		}
		for _, resource := range resources {
			d, err := p.Decide(member(c.role), models.Resource{Type: resource, OwnerID: ownerIDs[c.owner]}, c.action)
			if err != nil {
				t.Fatalf("decide %+v: %v", c, err)
			}
			if d.Allowed != c.want {
				t.Errorf("tenant %s: %s, %s, owner %s: got allowed=%v, want %v", c.role, resource, c.action, c.owner, d.Allowed, c.want)
			}
			if d.Allowed && (d.Via != models.ViaMembership || len(d.Rule) == 0 || d.Rule[0] != "tenant:"+c.role) {
				t.Errorf("tenant %s: %s, %s: got via %q by %v, want via membership by a tenant:%s line", c.role, resource, c.action, d.Via, d.Rule, c.role)
			}
		}
	}
}

// TestTheTwoLayersDoNotMix checks the name collisions of issue 12 both
// ways: a tenant admin or owner gets no system right (asked inside their
// tenant, and so with their tenant role, or not), the system staff get no
// tenant right beyond reading, the system admin's tenant rights are its
// own lines, and the system user and the tenant user share nothing.
func TestTheTwoLayersDoNotMix(t *testing.T) {
	p := load(t)
	outside := func(role string) models.Subject {
		return models.Subject{ID: caller, Role: role, Tenant: &models.TenantContext{TenantID: 1}}
	}
	systemQuestions := func() []models.Question {
		var out []models.Question
		for _, q := range models.Questions() {
			if !q.InTenant {
				out = append(out, q)
			}
		}
		return out
	}
	for _, role := range tenantRoles {
		for _, q := range systemQuestions() {
			for _, owner := range []int64{none, caller, other} {
				// The caller's system role is user; what a system user may do
				// anyway (their own account, the user area) is not the tenant
				// role's doing.
				d, err := p.Decide(member(role), models.Resource{Type: q.Resource, OwnerID: owner}, q.Action)
				if err != nil {
					t.Fatal(err)
				}
				if d.Allowed && d.Via != models.ViaRole {
					t.Errorf("tenant %s: %s, %s, owner %d: got allowed via %s by %v, want no system right from a tenant role", role, q.Resource, q.Action, owner, d.Via, d.Rule)
				}
			}
		}
	}
	staffMay := map[string]bool{"tenant/read": true, "members/list": true}
	asked := map[string]bool{}
	for _, c := range tenantTable() {
		key := cellKey("", c.resource, c.action, c.owner)
		if asked[key] {
			continue // the same question, already asked for another tenant role
		}
		asked[key] = true
		d, err := p.Decide(outside("staff"), models.Resource{Type: c.resource, OwnerID: ownerIDs[c.owner]}, c.action)
		if err != nil {
			t.Fatal(err)
		}
		if want := staffMay[c.resource+"/"+c.action]; d.Allowed != want {
			t.Errorf("staff, not a member: %s, %s: got allowed=%v, want %v", c.resource, c.action, d.Allowed, want)
		}
		d, err = p.Decide(outside("admin"), models.Resource{Type: c.resource, OwnerID: ownerIDs[c.owner]}, c.action)
		if err != nil || !d.Allowed || d.Via != models.ViaRole || d.Rule[0] != "admin" {
			t.Errorf("admin, not a member: %s, %s: got %+v, %v, want allowed by an admin line", c.resource, c.action, d, err)
		}
		d, err = p.Decide(outside("user"), models.Resource{Type: c.resource, OwnerID: ownerIDs[c.owner]}, c.action)
		if err != nil || d.Allowed {
			t.Errorf("system user, not a member: %s, %s: got %+v, %v, want a deny", c.resource, c.action, d, err)
		}
	}
	// A tenant user who is system staff gets none of the system user's
	// rights: the user area is the system user's.
	for _, role := range tenantRoles {
		sub := member(role)
		sub.Role = "staff"
		if d, err := p.Decide(sub, models.Resource{Type: models.ResourceUserArea}, models.ActionRead); err != nil || d.Allowed {
			t.Errorf("staff who is tenant %s: user_area, read: got %+v, %v, want a deny", role, d, err)
		}
	}
}

// TestSystemRolesCannotBeTenantRoles checks that a users.role holding a
// prefix, which the API refuses to assign, could not borrow another
// layer's grants anyway: Decide asks no name with ":" in it.
func TestSystemRolesCannotBeTenantRoles(t *testing.T) {
	p := load(t)
	for _, role := range []string{"tenant:owner", "group:support", "break_glass:write"} {
		if p.HasRole(role) {
			t.Errorf("HasRole(%q): got true, want false", role)
		}
		for _, res := range []string{models.ResourceTenant, models.ResourceUsers, models.ResourceRecords} {
			d, err := p.Decide(models.Subject{ID: caller, Role: role, Tenant: &models.TenantContext{TenantID: 1}}, models.Resource{Type: res}, models.ActionList)
			if err != nil || d.Allowed {
				t.Errorf("system role %q: %s, list: got %+v, %v, want a deny", role, res, d, err)
			}
		}
	}
}

// TestBreakGlassAndGroupsSayHowTheyDecided checks Decision.Via for the
// layers besides the role: the seed's support group and break-glass.
func TestBreakGlassAndGroupsSayHowTheyDecided(t *testing.T) {
	p := load(t)
	cases := []struct {
		sub      models.Subject
		resource string
		action   string
		via      string
	}{
		{models.Subject{ID: caller, Role: "user", Groups: []string{"support"}}, models.ResourceUsers, models.ActionList, models.ViaGroup},
		{models.Subject{ID: caller, Role: "staff", Tenant: &models.TenantContext{TenantID: 1, BreakGlass: "read"}}, "customers", models.ActionRead, models.ViaBreakGlass},
		{models.Subject{ID: caller, Role: "staff", Tenant: &models.TenantContext{TenantID: 1, BreakGlass: "write"}}, models.ResourceTenant, models.ActionUpdate, models.ViaBreakGlass},
		// The first layer that allows decides: staff read the tenant as staff.
		{models.Subject{ID: caller, Role: "staff", Tenant: &models.TenantContext{TenantID: 1, Role: "owner", BreakGlass: "read"}}, models.ResourceTenant, models.ActionRead, models.ViaRole},
		{models.Subject{ID: caller, Role: "user", Groups: []string{"support"}, Tenant: &models.TenantContext{TenantID: 1, Role: "readonly"}}, models.ResourceTenant, models.ActionRead, models.ViaGroup},
	}
	for _, c := range cases {
		d, err := p.Decide(c.sub, models.Resource{Type: c.resource, OwnerID: other}, c.action)
		if err != nil || !d.Allowed || d.Via != c.via {
			t.Errorf("%+v %s, %s: got %+v, %v, want allowed via %s", c.sub, c.resource, c.action, d, err, c.via)
		}
	}
}

// TestPolicyFileIsOneGrantPerLine keeps the file readable: every grant
// names one subject, one resource and one action, every g and g2 line two
// names, with no wildcard or pattern, and the file opens with a comment
// that explains the columns.
func TestPolicyFileIsOneGrantPerLine(t *testing.T) {
	data, err := os.ReadFile("policy.csv")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	if !strings.HasPrefix(lines[0], "#") || !strings.Contains(string(data), "Columns:") {
		t.Errorf("policy.csv must start with a comment that explains the columns")
	}
	seen := map[string]bool{}
	for i, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		fields := strings.Split(l, ",")
		kind := strings.TrimSpace(fields[0])
		if !(len(fields) == 5 && kind == "p") && !(len(fields) == 3 && (kind == "g" || kind == "g2")) {
			t.Errorf("line %d: got %q, want p, subject, resource, action, scope or g[2], name, name", i+1, l)
			continue
		}
		if strings.ContainsAny(l, "*()|") {
			t.Errorf("line %d: %q has a wildcard or pattern", i+1, l)
		}
		if seen[l] {
			t.Errorf("line %d: duplicate rule %q", i+1, l)
		}
		seen[l] = true
	}
}

// TestShippedRoutesMapOntoThePolicy checks routes.csv the way a proxy uses
// it: each request is routed, then decided by the shipped policy.
func TestShippedRoutesMapOntoThePolicy(t *testing.T) {
	src, err := authz.FileLoader{ModelFile: "model.conf", PolicyFile: "policy.csv", RoutesFile: "routes.csv"}.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	p, err := authz.Compile(src)
	if err != nil {
		t.Fatalf("compile the shipped policy with its routes: %v", err)
	}
	cases := []struct {
		method, path       string
		admin, staff, user bool // for the caller, user 7
	}{
		{"GET", "/api/users", true, true, false},
		{"GET", "/api/users/7", true, true, true},
		{"GET", "/api/users/8", true, true, false},
		{"PATCH", "/api/users/7", true, true, true},
		{"PUT", "/api/users/8", true, false, false},
		{"DELETE", "/api/users/8", true, false, false},
		{"PUT", "/api/users/7/role", true, false, false},
		{"POST", "/api/users/8/password", true, false, false},
		{"POST", "/api/users", true, false, false},
		{"GET", "/api/admin/reports?year=2026", true, false, false},
		{"DELETE", "/api/admin", true, false, false},
		{"GET", "/api/staff/rota", false, true, false},
		{"GET", "/api/dashboard", false, false, true},
	}
	for _, c := range cases {
		target, err := p.Route(c.method, c.path)
		if err != nil {
			t.Errorf("%s %s: got %v, want a route", c.method, c.path, err)
			continue
		}
		for role, want := range map[string]bool{"admin": c.admin, "staff": c.staff, "user": c.user, models.AnonymousRole: false} {
			d, err := p.Decide(models.Subject{ID: caller, Role: role}, target.Resource, target.Action)
			if err != nil || d.Allowed != want {
				t.Errorf("%s %s as %s: got allowed=%v (%v), want %v", c.method, c.path, role, d.Allowed, err, want)
			}
		}
	}
	if _, err := p.Route("GET", "/api/other"); err == nil {
		t.Error("GET /api/other: got a route, want none")
	}
	tenantCases := []struct {
		method, path string
		allowed      []string // the tenant roles allowed, for a system user
	}{
		{"GET", "/api/t/guest/customers", tenantRoles},
		{"POST", "/api/t/guest/customers", []string{"owner", "admin", "manager", "user"}},
		{"GET", "/api/t/guest/customers/12", tenantRoles},
		{"PATCH", "/api/t/guest/customers/12", []string{"owner", "admin", "manager"}},
		{"DELETE", "/api/t/guest/customers/12", []string{"owner", "admin", "manager"}},
	}
	for _, c := range tenantCases {
		target, err := p.Route(c.method, c.path)
		if err != nil || target.Tenant != "guest" {
			t.Errorf("%s %s: got %+v, %v, want a route in tenant guest", c.method, c.path, target, err)
			continue
		}
		for _, role := range tenantRoles {
			d, err := p.Decide(member(role), target.Resource, target.Action)
			if want := slices.Contains(c.allowed, role); err != nil || d.Allowed != want {
				t.Errorf("%s %s as tenant %s: got allowed=%v (%v), want %v", c.method, c.path, role, d.Allowed, err, want)
			}
		}
		d, err := p.Decide(models.Subject{ID: caller, Role: "user", Tenant: &models.TenantContext{TenantID: 1}}, target.Resource, target.Action)
		if err != nil || d.Allowed {
			t.Errorf("%s %s as a system user who is not a member: got allowed=%v (%v), want a deny", c.method, c.path, d.Allowed, err)
		}
	}
}

func TestRoutesFileExplainsItsColumns(t *testing.T) {
	data, err := os.ReadFile("routes.csv")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(data), "#") || !strings.Contains(string(data), "Columns:") {
		t.Errorf("routes.csv must start with a comment that explains the columns")
	}
}
