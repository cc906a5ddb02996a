package authz_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/rolegate/rolegate/internal/authz"
	"github.com/rolegate/rolegate/models"
)

func shipped(t *testing.T) authz.Source {
	t.Helper()
	src, err := authz.ReadSource("../../policy/model.conf", "../../policy/policy.csv")
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func compile(t *testing.T, src authz.Source) *authz.Policy {
	t.Helper()
	p, err := authz.Compile(src)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return p
}

func decide(t *testing.T, p *authz.Policy, role string, id int64, resource string, owner int64, action string) bool {
	t.Helper()
	d, err := p.Decide(models.Subject{ID: id, Role: role}, models.Resource{Type: resource, OwnerID: owner}, action)
	if err != nil {
		t.Fatalf("decide: %v", err)
	}
	return d.Allowed
}

func TestOneAddedLineChangesTheDecision(t *testing.T) {
	src := shipped(t)
	if decide(t, compile(t, src), "staff", 1, "users", 2, "delete") {
		t.Fatal("shipped policy lets staff delete users")
	}
	src.Policy = append(src.Policy, []byte("p, staff, users, delete, any\n")...)
	p := compile(t, src)
	if !decide(t, p, "staff", 1, "users", 2, "delete") {
		t.Error("after adding the grant: got deny, want allow")
	}
	if got := p.AdminGuard().Roles; len(got) != 1 || got[0] != "admin" {
		t.Errorf("admin roles: got %v, want [admin]", got)
	}
}

func TestOwnScopeNeverMatchesWithoutIDs(t *testing.T) {
	p := compile(t, shipped(t))
	cases := []struct {
		name      string
		id, owner int64
		want      bool
	}{
		{"own account", 5, 5, true},
		{"someone else's", 5, 6, false},
		{"anonymous caller, ownerless target", 0, 0, false},
		{"caller with no target owner", 5, 0, false},
	}
	for _, c := range cases {
		if got := decide(t, p, "user", c.id, "users", c.owner, "read"); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}

func TestRoleInheritance(t *testing.T) {
	src := shipped(t)
	src.Policy = append(src.Policy, []byte("g, auditor, staff\n")...)
	p := compile(t, src)
	if !decide(t, p, "auditor", 1, "users", 0, "list") {
		t.Error("auditor inherits staff: got deny for users list, want allow")
	}
	if !p.HasRole("auditor") {
		t.Error("auditor: got undefined, want a defined role")
	}
}

func TestExplainNamesTheRuleThroughInheritance(t *testing.T) {
	src := shipped(t)
	src.Policy = append(src.Policy, "g, auditor, staff\n"...)
	v, err := compile(t, src).Explain(models.Subject{ID: 1, Role: "auditor"}, models.Resource{Type: models.ResourceUsers}, models.ActionList)
	if err != nil {
		t.Fatal(err)
	}
	line := slices.Index(strings.Split(string(src.Policy), "\n"), "p, staff, users, list, any") + 1
	want := fmt.Sprintf("allow: p, staff, users, list, any (policy.csv:%d)", line)
	if line == 0 || v.String() != want {
		t.Errorf("got %q, want %q", v.String(), want)
	}
}

func TestExplainADenyHasNoRule(t *testing.T) {
	v, err := compile(t, shipped(t)).Explain(models.Subject{ID: 1, Role: "staff"}, models.Resource{Type: models.ResourceUsers, OwnerID: 2}, models.ActionDelete)
	if err != nil {
		t.Fatal(err)
	}
	if want := "deny: no rule matched"; v.String() != want || v.Allowed || v.Line != 0 {
		t.Errorf("got %q (%+v), want %q", v.String(), v, want)
	}
}

func TestLoadErrorsNameFileAndLine(t *testing.T) {
	src := shipped(t)
	src.Policy = []byte(strings.Join([]string{
		"# comment",
		"p, admin, users, read, any",
		"p, admin, users, read",
		"",
		"x, admin, users, read, any",
		"p, admin, users, read, everywhere",
		`p, "admin, users, read, any`,
		"p, , users, read, any",
	}, "\n"))
	_, err := authz.Compile(src)
	var errs authz.LoadErrors
	if !errors.As(err, &errs) {
		t.Fatalf("got %v, want LoadErrors", err)
	}
	want := map[int]string{
		3: "has 3 fields",
		5: "unknown rule type",
		6: `scope is "everywhere"`,
		7: "cannot parse line",
		8: "is empty",
	}
	if len(errs) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(errs), len(want), err)
	}
	for _, e := range errs {
		if e.File != "policy.csv" || !strings.Contains(e.Reason, want[e.Line]) {
			t.Errorf("got %s, want policy.csv:%d with %q", e.Error(), e.Line, want[e.Line])
		}
	}
}

// A policy file may have Windows line endings and quoted fields, which
// may hold commas and lose the white space around their text. A byte
// order mark is not skipped and a trailing comma is one more, empty,
// field: each is refused at its line, like a quote followed by a space.
func TestPolicyFileLineSyntax(t *testing.T) {
	src := shipped(t)
	src.Policy = []byte("# grants\r\np, staff, users, delete, any\r\n\r\n  # indented\r\np, \" a,b \", users, read, any\r\n")
	p := compile(t, src)
	if !decide(t, p, "staff", 1, "users", 2, "delete") || !decide(t, p, "a,b", 1, "users", 2, "read") {
		t.Error("CRLF and quoted fields: got deny, want allow")
	}
	if got := p.RuleLines(); !slices.Equal(got, []int{2, 5}) {
		t.Errorf("rule lines: got %v, want [2 5]", got)
	}
	src.Policy = []byte("\ufeffp, staff, users, read, any\np, staff, users, read, any,\np, \"staff\" , users, read, any\n")
	_, err := authz.Compile(src)
	wantLoadErrors(t, err, "policy.csv", map[int]string{
		1: `unknown rule type "\ufeffp"`,
		2: "p rule has 5 fields",
		3: `cannot parse line: extraneous or missing " in quoted-field`,
	})
}

// wantLoadErrors checks that err is a LoadErrors of file with one error
// at each line of want, whose reason contains want's text.
func wantLoadErrors(t *testing.T, err error, file string, want map[int]string) {
	t.Helper()
	var errs authz.LoadErrors
	if !errors.As(err, &errs) {
		t.Fatalf("got %v, want LoadErrors", err)
	}
	for _, e := range errs {
		if e.File != file || want[e.Line] == "" || !strings.Contains(e.Reason, want[e.Line]) {
			t.Errorf("got %s, want %s:%d with %q", e.Error(), file, e.Line, want[e.Line])
		}
	}
	if len(errs) != len(want) {
		t.Errorf("got %d errors, want %d:\n%v", len(errs), len(want), err)
	}
}

func TestModelErrors(t *testing.T) {
	// at starts the line of the shipped model.conf that holds the faulty
	// definition; empty when the error is about the file as a whole.
	cases := map[string]struct {
		from, to, want, at string
	}{
		"unknown request attribute": {"r = sub, sub_id, obj, owner_id, act", "r = sub, tenant, obj, act", `"tenant" is not one rolegate supplies`, "r = "},
		"missing act":               {"r = sub, sub_id, obj, owner_id, act", "r= sub, obj", "must include sub, obj and act", "r = "},
		"matcher that cannot run":   {"r.act == p.act", "r.act == p.nosuch", "matcher cannot be evaluated", "m = "},
		"missing section":           {"[policy_effect]\ne = some(where (p.eft == allow))", "", "missing required sections", ""},
		"one-field role definition": {"g = _, _", "g= ,", "role definition g needs at least two fields", "g = "},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			src := shipped(t)
			line := 0
			if c.at != "" {
				line = slices.IndexFunc(strings.Split(string(src.Model), "\n"), func(l string) bool { return strings.HasPrefix(l, c.at) }) + 1
			}
			src.Model = []byte(strings.Replace(string(src.Model), c.from, c.to, 1))
			_, err := authz.Compile(src)
			var errs authz.LoadErrors
			if !errors.As(err, &errs) || len(errs) != 1 {
				t.Fatalf("got %v, want one LoadError", err)
			}
			if e := errs[0]; e.File != "model.conf" || e.Line != line || !strings.Contains(e.Reason, c.want) {
				t.Errorf("got %s, want model.conf:%d containing %q", e.Error(), line, c.want)
			}
		})
	}
}

func TestReducedModelStillWorks(t *testing.T) {
	// A security team may drop ownership entirely: plain RBAC.
	src := authz.Source{
		ModelFile:  "model.conf",
		PolicyFile: "policy.csv",
		Model: []byte("[request_definition]\nr = sub, obj, act\n[policy_definition]\np = sub, obj, act\n" +
			"[policy_effect]\ne = some(where (p.eft == allow))\n[matchers]\nm = r.sub == p.sub && r.obj == p.obj && r.act == p.act\n"),
		Policy: []byte("p, staff, users, delete\n"),
	}
	p := compile(t, src)
	if !decide(t, p, "staff", 1, "users", 2, "delete") || decide(t, p, "user", 1, "users", 1, "delete") {
		t.Error("plain RBAC model: got wrong decisions")
	}
}

func TestVersionIsContentHash(t *testing.T) {
	src := shipped(t)
	a, b := compile(t, src), compile(t, src)
	if a.Version() != b.Version() || len(a.Version()) != 64 {
		t.Errorf("same text: got versions %q and %q, want one sha256", a.Version(), b.Version())
	}
	src.Policy = append(src.Policy, '\n')
	if compile(t, src).Version() == a.Version() {
		t.Error("changed text: got the same version")
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := authz.Load(filepath.Join(t.TempDir(), "nope.conf"), "policy.csv")
	if err == nil || !strings.Contains(err.Error(), "nope.conf") {
		t.Errorf("got %v, want an error naming the missing file", err)
	}
}

// TestSwapUnderConcurrentDecisions checks that decisions made while
// policies are swapped always come from one whole policy.
func TestSwapUnderConcurrentDecisions(t *testing.T) {
	src := shipped(t)
	without := compile(t, src)
	src.Policy = append(src.Policy, []byte("p, staff, users, delete, any\n")...)
	with := compile(t, src)
	a := authz.NewAuthorizer(without)

	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 500 {
				p := a.Current()
				d, err := p.Decide(models.Subject{ID: 1, Role: "staff"}, models.Resource{Type: "users", OwnerID: 2}, "delete")
				if err != nil {
					t.Error(err)
					return
				}
				if d.Allowed != (d.PolicyVersion == with.Version()) {
					t.Errorf("decision %v from policy %s", d.Allowed, d.PolicyVersion)
					return
				}
			}
		})
	}
	for i := range 200 {
		if i%2 == 0 {
			a.Swap(with)
		} else {
			a.Swap(without)
		}
	}
	wg.Wait()
}

func TestRuleLinesFollowRules(t *testing.T) {
	src := shipped(t)
	src.Policy = []byte("# grants\n\np, admin, users, read, any\n  # indented comment\ng, auditor, admin\np, user, users, read, own\n")
	p := compile(t, src)
	rules, lines := p.Rules(), p.RuleLines()
	want := []int{3, 5, 6}
	if len(lines) != len(rules) || len(lines) != len(want) {
		t.Fatalf("got %d lines for %d rules, want %d", len(lines), len(rules), len(want))
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Errorf("rule %v: got line %d, want %d", rules[i], lines[i], want[i])
		}
	}
}

func TestMain(m *testing.M) {
	os.Exit(m.Run())
}

// TestWarmDecideAllocates checks that a decision the cache already holds
// costs at most one allocation, the copy of its rule: a warm Decide is on
// the path of every request. That holds for every layer, and for a deny
// after asking them all: the policy names of groups and tenant roles
// ("group:support") are only built when the cache misses.
func TestWarmDecideAllocates(t *testing.T) {
	src := shipped(t)
	src.Policy = append(src.Policy, "\np, group:support, users, read, any\ng2, customers, records\n"+
		"p, tenant:user, records, update, own\np, tenant:readonly, records, read, any\ng, break_glass:read, tenant:readonly\n"...)
	p := compile(t, src)
	member := &models.TenantContext{TenantID: 3, Role: "user"}
	breakGlass := &models.TenantContext{TenantID: 3, BreakGlass: "read"}
	for _, c := range []struct {
		sub    models.Subject
		res    models.Resource
		action string
		allow  bool
		max    float64
	}{
		{models.Subject{ID: 7, Role: "user"}, models.Resource{Type: "users", OwnerID: 7}, "read", true, 1},
		{models.Subject{ID: 7, Role: "user"}, models.Resource{Type: "users", OwnerID: 8}, "read", false, 0},
		{models.Subject{ID: 7, Role: "user", Groups: []string{"support"}}, models.Resource{Type: "users", OwnerID: 8}, "read", true, 1},
		{models.Subject{ID: 7, Role: "user", Groups: []string{"support"}, Tenant: member}, models.Resource{Type: "customers", OwnerID: 7}, "update", true, 1},
		{models.Subject{ID: 7, Role: "staff", Groups: []string{"support"}, Tenant: breakGlass}, models.Resource{Type: "customers", OwnerID: 8}, "read", true, 1},
		{models.Subject{ID: 7, Role: "user", Groups: []string{"support", "other"}, Tenant: member}, models.Resource{Type: "customers", OwnerID: 8}, "update", false, 0},
	} {
		d, err := p.Decide(c.sub, c.res, c.action)
		if err != nil || d.Allowed != c.allow {
			t.Fatalf("%+v %+v %s: got %v, %v, want allowed=%v", c.sub, c.res, c.action, d.Allowed, err, c.allow)
		}
		if got := testing.AllocsPerRun(200, func() { _, _ = p.Decide(c.sub, c.res, c.action) }); got > c.max {
			t.Errorf("%+v %+v %s: got %v allocations per warm Decide, want at most %v", c.sub, c.res, c.action, got, c.max)
		}
	}
	// A handler builds the tenant context per request: Decide keeps no
	// reference to it, so it stays on the caller's stack.
	perRequest := func() {
		role := "user"
		sub := models.Subject{ID: 7, Role: "user", Tenant: &models.TenantContext{TenantID: 3, Role: role}}
		if d, err := p.Decide(sub, models.Resource{Type: "customers", OwnerID: 7}, "update"); err != nil || !d.Allowed {
			t.Fatalf("tenant user, customers update own: got %v, %v, want allowed", d.Allowed, err)
		}
	}
	perRequest()
	if got := testing.AllocsPerRun(200, perRequest); got > 1 {
		t.Errorf("a tenant context built per call: got %v allocations per warm Decide, want at most 1 (the rule's copy)", got)
	}
}
