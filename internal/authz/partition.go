package authz

import (
	"regexp"
	"slices"
	"strings"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
)

// A plain Casbin enforcer evaluates the matcher against every p rule, so a
// decision costs time in proportion to the whole policy. When the model
// makes that pointless, Compile also builds one small enforcer per
// resource type (partition), and Decide asks only the one for the
// request's type. Casbin still decides, with the same model, the same
// rules in the same order and every g rule, so the decision and the rule
// EnforceEx reports are the plain enforcer's:
//
//   - the matcher is a conjunction one of whose terms ties the request's
//     resource to the rule's: r.obj == p.obj, so that a rule can match
//     only requests for its own resource type; or gN(r.obj, p.obj) for a
//     two-field role definition gN over resources (resource groups, such
//     as "g2, customers, records"), so that a rule can match only
//     requests for its own type or for a type that belongs to it,
//     directly or through other groups. The partition of a type then
//     holds the rules of the type and of every group it belongs to, in
//     policy order; Casbin's own gN still decides whether the membership
//     counts (its depth limit included), since the partition has every
//     g rule;
//   - the effect is some(where (p.eft == allow)), so the first matching
//     rule decides and a request that matches no rule is denied; under any
//     other effect (deny-override, priority) an empty match set can allow,
//     and Decide keeps the single enforcer.
//
// When another term ties the request's subject to the rule's, r.sub ==
// p.sub or g(r.sub, p.sub) with a two-field g, a partition also knows
// which subjects can match any of its rules: those equal to a rule's
// subject or (for g) inheriting it, directly or not. Any other subject is
// denied without asking Casbin. That matters for Decide's layers: a
// tenant member's question is first asked of their system role, which
// the tenant's rules never name.
//
// The property test in partition_test.go checks all this against plain
// casbin.Enforcer on random policies and requests, with and without
// resource groups and subjects of every layer.

// maxPartitionRules bounds the rules copied into all partitions (every
// partition needs every g rule, and a group's rules go into the partition
// of each of its members), so that a policy with many roles and many
// resource types falls back to one enforcer instead of using quadratic
// memory.
const maxPartitionRules = 2_000_000

// partition is the enforcer for one resource type.
type partition struct {
	enforcer *casbin.Enforcer
	// subjects are the request subjects that can match one of the
	// partition's rules; nil when the matcher does not say.
	subjects map[string]bool
}

// admits reports whether a request by subject may match one of the
// partition's rules.
func (pt *partition) admits(subject string) bool {
	return pt.subjects == nil || pt.subjects[subject]
}

// partitionPlan is how a model lets decisions be partitioned: by the
// rule's obj field (objIndex), through resource groups of role
// definition groupType ("" when the matcher compares obj with ==), and,
// when subIndex >= 0, knowing the subjects that match the rule's sub
// field, through the inheritance of role definition subjectType ("" when
// the matcher compares sub with ==).
type partitionPlan struct {
	objIndex, subIndex     int
	groupType, subjectType string
}

// partitions returns one partition per resource type a request can name
// usefully (every p.obj, and every name in a resource group rule), or nil
// when the model does not allow partitioning (or it would not pay).
func partitions(modelText string, m model.Model, rules []rule) (map[string]*partition, error) {
	plan, ok := planPartitions(m)
	if !ok {
		return nil, nil
	}
	var order []string // the resource types, in policy order
	seen := map[string]bool{}
	add := func(obj string) {
		if !seen[obj] {
			seen[obj] = true
			order = append(order, obj)
		}
	}
	var grules []rule
	parents := map[string][]string{} // resource type -> the groups it belongs to directly
	heirs := map[string][]string{}   // subject -> the subjects that inherit it directly
	direct := map[string][]int{}     // resource type -> the indexes of its own p rules
	for i, r := range rules {
		switch {
		case r.sec == "g":
			grules = append(grules, r)
			if r.ptype == plan.groupType {
				add(r.vals[0])
				add(r.vals[1])
				parents[r.vals[0]] = append(parents[r.vals[0]], r.vals[1])
			}
			if r.ptype == plan.subjectType {
				heirs[r.vals[1]] = append(heirs[r.vals[1]], r.vals[0])
			}
		case r.ptype == "p":
			add(r.vals[plan.objIndex])
			direct[r.vals[plan.objIndex]] = append(direct[r.vals[plan.objIndex]], i)
		default:
			return nil, nil
		}
	}
	if len(order) < 2 {
		return nil, nil
	}
	byObj := make(map[string][]rule, len(order))
	total := 0
	for _, obj := range order {
		var idx []int
		for g := range closure(obj, parents) {
			idx = append(idx, direct[g]...)
		}
		slices.Sort(idx) // policy order, which decides the rule reported
		if total += len(idx) + len(grules); total > maxPartitionRules {
			return nil, nil
		}
		for _, i := range idx {
			byObj[obj] = append(byObj[obj], rules[i])
		}
	}
	out := make(map[string]*partition, len(order))
	matching := map[string]map[string]bool{} // a rule's subject -> the request subjects that match it
	for _, obj := range order {
		if len(byObj[obj]) == 0 {
			continue // no rule can match it: a deny, like a type nobody names
		}
		pm, err := model.NewModelFromString(modelText)
		if err != nil {
			return nil, err
		}
		e, err := casbin.NewEnforcer(pm, staticAdapter(append(byObj[obj], grules...)))
		if err != nil {
			return nil, err
		}
		pt := &partition{enforcer: e}
		if plan.subIndex >= 0 {
			pt.subjects = map[string]bool{}
			for _, r := range byObj[obj] {
				sub := r.vals[plan.subIndex]
				if matching[sub] == nil {
					matching[sub] = closure(sub, heirs)
				}
				for s := range matching[sub] {
					pt.subjects[s] = true
				}
			}
		}
		out[obj] = pt
	}
	return out, nil
}

// closure returns name and every name reachable from it through next,
// directly or not, cycles and all: the groups a resource belongs to
// (next = parents), or the subjects that inherit a subject (next = heirs).
func closure(name string, next map[string][]string) map[string]bool {
	within := map[string]bool{name: true}
	queue := []string{name}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for _, g := range next[n] {
			if !within[g] {
				within[g] = true
				queue = append(queue, g)
			}
		}
	}
	return within
}

// planPartitions says how the model lets decisions be partitioned by
// resource type, and whether by subject too, or reports false.
func planPartitions(m model.Model) (partitionPlan, bool) {
	plan := partitionPlan{subIndex: -1}
	if len(m["p"]) != 1 || len(m["m"]) != 1 || len(m["e"]) != 1 {
		return plan, false
	}
	p, ok := m["p"]["p"]
	if !ok || m["m"]["m"] == nil || m["e"]["e"] == nil {
		return plan, false
	}
	if normalize(m["e"]["e"].Value) != "some(where(p_eft==allow))" {
		return plan, false
	}
	plan.objIndex = slices.Index(p.Tokens, "p_obj")
	if plan.objIndex < 0 {
		return plan, false
	}
	terms, ok := conjuncts(m["m"]["m"].Value)
	if !ok {
		return plan, false
	}
	byObj, bySub := false, false
	for _, t := range terms {
		t = normalize(t)
		if !byObj {
			plan.groupType, byObj = tiedBy(m, t, "obj")
		}
		if !bySub {
			plan.subjectType, bySub = tiedBy(m, t, "sub")
		}
	}
	if i := slices.Index(p.Tokens, "p_sub"); bySub && i >= 0 {
		plan.subIndex = i
	}
	return plan, byObj
}

// tiedBy reports whether the normalized matcher term t ties the request's
// attr to the rule's: by equality (returning "") or through a two-field
// role definition gN(r_attr,p_attr) (returning gN).
func tiedBy(m model.Model, t, attr string) (string, bool) {
	if t == "r_"+attr+"==p_"+attr || t == "p_"+attr+"==r_"+attr {
		return "", true
	}
	if g := roleCall.FindStringSubmatch(t); g != nil && g[2] == attr && g[3] == attr && twoFieldRoleDefinition(m, g[1]) {
		return g[1], true
	}
	return "", false
}

// roleCall is a matcher term gN(r_x,p_x), normalized.
var roleCall = regexp.MustCompile(`^(g[0-9]*)\(r_([a-z_]+),p_([a-z_]+)\)$`)

// twoFieldRoleDefinition reports whether the model defines ptype as a
// role definition without domains (gN = _, _).
func twoFieldRoleDefinition(m model.Model, ptype string) bool {
	ast, ok := m["g"][ptype]
	return ok && strings.Count(ast.Value, "_") == 2
}

// normalize drops white space and writes attributes as Casbin's escaped
// form (r_obj) whichever way the model file spelled them.
func normalize(s string) string {
	s = strings.Join(strings.Fields(s), "")
	return strings.NewReplacer("r.", "r_", "p.", "p_").Replace(s)
}

// conjuncts splits a matcher at its top-level && operators. It reports
// false when the top level holds anything that binds more loosely than
// && (||, the ternary ?: and ??), since then a term is not required.
func conjuncts(expr string) ([]string, bool) {
	var terms []string
	depth, start := 0, 0
	var quote byte
	for i := 0; i < len(expr); i++ {
		c := expr[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'' || c == '`':
			quote = c
		case c == '(' || c == '[':
			depth++
		case c == ')' || c == ']':
			depth--
		case depth > 0:
		case c == '|' || c == '?' || c == ':':
			return nil, false
		case c == '&' && i+1 < len(expr) && expr[i+1] == '&':
			terms = append(terms, expr[start:i])
			start = i + 2
			i++
		}
	}
	if quote != 0 || depth != 0 {
		return nil, false
	}
	return append(terms, expr[start:]), true
}
