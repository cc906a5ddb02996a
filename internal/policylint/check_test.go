package policylint_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/internal/authz"
	"github.com/rolegate/rolegate/internal/policylint"
)

// shipped reads the shipped model, policy and tests.
func shipped(t *testing.T) authz.Source {
	t.Helper()
	src, err := authz.FileLoader{
		ModelFile:  "../../policy/model.conf",
		PolicyFile: "../../policy/policy.csv",
		TestsFile:  "../../policy/policy_test.csv",
	}.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// withLine appends line to the policy of src and returns its line number.
func withLine(t *testing.T, src *authz.Source, line string) int {
	t.Helper()
	if !strings.HasSuffix(string(src.Policy), "\n") {
		src.Policy = append(src.Policy, '\n')
	}
	src.Policy = append(src.Policy, line+"\n"...)
	return strings.Count(string(src.Policy), "\n")
}

// lineOf returns the 1-based line of text in data.
func lineOf(t *testing.T, data []byte, text string) int {
	t.Helper()
	for i, l := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(l) == text {
			return i + 1
		}
	}
	t.Fatalf("%q is not in the policy", text)
	return 0
}

// checkLines runs Check and returns its findings as strings.
func checkLines(t *testing.T, src authz.Source, opts policylint.CheckOptions) []string {
	t.Helper()
	var out []string
	for _, f := range policylint.Check(src, opts) {
		out = append(out, f.String())
	}
	return out
}

// wantFindings fails unless got is exactly want, in order.
func wantFindings(t *testing.T, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestCheckShippedFilesAreClean(t *testing.T) {
	wantFindings(t, checkLines(t, shipped(t), policylint.CheckOptions{DefaultRole: "user"}))
}

func TestCheckReportsSyntaxErrorsWithLines(t *testing.T) {
	src := shipped(t)
	bad := withLine(t, &src, "p, staff, users, delete")
	src.Tests = []byte("# tests\nallow, admin, users\n")
	wantFindings(t, checkLines(t, src, policylint.CheckOptions{}),
		fmt.Sprintf("policy.csv:%d: error: p rule has 3 fields, the model's p definition wants 4 (sub, obj, act, scope)", bad),
		"policy_test.csv:2: error: has 3 fields, want at least 5 (expect, role, resource, action, owner[, subject_id][, tenant=<role>, tenant=-, group=<name> or break_glass=read|write])",
	)
}

func TestCheckFindsDuplicates(t *testing.T) {
	src := shipped(t)
	dup := withLine(t, &src, "p, staff, users, list, any")
	first := lineOf(t, src.Policy, "p, staff, users, list, any")
	wantFindings(t, checkLines(t, src, policylint.CheckOptions{}),
		fmt.Sprintf("policy.csv:%d: error: duplicate rule: p, staff, users, list, any repeats line %d", dup, first))
}

func TestCheckFindsGrantsThatCanNeverMatch(t *testing.T) {
	src := shipped(t)
	anon := withLine(t, &src, "p, anonymous, users, read, own")
	area := withLine(t, &src, "p, staff, admin_area, read, own")
	list := withLine(t, &src, "p, user, users, list, own")
	create := withLine(t, &src, "p, staff, users, create, own")
	// Neither of these is dead: assign_role is asked with an owner too,
	// and a grant hidden behind a broader one still matches on its own.
	withLine(t, &src, "p, user, users, assign_role, own")
	withLine(t, &src, "p, admin, users, read, own")
	ownerless := func(line int, rule, question string) string {
		return fmt.Sprintf("policy.csv:%d: error: %s can never match: rolegate asks about %s only without an owner, so scope own never applies", line, rule, question)
	}
	wantFindings(t, checkLines(t, src, policylint.CheckOptions{}),
		fmt.Sprintf("policy.csv:%d: error: p, anonymous, users, read, own can never match: an anonymous caller has no id, so it owns nothing and scope own never applies", anon),
		ownerless(area, "p, staff, admin_area, read, own", "admin_area, read"),
		ownerless(list, "p, user, users, list, own", "users, list"),
		ownerless(create, "p, staff, users, create, own", "users, create"),
	)
}

func TestCheckFindsInheritanceCycles(t *testing.T) {
	src := shipped(t)
	withLine(t, &src, "g, auditor, staff")
	back := withLine(t, &src, "g, staff, auditor")
	self := withLine(t, &src, "g, user, user")
	wantFindings(t, checkLines(t, src, policylint.CheckOptions{}),
		fmt.Sprintf("policy.csv:%d: error: g rules form a cycle: auditor inherits staff inherits auditor", back),
		fmt.Sprintf("policy.csv:%d: error: g rules form a cycle: user inherits user", self),
	)
}

func TestCheckFindsInheritanceThatGivesNothing(t *testing.T) {
	src := shipped(t)
	typo := withLine(t, &src, "g, auditor, stafff")
	withLine(t, &src, "g, senior, auditor2")
	withLine(t, &src, "g, auditor2, staff") // auditor2 has staff's grants
	wantFindings(t, checkLines(t, src, policylint.CheckOptions{}),
		fmt.Sprintf(`policy.csv:%d: error: g, auditor, stafff can never match: role "stafff" has no grants, so auditor inherits nothing`, typo))
}

func TestCheckFindsUnknownRoles(t *testing.T) {
	src := shipped(t)
	src.Tests = []byte("allow, admin, users, list, none\ndeny, stafff, users, delete, other\ndeny, stafff, users, create, none\ndeny, anonymous, users, list, none\n")
	wantFindings(t, checkLines(t, src, policylint.CheckOptions{DefaultRole: "member"}),
		`policy.csv: error: the default role "member" (ROLEGATE_DEFAULT_ROLE) is not defined by the policy (admin, staff, user); rolegate will not start`,
		`policy_test.csv:2: error: role "stafff" is not defined by the policy (admin, staff, user)`,
	)
	src.Tests = nil
	wantFindings(t, checkLines(t, src, policylint.CheckOptions{DefaultRole: "anonymous"}),
		`policy.csv: error: the default role "anonymous" (ROLEGATE_DEFAULT_ROLE) is not defined by the policy (admin, staff, user); rolegate will not start`)
}

func TestCheckWarnsAboutQuestionsRolegateNeverAsks(t *testing.T) {
	src := shipped(t)
	reports := withLine(t, &src, "p, staff, reports, read, any")
	archive := withLine(t, &src, "p, admin, users, archive, any")
	findings := policylint.Check(src, policylint.CheckOptions{})
	if len(findings) != 2 {
		t.Fatalf("got %v, want 2 warnings", findings)
	}
	for i, line := range []int{reports, archive} {
		if f := findings[i]; f.Severity != policylint.Warning || f.Line != line || !strings.Contains(f.Message, "rolegate never asks about") {
			t.Errorf("got %s, want a warning at policy.csv:%d", f, line)
		}
	}
}

func TestCheckWorksOnAPlainRBACModel(t *testing.T) {
	src := authz.Source{
		ModelFile:  "model.conf",
		PolicyFile: "policy.csv",
		Model: []byte("[request_definition]\nr = sub, obj, act\n[policy_definition]\np = sub, obj, act\n" +
			"[policy_effect]\ne = some(where (p.eft == allow))\n[matchers]\nm = r.sub == p.sub && r.obj == p.obj && r.act == p.act\n"),
		Policy: []byte("p, staff, users, delete\np, staff, users, delete\np, staff, reports, read\n"),
	}
	wantFindings(t, checkLines(t, src, policylint.CheckOptions{DefaultRole: "staff"}),
		"policy.csv:2: error: duplicate rule: p, staff, users, delete repeats line 1",
		"policy.csv:3: warning: rolegate never asks about reports, read: only another service asking rolegate could use this grant",
	)
}

// TestCheckWarnsAboutTenantLayerGrantsOutsideTenants: a tenant role or a
// break-glass grant granted a question rolegate asks only outside tenants
// (users, tenants, groups, ...) never applies.
func TestCheckWarnsAboutTenantLayerGrantsOutsideTenants(t *testing.T) {
	src := shipped(t)
	users := withLine(t, &src, "p, tenant:admin, users, list, any")
	tenants := withLine(t, &src, "p, break_glass:write, tenants, break_glass_write, any")
	// Inside a tenant, or for a group (asked everywhere), these are fine.
	withLine(t, &src, "p, tenant:manager, tenant_audit, read, any")
	withLine(t, &src, "p, group:support, users, delete, any")
	wantFindings(t, checkLines(t, src, policylint.CheckOptions{}),
		fmt.Sprintf("policy.csv:%d: warning: p, tenant:admin, users, list, any never applies: rolegate asks about users, list only outside tenants, where tenant:admin counts for nothing", users),
		fmt.Sprintf("policy.csv:%d: warning: p, break_glass:write, tenants, break_glass_write, any never applies: rolegate asks about tenants, break_glass_write only outside tenants, where break_glass:write counts for nothing", tenants),
	)
}

// TestCheckWarnsAboutTenantRolesInheritingSystemRights: "g, tenant:admin,
// admin" is the name collision the layers are there to avoid.
func TestCheckWarnsAboutTenantRolesInheritingSystemRights(t *testing.T) {
	src := shipped(t)
	admin := withLine(t, &src, "g, tenant:admin, admin")
	group := withLine(t, &src, "g, break_glass:read, group:support")
	// A system role with a tenant role's rights, and break-glass holding a
	// tenant role, are how the layers are meant to meet.
	withLine(t, &src, "g, staff, tenant:readonly")
	wantFindings(t, checkLines(t, src, policylint.CheckOptions{}),
		fmt.Sprintf(`policy.csv:%d: warning: g, tenant:admin, admin mixes the layers: inside their tenant, holders of tenant:admin get every grant of admin, which is role "admin"`, admin),
		fmt.Sprintf(`policy.csv:%d: warning: g, break_glass:read, group:support mixes the layers: inside their tenant, holders of break_glass:read get every grant of group:support, which is group "support"`, group),
	)
}

// TestCheckWarnsAboutTenantRolesNobodyHolds: a grant on tenant_role:X for
// an X no line makes a tenant role is a typo or a role nobody can have.
func TestCheckWarnsAboutTenantRolesNobodyHolds(t *testing.T) {
	src := shipped(t)
	typo := withLine(t, &src, "p, tenant:owner, tenant_role:billng, grant, any")
	wantFindings(t, checkLines(t, src, policylint.CheckOptions{}),
		fmt.Sprintf(`policy.csv:%d: warning: p, tenant:owner, tenant_role:billng, grant, any names tenant role "billng", which nobody can hold: no line has the subject tenant:billng (tenant roles: admin, manager, owner, readonly, user)`, typo))
	// Adding the role (one grant line) is all a new tenant role takes.
	withLine(t, &src, "p, tenant:billng, tenant, read, any")
	wantFindings(t, checkLines(t, src, policylint.CheckOptions{}))
}

// TestCheckFindsLinksThatGiveNothing covers the layers and the resource
// groups: a group, a tenant role or a resource group with no grants.
func TestCheckFindsLinksThatGiveNothing(t *testing.T) {
	src := shipped(t)
	group := withLine(t, &src, "g, staff, group:helpdesk")
	tenantRole := withLine(t, &src, "g, break_glass:write, tenant:admn")
	resources := withLine(t, &src, "g2, invoices, recordz")
	wantFindings(t, checkLines(t, src, policylint.CheckOptions{}),
		fmt.Sprintf(`policy.csv:%d: error: g, staff, group:helpdesk can never match: group "helpdesk" has no grants, so staff inherits nothing`, group),
		fmt.Sprintf(`policy.csv:%d: error: g, break_glass:write, tenant:admn can never match: tenant role "admn" has no grants, so break_glass:write inherits nothing`, tenantRole),
		fmt.Sprintf(`policy.csv:%d: error: g2, invoices, recordz can never match: resource group "recordz" has no grants, so invoices gains nothing`, resources),
	)
}

func TestCheckFindsResourceGroupCycles(t *testing.T) {
	src := shipped(t)
	back := withLine(t, &src, "g2, records, customers")
	wantFindings(t, checkLines(t, src, policylint.CheckOptions{}),
		fmt.Sprintf("policy.csv:%d: error: g2 rules form a cycle: customers belongs to records belongs to customers", back))
}

// TestCheckFindsUnknownTenantRolesAndGroupsInTests: a test naming a tenant
// role or a group the policy lacks is decided as if the caller had none.
func TestCheckFindsUnknownTenantRolesAndGroupsInTests(t *testing.T) {
	src := shipped(t)
	src.Tests = []byte("allow, user, records, read, none, tenant=owner\ndeny, user, records, read, none, tenant=ownr\nallow, user, users, list, none, group=suport\ndeny, user, users, list, none, group=suport\ndeny, staff, records, read, none, tenant=-\n")
	wantFindings(t, checkLines(t, src, policylint.CheckOptions{}),
		`policy_test.csv:2: error: tenant role "ownr" is not defined by the policy (admin, manager, owner, readonly, user)`,
		`policy_test.csv:3: error: group "suport" is not defined by the policy (support)`,
	)
}

// TestCheckReportsUnknownSubjectPrefixes: a prefix the layers do not know
// is a load error, reported with its line like any other.
func TestCheckReportsUnknownSubjectPrefixes(t *testing.T) {
	src := shipped(t)
	bad := withLine(t, &src, "p, team:support, users, list, any")
	wantFindings(t, checkLines(t, src, policylint.CheckOptions{}),
		fmt.Sprintf(`policy.csv:%d: error: subject "team:support": a subject is a system role (a name without ":"), or tenant:<role>, group:<name>, break_glass:read or break_glass:write`, bad))
}

// TestCheckFindsTenantGrantsThatCanNeverMatch: scope own on a tenant
// question asked only without an owner.
func TestCheckFindsTenantGrantsThatCanNeverMatch(t *testing.T) {
	src := shipped(t)
	own := withLine(t, &src, "p, tenant:user, tenant, update, own")
	wantFindings(t, checkLines(t, src, policylint.CheckOptions{}),
		fmt.Sprintf("policy.csv:%d: error: p, tenant:user, tenant, update, own can never match: rolegate asks about tenant, update only without an owner, so scope own never applies", own))
}
