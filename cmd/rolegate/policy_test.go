package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// policyEnv is a getenv for the policy commands: the shipped files, and a
// database that is never opened.
func policyEnv(t *testing.T) func(string) string {
	t.Helper()
	return testEnv(t, "sqlite:"+filepath.Join(t.TempDir(), "unused.db"), map[string]string{
		"ROLEGATE_POLICY_TESTS": "../../policy/policy_test.csv",
	})
}

// policyWith writes the shipped policy plus extra lines to a policy.csv of
// its own, and returns its path and the line number of each extra line.
func policyWith(t *testing.T, extra ...string) (string, []int) {
	t.Helper()
	data, err := os.ReadFile("../../policy/policy.csv")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.TrimRight(string(data), "\n")
	var lines []int
	for _, l := range extra {
		text += "\n" + l
		lines = append(lines, strings.Count(text, "\n")+1)
	}
	path := filepath.Join(t.TempDir(), "policy.csv")
	if err := os.WriteFile(path, []byte(text+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, lines
}

// shippedLine returns the line of rule in the shipped policy.csv.
func shippedLine(t *testing.T, rule string) int {
	t.Helper()
	data, err := os.ReadFile("../../policy/policy.csv")
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(l) == rule {
			return i + 1
		}
	}
	t.Fatalf("%q is not in policy.csv", rule)
	return 0
}

// wantExit fails unless err gives the process status want.
func wantExit(t *testing.T, err error, want int) {
	t.Helper()
	if got := exitCode(err); got != want {
		t.Errorf("exit status: got %d (%v), want %d", got, err, want)
	}
}

func TestPolicyTestPassesOnShippedFiles(t *testing.T) {
	out, err := runCmd(t, policyEnv(t), "", "policy", "test")
	wantExit(t, err, 0)
	if !regexp.MustCompile(`(?m)^[1-9][0-9]* passed, 0 failed$`).MatchString(out) {
		t.Errorf("got %q, want a summary with no failures", out)
	}
}

func TestPolicyTestFailsOnAWrongGrant(t *testing.T) {
	policy, lines := policyWith(t, "p, staff, users, delete, any")
	out, err := runCmd(t, policyEnv(t), "", "policy", "test", "--policy", policy,
		"--model", "../../policy/model.conf", "--tests", "../../policy/policy_test.csv")
	wantExit(t, err, 1)
	if err == nil || !strings.Contains(err.Error(), "2 of") {
		t.Errorf("got error %v, want one counting 2 failures", err)
	}
	failing := regexp.MustCompile(`(?m)^policy_test\.csv:(\d+): staff, users, delete`).FindAllStringSubmatch(out, -1)
	if len(failing) != 2 {
		t.Fatalf("got %q, want two failing staff delete cases", out)
	}
	if want := fmt.Sprintf("update policy_test.csv:%s and :%s, which expect deny", failing[0][1], failing[1][1]); err == nil || !strings.HasSuffix(err.Error(), want) {
		t.Errorf("got error %v, want it to end %q", err, want)
	}
	for _, want := range []string{
		fmt.Sprintf("staff, users, delete, other: expected deny, got allow by p, staff, users, delete, any (policy.csv:%d)", lines[0]),
		fmt.Sprintf("staff, users, delete, self: expected deny, got allow by p, staff, users, delete, any (policy.csv:%d)", lines[0]),
		" passed, 2 failed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("got %q, want it to contain %q", out, want)
		}
	}
	if !regexp.MustCompile(`(?m)^policy_test\.csv:\d+: staff`).MatchString(out) {
		t.Errorf("got %q, want each failure at its line of policy_test.csv", out)
	}
}

func TestPolicyTestRefusesNoTests(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "empty.csv")
	os.WriteFile(empty, []byte("# nothing yet\n"), 0o600)
	for _, tests := range []string{empty, filepath.Join(t.TempDir(), "missing.csv")} {
		_, err := runCmd(t, policyEnv(t), "", "policy", "test", "--tests", tests)
		wantExit(t, err, 1)
	}
}

func TestPolicyCheck(t *testing.T) {
	out, err := runCmd(t, policyEnv(t), "", "policy", "check")
	wantExit(t, err, 0)
	if !strings.Contains(out, "0 errors, 0 warnings") {
		t.Errorf("shipped files: got %q, want no findings", out)
	}

	dup, lines := policyWith(t, "p, staff, users, list, any")
	out, err = runCmd(t, policyEnv(t), "", "policy", "check", "--policy", dup)
	wantExit(t, err, 1)
	want := fmt.Sprintf("policy.csv:%d: error: duplicate rule: p, staff, users, list, any repeats line %d", lines[0], shippedLine(t, "p, staff, users, list, any"))
	if !strings.Contains(out, want) || !strings.Contains(out, "1 error, 0 warnings") {
		t.Errorf("duplicate: got %q, want %q", out, want)
	}

	broken, lines := policyWith(t, "p, staff, users, delete")
	out, err = runCmd(t, policyEnv(t), "", "policy", "check", "--policy", broken)
	wantExit(t, err, 1)
	want = fmt.Sprintf("policy.csv:%d: error: p rule has 3 fields", lines[0])
	if !strings.Contains(out, want) {
		t.Errorf("syntax error: got %q, want %q", out, want)
	}
}

func TestPolicyCheckStrictFailsOnWarnings(t *testing.T) {
	policy, lines := policyWith(t, "p, staff, reports, read, any")
	out, err := runCmd(t, policyEnv(t), "", "policy", "check", "--policy", policy)
	wantExit(t, err, 0)
	if want := fmt.Sprintf("policy.csv:%d: warning: rolegate never asks about reports, read", lines[0]); !strings.Contains(out, want) {
		t.Errorf("got %q, want %q", out, want)
	}
	_, err = runCmd(t, policyEnv(t), "", "policy", "check", "--strict", "--policy", policy)
	wantExit(t, err, 1)
}

func TestPolicyExplain(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--role", "staff", "--resource", "users", "--action", "list"},
			fmt.Sprintf("allow: p, staff, users, list, any (policy.csv:%d)\n", shippedLine(t, "p, staff, users, list, any"))},
		{[]string{"--role", "user", "--resource", "users", "--action", "read", "--subject-id", "3", "--owner-id", "3"},
			fmt.Sprintf("allow: p, user, users, read, own (policy.csv:%d)\n", shippedLine(t, "p, user, users, read, own"))},
		{[]string{"--role", "user", "--resource", "users", "--action", "read", "--subject-id", "3", "--owner-id", "4"},
			"deny: no rule matched\n"},
		{[]string{"--role", "staff", "--resource", "users", "--action", "delete", "--subject-id", "3", "--owner-id", "3"},
			"deny: no rule matched\n"},
		{[]string{"--role", "stafff", "--resource", "users", "--action", "list"},
			"deny: no rule matched\nnote: role \"stafff\" is not defined by the policy (admin, staff, user)\n"},
		// The tenant layer: the guest, a system user who is a tenant admin.
		{[]string{"--role", "user", "--tenant-role", "admin", "--resource", "customers", "--action", "delete", "--owner-id", "9"},
			fmt.Sprintf("allow: p, tenant:admin, records, delete, any (policy.csv:%d) via tenant:admin\n", shippedLine(t, "p, tenant:admin, records,            delete, any"))},
		{[]string{"--role", "user", "--tenant-role", "admin", "--resource", "users", "--action", "list"},
			"deny: no rule matched\n"},
		{[]string{"--role", "user", "--tenant-role", "-", "--resource", "customers", "--action", "read"},
			"deny: no rule matched\n"},
		{[]string{"--role", "admin", "--tenant-role", "-", "--resource", "tenant", "--action", "delete"},
			fmt.Sprintf("allow: p, admin, tenant, delete, any (policy.csv:%d)\n", shippedLine(t, "p, admin, tenant,               delete, any"))},
		{[]string{"--role", "staff", "--break-glass", "read", "--resource", "customers", "--action", "read"},
			fmt.Sprintf("allow: p, tenant:readonly, records, read, any (policy.csv:%d) via break_glass:read\n", shippedLine(t, "p, tenant:readonly, records, read, any"))},
		{[]string{"--role", "user", "--group", "helpdesk", "--group", "support", "--resource", "users", "--action", "read", "--owner-id", "9"},
			fmt.Sprintf("allow: p, group:support, users, read, any (policy.csv:%d) via group:support\nnote: group \"helpdesk\" is not defined by the policy (support)\n", shippedLine(t, "p, group:support, users,   read, any"))},
		{[]string{"--role", "user", "--tenant-role", "ownr", "--resource", "tenant", "--action", "delete"},
			"deny: no rule matched\nnote: tenant role \"ownr\" is not defined by the policy (admin, manager, owner, readonly, user)\n"},
	}
	for _, c := range cases {
		out, err := runCmd(t, policyEnv(t), "", append([]string{"policy", "explain"}, c.args...)...)
		if err != nil || out != c.want {
			t.Errorf("%v: got %q, %v; want %q", c.args, out, err, c.want)
		}
	}
}

func TestPolicyExplainAWrongGrant(t *testing.T) {
	policy, lines := policyWith(t, "p, staff, users, delete, any")
	out, err := runCmd(t, policyEnv(t), "", "policy", "explain", "--policy", policy,
		"--role", "staff", "--resource", "users", "--action", "delete", "--subject-id", "3", "--owner-id", "4")
	if want := fmt.Sprintf("allow: p, staff, users, delete, any (policy.csv:%d)\n", lines[0]); err != nil || out != want {
		t.Errorf("got %q, %v; want %q", out, err, want)
	}
}

func TestPolicyCommandLineMistakes(t *testing.T) {
	for _, args := range [][]string{
		{"policy"},
		{"policy", "frobnicate"},
		{"policy", "test", "extra"},
		{"policy", "explain", "--role", "staff"},
		{"policy", "explain", "--role", "staff", "--resource", "records", "--action", "read", "--break-glass", "admin"},
		{"policy", "explain", "--role", "staff", "--resource", "records", "--action", "read", "--tenant-role", "tenant:admin"},
		{"policy", "explain", "--role", "staff", "--resource", "users", "--action", "read", "--group", "group:support"},
	} {
		_, err := runCmd(t, policyEnv(t), "", args...)
		wantExit(t, err, 2)
	}
	_, err := runCmd(t, policyEnv(t), "", "policy", "explain", "--role", "staff", "--resource", "users", "--action", "read", "--owner-id", "-1")
	if err == nil || !strings.Contains(err.Error(), `"-1" is not a user id`) {
		t.Errorf("negative owner id: got %v, want it refused", err)
	}
}

func TestExitCode(t *testing.T) {
	cases := []struct {
		err  error
		want int
	}{
		{nil, 0},
		{usageError{"no command given"}, 2},
		{fmt.Errorf("run: %w", usageError{"bad flag"}), 2},
		{errors.New("2 of 64 policy tests failed"), 1},
	}
	for _, c := range cases {
		if got := exitCode(c.err); got != c.want {
			t.Errorf("%v: got %d, want %d", c.err, got, c.want)
		}
	}
}

// routesWith writes the shipped route table plus extra lines, and returns
// its path and the line of each extra line.
func routesWith(t *testing.T, extra ...string) (string, []int) {
	t.Helper()
	data, err := os.ReadFile("../../policy/routes.csv")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.TrimRight(string(data), "\n")
	var lines []int
	for _, l := range extra {
		text += "\n" + l
		lines = append(lines, strings.Count(text, "\n")+1)
	}
	path := filepath.Join(t.TempDir(), "routes.csv")
	if err := os.WriteFile(path, []byte(text+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, lines
}

// TestPolicyCommandsCompileTheRoutes: a route line the server would refuse
// fails policy test and policy check too, whether the table is named with
// --routes or configured.
func TestPolicyCommandsCompileTheRoutes(t *testing.T) {
	broken, lines := routesWith(t, "route, GET, /api/reports, reports")
	want := regexp.MustCompile(fmt.Sprintf(`routes\.csv:%d: (error: )?route has 3 fields, want 5`, lines[0]))
	configured := testEnv(t, "sqlite:"+filepath.Join(t.TempDir(), "unused.db"), map[string]string{
		"ROLEGATE_POLICY_TESTS": "../../policy/policy_test.csv", "ROLEGATE_POLICY_ROUTES": broken,
	})
	for _, tc := range []struct {
		getenv func(string) string
		args   []string
	}{
		{policyEnv(t), []string{"policy", "test", "--routes", broken}},
		{policyEnv(t), []string{"policy", "check", "--routes", broken}},
		{configured, []string{"policy", "test"}},
		{configured, []string{"policy", "check"}},
	} {
		out, err := runCmd(t, tc.getenv, "", tc.args...)
		wantExit(t, err, 1)
		if !want.MatchString(out + fmt.Sprint(err)) {
			t.Errorf("%v: got %q, %v; want %s", tc.args, out, err, want)
		}
	}
	// The server refuses the same table: the commands agree with it.
	_, err := runCmd(t, configured, "", "serve")
	if err == nil || !want.MatchString(err.Error()) {
		t.Errorf("serve with the broken table: got %v, want %s", err, want)
	}

	shadow, lines := routesWith(t, "route, GET, /api/admin/*, admin_area, read, -")
	out, err := runCmd(t, policyEnv(t), "", "policy", "check", "--routes", shadow)
	wantExit(t, err, 1)
	if want := fmt.Sprintf("routes.csv:%d: error: route GET /api/admin/* never matches", lines[0]); !strings.Contains(out, want) {
		t.Errorf("shadowed route: got %q, want %q", out, want)
	}
	for _, cmd := range []string{"test", "check"} {
		_, err := runCmd(t, policyEnv(t), "", "policy", cmd, "--routes", filepath.Join(t.TempDir(), "missing.csv"))
		wantExit(t, err, 1)
		if err == nil || !strings.Contains(err.Error(), "routes: ") {
			t.Errorf("policy %s --routes MISSING: got %v, want the file refused", cmd, err)
		}
	}
	good, _ := routesWith(t, "route, GET, /api/reports, users, list, -")
	if out, err := runCmd(t, policyEnv(t), "", "policy", "check", "--routes", good); err != nil || !strings.Contains(out, "0 errors") {
		t.Errorf("a good extra route: got %q, %v; want no errors", out, err)
	}
}
