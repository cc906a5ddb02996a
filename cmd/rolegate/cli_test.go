package main

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/rolegate/rolegate/internal/dbtest"
)

// runSplit runs the program and returns its standard output and error
// apart.
func runSplit(t *testing.T, getenv func(string) string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = run(context.Background(), args, getenv, strings.NewReader(""), &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestVersion(t *testing.T) {
	getenv := policyEnv(t)
	flagOut, _, err := runSplit(t, getenv, "--version")
	wantExit(t, err, 0)
	cmdOut, _, err := runSplit(t, getenv, "version")
	wantExit(t, err, 0)
	if !regexp.MustCompile(`^rolegate \S+ \(.*go1\.\d+.*\)\n$`).MatchString(flagOut) || cmdOut != flagOut {
		t.Errorf("--version: got %q, version: got %q; want one line, the same, naming the Go release", flagOut, cmdOut)
	}
	defer func(v string) { version = v }(version)
	version = "v9.8.7-test" // as -ldflags "-X main.version=v9.8.7-test" sets it
	if out, _, err := runSplit(t, getenv, "version"); err != nil || !strings.HasPrefix(out, "rolegate v9.8.7-test (") {
		t.Errorf("with a version set at build time: got %q, %v", out, err)
	}
}

// commandPaths lists every command below root, as the words that run it.
func commandPaths(cmd *cobra.Command, prefix []string) [][]string {
	var out [][]string
	for _, sub := range cmd.Commands() {
		path := append(append([]string{}, prefix...), sub.Name())
		out = append(out, path)
		out = append(out, commandPaths(sub, path)...)
	}
	return out
}

// TestHelpOnEveryCommand asks every command for --help: it answers on
// standard output with exit 0, lists its own flags first, and the global
// settings apart, after them.
func TestHelpOnEveryCommand(t *testing.T) {
	getenv := policyEnv(t)
	c := &cli{getenv: getenv}
	paths := append([][]string{nil}, commandPaths(c.rootCommand(), nil)...)
	if len(paths) < 20 {
		t.Fatalf("got %d commands, want every one (at least 20)", len(paths))
	}
	for _, path := range paths {
		name := strings.Join(append([]string{"rolegate"}, path...), " ")
		out, errOut, err := runSplit(t, getenv, append(path, "--help")...)
		if err != nil || errOut != "" || !strings.Contains(out, "Usage:\n  "+name) {
			t.Errorf("%s --help: got %v, stderr %q, stdout:\n%s\nwant its usage on stdout", name, err, errOut, out)
			continue
		}
		flags := strings.Index(out, "\nFlags:\n")
		settings := strings.Index(out, "\nGlobal settings")
		takesSettings := len(path) > 0 && path[len(path)-1] != "version" && !strings.Contains(out, "\nCommands:\n") || name == "rolegate migrate"
		if takesSettings && (flags < 0 || settings < flags || !strings.Contains(out[settings:], "--database-url value")) {
			t.Errorf("%s --help: want its flags, then the global settings apart:\n%s", name, out)
		}
		if settings > 0 && strings.Contains(out[flags:settings], "--database-url") {
			t.Errorf("%s --help: a global setting is listed with the command's own flags:\n%s", name, out)
		}
	}
}

// TestOneSpellingPerPolicyFlag: the policy commands name the files with
// --model, --policy, --tests and --routes, and offer no second spelling
// of any of them.
func TestOneSpellingPerPolicyFlag(t *testing.T) {
	getenv := policyEnv(t)
	for _, tc := range []struct {
		cmd  string
		own  []string
		gone []string
	}{
		{"test", []string{"--model", "--policy", "--tests"}, []string{"--policy-model", "--policy-file", "--policy-tests"}},
		{"check", []string{"--model", "--policy", "--tests"}, []string{"--policy-model", "--policy-file", "--policy-tests"}},
		{"explain", []string{"--model", "--policy"}, []string{"--policy-model", "--policy-file"}},
		{"publish", []string{"--model", "--policy", "--tests", "--routes"}, []string{"--policy-model", "--policy-file", "--policy-tests", "--policy-routes"}},
	} {
		out, _, err := runSplit(t, getenv, "policy", tc.cmd, "--help")
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range tc.own {
			if !strings.Contains(out, f+" string") {
				t.Errorf("policy %s --help: want %s", tc.cmd, f)
			}
		}
		for _, f := range tc.gone {
			if strings.Contains(out, f+" ") {
				t.Errorf("policy %s --help: offers %s, a second spelling", tc.cmd, f)
			}
			_, _, err := runSplit(t, getenv, "policy", tc.cmd, f, "x")
			wantExit(t, err, 2)
			if err == nil || !strings.Contains(err.Error(), "unknown flag "+f+"; rolegate policy "+tc.cmd+" spells that setting --") {
				t.Errorf("policy %s %s: got %v, want the one spelling named", tc.cmd, f, err)
			}
		}
	}
}

// TestMistakesPrintOneLine: a mistyped flag or command gets one line
// naming the closest one and the help to read, exit 2, and nothing else.
func TestMistakesPrintOneLine(t *testing.T) {
	getenv := policyEnv(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"policy", "check", "--polcy", "x"}, "unknown flag --polcy; did you mean --policy? see rolegate policy check --help"},
		{[]string{"srve"}, `unknown command "srve" for rolegate; did you mean serve? see rolegate --help`},
		{[]string{"users", "creat"}, `unknown command "creat" for rolegate users; did you mean create? see rolegate users --help`},
		{[]string{"users", "list", "--serch", "x"}, "unknown flag --serch; did you mean --search? see rolegate users list --help"},
		{[]string{"serve", "--databse-url", "x"}, "unknown flag --databse-url; did you mean --database-url? see rolegate serve --help"},
		{[]string{"policy", "test", "--zzz"}, "unknown flag --zzz; see rolegate policy test --help"},
		{[]string{"users", "import"}, `rolegate users import needs FILE; see rolegate users import --help`},
		{[]string{"users", "import", "a.json", "b.json"}, `rolegate users import takes only FILE, got ["a.json" "b.json"]; see rolegate users import --help`},
	} {
		out, errOut, err := runSplit(t, getenv, tc.args...)
		wantExit(t, err, 2)
		if err == nil || err.Error() != tc.want || out != "" || errOut != "" {
			t.Errorf("%v: got %q, stdout %q, stderr %q; want only %q", tc.args, err, out, errOut, tc.want)
		}
	}
}

// TestFlagsAfterArguments: flags may follow positional arguments, the
// command's own and the global settings alike.
func TestFlagsAfterArguments(t *testing.T) {
	target := dbtest.Targets(t)[0]
	getenv := testEnv(t, "sqlite:"+filepath.Join(t.TempDir(), "unused.db"), nil)
	out, err := runCmd(t, getenv, "", "users", "import", seedExport, "--database-url", target.URL, "--superuser-role", "staff")
	if err != nil || !strings.HasPrefix(out, "imported 4,") {
		t.Fatalf("import with flags after FILE: got %q, %v", out, err)
	}
	out, err = runCmd(t, getenv, "", "users", "list", "--database-url", target.URL)
	if rows := tableRows(t, out); err != nil || len(rows) != 4 {
		t.Errorf("list of the database named after FILE: got %q, %v; want the 4 imported users", out, err)
	}
}
