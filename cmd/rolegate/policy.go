package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/rolegate/rolegate/config"
	"github.com/rolegate/rolegate/internal/authz"
	"github.com/rolegate/rolegate/internal/policytest"
	"github.com/rolegate/rolegate/models"
)

// policyCommand runs "rolegate policy test|check|explain", the tools a
// security team uses on policy files, which read files only, so they run
// in CI or on a laptop with no server and no database; and "policy
// publish|versions|rollback", which keep the versions replicas serve in
// database mode (publish.go).
func policyCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{"want: rolegate policy test|check|explain|publish|versions|rollback"}
	}
	switch args[0] {
	case "test":
		return policyTest(ctx, args[1:], getenv, stdout, stderr)
	case "check":
		return policyCheck(ctx, args[1:], getenv, stdout, stderr)
	case "explain":
		return policyExplain(ctx, args[1:], getenv, stdout, stderr)
	case "publish":
		return policyPublish(ctx, args[1:], getenv, stdout, stderr)
	case "versions":
		return policyVersions(ctx, args[1:], getenv, stdout, stderr)
	case "rollback":
		return policyRollback(ctx, args[1:], getenv, stdout, stderr)
	}
	return usageError{fmt.Sprintf("unknown policy command %q: want test, check, explain, publish, versions or rollback", args[0])}
}

// policyFiles holds the --model, --policy and --tests flags. Each
// defaults to the configured file, so that the commands look at what the
// server would load.
type policyFiles struct {
	model, policy, tests string
	withTests            bool
}

// register adds the flags to fs; withTests says whether the command reads
// the test file at all.
func (f *policyFiles) register(fs *flag.FlagSet, withTests bool) {
	fs.StringVar(&f.model, "model", "", "model file (default: ROLEGATE_POLICY_MODEL)")
	fs.StringVar(&f.policy, "policy", "", "policy file (default: ROLEGATE_POLICY_FILE)")
	if f.withTests = withTests; withTests {
		fs.StringVar(&f.tests, "tests", "", "policy test file (default: ROLEGATE_POLICY_TESTS)")
	}
}

// load reads the files. A configured test file that does not exist means
// no tests, as for the server; one named with --tests must exist.
func (f policyFiles) load(ctx context.Context, cfg config.Config) (authz.Source, error) {
	l := authz.FileLoader{ModelFile: or(f.model, cfg.PolicyModel), PolicyFile: or(f.policy, cfg.PolicyFile)}
	if f.withTests {
		l.TestsFile = or(f.tests, cfg.PolicyTests)
	}
	if f.tests != "" {
		if _, err := os.Stat(f.tests); err != nil {
			return authz.Source{}, fmt.Errorf("tests: %w", err)
		}
	}
	return l.Load(ctx)
}

func or(s, fallback string) string {
	if s != "" {
		return s
	}
	return fallback
}

// parseFlags parses a policy subcommand's flags and the configuration,
// and refuses stray arguments.
func parseFlags(fs *flag.FlagSet, args []string, getenv func(string) string, stderr io.Writer) (config.Config, error) {
	cfg, err := loadConfig(fs, args, getenv, stderr)
	if err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, usageError{fmt.Sprintf("rolegate %s takes no arguments, got %q", fs.Name(), fs.Args())}
	}
	return cfg, nil
}

// policyTest runs the test file against the policy and prints each
// failure with the rule that decided it. It fails when any case fails,
// or when there are no cases, so that CI never passes on a missing file.
func policyTest(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("policy test", flag.ContinueOnError)
	var files policyFiles
	files.register(fs, true)
	cfg, err := parseFlags(fs, args, getenv, stderr)
	if err != nil {
		return err
	}
	src, err := files.load(ctx, cfg)
	if err != nil {
		return err
	}
	p, err := authz.Compile(src)
	if err != nil {
		return fmt.Errorf("load policy:\n%w", err)
	}
	if src.TestsFile == "" {
		return errors.New("no test file: name one with --tests or ROLEGATE_POLICY_TESTS")
	}
	name := filepath.Base(src.TestsFile)
	cases, err := policytest.Parse(name, src.Tests)
	if err != nil {
		return fmt.Errorf("read tests:\n%w", err)
	}
	if len(cases) == 0 {
		return fmt.Errorf("no test cases in %s", src.TestsFile)
	}
	failures := policytest.Run(p, cases)
	for _, f := range failures {
		fmt.Fprintf(stdout, "%s:%d: %s\n", name, f.Case.Line, f.Reason())
	}
	fmt.Fprintf(stdout, "%d passed, %d failed\n", len(cases)-len(failures), len(failures))
	if len(failures) > 0 {
		msg := fmt.Sprintf("%d of %d policy tests failed", len(failures), len(cases))
		if advice := policytest.Advice(name, failures); advice != "" {
			msg += "; if the change is intended, " + advice
		}
		return errors.New(msg)
	}
	return nil
}

// policyCheck lints the files and prints each finding. Errors fail it;
// warnings only with --strict.
func policyCheck(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("policy check", flag.ContinueOnError)
	var files policyFiles
	files.register(fs, true)
	strict := fs.Bool("strict", false, "fail on warnings too")
	cfg, err := parseFlags(fs, args, getenv, stderr)
	if err != nil {
		return err
	}
	src, err := files.load(ctx, cfg)
	if err != nil {
		return err
	}
	counts := map[policytest.Severity]int{}
	for _, f := range policytest.Check(src, policytest.CheckOptions{DefaultRole: cfg.DefaultRole}) {
		fmt.Fprintln(stdout, f)
		counts[f.Severity]++
	}
	errs, warns := counts[policytest.Error], counts[policytest.Warning]
	fmt.Fprintf(stdout, "%s, %s\n", plural(errs, "error"), plural(warns, "warning"))
	switch {
	case errs > 0:
		return fmt.Errorf("policy check found %s", plural(errs, "error"))
	case *strict && warns > 0:
		return fmt.Errorf("policy check found %s (--strict)", plural(warns, "warning"))
	}
	return nil
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// policyExplain prints the policy's decision on one request and the rule
// that made it.
func policyExplain(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("policy explain", flag.ContinueOnError)
	var files policyFiles
	files.register(fs, false)
	role := fs.String("role", "", "the caller's role (required); anonymous for a caller without a token")
	resource := fs.String("resource", "", "the resource, such as users (required)")
	action := fs.String("action", "", "the action, such as read (required)")
	subjectID := int64(-1)
	fs.Func("subject-id", "the caller's user id (default 1, or none for anonymous)", idFlag(&subjectID))
	ownerID := int64(0)
	fs.Func("owner-id", "the id of the user who owns the target (default none, as for a list or an area)", idFlag(&ownerID))
	cfg, err := parseFlags(fs, args, getenv, stderr)
	if err != nil {
		return err
	}
	if *role == "" || *resource == "" || *action == "" {
		return usageError{"policy explain needs --role, --resource and --action"}
	}
	if subjectID < 0 {
		subjectID = policytest.DefaultSubjectID(*role)
	}
	src, err := files.load(ctx, cfg)
	if err != nil {
		return err
	}
	p, err := authz.Compile(src)
	if err != nil {
		return fmt.Errorf("load policy:\n%w", err)
	}
	v, err := policytest.Explain(p, models.Subject{ID: subjectID, Role: *role}, models.Resource{Type: *resource, OwnerID: ownerID}, *action)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, v)
	if *role != models.AnonymousRole && !p.HasRole(*role) {
		fmt.Fprintf(stdout, "note: role %q is not defined by the policy (%s)\n", *role, strings.Join(p.Roles(), ", "))
	}
	return nil
}

// idFlag parses a user id flag; 0 means none.
func idFlag(dst *int64) func(string) error {
	return func(s string) error {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("%q is not a user id", s)
		}
		*dst = n
		return nil
	}
}
