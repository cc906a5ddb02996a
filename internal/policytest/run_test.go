package policytest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/internal/authz"
	"github.com/rolegate/rolegate/internal/policytest"
)

// wrongGrant is a line that must not be in the default policy: the shipped
// tests say staff may not delete users.
const wrongGrant = "p, staff, users, delete, any"

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
	if len(src.Tests) == 0 {
		t.Fatal("policy_test.csv is missing or empty")
	}
	return src
}

// withLine appends line to the policy of src and returns its line number.
func withLine(t *testing.T, src *authz.Source, line string) int {
	t.Helper()
	if !bytes.HasSuffix(src.Policy, []byte("\n")) {
		src.Policy = append(src.Policy, '\n')
	}
	src.Policy = append(src.Policy, line+"\n"...)
	return bytes.Count(src.Policy, []byte("\n"))
}

func compile(t *testing.T, src authz.Source) *authz.Policy {
	t.Helper()
	p, err := authz.Compile(src)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return p
}

func parse(t *testing.T, src authz.Source) []policytest.Case {
	t.Helper()
	cases, err := policytest.Parse("policy_test.csv", src.Tests)
	if err != nil {
		t.Fatal(err)
	}
	return cases
}

func TestShippedTestsPass(t *testing.T) {
	src := shipped(t)
	for _, f := range policytest.Run(compile(t, src), parse(t, src)) {
		t.Errorf("policy_test.csv:%d: %s", f.Case.Line, f.Reason())
	}
}

func TestWrongGrantFailsNamingTheRuleAndItsLine(t *testing.T) {
	src := shipped(t)
	line := withLine(t, &src, wrongGrant)
	failures := policytest.Run(compile(t, src), parse(t, src))
	// Staff deleting someone else and staff deleting themselves.
	if len(failures) != 2 {
		t.Fatalf("got %d failures, want 2: %v", len(failures), failures)
	}
	want := fmt.Sprintf("expected deny, got allow by %s (policy.csv:%d)", wrongGrant, line)
	for _, f := range failures {
		if f.Case.Role != "staff" || f.Case.Action != "delete" || f.Case.Line == 0 {
			t.Errorf("got a failure for %s at line %d, want staff, users, delete", f.Case, f.Case.Line)
		}
		if f.Got.Line != line || !strings.Contains(f.Reason(), want) {
			t.Errorf("got %q, want it to contain %q", f.Reason(), want)
		}
	}
}

func TestMissingGrantFailsWithNoRuleMatched(t *testing.T) {
	src := shipped(t)
	src.Policy = bytes.Replace(src.Policy, []byte("p, user, user_area, read, any"), nil, 1)
	failures := policytest.Run(compile(t, src), parse(t, src))
	if len(failures) != 1 {
		t.Fatalf("got %d failures, want 1: %v", len(failures), failures)
	}
	want := "user, user_area, read, none: expected allow, got deny: no rule matched"
	if got := failures[0].Reason(); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestTesterRefusesAPolicyWhoseTestsFail(t *testing.T) {
	src := shipped(t)
	if err := policytest.Tester(compile(t, src), src); err != nil {
		t.Fatalf("shipped policy: got %v, want nil", err)
	}
	line := withLine(t, &src, wrongGrant)
	err := policytest.Tester(compile(t, src), src)
	var errs authz.LoadErrors
	if !errors.As(err, &errs) || len(errs) != 3 {
		t.Fatalf("got %v, want LoadErrors with 3 entries: two failing cases and what to do", err)
	}
	for _, e := range errs[:2] {
		rule := fmt.Sprintf("%s (policy.csv:%d)", wrongGrant, line)
		if e.File != "policy_test.csv" || e.Line == 0 || !strings.Contains(e.Reason, "expected deny, got allow") || !strings.Contains(e.Reason, rule) {
			t.Errorf("got %s, want policy_test.csv:LINE naming %s", e.Error(), rule)
		}
	}
	// The last says which lines of the test file to change, if the grant
	// is intended: those of staff deleting a user, which expect deny.
	staffDelete := casesLines(t, src, "deny", "staff", "users", "delete")
	if len(staffDelete) != 2 {
		t.Fatalf("shipped tests: got staff delete cases at lines %v, want 2", staffDelete)
	}
	want := fmt.Sprintf("update policy_test.csv:%d and :%d, which expect deny", staffDelete[0], staffDelete[1])
	if last := errs[2]; last.File != "policy_test.csv" || last.Line != 0 || !strings.HasSuffix(last.Reason, want) {
		t.Errorf("got %s, want policy_test.csv (no line) ending %q", last.Error(), want)
	}
}

// casesLines returns the lines of the test cases of src that expect
// expect for role, resource and action.
func casesLines(t *testing.T, src authz.Source, expect, role, resource, action string) []int {
	t.Helper()
	var lines []int
	for _, c := range parse(t, src) {
		if (c.Allow == (expect == "allow")) && c.Role == role && c.Resource == resource && c.Action == action {
			lines = append(lines, c.Line)
		}
	}
	return lines
}

// TestAdvice names the lines to update, grouped by what they expect, in
// the order the failures came.
func TestAdvice(t *testing.T) {
	fail := func(line int, allow bool) policytest.Failure {
		return policytest.Failure{Case: policytest.Case{Line: line, Allow: allow}}
	}
	broken := policytest.Failure{Case: policytest.Case{Line: 9}, Err: errors.New("no such function")}
	cases := []struct {
		failures []policytest.Failure
		want     string
	}{
		{nil, ""},
		{[]policytest.Failure{broken}, ""},
		{[]policytest.Failure{fail(61, false)}, "update t.csv:61, which expects deny"},
		{[]policytest.Failure{fail(61, false), fail(65, false)}, "update t.csv:61 and :65, which expect deny"},
		{[]policytest.Failure{fail(3, true), fail(4, true), fail(7, true)}, "update t.csv:3, :4 and :7, which expect allow"},
		{[]policytest.Failure{fail(61, false), broken, fail(70, true), fail(65, false)},
			"update t.csv:61 and :65, which expect deny, and :70, which expects allow"},
	}
	for _, c := range cases {
		if got := policytest.Advice("t.csv", c.failures); got != c.want {
			t.Errorf("Advice(%v): got %q, want %q", c.failures, got, c.want)
		}
	}
}

func TestTesterWithoutTestsPasses(t *testing.T) {
	src := shipped(t)
	p := compile(t, src)
	for _, tests := range [][]byte{nil, []byte(""), []byte(" \n\n")} {
		src.Tests = tests
		if err := policytest.Tester(p, src); err != nil {
			t.Errorf("tests %q: got %v, want nil", tests, err)
		}
	}
}

func TestTesterReportsABadTestFile(t *testing.T) {
	src := shipped(t)
	src.TestsFile = "/etc/rolegate/my_tests.csv"
	src.Tests = []byte("# cases\nallow, admin, users, list\n")
	err := policytest.Tester(compile(t, src), src)
	var errs authz.LoadErrors
	if !errors.As(err, &errs) || len(errs) != 1 || errs[0].File != "my_tests.csv" || errs[0].Line != 2 {
		t.Errorf("got %v, want one LoadError at my_tests.csv:2", err)
	}
}

// TestManagerRefusesAPolicyWhoseTestsFail plugs Tester into authz.Manager
// as the reload path does.
func TestManagerRefusesAPolicyWhoseTestsFail(t *testing.T) {
	src := shipped(t)
	withLine(t, &src, wrongGrant)
	dir := t.TempDir()
	loader := authz.FileLoader{
		ModelFile:  filepath.Join(dir, "model.conf"),
		PolicyFile: filepath.Join(dir, "policy.csv"),
		TestsFile:  filepath.Join(dir, "policy_test.csv"),
	}
	for path, data := range map[string][]byte{loader.ModelFile: src.Model, loader.PolicyFile: src.Policy, loader.TestsFile: src.Tests} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	_, err := authz.NewManager(context.Background(), loader, policytest.Tester, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil || !strings.Contains(err.Error(), "policy_test.csv:") || !strings.Contains(err.Error(), wrongGrant) {
		t.Errorf("got %v, want the failing cases of policy_test.csv naming %s", err, wrongGrant)
	}
}

// TestTenantCaseFailureNamesTheLayer: a case inside a tenant that a grant
// to a tenant role breaks names that grant, its line, and the tenant role
// it applied to; the advice names the case's line.
func TestTenantCaseFailureNamesTheLayer(t *testing.T) {
	src := shipped(t)
	line := withLine(t, &src, "p, tenant:readonly, records, create, any")
	failures := policytest.Run(compile(t, src), parse(t, src))
	if len(failures) == 0 {
		t.Fatal("got no failures, want the readonly create cases")
	}
	want := fmt.Sprintf("user, records, create, none, tenant=readonly: expected deny, got allow by p, tenant:readonly, records, create, any (policy.csv:%d) via tenant:readonly", line)
	if got := failures[0].Reason(); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	for _, f := range failures {
		if f.Case.TenantRole != "readonly" && f.Case.BreakGlass != "read" {
			t.Errorf("got a failure for %s, want only cases of readonly members or read break-glass", f.Case)
		}
	}
	if advice := policytest.Advice("policy_test.csv", failures); !strings.Contains(advice, fmt.Sprintf(":%d", failures[0].Case.Line)) {
		t.Errorf("advice %q does not name line %d", advice, failures[0].Case.Line)
	}
}
