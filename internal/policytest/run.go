package policytest

import (
	"bytes"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/rolegate/rolegate/internal/authz"
	"github.com/rolegate/rolegate/models"
)

// Failure is a case whose decision was not the expected one, or that the
// policy could not decide.
type Failure struct {
	Case Case
	// Got is what the policy decided; meaningless when Err is set.
	Got authz.Verdict
	Err error
}

// Reason says what was expected and what happened, naming the rule that
// decided: "staff, users, delete, other: expected deny, got allow by
// p, staff, users, delete, any (policy.csv:31)".
func (f Failure) Reason() string {
	want := decisionWord(f.Case.Allow)
	if f.Err != nil {
		return fmt.Sprintf("%s: expected %s, got an error: %v", f.Case, want, f.Err)
	}
	link := " by "
	if len(f.Got.Rule) == 0 {
		link = ": "
	}
	return fmt.Sprintf("%s: expected %s, got %s%s%s", f.Case, want, decisionWord(f.Got.Allowed), link, f.Got.RuleText())
}

func decisionWord(allowed bool) string {
	if allowed {
		return "allow"
	}
	return "deny"
}

// Run decides every case with p and returns the ones that fail, in order.
func Run(p *authz.Policy, cases []Case) []Failure {
	var failures []Failure
	for _, c := range cases {
		v, err := p.Explain(c.Subject(), models.Resource{Type: c.Resource, OwnerID: c.OwnerID}, c.Action)
		if err != nil || v.Allowed != c.Allow {
			failures = append(failures, Failure{Case: c, Got: v, Err: err})
		}
	}
	return failures
}

// Advice says which lines of the test file named file to update when the
// failures are intended, grouped by the decision those lines expect:
// "update policy_test.csv:61 and :65, which expect deny". Cases the policy
// could not decide are left out, since no edit of the tests fixes them;
// with none left, Advice is "".
func Advice(file string, failures []Failure) string {
	var groups [][]Failure // by expected decision, in order of first failure
	for _, f := range failures {
		if f.Err != nil {
			continue
		}
		i := slices.IndexFunc(groups, func(g []Failure) bool { return g[0].Case.Allow == f.Case.Allow })
		if i < 0 {
			groups = append(groups, nil)
			i = len(groups) - 1
		}
		groups[i] = append(groups[i], f)
	}
	parts := make([]string, len(groups))
	for i, g := range groups {
		parts[i] = lineList(g) + expectClause(len(g), g[0].Case.Allow)
	}
	if len(parts) == 0 {
		return ""
	}
	return "update " + file + strings.Join(parts, ", and ")
}

// lineList renders the lines of fs as ":61", ":61 and :65" or
// ":61, :65 and :70".
func lineList(fs []Failure) string {
	lines := make([]string, len(fs))
	for i, f := range fs {
		lines[i] = fmt.Sprintf(":%d", f.Case.Line)
	}
	if len(lines) == 1 {
		return lines[0]
	}
	return strings.Join(lines[:len(lines)-1], ", ") + " and " + lines[len(lines)-1]
}

func expectClause(n int, allow bool) string {
	if n == 1 {
		return ", which expects " + decisionWord(allow)
	}
	return ", which expect " + decisionWord(allow)
}

var _ authz.Tester = Tester

// Tester runs the tests in src against p, for authz.Manager: a policy
// whose own tests fail must not take effect. No tests means nothing to
// fail. Each failing case is one LoadError at its line of the test file,
// and a last one, without a line, says which lines to update if the
// change is intended (see Advice).
func Tester(p *authz.Policy, src authz.Source) error {
	if len(bytes.TrimSpace(src.Tests)) == 0 {
		return nil
	}
	name := FileName(src)
	cases, err := Parse(name, src.Tests)
	if err != nil {
		return err
	}
	failures := Run(p, cases)
	var errs authz.LoadErrors
	for _, f := range failures {
		errs = append(errs, authz.LoadError{File: name, Line: f.Case.Line, Reason: f.Reason()})
	}
	if advice := Advice(name, failures); advice != "" {
		errs = append(errs, authz.LoadError{File: name, Reason: "the policy's own tests refuse this change; if it is intended, " + advice})
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// FileName is how errors name the test file of src: by its base name, as
// authz.Compile names the model and policy files.
func FileName(src authz.Source) string {
	if src.TestsFile == "" {
		return "policy_test.csv"
	}
	return filepath.Base(src.TestsFile)
}
