// Package policy_test checks the shipped model.conf and policy.csv: that
// they load, that they give exactly the access table rolegate documents,
// and that the policy file stays readable line by line.
package policy_test

import (
	"os"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/internal/authz"
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
		add("users", "reset_password", owner, true, false, false)
	}
	add("admin_area", "read", none, true, false, false)
	add("staff_area", "read", none, false, true, false)
	add("user_area", "read", none, false, false, true)
	add("policy", "read", none, true, false, false)
	add("policy", "reload", none, true, false, false)
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
