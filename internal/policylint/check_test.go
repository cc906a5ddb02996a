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
	export := withLine(t, &src, "p, admin, users, export, any")
	findings := policylint.Check(src, policylint.CheckOptions{})
	if len(findings) != 2 {
		t.Fatalf("got %v, want 2 warnings", findings)
	}
	for i, line := range []int{reports, export} {
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
