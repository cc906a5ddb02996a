package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rolegate/rolegate/config"
	"github.com/rolegate/rolegate/internal/authz"
	"github.com/rolegate/rolegate/internal/policylint"
	"github.com/rolegate/rolegate/internal/policytest"
	"github.com/rolegate/rolegate/models"
)

// policyCommand holds "rolegate policy test|check|explain", the tools a
// security team uses on policy files, which read files only, so they run
// in CI or on a laptop with no server and no database; and "policy
// publish|versions|rollback", which keep the versions replicas serve in
// database mode (publish.go).
func (c *cli) policyCommand() *cobra.Command {
	return group("policy", "test, lint, explain and publish the policy",
		c.policyTestCommand(), c.policyCheckCommand(), c.policyExplainCommand(),
		c.policyPublishCommand(), c.policyVersionsCommand(), c.policyRollbackCommand())
}

// policyFiles holds the --model, --policy, --tests and --routes flags.
// Each defaults to the configured file, so that the commands look at what
// the server would load. They are the only spelling of those files on the
// commands that have them: the settings they replace (--policy-model and
// so on) are not offered there.
type policyFiles struct {
	model, policy, tests, routes string
	withTests, withRoutes        bool
}

// register adds the flags to cmd; withTests and withRoutes say whether
// the command reads the test file and the route table.
func (f *policyFiles) register(cmd *cobra.Command, withTests, withRoutes bool) {
	cmd.Flags().StringVar(&f.model, "model", "", "model file (default: ROLEGATE_POLICY_MODEL)")
	cmd.Flags().StringVar(&f.policy, "policy", "", "policy file (default: ROLEGATE_POLICY_FILE)")
	replaceSetting(cmd, "policy-model", "model")
	replaceSetting(cmd, "policy-file", "policy")
	if f.withTests = withTests; withTests {
		cmd.Flags().StringVar(&f.tests, "tests", "", "policy test file (default: ROLEGATE_POLICY_TESTS)")
		replaceSetting(cmd, "policy-tests", "tests")
	}
	if f.withRoutes = withRoutes; withRoutes {
		cmd.Flags().StringVar(&f.routes, "routes", "", "route table of /v1/authz/forward (default: ROLEGATE_POLICY_ROUTES)")
		replaceSetting(cmd, "policy-routes", "routes")
	}
}

// load reads the files. A configured test file or route table that does
// not exist means no tests or no routes, as for the server; one named
// with --tests or --routes must exist.
func (f policyFiles) load(ctx context.Context, cfg config.Config) (authz.Source, error) {
	l := authz.FileLoader{ModelFile: or(f.model, cfg.PolicyModel), PolicyFile: or(f.policy, cfg.PolicyFile)}
	if f.withTests {
		l.TestsFile = or(f.tests, cfg.PolicyTests)
	}
	if f.withRoutes {
		l.RoutesFile = or(f.routes, cfg.PolicyRoutes)
	}
	for flag, name := range map[string]string{"tests": f.tests, "routes": f.routes} {
		if name != "" {
			if _, err := os.Stat(name); err != nil {
				return authz.Source{}, fmt.Errorf("%s: %w", flag, err)
			}
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

func (c *cli) policyTestCommand() *cobra.Command {
	var files policyFiles
	cmd := &cobra.Command{Use: "test", Short: "run the policy's test file (after compiling the policy and its route table)"}
	files.register(cmd, true, true)
	return c.leaf(cmd, func(ctx context.Context, cfg config.Config, _ []string) error {
		return policyTest(ctx, cfg, files, c.stdout)
	})
}

// policyTest runs the test file against the policy and prints each
// failure with the rule that decided it. It fails when any case fails,
// or when there are no cases, so that CI never passes on a missing file.
func policyTest(ctx context.Context, cfg config.Config, files policyFiles, stdout io.Writer) error {
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

func (c *cli) policyCheckCommand() *cobra.Command {
	var files policyFiles
	var strict bool
	cmd := &cobra.Command{Use: "check", Short: "lint the policy files and the route table"}
	files.register(cmd, true, true)
	cmd.Flags().BoolVar(&strict, "strict", false, "fail on warnings too")
	return c.leaf(cmd, func(ctx context.Context, cfg config.Config, _ []string) error {
		return policyCheck(ctx, cfg, files, strict, c.stdout)
	})
}

// policyCheck lints the files and prints each finding. Errors fail it;
// warnings only with strict.
func policyCheck(ctx context.Context, cfg config.Config, files policyFiles, strict bool, stdout io.Writer) error {
	src, err := files.load(ctx, cfg)
	if err != nil {
		return err
	}
	counts := map[policylint.Severity]int{}
	for _, f := range policylint.Check(src, policylint.CheckOptions{DefaultRole: cfg.DefaultRole}) {
		fmt.Fprintln(stdout, f)
		counts[f.Severity]++
	}
	errs, warns := counts[policylint.Error], counts[policylint.Warning]
	fmt.Fprintf(stdout, "%s, %s\n", plural(errs, "error"), plural(warns, "warning"))
	switch {
	case errs > 0:
		return fmt.Errorf("policy check found %s", plural(errs, "error"))
	case strict && warns > 0:
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

// explainFlags are the request "policy explain" asks about.
type explainFlags struct {
	role, resource, action string
	subjectID, ownerID     int64
	// tenantRole and breakGlass, when set, put the request inside a
	// tenant ("-" for no membership); groups are the caller's groups.
	tenantRole, breakGlass string
	groups                 []string
}

// noMembership is the --tenant-role of a caller asking about a tenant they
// are not a member of, as tenant=- in the test file.
const noMembership = "-"

func (c *cli) policyExplainCommand() *cobra.Command {
	var files policyFiles
	q := explainFlags{subjectID: -1}
	cmd := &cobra.Command{Use: "explain --role R --resource X --action A", Short: "explain one decision and the rule that made it"}
	files.register(cmd, false, false)
	cmd.Flags().StringVar(&q.role, "role", "", "the caller's system role (required); anonymous for a caller without a token")
	cmd.Flags().StringVar(&q.resource, "resource", "", "the resource, such as users (required)")
	cmd.Flags().StringVar(&q.action, "action", "", "the action, such as read (required)")
	cmd.Flags().Func("subject-id", "the caller's user id (default 1, or none for anonymous)", idFlag(&q.subjectID))
	cmd.Flags().Func("owner-id", "the id of the user who owns the target (default none, as for a list or an area)", idFlag(&q.ownerID))
	cmd.Flags().StringVar(&q.tenantRole, "tenant-role", "", "ask about a tenant in which the caller has this tenant role, such as admin; - for a tenant they are not a member of")
	cmd.Flags().StringArrayVar(&q.groups, "group", nil, "a group the caller is in, such as support (repeat for several)")
	cmd.Flags().StringVar(&q.breakGlass, "break-glass", "", "ask about a tenant on which the caller holds an active break-glass grant: read or write")
	return c.leaf(cmd, func(ctx context.Context, cfg config.Config, _ []string) error {
		if q.role == "" || q.resource == "" || q.action == "" {
			return usagef(cmd, "policy explain needs --role, --resource and --action")
		}
		if problem := q.validate(); problem != "" {
			return usagef(cmd, "%s", problem)
		}
		return policyExplain(ctx, cfg, files, q, c.stdout)
	})
}

// validate returns why the layer flags are wrong, or "".
func (q explainFlags) validate() string {
	if q.breakGlass != "" && q.breakGlass != models.BreakGlassRead && q.breakGlass != models.BreakGlassWrite {
		return fmt.Sprintf("--break-glass is %q, want read or write", q.breakGlass)
	}
	if strings.Contains(q.tenantRole, ":") {
		return fmt.Sprintf("--tenant-role %q: name the tenant role without its prefix (admin, not tenant:admin)", q.tenantRole)
	}
	for _, g := range q.groups {
		if g == "" || strings.Contains(g, ":") {
			return fmt.Sprintf("--group %q: name the group without its prefix (support, not group:support)", g)
		}
	}
	return ""
}

// subject is the caller the flags describe. A question inside a tenant is
// about tenant 1.
func (q explainFlags) subject() models.Subject {
	sub := models.Subject{ID: q.subjectID, Role: q.role, Groups: q.groups}
	if q.tenantRole != "" || q.breakGlass != "" {
		sub.Tenant = &models.TenantContext{TenantID: 1, BreakGlass: q.breakGlass}
		if q.tenantRole != noMembership {
			sub.Tenant.Role = q.tenantRole
		}
	}
	return sub
}

// policyExplain prints the policy's decision on one request, the rule
// that made it and, for a layer other than the system role, the subject
// it applied to; then a note for each name the policy does not define.
func policyExplain(ctx context.Context, cfg config.Config, files policyFiles, q explainFlags, stdout io.Writer) error {
	if q.subjectID < 0 {
		q.subjectID = policytest.DefaultSubjectID(q.role)
	}
	src, err := files.load(ctx, cfg)
	if err != nil {
		return err
	}
	p, err := authz.Compile(src)
	if err != nil {
		return fmt.Errorf("load policy:\n%w", err)
	}
	v, err := p.Explain(q.subject(), models.Resource{Type: q.resource, OwnerID: q.ownerID}, q.action)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, v)
	if q.role != models.AnonymousRole && !p.HasRole(q.role) {
		fmt.Fprintf(stdout, "note: role %q is not defined by the policy (%s)\n", q.role, strings.Join(p.Roles(), ", "))
	}
	if q.tenantRole != "" && q.tenantRole != noMembership && !p.HasTenantRole(q.tenantRole) {
		fmt.Fprintf(stdout, "note: tenant role %q is not defined by the policy (%s)\n", q.tenantRole, strings.Join(p.TenantRoles(), ", "))
	}
	for _, g := range q.groups {
		if !p.HasGroup(g) {
			var names []string
			for _, defined := range p.Groups() {
				names = append(names, defined.Name)
			}
			fmt.Fprintf(stdout, "note: group %q is not defined by the policy (%s)\n", g, strings.Join(names, ", "))
		}
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
