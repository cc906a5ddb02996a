package authz_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/internal/authz"
	"github.com/rolegate/rolegate/models"
)

// layered is a small policy over the shipped model with one line of each
// kind of subject, so that each test can tell the layers apart.
const layered = `p, staff, users, list, any
p, group:support, users, read, any
p, group:audit, audit, read, any
g, group:seniors, group:support
p, tenant:owner, tenant, delete, any
p, tenant:owner, tenant_role:admin, grant, any
p, tenant:admin, tenant, update, any
p, tenant:admin, tenant_role:user, grant, any
p, tenant:user, records, update, own
p, tenant:reader, records, read, any
g, break_glass:read, tenant:reader
g, break_glass:write, tenant:admin
p, admin, tenant, delete, any
g2, customers, records
`

func layeredPolicy(t *testing.T) *authz.Policy {
	t.Helper()
	src := shipped(t)
	src.Policy = []byte(layered)
	return compile(t, src)
}

func inTenant(role, breakGlass string) *models.TenantContext {
	return &models.TenantContext{TenantID: 3, Role: role, BreakGlass: breakGlass}
}

// TestDecideAsksEachLayerInOrder checks that Decide asks the system role,
// then each group, then (only with a tenant) the tenant role and the
// break-glass grant, that the first allow decides, and that Via and Rule
// say which layer and line it was.
func TestDecideAsksEachLayerInOrder(t *testing.T) {
	p := layeredPolicy(t)
	cases := []struct {
		name     string
		sub      models.Subject
		resource string
		owner    int64
		action   string
		via      string // empty for a deny
		rule     string
	}{
		{"system role", models.Subject{ID: 1, Role: "staff"}, "users", 0, "list", models.ViaRole, "staff, users, list, any"},
		{"a group", models.Subject{ID: 1, Role: "user", Groups: []string{"support"}}, "users", 2, "read", models.ViaGroup, "group:support, users, read, any"},
		{"the second group", models.Subject{ID: 1, Role: "user", Groups: []string{"support", "audit"}}, "audit", 0, "read", models.ViaGroup, "group:audit, audit, read, any"},
		{"a group inheriting another", models.Subject{ID: 1, Role: "user", Groups: []string{"seniors"}}, "users", 2, "read", models.ViaGroup, "group:support, users, read, any"},
		{"no group", models.Subject{ID: 1, Role: "user"}, "users", 2, "read", "", ""},
		{"tenant role", models.Subject{ID: 1, Role: "user", Tenant: inTenant("owner", "")}, "tenant", 0, "delete", models.ViaMembership, "tenant:owner, tenant, delete, any"},
		{"tenant role through a resource group, own", models.Subject{ID: 4, Role: "user", Tenant: inTenant("user", "")}, "customers", 4, "update", models.ViaMembership, "tenant:user, records, update, own"},
		{"tenant role, someone else's", models.Subject{ID: 4, Role: "user", Tenant: inTenant("user", "")}, "customers", 5, "update", "", ""},
		{"break-glass read", models.Subject{ID: 1, Role: "staff", Tenant: inTenant("", "read")}, "customers", 0, "read", models.ViaBreakGlass, "tenant:reader, records, read, any"},
		{"break-glass write", models.Subject{ID: 1, Role: "staff", Tenant: inTenant("", "write")}, "tenant", 0, "update", models.ViaBreakGlass, "tenant:admin, tenant, update, any"},
		{"break-glass read cannot write", models.Subject{ID: 1, Role: "staff", Tenant: inTenant("", "read")}, "tenant", 0, "update", "", ""},
		{"the role decides before the membership", models.Subject{ID: 1, Role: "admin", Tenant: inTenant("owner", "")}, "tenant", 0, "delete", models.ViaRole, "admin, tenant, delete, any"},
		{"the membership before break-glass", models.Subject{ID: 1, Role: "staff", Tenant: inTenant("admin", "write")}, "tenant", 0, "update", models.ViaMembership, "tenant:admin, tenant, update, any"},
		{"a tenant role without a tenant is not asked", models.Subject{ID: 1, Role: "user"}, "tenant", 0, "delete", "", ""},
		{"a tenant role never answers a system question", models.Subject{ID: 1, Role: "user", Tenant: inTenant("owner", "write")}, "users", 0, "list", "", ""},
		{"a system role with a prefix is not a tenant role", models.Subject{ID: 1, Role: "tenant:owner", Tenant: inTenant("", "")}, "tenant", 0, "delete", "", ""},
		{"a group with a prefix is not a tenant role", models.Subject{ID: 1, Role: "user", Groups: []string{"tenant:owner", ""}, Tenant: inTenant("", "")}, "tenant", 0, "delete", "", ""},
		{"a tenant role with a prefix is not asked", models.Subject{ID: 1, Role: "user", Tenant: inTenant("tenant:owner", "")}, "tenant", 0, "delete", "", ""},
		{"an unknown break-glass mode", models.Subject{ID: 1, Role: "user", Tenant: inTenant("", "admin")}, "tenant", 0, "update", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for range 2 { // the second answer comes from the decision cache
				d, err := p.Decide(c.sub, models.Resource{Type: c.resource, OwnerID: c.owner}, c.action)
				if err != nil {
					t.Fatal(err)
				}
				if d.Allowed != (c.via != "") || d.Via != c.via || strings.Join(d.Rule, ", ") != c.rule {
					t.Fatalf("got allowed=%v via %q by %q, want via %q by %q", d.Allowed, d.Via, strings.Join(d.Rule, ", "), c.via, c.rule)
				}
			}
		})
	}
}

func TestLayerNames(t *testing.T) {
	p := layeredPolicy(t)
	if got, want := strings.Join(p.Roles(), ","), "admin,staff"; got != want {
		t.Errorf("Roles: got %s, want %s (system roles only)", got, want)
	}
	for _, name := range []string{"tenant:owner", "group:support", "break_glass:read", "owner", "support", "customers", "records"} {
		if p.HasRole(name) {
			t.Errorf("HasRole(%q): got true, want false", name)
		}
	}
	if got, want := strings.Join(p.TenantRoles(), ","), "admin,owner,reader,user"; got != want {
		t.Errorf("TenantRoles: got %s, want %s", got, want)
	}
	if !p.HasTenantRole("reader") || p.HasTenantRole("staff") || p.HasTenantRole("tenant:reader") {
		t.Error("HasTenantRole: got the wrong answers for reader, staff and tenant:reader")
	}
	if got, want := strings.Join(p.TenantGuard().Roles, ","), "owner"; got != want {
		t.Errorf("TenantGuard: got %s, want %s (the tenant roles that may delete the tenant)", got, want)
	}
	if !p.HasGroup("seniors") || p.HasGroup("group:support") || p.HasGroup("staff") {
		t.Error("HasGroup: got the wrong answers for seniors, group:support and staff")
	}
}

func TestTenantGuardProtectsActiveOwnersOnly(t *testing.T) {
	g := layeredPolicy(t).TenantGuard()
	for _, c := range []struct {
		role   string
		active bool
		want   bool
	}{{"owner", true, true}, {"owner", false, false}, {"admin", true, false}, {"", true, false}} {
		if got := g.Protects(c.role, c.active); got != c.want {
			t.Errorf("Protects(%q, %v): got %v, want %v", c.role, c.active, got, c.want)
		}
	}
}

func TestGroupsListTheirGrants(t *testing.T) {
	p := layeredPolicy(t)
	groups := p.Groups()
	var names []string
	for _, g := range groups {
		names = append(names, g.Name)
	}
	if got, want := strings.Join(names, ","), "audit,seniors,support"; got != want {
		t.Fatalf("Groups: got %s, want %s", got, want)
	}
	want := map[string][]authz.Grant{
		"audit":   {{Resource: "audit", Action: "read", Scope: "any", Rule: []string{"p", "group:audit", "audit", "read", "any"}, Line: 3}},
		"seniors": {{Resource: "users", Action: "read", Scope: "any", Rule: []string{"p", "group:support", "users", "read", "any"}, Line: 2}},
		"support": {{Resource: "users", Action: "read", Scope: "any", Rule: []string{"p", "group:support", "users", "read", "any"}, Line: 2}},
	}
	for _, g := range groups {
		if !slices.EqualFunc(g.Grants, want[g.Name], func(a, b authz.Grant) bool {
			return a.Resource == b.Resource && a.Action == b.Action && a.Scope == b.Scope && a.Line == b.Line && slices.Equal(a.Rule, b.Rule)
		}) {
			t.Errorf("group %s: got grants %+v, want %+v", g.Name, g.Grants, want[g.Name])
		}
	}
	groups[0].Grants[0].Rule[1] = "changed"
	if p.Groups()[0].Grants[0].Rule[1] != "group:audit" {
		t.Error("changing what Groups returned changed the policy")
	}
}

func TestGrantableTenantRoles(t *testing.T) {
	p := layeredPolicy(t)
	for _, c := range []struct {
		sub  models.Subject
		want string
	}{
		{models.Subject{ID: 1, Role: "user", Tenant: inTenant("owner", "")}, "admin"},
		{models.Subject{ID: 1, Role: "user", Tenant: inTenant("admin", "")}, "user"},
		{models.Subject{ID: 1, Role: "user", Tenant: inTenant("reader", "")}, ""},
		{models.Subject{ID: 1, Role: "staff", Tenant: inTenant("", "write")}, "user"},
		{models.Subject{ID: 1, Role: "user"}, ""},
	} {
		got, err := p.GrantableTenantRoles(c.sub)
		if err != nil || strings.Join(got, ",") != c.want {
			t.Errorf("GrantableTenantRoles(%+v): got %v, %v, want %q", c.sub.Tenant, got, err, c.want)
		}
	}
}

func TestSubjectOf(t *testing.T) {
	p := layeredPolicy(t)
	for _, c := range []struct {
		name, resource, action string
		owner                  int64
		via                    string
	}{
		{"staff", "users", "list", 0, models.ViaRole},
		{"group:support", "users", "read", 0, models.ViaGroup},
		{"tenant:user", "records", "update", 1, models.ViaMembership},
		{"break_glass:read", "customers", "read", 0, models.ViaBreakGlass},
	} {
		sub, ok := authz.SubjectOf(c.name, 1)
		if !ok {
			t.Fatalf("SubjectOf(%q): got false", c.name)
		}
		d, err := p.Decide(sub, models.Resource{Type: c.resource, OwnerID: c.owner}, c.action)
		if err != nil || !d.Allowed || d.Via != c.via {
			t.Errorf("SubjectOf(%q): decided %+v, %v, want allowed via %s", c.name, d, err, c.via)
		}
	}
	for _, name := range []string{"", "tenant:", "x:y", "group:a:b", "break_glass:admin"} {
		if _, ok := authz.SubjectOf(name, 1); ok {
			t.Errorf("SubjectOf(%q): got true, want false", name)
		}
	}
}

// TestSubjectPrefixesAreCheckedAtLoad: a subject with ":" must be one of
// the layers' prefixes, followed by a name without ":" (a group's, also
// without "/", which could not name it in a URL path); anything else is
// refused with its line, in grants and in g lines. Resources may hold ":".
func TestSubjectPrefixesAreCheckedAtLoad(t *testing.T) {
	src := shipped(t)
	src.Policy = []byte(strings.Join([]string{
		"p, tenant:owner, tenant, delete, any",       // 1 fine
		"p, role:admin, users, list, any",            // 2 unknown prefix
		"p, tenant:, users, list, any",               // 3 no name
		"p, group:a:b, users, list, any",             // 4 a name with ":"
		"p, break_glass:admin, users, list, any",     // 5 no such mode
		"g, staff, Tenant:owner",                     // 6 prefixes are lower case
		"g, break_glass:read, tenant:owner",          // 7 fine
		"p, admin, tenant_role:owner, grant, any",    // 8 fine: a resource
		"g2, tenant_role:owner, tenant_role:any",     // 9 fine: resources
		"p, :admin, users, list, any",                // 10 empty prefix
		"g, tenant:owner:x, admin",                   // 11 a name with ":"
		"p, group:support, users, list, any",         // 12 fine
		"p, break_glass:write, records, update, any", // 13 fine
		"p, group:sales/emea, users, list, any",      // 14 a group name with "/"
		"p, tenant:a/b, users, list, any",            // 15 fine: tenant roles are no URL segment
	}, "\n"))
	_, err := authz.Compile(src)
	wantLoadErrors(t, err, "policy.csv", map[int]string{
		2:  `subject "role:admin": a subject is a system role (a name without ":"), or tenant:<role>, group:<name>, break_glass:read or break_glass:write`,
		3:  `subject "tenant:": want tenant: followed by a name without ":"`,
		4:  `subject "group:a:b": want group: followed by a name without ":"`,
		5:  `subject "break_glass:admin": a break-glass grant is break_glass:read or break_glass:write`,
		6:  `subject "Tenant:owner"`,
		10: `subject ":admin"`,
		11: `subject "tenant:owner:x"`,
		14: `subject "group:sales/emea": a group name holds no "/"`,
	})
}

// TestExplainNamesTheLayer: a decision through a group, a membership or
// break-glass names the grant line and the subject it applied to.
func TestExplainNamesTheLayer(t *testing.T) {
	p := layeredPolicy(t)
	cases := []struct {
		sub              models.Subject
		resource, action string
		want             string
	}{
		{models.Subject{ID: 1, Role: "staff"}, "users", "list", "allow: p, staff, users, list, any (policy.csv:1)"},
		{models.Subject{ID: 1, Role: "user", Groups: []string{"seniors"}}, "users", "read", "allow: p, group:support, users, read, any (policy.csv:2) via group:seniors"},
		{models.Subject{ID: 1, Role: "user", Tenant: inTenant("owner", "")}, "tenant", "delete", "allow: p, tenant:owner, tenant, delete, any (policy.csv:5) via tenant:owner"},
		{models.Subject{ID: 1, Role: "staff", Tenant: inTenant("", "read")}, "customers", "read", "allow: p, tenant:reader, records, read, any (policy.csv:10) via break_glass:read"},
		{models.Subject{ID: 1, Role: "staff", Tenant: inTenant("owner", "read")}, "users", "delete", "deny: no rule matched"},
	}
	for _, c := range cases {
		v, err := p.Explain(c.sub, models.Resource{Type: c.resource}, c.action)
		if err != nil || v.String() != c.want {
			t.Errorf("Explain(%+v, %s, %s): got %q, %v, want %q", c.sub, c.resource, c.action, v.String(), err, c.want)
		}
	}
}

func TestCheckTenantCreatorRole(t *testing.T) {
	p := layeredPolicy(t)
	if err := p.CheckTenantCreatorRole("owner"); err != nil {
		t.Errorf("owner: got %v, want nil", err)
	}
	for role, want := range map[string]string{
		"admin":        `tenant role "admin" may not delete the tenant, so a tenant created with it would have no owner (owner-like roles: owner)`,
		"staff":        `"staff" is not a tenant role the policy defines (admin, owner, reader, user)`,
		"tenant:owner": `"tenant:owner" is not a tenant role the policy defines`,
	} {
		if err := p.CheckTenantCreatorRole(role); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want an error containing %q", role, err, want)
		}
	}
}
