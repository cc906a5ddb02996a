package authz

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

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
	return decisionWord(v.Allowed) + ": " + v.RuleText()
}

// RuleText renders the deciding rule and its place, as
// "p, staff, users, list, any (policy.csv:20)", or "no rule matched".
func (v Verdict) RuleText() string {
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

// Explain decides one request, as Decide does, and finds the line of the
// rule that allowed it. The default model only allows, so a deny never
// has a rule. An error means the enforcer could not decide.
func (p *Policy) Explain(sub models.Subject, res models.Resource, action string) (Verdict, error) {
	d, err := p.Decide(sub, res, action)
	if err != nil {
		return Verdict{}, err
	}
	v := Verdict{Allowed: d.Allowed, File: filepath.Base(p.source.PolicyFile)}
	if len(d.Rule) > 0 {
		v.Rule, v.Line = p.locate(d.Rule)
	}
	return v, nil
}

// locate finds the first grant whose values are vals, as Decision.Rule
// gives them without a type, and returns it type first with its line.
func (p *Policy) locate(vals []string) ([]string, int) {
	for _, r := range p.rules {
		if strings.HasPrefix(r.ptype, "p") && slices.Equal(r.vals, vals) {
			return append([]string{r.ptype}, r.vals...), r.line
		}
	}
	return append([]string{"p"}, vals...), 0
}
