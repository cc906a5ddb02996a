// Package policy_test checks the shipped model.conf, policy.csv and
// routes.csv: that they load, that they give exactly the access table
// rolegate documents, that they pass their own test file, policy_test.csv,
// which covers that table, that the example routes map onto it, and that
// the files stay readable line by line.
package policy_test

import (
	"context"
	"os"
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
		expect[cellKey(c.Role, c.Resource, c.Action, c.Owner)] = c.Allow
	}
	labels := map[int64]string{caller: "self", other: "other", none: "none"}
	for _, c := range table() {
		key := cellKey(c.role, c.resource, c.action, labels[c.owner])
		got, ok := expect[key]
		switch {
		case !ok:
			t.Errorf("policy_test.csv has no case for %s", key)
		case got != c.want:
			t.Errorf("policy_test.csv, %s: got allow=%v, want %v", key, got, c.want)
		}
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
}

// TestPolicyFileIsOneGrantPerLine keeps the file readable: every rule names
// one role, one resource and one action, with no wildcard or pattern, and
// the file opens with a comment that explains the columns.
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
		if len(fields) != 5 || strings.TrimSpace(fields[0]) != "p" {
			t.Errorf("line %d: got %q, want p, role, resource, action, scope", i+1, l)
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
