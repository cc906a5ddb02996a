package authz

import (
	"slices"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
)

// Group is a group the policy defines (a "group:<name>" subject), with
// what it grants its members.
type Group struct {
	Name   string  `json:"name"`
	Grants []Grant `json:"grants"`
}

// Grant is one grant line as it applies to a subject, directly or through
// "g" inheritance.
type Grant struct {
	// Resource, Action and Scope are the line's fields of those names in
	// the model's grant definition; empty for a field the model lacks.
	Resource string `json:"resource"`
	Action   string `json:"action"`
	Scope    string `json:"scope,omitempty"`
	// Rule is the line, type first; its subject is the one inherited
	// from when the grant comes through inheritance. Line is where it is
	// in the policy file.
	Rule []string `json:"rule"`
	Line int      `json:"line"`
}

// Groups lists the groups the policy defines, sorted by name, each with
// its grants in policy order.
func (p *Policy) Groups() []Group {
	out := make([]Group, len(p.groups))
	for i, g := range p.groups {
		out[i] = Group{Name: g.Name, Grants: slices.Clone(g.Grants)}
		for j := range out[i].Grants {
			out[i].Grants[j].Rule = slices.Clone(g.Grants[j].Rule)
		}
	}
	return out
}

// HasGroup reports whether the policy defines the group name.
func (p *Policy) HasGroup(name string) bool {
	return slices.ContainsFunc(p.groups, func(g Group) bool { return g.Name == name })
}

// groupsOf finds each group of rules and its grants: the grants of the
// group's subject and of every subject it inherits, as e's role manager
// resolves "g" (so within Casbin's depth limit, as decisions are).
func groupsOf(rules []rule, m model.Model, e *casbin.Enforcer) []Group {
	names := layerNames(rules, layerGroup)
	out := make([]Group, 0, len(names))
	for _, name := range names {
		subjects := []string{layerGroup.subject(name)}
		if _, ok := m["g"]["g"]; ok {
			inherited, err := e.GetNamedImplicitRolesForUser("g", subjects[0])
			if err == nil {
				subjects = append(subjects, inherited...)
			}
		}
		g := Group{Name: name, Grants: []Grant{}}
		for _, r := range rules {
			if r.sec == "p" && slices.Contains(subjects, r.vals[r.sub]) {
				g.Grants = append(g.Grants, grantOf(r, m))
			}
		}
		out = append(out, g)
	}
	return out
}

func grantOf(r rule, m model.Model) Grant {
	tokens := m["p"][r.ptype].Tokens
	field := func(name string) string {
		if i := slices.Index(tokens, r.ptype+"_"+name); i >= 0 {
			return r.vals[i]
		}
		return ""
	}
	return Grant{
		Resource: field("obj"), Action: field("act"), Scope: field("scope"),
		Rule: append([]string{r.ptype}, r.vals...), Line: r.line,
	}
}
