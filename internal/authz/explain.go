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
	// Via is the layer of the subject that allowed (models.ViaRole,
	// ViaGroup, ViaMembership or ViaBreakGlass), and Subject that subject
	// as the policy names it, such as "tenant:admin"; both are empty on a
	// deny.
	Via, Subject string
}

// String renders v as "allow: p, staff, users, list, any (policy.csv:20)"
// or "deny: no rule matched".
func (v Verdict) String() string {
	return decisionWord(v.Allowed) + ": " + v.RuleText()
}

// RuleText renders the deciding rule and its place, as
// "p, staff, users, list, any (policy.csv:20)", or "no rule matched".
// A rule that applied to a layer other than the system role says which
// subject it applied to: "... (policy.csv:58) via break_glass:read".
func (v Verdict) RuleText() string {
	if len(v.Rule) == 0 {
		return "no rule matched"
	}
	text := strings.Join(v.Rule, ", ")
	if v.Line != 0 {
		text = fmt.Sprintf("%s (%s:%d)", text, v.File, v.Line)
	}
	if v.Via != "" && v.Via != models.ViaRole {
		text += " via " + v.Subject
	}
	return text
}

func decisionWord(allowed bool) string {
	if allowed {
		return "allow"
	}
	return "deny"
}

// Explain decides one request, as Decide does, and finds the line of the
// rule that allowed it and the subject it allowed: the system role, a
// group, the tenant role or the break-glass grant. The default model only
// allows, so a deny never has a rule. An error means the enforcer could
// not decide.
func (p *Policy) Explain(sub models.Subject, res models.Resource, action string) (Verdict, error) {
	d, l, name, err := p.decide(sub, res, action)
	if err != nil {
		return Verdict{}, err
	}
	v := Verdict{Allowed: d.Allowed, File: filepath.Base(p.source.PolicyFile)}
	if d.Allowed {
		v.Via, v.Subject = d.Via, l.subject(name)
	}
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
