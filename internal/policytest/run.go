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

// Verdict is a decision together with the rule that made it and where
// that rule is, which is what a security team needs to fix a wrong one.
type Verdict struct {
	Allowed bool
	// Rule is the deciding rule, type first ("p", "staff", ...); empty
	// when no rule matched.
	Rule []string
	// File and Line locate Rule in the policy file.
	File string
	Line int
}

// String renders v as "allow: p, staff, users, list, any (policy.csv:20)"
// or "deny: no rule matched".
func (v Verdict) String() string {
	return decisionWord(v.Allowed) + ": " + v.ruleText()
}

func (v Verdict) ruleText() string {
	if len(v.Rule) == 0 {
		return "no rule matched"
	}
	if v.Line == 0 {
		return strings.Join(v.Rule, ", ")
	}
	return fmt.Sprintf("%s (%s:%d)", strings.Join(v.Rule, ", "), v.File, v.Line)
}

func decisionWord(allowed bool) string {
	if allowed {
		return "allow"
	}
	return "deny"
}

// Explain decides one request and finds the line of the rule that allowed
// it. The default model only allows, so a deny never has a rule.
func Explain(p *authz.Policy, sub models.Subject, res models.Resource, action string) (Verdict, error) {
	d, err := p.Decide(sub, res, action)
	if err != nil {
		return Verdict{}, err
	}
	v := Verdict{Allowed: d.Allowed, File: filepath.Base(p.Source().PolicyFile)}
	if len(d.Rule) > 0 {
		v.Rule, v.Line = locate(p, d.Rule)
	}
	return v, nil
}

// locate finds the first grant whose values are vals, as Decision.Rule
// gives them without a type, and returns it type first with its line.
func locate(p *authz.Policy, vals []string) ([]string, int) {
	lines := p.RuleLines()
	for i, r := range p.Rules() {
		if strings.HasPrefix(r[0], "p") && slices.Equal(r[1:], vals) {
			return r, lines[i]
		}
	}
	return append([]string{"p"}, vals...), 0
}

// Failure is a case whose decision was not the expected one, or that the
// policy could not decide.
type Failure struct {
	Case Case
	// Got is what the policy decided; meaningless when Err is set.
	Got Verdict
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
	return fmt.Sprintf("%s: expected %s, got %s%s%s", f.Case, want, decisionWord(f.Got.Allowed), link, f.Got.ruleText())
}

// Run decides every case with p and returns the ones that fail, in order.
func Run(p *authz.Policy, cases []Case) []Failure {
	var failures []Failure
	for _, c := range cases {
		v, err := Explain(p, models.Subject{ID: c.SubjectID, Role: c.Role}, models.Resource{Type: c.Resource, OwnerID: c.OwnerID}, c.Action)
		if err != nil || v.Allowed != c.Allow {
			failures = append(failures, Failure{Case: c, Got: v, Err: err})
		}
	}
	return failures
}

var _ authz.Tester = Tester

// Tester runs the tests in src against p, for authz.Manager: a policy
// whose own tests fail must not take effect. No tests means nothing to
// fail. Each failing case is one LoadError at its line of the test file.
func Tester(p *authz.Policy, src authz.Source) error {
	if len(bytes.TrimSpace(src.Tests)) == 0 {
		return nil
	}
	name := testsName(src)
	cases, err := Parse(name, src.Tests)
	if err != nil {
		return err
	}
	var errs authz.LoadErrors
	for _, f := range Run(p, cases) {
		errs = append(errs, authz.LoadError{File: name, Line: f.Case.Line, Reason: f.Reason()})
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// testsName is how errors name the test file: by its base name, as
// authz.Compile names the model and policy files.
func testsName(src authz.Source) string {
	if src.TestsFile == "" {
		return "policy_test.csv"
	}
	return filepath.Base(src.TestsFile)
}
